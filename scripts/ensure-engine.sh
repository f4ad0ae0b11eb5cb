#!/usr/bin/env bash
# A container engine with the Docker API for docker-compose and the deployment
# tests. Prints the DOCKER_HOST value on its last line of stdout.
#
#   DOCKER_HOST="$(bash scripts/ensure-engine.sh | tail -n 1)"
#   bash scripts/ensure-engine.sh stop     # stops what an earlier run started (by PID)
#   bash scripts/ensure-engine.sh status   # exit 0 while that podman service runs
#
# 1. A Docker engine that already answers ($DOCKER_HOST, then /var/run/docker.sock)
#    is used as it is: nothing is installed or started.
# 2. Otherwise podman from Debian serves the Docker API on
#    unix:///run/podman/podman.sock. The machines this project is tested on have
#    no systemd, a hybrid cgroup v1/v2 layout and no reachable image registry, so:
#    - containers.conf (named by CONTAINERS_CONF): runc (crun refuses hybrid
#      cgroups), cgroupfs, a file events log, ulimits within the hard limits;
#    - `podman system service` and a healthcheck driver run detached (setsid,
#      own log files, stdin/stdout/stderr not inherited); their PIDs are in
#      $ENGINE_DIR/*.pid for the stop mode. Without systemd nothing else runs
#      container healthchecks, and `depends_on: condition: service_healthy`
#      would wait forever;
#    - the base images the Dockerfiles name are assembled locally from a
#      debootstrap'ed bookworm minbase, the Node 24 binary of
#      scripts/ensure-node24.sh (plus the host's npm) and the Consul binary of
#      scripts/ensure-consul.sh. They carry the host's CA bundle because TLS
#      from inside a build goes through the same interception as the host's.
# A second run finds everything in place and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE_DIR=${KCG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/koa-consul-gateway}
ENGINE_DIR="$CACHE_DIR/engine"
PODMAN_SOCKET=/run/podman/podman.sock
PODMAN_HOST="unix://$PODMAN_SOCKET"
# Bumped when the way the base images are assembled changes, so that a warm
# cache rebuilds them once.
RECIPE=3
NODE_IMAGE=docker.io/library/node:24-bookworm-slim
CONSUL_IMAGE_REPO=docker.io/hashicorp/consul
BASE_IMAGE=localhost/kcg/bookworm-minbase:latest
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

export CONTAINERS_CONF="$ENGINE_DIR/containers.conf"
# Docker image format keeps HEALTHCHECK (the OCI format has no such field).
export BUILDAH_FORMAT=docker

log() { printf 'ensure-engine: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi; }

# Whether a Docker API answers at a DOCKER_HOST value (unix:// or tcp://).
answers() {
  case "$1" in
    unix://*) curl -fsS --max-time 3 --unix-socket "${1#unix://}" http://engine/_ping >/dev/null 2>&1 ;;
    tcp://*) curl -fsS --max-time 3 "http://${1#tcp://}/_ping" >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

# The PID in a pid file, when that process is still the one we started.
live_pid() {
  local file=$1 want=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$want" || return 1
  echo "$pid"
}

# Starts a daemon in its own session with its own log, and no descriptor of
# ours: not the caller's stdout/stderr (a CI step would wait for it to close),
# not our lock (the next run would wait for the daemon to end). $! is its PID.
detach() {
  local logfile=$1; shift
  (
    for fd in /proc/self/fd/*; do
      n=${fd##*/}
      if [ "$n" -gt 2 ] 2>/dev/null; then eval "exec $n>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@"
  ) </dev/null >>"$logfile" 2>&1 &
}

stop_one() {
  local name=$1 want=$2 pid i
  if pid=$(live_pid "$ENGINE_DIR/$name.pid" "$want"); then
    # setsid made it a process group leader: the group holds its children too.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$ENGINE_DIR/$name.pid"
}

if [ "${1:-}" = status ]; then  # exit 0 when the podman service that a run of this script started is alive
  live_pid "$ENGINE_DIR/podman-service.pid" 'system service' >/dev/null && answers "$PODMAN_HOST"
  exit
fi
if [ "${1:-}" = stop ]; then
  stop_one healthcheck-driver healthcheck-driver.sh
  stop_one podman-service 'system service'
  exit 0
fi

# ---- 1. an engine that already answers -------------------------------------------
podman_socket_target=$(readlink -f /var/run/docker.sock 2>/dev/null || true)
if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "$PODMAN_HOST" ] && answers "$DOCKER_HOST"; then
  log "using the engine at DOCKER_HOST=$DOCKER_HOST"
  echo "$DOCKER_HOST"; exit 0
fi
if [ "$podman_socket_target" != "$PODMAN_SOCKET" ] && answers unix:///var/run/docker.sock; then
  log "using the Docker engine at /var/run/docker.sock"
  echo unix:///var/run/docker.sock; exit 0
fi

# ---- 2. podman ------------------------------------------------------------------
mkdir -p "$ENGINE_DIR"
exec 9>"$ENGINE_DIR/.lock"   # two callers at once must not install or build twice
flock 9

packages=(podman podman-docker docker-compose netavark aardvark-dns slirp4netns uidmap runc conmon
          catatonit containernetworking-plugins debootstrap iptables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} with apt-get"
  start=$SECONDS
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  log "installed in $((SECONDS - start)) s"
fi

# Default ulimits no higher than this machine's hard limits: a container cannot
# raise a limit above the hard limit of the engine that starts it.
nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=32768
[ "$nofile" -gt 1048576 ] && nofile=1048576
[ "$nproc" -gt 32768 ] && nproc=32768
conf_tmp=$(mktemp "$ENGINE_DIR/containers.conf.XXXXXX")
cat >"$conf_tmp" <<EOF
# Written by scripts/ensure-engine.sh; named by CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
if cmp -s "$conf_tmp" "$CONTAINERS_CONF"; then rm -f "$conf_tmp"; else mv "$conf_tmp" "$CONTAINERS_CONF"; fi

if ! live_pid "$ENGINE_DIR/podman-service.pid" 'system service' >/dev/null || ! answers "$PODMAN_HOST"; then
  stop_one podman-service 'system service'
  as_root mkdir -p "$(dirname "$PODMAN_SOCKET")"
  detach "$ENGINE_DIR/podman-service.log" podman system service --time=0 "$PODMAN_HOST"
  echo $! >"$ENGINE_DIR/podman-service.pid"
  for _ in $(seq 1 100); do answers "$PODMAN_HOST" && break; sleep 0.2; done
  answers "$PODMAN_HOST" || { log "podman system service did not answer; see $ENGINE_DIR/podman-service.log"; exit 1; }
  log "podman system service answers on $PODMAN_HOST (pid $(cat "$ENGINE_DIR/podman-service.pid"))"
fi
# podman-docker points /var/run/docker.sock at podman's socket, for tools that
# ignore DOCKER_HOST; make sure it does even when the package left it out.
if [ ! -e /var/run/docker.sock ] && [ ! -L /var/run/docker.sock ]; then
  as_root ln -s "$PODMAN_SOCKET" /var/run/docker.sock || true
fi

driver="$ENGINE_DIR/healthcheck-driver.sh"
cat >"$driver.tmp" <<'EOF'
#!/usr/bin/env bash
# Runs each running container's healthcheck every ~2 s: without systemd,
# podman schedules none, and a container would stay "starting" for ever.
while :; do
  for id in $(podman ps -q --filter health=starting --filter health=healthy --filter health=unhealthy 2>/dev/null); do
    podman healthcheck run "$id" >/dev/null 2>&1 || true
  done
  sleep 2
done
EOF
if cmp -s "$driver.tmp" "$driver"; then rm -f "$driver.tmp"; else mv "$driver.tmp" "$driver"; stop_one healthcheck-driver healthcheck-driver.sh; fi
if ! live_pid "$ENGINE_DIR/healthcheck-driver.pid" healthcheck-driver.sh >/dev/null; then
  detach "$ENGINE_DIR/healthcheck-driver.log" bash "$driver"
  echo $! >"$ENGINE_DIR/healthcheck-driver.pid"
  log "healthcheck driver started (pid $(cat "$ENGINE_DIR/healthcheck-driver.pid"))"
fi

# ---- 3. base images ----------------------------------------------------------------
image_recipe() { podman image inspect --format '{{index .Labels "org.koa-consul-gateway.recipe"}}' "$1" 2>/dev/null || true; }

if [ "$(image_recipe "$BASE_IMAGE")" != "$RECIPE" ]; then
  rootfs_tar="$ENGINE_DIR/bookworm-minbase.tar"
  if [ ! -s "$rootfs_tar" ]; then
    mirror=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
    mirror=${mirror:-http://deb.debian.org/debian}
    work=$(mktemp -d "$ENGINE_DIR/rootfs.XXXXXX")
    log "debootstrap --variant=minbase bookworm from $mirror (about 100 s)"
    start=$SECONDS
    as_root debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$ENGINE_DIR/debootstrap.log" 2>&1 \
      || { log "debootstrap failed; see $ENGINE_DIR/debootstrap.log"; exit 1; }
    # What a slim image leaves out: apt lists and caches.
    rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin "$work/rootfs/var/cache/apt/archives/"*.deb
    tar -C "$work/rootfs" --numeric-owner -cf "$rootfs_tar.partial" .
    mv "$rootfs_tar.partial" "$rootfs_tar"
    rm -rf "$work"
    log "bookworm minbase root filesystem in $((SECONDS - start)) s"
  fi
  podman import --quiet \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "LABEL org.koa-consul-gateway.recipe=$RECIPE" \
    "$rootfs_tar" "$BASE_IMAGE" >/dev/null
  log "imported $BASE_IMAGE"
fi

# A build context folder, removed when the script ends.
contexts=$(mktemp -d "$ENGINE_DIR/context.XXXXXX")
trap 'rm -rf "$contexts"' EXIT

# The users an image adds to the base's /etc/passwd and /etc/group.
base_file() { podman run --rm --pull=never --network=none "$BASE_IMAGE" cat "$1"; }

build_image() {  # <context folder> <tag>...
  local ctx=$1; shift
  local tags=() t
  for t in "$@"; do tags+=(-t "$t"); done
  podman build --quiet --pull=never --network=none --format docker "${tags[@]}" "$ctx" >/dev/null
}

if [ "$(image_recipe "$NODE_IMAGE")" != "$RECIPE" ]; then
  node_bin=$(bash scripts/ensure-node24.sh | tail -n 1)
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  ctx="$contexts/node"
  mkdir -p "$ctx/etc" "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules"
  cp "$node_bin/node" "$ctx/usr/local/bin/node"
  cp -r "$npm_dir" "$ctx/usr/local/lib/node_modules/npm"
  cp "$HOST_CA_BUNDLE" "$ctx/ca-certificates.crt"
  { base_file /etc/passwd; echo 'node:x:1000:1000::/home/node:/bin/bash'; } >"$ctx/etc/passwd"
  { base_file /etc/group; echo 'node:x:1000:'; } >"$ctx/etc/group"
  cat >"$ctx/Containerfile" <<EOF
FROM $BASE_IMAGE
COPY etc/passwd etc/group /etc/
COPY usr/local /usr/local/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ["/usr/bin/ln", "-s", "../lib/node_modules/npm/bin/npm-cli.js", "/usr/local/bin/npm"]
RUN ["/usr/bin/ln", "-s", "../lib/node_modules/npm/bin/npx-cli.js", "/usr/local/bin/npx"]
RUN ["/usr/bin/install", "-d", "-o", "1000", "-g", "1000", "/home/node"]
ENV NODE_VERSION=$("$node_bin/node" --version | tr -d v) \\
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
LABEL org.koa-consul-gateway.recipe=$RECIPE
CMD ["node"]
EOF
  build_image "$ctx" "$NODE_IMAGE"
  log "built $NODE_IMAGE (Node $("$node_bin/node" --version), npm $(npm --version))"
fi

consul_bin=$(bash scripts/ensure-consul.sh | tail -n 1)
consul_version=$("$consul_bin" version | sed -n 's/^Consul v\([0-9.]*\).*/\1/p')
consul_minor=${consul_version%.*}
CONSUL_IMAGE="$CONSUL_IMAGE_REPO:$consul_version"
if [ "$(image_recipe "$CONSUL_IMAGE")" != "$RECIPE" ]; then
  ctx="$contexts/consul"
  mkdir -p "$ctx/etc"
  cp "$consul_bin" "$ctx/consul"
  cp docker/consul-entrypoint.sh "$ctx/docker-entrypoint.sh"
  cp "$HOST_CA_BUNDLE" "$ctx/ca-certificates.crt"
  { base_file /etc/passwd; echo 'consul:x:100:1000::/consul:/usr/sbin/nologin'; } >"$ctx/etc/passwd"
  { base_file /etc/group; echo 'consul:x:1000:'; } >"$ctx/etc/group"
  cat >"$ctx/Containerfile" <<EOF
FROM $BASE_IMAGE
COPY etc/passwd etc/group /etc/
COPY consul /bin/consul
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ["/usr/bin/install", "-d", "-o", "100", "-g", "1000", "/consul", "/consul/data", "/consul/config"]
VOLUME /consul/data
EXPOSE 8300 8301 8301/udp 8302 8302/udp 8500 8600 8600/udp
LABEL org.koa-consul-gateway.recipe=$RECIPE
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["agent", "-dev", "-client", "0.0.0.0"]
EOF
  build_image "$ctx" "$CONSUL_IMAGE" "$CONSUL_IMAGE_REPO:$consul_minor"
  log "built $CONSUL_IMAGE and $CONSUL_IMAGE_REPO:$consul_minor"
fi

log "podman ready in $SECONDS s"
echo "$PODMAN_HOST"

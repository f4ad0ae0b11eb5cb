#!/usr/bin/env bash
# Prints the path of a usable `consul` binary on its last line of stdout.
#
# Order: $CONSUL_BIN, `consul` on PATH, a cached build, a fresh build.
# No Consul package exists in Debian or npm, but the Go module proxy serves
# Consul's source, so the fresh build compiles a pinned release with the
# machine's Go and caches it outside the repository.
#
# Consul's go.mod replaces its nested modules (api, sdk, proto-public,
# envoyextensions, troubleshoot) with local folders that a module download does
# not contain, so `go install` refuses it. We copy the downloaded module, drop
# those replace directives (the published versions are used instead) and build.
set -euo pipefail

# Pinned release first, then the nearest others that the proxy serves.
CONSUL_VERSIONS=${CONSUL_VERSIONS:-"1.22.7 1.22.6 1.22.5 1.22.3"}

# A release's go.mod requires nested modules older than the local folders it was
# tagged with (1.22.7 requires api v1.34.x features but names api v1.33.7), so
# some releases need a newer published nested module. Known-good pins, by release:
nested_pins() {
  case "$1" in
    1.22.7) echo "github.com/hashicorp/consul/api@v1.34.5" ;;
    *) echo "" ;;
  esac
}
CACHE_DIR=${KCG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/koa-consul-gateway}

log() { printf 'ensure-consul: %s\n' "$*" >&2; }

if [ -n "${CONSUL_BIN:-}" ]; then
  [ -x "$CONSUL_BIN" ] || { log "CONSUL_BIN=$CONSUL_BIN is not an executable file"; exit 1; }
  echo "$CONSUL_BIN"; exit 0
fi
if command -v consul >/dev/null 2>&1; then
  command -v consul; exit 0
fi
for v in $CONSUL_VERSIONS; do
  if [ -x "$CACHE_DIR/consul-$v/consul" ]; then echo "$CACHE_DIR/consul-$v/consul"; exit 0; fi
done

if ! command -v go >/dev/null 2>&1; then
  log "no consul binary found and no Go toolchain to build one."
  log "Install Consul (https://developer.hashicorp.com/consul/install) and put it on PATH,"
  log "or set CONSUL_BIN=/path/to/consul, or install Go >= 1.23 so this script can build it."
  exit 1
fi

mkdir -p "$CACHE_DIR"
# Two test runs starting at once must not build twice: hold a lock while building.
exec 9>"$CACHE_DIR/.build.lock"
flock 9
for v in $CONSUL_VERSIONS; do  # another process may have finished while we waited
  if [ -x "$CACHE_DIR/consul-$v/consul" ]; then echo "$CACHE_DIR/consul-$v/consul"; exit 0; fi
done

build_one() {
  local v=$1 work src dir
  work=$(mktemp -d "$CACHE_DIR/build-$v.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  log "downloading github.com/hashicorp/consul@v$v from the Go module proxy"
  # `go mod download` outside a module needs a throwaway go.mod to run in.
  (cd "$work" && go mod init kcg-consul-fetch >/dev/null 2>&1)
  dir=$(cd "$work" && go mod download -json "github.com/hashicorp/consul@v$v" \
        | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || { log "download of v$v gave no module folder"; return 1; }
  src="$work/src"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  # Drop every replace directive that points at a local folder (=> ./x or => ../x),
  # both the one-line form and lines inside a replace ( ... ) block.
  sed -i -E '/^replace[[:space:]].*=>[[:space:]]*\.\.?\//d; /^[[:space:]]+[^[:space:]]+.*=>[[:space:]]*\.\.?\//d' "$src/go.mod"
  local pin
  for pin in $(nested_pins "$v"); do (cd "$src" && go mod edit -require="$pin"); done
  log "building consul v$v (CGO_ENABLED=0; the first build takes several minutes)"
  local start=$SECONDS
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$work/consul" .) >&2 || return 1
  mkdir -p "$CACHE_DIR/consul-$v"
  mv "$work/consul" "$CACHE_DIR/consul-$v/consul"
  log "built consul v$v in $((SECONDS - start)) s into $CACHE_DIR/consul-$v/consul"
}

for v in $CONSUL_VERSIONS; do
  if build_one "$v"; then echo "$CACHE_DIR/consul-$v/consul"; exit 0; fi
  log "consul v$v did not build; trying the next release"
done
log "no Consul release in [$CONSUL_VERSIONS] could be built; see the errors above"
exit 1

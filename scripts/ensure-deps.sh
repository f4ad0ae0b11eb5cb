#!/usr/bin/env bash
# Installs what `npm test` and `npm run demo` need and do not find: the npm
# dependencies (from the lock file), a Consul binary (scripts/ensure-consul.sh),
# ZooKeeper and Chromium (Debian's packages). Each step does
# nothing when its part is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-deps: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
fi
consul=$(bash scripts/ensure-consul.sh | tail -n 1)
echo "ensure-deps: consul at $consul" >&2
zookeeper=$(bash scripts/ensure-zookeeper.sh | tail -n 1)
echo "ensure-deps: zookeeper jars in $zookeeper" >&2
# Chromium for the dashboard's browser test (Debian's package, never a download by the library).
bash scripts/ensure-chromium.sh >&2

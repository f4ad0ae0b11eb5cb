#!/usr/bin/env bash
# Type-checks everything, then runs the unit tests and the integration tests
# (which start real Consul agents) on Node's built-in runner, one file at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
npx tsc -p src/admin/dashboard/tsconfig.json
mapfile -t files < <(find test/unit -name '*.test.ts' | sort; find test/integration -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 --test-timeout=180000 "$@" "${files[@]}"

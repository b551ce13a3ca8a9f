#!/usr/bin/env bash
# `npm test`: installs what the tests need, then type-checks, lints, checks the import
# graph and runs every test. Safe to run on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node dependencies (and the build, through `prepare`) when missing or older than the lockfile.
if [ ! -d node_modules/.bin ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi

# Real AWS clients the tests drive: the AWS CLI, boto3 and moto's server.
bash scripts/ensure-test-tools.sh

echo '== type-check (sources and tests)'
npx tsc -p tsconfig.json --noEmit
echo '== lint'
npx eslint .
echo '== import cycles and direction'
npx dpdm --no-warning --no-tree --transform --exit-code circular:1 'src/**/*.ts'
node scripts/check-imports.mjs
echo '== tests'
npx vitest run "$@"

#!/usr/bin/env bash
# `npm test`: every *.test.ts with node's test runner (through tsx), the check that every status
# the suite saw is declared by its operation (statuses:check), then the Newman collection
# against a freshly started stack. TEST_DATABASE_URL moves the database suites to PostgreSQL
# (they fail, not skip, when it is unreachable).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find src handlers capabilities policy gitops ops deploy test contract-tests scripts web -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
echo "test: ${#files[@]} test files${TEST_DATABASE_URL:+ (database suites on PostgreSQL)}"
# Every validated answer's status is recorded, then checked against what each operation declares.
export RECORD_STATUSES_DIR="${RECORD_STATUSES_DIR:-.data/statuses-seen}"
rm -rf "$RECORD_STATUSES_DIR"
node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" --test-reporter=spec "${files[@]}"
npm run --silent statuses:check -- "$RECORD_STATUSES_DIR"
if [ "${SKIP_NEWMAN:-}" != "1" ]; then
  bash contract-tests/newman.sh
fi

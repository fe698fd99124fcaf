#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the real services and tool
# chains the tests need (if missing), then runs every test with vitest and
# prints a one-line summary.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
report="$(mktemp)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" || true
rm -f "$report"
exit "$status"

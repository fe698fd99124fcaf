#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the real services and tool
# chains the tests need (if missing), then runs every test with vitest and
# prints a one-line summary of tests and test files, after the names of the
# files that failed (a file whose setup failed counts there too, its tests
# as failed: see test/support/setup-failure-runner.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const root = process.cwd() + "/";
  const failed = r.testResults.filter((file) => file.status !== "passed");
  if (failed.length) {
    console.log("\nfailed test files:");
    for (const file of failed) {
      const tests = file.assertionResults.filter((t) => t.status === "failed").length;
      const why = tests ? `${tests} failed` : (file.message || "failed").split("\n")[0];
      console.log(`  ${file.name.replace(root, "")}: ${why}`);
    }
  }
  const files = r.testResults.length;
  console.log(
    `\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped; ` +
      `test files: ${files - failed.length} passed, ${failed.length} failed`,
  );
' "$report" || { echo "test-all: no vitest report to summarise" >&2; [[ $status -ne 0 ]] || status=1; }
exit "$status"

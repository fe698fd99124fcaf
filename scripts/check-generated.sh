#!/usr/bin/env bash
# Regenerates gen/ (TypeScript, Go, Python) and fails if that changed anything:
# the committed code must be exactly what `npm run generate` writes from proto/.
# The Go example's go.mod and go.sum are checked too, since generation tidies them.
# Meant for a clean checkout (CI); in a working tree it also reports uncommitted
# changes there.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/generate.sh
changes="$(git status --porcelain --untracked-files=all -- gen examples/go/go.mod examples/go/go.sum)"
if [[ -n "$changes" ]]; then
  echo "check-generated: these differ from what \`npm run generate\` writes; regenerate and commit:" >&2
  echo "$changes" >&2
  git --no-pager diff --stat -- gen examples/go >&2
  exit 1
fi
echo "check-generated: gen/ is up to date"

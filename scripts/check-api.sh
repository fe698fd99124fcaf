#!/usr/bin/env bash
# Guards the API contract in proto/:
#   buf lint     STANDARD rules (buf.yaml)
#   buf format   proto/ is formatted as `buf format -w proto` would write it
#   buf breaking no change that breaks callers (FILE rules: no renumbering, retyping,
#                deleting without reserving, ...) against the released API.
#
# The released API is proto/baseline.binpb, a buf image committed on purpose: CI
# checks out one commit of main with no other branch to compare with, so the
# baseline travels with the code. Adding to the API never needs a new baseline;
# after an intended break, or when releasing, refresh it with
# `bash scripts/update-api-baseline.sh` and commit it with the change (a reviewer
# sees the baseline move). API_AGAINST overrides the baseline, for example
# API_AGAINST='.git#branch=main,subdir=proto' on a pull-request branch.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

against="${API_AGAINST:-proto/baseline.binpb}"
buf lint
buf format --diff --exit-code proto
buf breaking proto --against "$against"
echo "check-api: lint, format and breaking (against $against) passed"

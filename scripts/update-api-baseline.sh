#!/usr/bin/env bash
# Records the API in proto/ as the baseline that `buf breaking` compares with
# (scripts/check-api.sh). Run it deliberately: when releasing, or to accept an
# intended breaking change; commit proto/baseline.binpb with it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
buf build proto --exclude-source-info -o proto/baseline.binpb
echo "update-api-baseline: wrote proto/baseline.binpb"

#!/usr/bin/env bash
# Installs grpcurl (pinned) into .tools/bin for operators' checks and the
# grpcurl test (test/clients/grpcurl.test.ts). Idempotent: does nothing when the
# pinned version is already there. Needs go (1.26+) and the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."

GRPCURL=github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4

command -v go >/dev/null || { echo "install-grpcurl: go is not on PATH; install Go 1.26+" >&2; exit 1; }
bin="$PWD/.tools/bin"
if [[ -x "$bin/grpcurl" ]] && go version -m "$bin/grpcurl" | awk '$1 == "mod" { print $3 }' | grep -qx "${GRPCURL##*@}"; then
  exit 0
fi
echo "install-grpcurl: go install $GRPCURL" >&2
mkdir -p "$bin"
# grpcurl reports its version from main.version, which a plain `go install` leaves unset.
GOBIN="$bin" go install -ldflags "-X main.version=${GRPCURL##*@}" "$GRPCURL"

#!/usr/bin/env bash
# Installs what the full test suite needs beyond npm, skipping what is already
# there:
#   - Redis, PostgreSQL, nginx, Chromium and Prometheus with promtool (Debian
#     packages; needs root for apt-get);
#   - the OpenBao server, built once from the Go module proxy and cached under
#     ~/.cache/switchboard (the slow step: about 4 minutes on two cores);
#   - the Jaeger server (traces), built once from the Go module proxy and cached
#     there too (a few minutes);
#   - grpcurl into .tools/bin;
#   - the Go protoc plugins into .tools/bin, and the Python venv in .venv with
#     gen/python installed in it (`npm run generate`'s own installers:
#     scripts/generate.sh --install-only);
#   - moto (an AWS API server: Secrets Manager, KMS) into .venv;
#   - the Go client example's modules, compiled into the Go build cache.
# Needs Go 1.26+ and Python 3.10+. `npm run test:all` runs this, then the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[install-test-deps] %s\n' "$*" >&2; }
fail() {
  log "error: $*"
  exit 1
}
started=$SECONDS
step() { log "$* ($((SECONDS - started))s)"; }

command -v go >/dev/null || fail "go is not on PATH: install Go 1.26+ (https://go.dev/dl/); OpenBao, grpcurl and the Go client tests need it"
command -v "${PYTHON:-python3}" >/dev/null || fail "${PYTHON:-python3} is not on PATH: install Python 3.10+ (or set PYTHON=/path/to/python3); the Python client tests need it"

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
# The deployment test (test/deploy/fleet.test.ts) balances three gateways with nginx.
[[ -x /usr/sbin/nginx ]] || missing+=(nginx)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
# The browser test drives Debian's Chromium with playwright-core (no browser download).
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# The dashboard and alert tests (test/observability/) run a real Prometheus and promtool.
command -v promtool >/dev/null || missing+=(prometheus)
if ((${#missing[@]} > 0)); then
  step "apt-get install ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    fail "not root: install ${missing[*]} yourself (sudo apt-get install ${missing[*]}), then run this again"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start system-wide servers; the tests run their own on free ports.
  service redis-server stop >/dev/null 2>&1 || true
  service postgresql stop >/dev/null 2>&1 || true
  service nginx stop >/dev/null 2>&1 || true
  service prometheus stop >/dev/null 2>&1 || true
fi

if ! bao="$(bash scripts/openbao.sh --cached-only)"; then
  step "OpenBao: not built yet; building it once (about 4 minutes on two cores; progress below)"
  bao="$(bash scripts/openbao.sh)"
fi
step "OpenBao: $("$bao" version 2>&1 | head -1) ($bao)"

if ! jaeger="$(bash scripts/jaeger.sh --cached-only)"; then
  step "Jaeger: not built yet; building it once (a few minutes on two cores)"
  jaeger="$(bash scripts/jaeger.sh)"
fi
step "Jaeger: $("$jaeger" version 2>/dev/null | grep -o '"gitVersion":"[^"]*"' | head -1) ($jaeger)"

bash scripts/install-grpcurl.sh
step "grpcurl: $(.tools/bin/grpcurl -version 2>&1)"

bash scripts/generate.sh --install-only
step "Go protoc plugins in .tools/bin; .venv: $(.venv/bin/python --version), gen/python installed"

# The official OpenAI and Anthropic Python SDKs, for the tests that call the REST surfaces as existing Python code does.
if ! .venv/bin/python -c 'import openai, anthropic' 2>/dev/null; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/python-test-requirements.txt
fi
step "OpenAI and Anthropic Python SDKs: $(.venv/bin/python -c 'import openai, anthropic; print(openai.__version__, anthropic.__version__)')"

# moto in server mode: AWS Secrets Manager and KMS on loopback, for the aws-sm: and KMS tests.
if ! .venv/bin/python -c 'import moto, flask' 2>/dev/null; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/python-aws-test-requirements.txt
fi
step "moto (AWS API server): $(.venv/bin/python -c 'import moto; print(moto.__version__)')"

# The Go client test runs `go test` in examples/go: fetch and compile its
# dependencies (grpc-go, connect-go) now rather than under the test's timeout.
(cd examples/go && go mod download && go test -count=1 -run '^$' ./... >/dev/null)
step "Go client example: modules fetched and compiled"
step "ready"

#!/usr/bin/env bash
# Regenerates every client in gen/ from proto/ with buf and local plugins only:
#   gen/ts      Protobuf-ES (protoc-gen-es from node_modules)
#   gen/go      protoc-gen-go, protoc-gen-go-grpc, protoc-gen-connect-go (a Go module)
#   gen/python  messages, .pyi stubs, grpcio stubs (an installable package)
#
# Idempotent, and safe to run on a cold machine: it first installs the pinned
# tools where missing or at another version (Go plugins into .tools/bin, the
# Python tool chain into .venv), then runs buf, tidies gen/go's go.mod, and
# installs gen/python into .venv so the Python example uses what was just made.
# Needs go (1.26+) and python3 (3.10+); reaches only the Go module proxy and PyPI,
# and only when something is missing.
#
#   bash scripts/generate.sh                  install what is missing, then generate
#   bash scripts/generate.sh --install-only   install only, generate nothing: the Go
#                                             plugins, the .venv, and gen/python as it
#                                             is into .venv (what the tests need;
#                                             scripts/install-test-deps.sh runs this)
set -euo pipefail
cd "$(dirname "$0")/.."

# --- Pins ---------------------------------------------------------------------
# Go plugins (`go install <package>@<version>`). The runtime versions in
# gen/go/go.mod and examples/go/go.mod must be at least these.
GO_PLUGINS=(
  google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
  google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
  connectrpc.com/connect/cmd/protoc-gen-connect-go@v1.21.1
)
# Python: every pin is in this file (grpcio, grpcio-tools and protobuf together).
PYTHON_REQUIREMENTS=scripts/python-requirements.txt

TOOLS_BIN="$PWD/.tools/bin"
VENV="$PWD/.venv"
PYTHON="${PYTHON:-python3}"

fail() {
  echo "generate: $*" >&2
  exit 1
}

# go install is cheap to skip: `go version -m` reads the module version a binary was built from.
install_go_plugins() {
  command -v go >/dev/null || fail "go is not on PATH; install Go 1.26+ (https://go.dev/dl/)"
  mkdir -p "$TOOLS_BIN"
  local spec package version name
  for spec in "${GO_PLUGINS[@]}"; do
    package="${spec%@*}"
    version="${spec##*@}"
    name="${package##*/}"
    if [[ -x "$TOOLS_BIN/$name" ]] && go version -m "$TOOLS_BIN/$name" | awk '$1 == "mod" { print $3 }' | grep -qx "$version"; then
      continue
    fi
    echo "generate: go install $spec" >&2
    GOBIN="$TOOLS_BIN" go install "$spec"
  done
}

# The venv is rebuilt when the requirements or the interpreter change (a stamp holds their digest).
install_python_tools() {
  command -v "$PYTHON" >/dev/null || fail "$PYTHON is not on PATH; install Python 3.10+ or set PYTHON=/path/to/python3"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || fail "$PYTHON is older than 3.10"
  local stamp="$VENV/.switchboard-requirements"
  local want
  want="$(cat "$PYTHON_REQUIREMENTS"; "$PYTHON" --version)"
  want="$(printf '%s' "$want" | sha256sum | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  echo "generate: creating $VENV from $PYTHON_REQUIREMENTS" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$PYTHON_REQUIREMENTS"
  echo "$want" >"$stamp"
}

# gen/python goes into .venv as a real (non-editable) install, so the wheel's
# contents (.pyi, py.typed) are what the example sees. A stamp holds the digest of
# the sources installed; --install-only skips the reinstall when they match.
install_python_package() {
  local stamp="$VENV/.switchboard-gen-python"
  local want
  want="$(cd gen/python && find . -type f -not -path '*/__pycache__/*' -not -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [[ "${1:-}" != --force && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  echo "generate: installing gen/python into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --no-deps --no-build-isolation --force-reinstall ./gen/python
  echo "$want" >"$stamp"
}

install_go_plugins
install_python_tools

if [[ "${1:-}" == --install-only ]]; then
  install_python_package
  exit 0
fi

export PATH="$PWD/node_modules/.bin:$PATH"
[[ -x node_modules/.bin/buf ]] || fail "node_modules/.bin/buf is missing; run npm ci first"
buf generate

# gen/go's requirements follow what the generated code imports (a new proto that
# imports google/type/money.proto brings in genproto's money package, for example),
# and so do those of the Go example, which builds against gen/go.
(cd gen/go && go mod tidy)
(cd examples/go && go mod tidy)

install_python_package --force

#!/usr/bin/env bash
# Regenerates every client in gen/ from proto/ with buf and local plugins only.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
buf generate

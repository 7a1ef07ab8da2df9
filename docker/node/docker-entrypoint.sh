#!/bin/sh
# Entrypoint of the LOCAL STAND-IN for `node:20-alpine` (built by scripts/ci/provision-docker.sh).
# Same contract as the official node image's entrypoint: `docker run node:20-alpine -e '…'` or
# `… app.js` runs node, anything that is an executable command runs as given.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1" || true)" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
	set -- node "$@"
fi
exec "$@"

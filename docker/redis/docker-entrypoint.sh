#!/bin/sh
# Entrypoint of the LOCAL STAND-IN for `redis:7-alpine` (built by scripts/ci/provision-docker.sh).
# Same contract as the official redis image's entrypoint, plus one thing the official image gets
# from a patched build: protected mode is off by default. Debian's redis-server keeps it on, which
# would refuse every connection from another container, so it is turned off here unless the
# command line or the given config file decides it.
set -e

# `--some-option` or `something.conf` as first argument means "run redis-server with it".
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

# Started as root (the default): own the data directory, then step down like the official image.
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec gosu redis "$0" "$@"
fi

if [ "$1" = 'redis-server' ]; then
	decided=''
	for arg in "$@"; do
		case "$arg" in
		--protected-mode) decided='yes' ;;
		esac
	done
	if [ -z "$decided" ] && [ "${2%.conf}" != "${2:-}" ] && [ -f "$2" ] && grep -Eqi '^[[:space:]]*protected-mode[[:space:]]' "$2"; then
		decided='yes'
	fi
	if [ -z "$decided" ]; then
		set -- "$@" --protected-mode no
	fi
fi

# A fresh umask only when nobody chose one, as the official image does.
if [ "$(umask)" = '0022' ]; then
	umask 0077
fi

exec "$@"

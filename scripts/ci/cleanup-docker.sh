#!/usr/bin/env bash
# Removes what test runs leave on the Docker engine, and never the stand-in base images
# (label civic.standin=true, built by scripts/ci/provision-docker.sh): the vfs storage driver keeps
# a full copy of every layer, so leftovers fill the disk over many runs.
#
# What counts as "left by a test run" (the conventions of test/helpers/docker.ts):
#   - anything labelled civic.test=true (containers, images, volumes, networks);
#   - compose projects named civic-* (tests use civic-test-*, the product's compose runtime
#     civic-<product>-*): their containers, volumes, networks and built images (<project>_<service>
#     by compose v1, <project>-<service> by v2);
#   - testcontainers' containers (label org.testcontainers=true; its reaper cannot run here);
#   - dangling images.
# With --all, every container, volume, user network and image except the stand-ins goes.
# With --dry-run, nothing is removed: each resource that would be is printed as "would remove".
# Never run it while tests are running: their containers carry the same labels.
#
# usage: scripts/ci/cleanup-docker.sh [--all] [--dry-run]
set -Eeuo pipefail
shopt -s inherit_errexit

readonly TEST_LABEL='civic.test=true'
readonly PROJECT_PREFIX='civic-'
readonly STANDIN_LABEL='civic.standin'

all=''
dry_run=''
for arg; do
	case "$arg" in
	--all) all='yes' ;;
	--dry-run) dry_run='yes' ;;
	*)
		echo "usage: $0 [--all] [--dry-run]" >&2
		exit 2
		;;
	esac
done

say() { printf '[cleanup-docker] %s\n' "$*"; }

if ! docker info >/dev/null 2>&1; then
	say 'no Docker engine answers; nothing to clean'
	exit 0
fi

# Lists are read into arrays; removals are best effort (a resource may vanish concurrently)
# but every failure is reported.
remove_each() { # remove_each KIND COMMAND... -- ID...
	local kind="$1"
	shift
	local command=()
	while [ "$1" != '--' ]; do
		command+=("$1")
		shift
	done
	shift
	[ "$#" -eq 0 ] && return 0
	local id removed=0
	for id in "$@"; do
		if [ -n "$dry_run" ]; then
			say "would remove $kind $id"
		elif "${command[@]}" "$id" >/dev/null 2>&1; then
			removed=$((removed + 1))
		else
			say "could not remove $kind $id" >&2
		fi
	done
	[ -n "$dry_run" ] || say "removed $removed $kind(s)"
}

unique() { sort -u | sed '/^$/d'; }

if [ -n "$all" ]; then
	mapfile -t containers < <(docker ps -aq | unique)
else
	mapfile -t containers < <({
		docker ps -aq --filter "label=$TEST_LABEL"
		docker ps -aq --filter 'label=org.testcontainers=true'
		docker ps -a --filter label=com.docker.compose.project \
			--format '{{ .ID }} {{ .Label "com.docker.compose.project" }}' |
			awk -v prefix="$PROJECT_PREFIX" 'index($2, prefix) == 1 { print $1 }'
	} | unique)
fi
# -v: the stand-ins declare VOLUMEs; their anonymous volumes go with the container.
remove_each container docker rm -f -v -- "${containers[@]}"

if [ -n "$all" ]; then
	mapfile -t volumes < <(docker volume ls -q | unique)
	mapfile -t networks < <(docker network ls --filter type=custom -q | unique)
else
	mapfile -t volumes < <({
		docker volume ls -q --filter "label=$TEST_LABEL"
		docker volume ls --filter label=com.docker.compose.project \
			--format '{{ .Name }} {{ .Label "com.docker.compose.project" }}' |
			awk -v prefix="$PROJECT_PREFIX" 'index($2, prefix) == 1 { print $1 }'
	} | unique)
	mapfile -t networks < <({
		docker network ls -q --filter "label=$TEST_LABEL"
		docker network ls --filter label=com.docker.compose.project \
			--format '{{ .ID }} {{ .Label "com.docker.compose.project" }}' |
			awk -v prefix="$PROJECT_PREFIX" 'index($2, prefix) == 1 { print $1 }'
	} | unique)
fi
remove_each volume docker volume rm -- "${volumes[@]}"
remove_each network docker network rm -- "${networks[@]}"

# Images: never a stand-in (nor, without force, a parent of one: `docker rmi` refuses those).
# Images built FROM a stand-in inherit its labels, so a stand-in is the image whose own tag is the
# one its civic.standin.of label names.
mapfile -t standins < <(docker images -q --no-trunc --filter "label=$STANDIN_LABEL=true" | unique |
	xargs -r docker image inspect --format "{{ .Id }} {{ index .Config.Labels \"$STANDIN_LABEL.of\" }} {{ range .RepoTags }} {{ . }}{{ end }}" |
	awk '{ for (i = 3; i <= NF; i++) if ($i == $2) { print $1; break } }')
is_standin() {
	local standin
	for standin in "${standins[@]}"; do
		[ "$standin" = "$1" ] && return 0
	done
	return 1
}
mapfile -t candidates < <({
	if [ -n "$all" ]; then
		docker images -q --no-trunc
	else
		docker images -q --no-trunc --filter "label=$TEST_LABEL"
		# compose v1 names built images <project>_<service>, v2 <project>-<service>, where a project
		# ends in 8 hex digits (by tag: one image may carry several names, and only these go)
		docker images --format '{{ .Repository }} {{ .Tag }}' |
			awk -v prefix="$PROJECT_PREFIX" '
				index($1, prefix) == 1 && $1 !~ /\// &&
					($1 ~ /_/ || $1 ~ /-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-/) { print $1 ":" $2 }'
	fi
	docker images -q --no-trunc --filter dangling=true
} | unique)
images=()
for image in "${candidates[@]}"; do
	is_standin "$image" || images+=("$image")
done
remove_each image docker image rm -- "${images[@]}"

kept=()
for standin in "${standins[@]}"; do
	kept+=("$(docker image inspect --format "{{ index .Config.Labels \"$STANDIN_LABEL.of\" }}" "$standin")")
done
say "kept stand-in images: ${kept[*]}"

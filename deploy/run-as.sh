#!/usr/bin/env bash
# Run a command as an unprivileged user that may not be able to reach the checkout: the fresh
# clones CI uses live under a 0700 folder of root's (`mktemp -d`), so Kafka's user could not
# open its own jars, config or data by their paths. The command gets a mount namespace of its
# own where every folder above each PATH that USER cannot pass is covered by an empty
# in-memory one holding only that PATH, bound back at the same place: the command sees the
# same absolute paths, the rest of the covered folder stays hidden from it, and nothing changes
# for anyone else on the machine. Needs root (deploy/services.sh calls it only as root).
#
# Usage:  deploy/run-as.sh [--stay-root] USER PATH [PATH ...] -- COMMAND [ARG ...]
#
# --stay-root: COMMAND keeps root's rights in that namespace (supervisord, which starts each of
# its programs as its own user: USER is one of them, the one the paths are checked for).
#
# The process keeps its pid through every step (unshare, this script again inside the
# namespace, setpriv and COMMAND are each exec'd), so a pid file written by the caller names
# COMMAND itself.
set -euo pipefail

die() { printf 'run-as.sh: %s\n' "$*" >&2; exit 1; }

inside=0 stay=()
if [ "${1:-}" = --inside ]; then inside=1; shift; fi
if [ "${1:-}" = --stay-root ]; then stay=(--stay-root); shift; fi
[ $# -ge 4 ] || die "usage: run-as.sh [--stay-root] USER PATH [PATH ...] -- COMMAND [ARG ...]"
user=$1
shift
paths=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do paths+=("$(realpath -- "$1")"); shift; done
[ "${1:-}" = -- ] && [ $# -ge 2 ] || die "no -- COMMAND after the paths"
shift
[ "$(id -u)" -eq 0 ] || die "must run as root to become $user"
id -u "$user" >/dev/null 2>&1 || die "no user $user"

if [ "$inside" -eq 0 ]; then
    exec unshare --mount --propagation private -- bash "$0" --inside "${stay[@]}" "$user" "${paths[@]}" -- "$@"
fi

become=(--reuid="$user" --regid="$(id -g "$user")" --init-groups) # its primary group
as_user() { setpriv "${become[@]}" -- "$@"; }

# the highest folder above $1 that the user cannot pass (nothing if it reaches $1)
blocking_folder() {
    local dir="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${1#/}"
    for part in "${parts[@]:0:${#parts[@]}-1}"; do
        dir="$dir/$part"
        if ! as_user test -x "$dir"; then
            printf '%s\n' "$dir"
            return 0
        fi
    done
}

held=() covers=() targets=()
for path in "${paths[@]}"; do
    cover="$(blocking_folder "$path")"
    [ -n "$cover" ] || continue
    # held where it is still reachable, before its parent is covered
    hold="$(mktemp -d /dev/shm/haochaping-run-as.XXXXXX)"
    mount --bind "$path" "$hold"
    held+=("$hold") targets+=("$path") covers+=("$cover")
done
[ ${#covers[@]} -eq 0 ] || for cover in $(printf '%s\n' "${covers[@]}" | sort -u); do
    mkdir -p "$cover" # a cover inside another one's is made in it
    mount -t tmpfs -o mode=0755,size=1m haochaping-run-as "$cover"
done
for i in "${!held[@]}"; do
    # folders made on the way, in the cover, must be passable whatever the caller's umask
    (umask 022 && mkdir -p "${targets[$i]}")
    mount --move "${held[$i]}" "${targets[$i]}"
    rmdir "${held[$i]}"
done
for path in "${paths[@]}"; do
    as_user test -x "$path" || die "$user cannot enter $path (its own mode keeps it out)"
done
[ ${#stay[@]} -eq 0 ] || exec "$@"
exec setpriv "${become[@]}" --inh-caps=-all -- "$@"

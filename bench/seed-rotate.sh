#!/usr/bin/env bash
# The seed rotation script, as the benchmark's baseline: what users run today.
#
# usage: seed-rotate.sh ROOT [KEEP]     (KEEP defaults to 16)
#
# ROOT/.latest is the live data. Each run makes ROOT/YYYY-MM-DD_HH.MM.SS: a hard-link copy of
# the newest snapshot (`cp -al`), or a real copy of .latest for the first one (`cp -a`, the fair
# variant: the seed's original linked the live files), then `rsync -aLk --delete .latest/` over
# it; then it deletes the oldest snapshots beyond KEEP and prints the new folder.
# Same commands and flags as the reference reconstruction (rotate_backup.sh --copy-first), kept
# in the repository so the benchmark runs in any clone; bench/seed-check.mjs compares the two.
# One difference: a partial rsync (exit 23, e.g. a dangling symlink under -L; 24, files vanished)
# keeps the snapshot and exits with rsync's code, as the original seed (no `set -e`) did, where
# the reference drops the whole snapshot; real trees such as /usr/share have dangling symlinks.
set -euo pipefail
export LC_ALL=C
root=$(readlink -mn -- "$1")
keep=${2:-16}
latest=$(readlink -mn -- "$root/.latest")
[ -d "$latest" ] || { echo "seed-rotate: $root/.latest is not a directory" >&2; exit 2; }

glob='[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]_[0-9][0-9].[0-9][0-9].[0-9][0-9]'
snapshots() { shopt -s nullglob; local d; for d in "$root"/$glob; do [ -d "$d" ] && [ ! -L "$d" ] && echo "$d"; done; }

prev=$(snapshots | tail -n 1)
# One snapshot per second: wait for a name no earlier run has taken.
while stamp=$(date +%Y-%m-%d_%H.%M.%S); [ -e "$root/$stamp" ] || ! mkdir -- "$root/.incomplete-$stamp" 2>/dev/null; do sleep 0.2; done
tmp="$root/.incomplete-$stamp"
if [ -n "$prev" ]; then cp -al -- "$prev/." "$tmp/"; else cp -a -- "$latest/." "$tmp/"; fi
status=0
rsync -aLk --delete -- "$latest/" "$tmp/" || status=$?
case $status in 0|23|24) ;; *) rm -rf -- "$tmp"; exit "$status" ;; esac
mv -T -- "$tmp" "$root/$stamp"

snapshots | head -n -"$keep" | while IFS= read -r old; do rm -rf -- "$old"; done
echo "$root/$stamp"
exit "$status"

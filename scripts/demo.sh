#!/usr/bin/env bash
# A small, self-contained tour: make a source folder, take two snapshots with a change in
# between, and show what linksnap made. Usage: npm run demo [-- <folder>]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
snap() { node "$here/dist/cli/main.js" "$@"; }
root=${1:-$(mktemp -d "${TMPDIR:-/tmp}/linksnap-demo.XXXXXX")}
mkdir -p "$root/.latest/photos/2024" "$root/.latest/notes"
printf 'shopping: milk, eggs\n' > "$root/.latest/notes/todo.txt"
head -c 200000 /dev/urandom > "$root/.latest/photos/2024/beach.jpg"
cp -p "$root/.latest/photos/2024/beach.jpg" "$root/.latest/photos/beach-copy.jpg"  # a duplicate costs nothing
ln -sfn notes/todo.txt "$root/.latest/todo"

echo "== snap take $root   (first snapshot)"
snap take "$root"
sleep 1
printf 'shopping: milk, eggs, bread\n' > "$root/.latest/notes/todo.txt"
echo "== snap take $root   (after editing notes/todo.txt)"
snap take "$root"
echo "== snap list $root"
snap list "$root"
echo "== ls $root"
ls "$root"
echo
echo "Browse the snapshots with ls and cp; they share unchanged files (same inode):"
ls -li "$root"/20*/photos/2024/beach.jpg
echo "Demo root: $root  (delete it with: rm -rf '$root')"

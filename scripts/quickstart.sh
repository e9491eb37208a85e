#!/usr/bin/env bash
# The main job on a built-in default: a local repository, a real backup of a sample tree, and a
# restore verified three ways (our --verify, byte comparison, and restic's own check).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ ${SKIP_INSTALL:-0} == 1 ]] || bash scripts/install-deps.sh
swift build -c release --product cartae-restic >/dev/null
bin=$(swift build -c release --show-bin-path)/cartae-restic

work=$(mktemp -d /tmp/cartae-quickstart.XXXXXX)
trap 'rm -rf "$work"' EXIT
export RESTIC_REPOSITORY="$work/repo" RESTIC_PASSWORD="quickstart-$(date +%s)"
source_dir=${1:-/usr/share/doc}

"$bin" init
echo "== backup of $source_dir"
"$bin" backup --host quickstart --tag demo "$source_dir"
echo "== second backup (unchanged data: nothing new is stored)"
"$bin" backup --host quickstart --tag demo "$source_dir"
"$bin" snapshots
echo "== restore and verify"
"$bin" restore latest --target "$work/restore" --verify
diff -r --no-dereference "$source_dir" "$work/restore$source_dir"
echo "== restic check --read-data (the reference implementation judges our repository)"
restic --no-cache check --read-data
echo "quickstart OK: backup, restore and verification passed"

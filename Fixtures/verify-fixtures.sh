#!/usr/bin/env bash
# Checks the committed fixtures with the real restic: unpacks repo-v1.tar.gz and repo-v2.tar.gz,
# runs `check --read-data`, restores every snapshot listed in manifest.json and compares the
# result with the recorded manifests (trees) or digests (stdin snapshots).
#
#   bash Fixtures/verify-fixtures.sh [FIXTURES_DIR]
#
# Run as root: the trees contain files owned by 1234:5678 that only root can restore as such.
set -euo pipefail

DIR=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")}" && pwd)
export TZ=UTC LC_ALL=C.UTF-8
export RESTIC_PASSWORD
RESTIC_PASSWORD=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["password"])' "$DIR/manifest.json")
WORK=$(mktemp -d /tmp/cartae-fixture-verify.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

die() { echo "verify-fixtures: $*" >&2; exit 1; }
field() { python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v[k]
print(",".join(v) if isinstance(v, list) else v)' "$DIR/manifest.json" "$@"; }

IGNORE=$(field restic_restore_ignore)
for repo in repo-v1 repo-v2; do
  tar -xzf "$DIR/$repo.tar.gz" -C "$WORK"
  R() { restic --no-cache -r "$WORK/$repo" "$@"; }
  R check --read-data > "$WORK/check.log" 2>&1 || { cat "$WORK/check.log" >&2; die "$repo: check failed"; }
  for label in a b c d e; do
    t="$WORK/restore-$label"
    R restore --quiet "$(field snapshots "$label" ids "$repo")" --target "$t"
    sub=$(field snapshots "$label" restored_path)
    if [ "$label" = d ] || [ "$label" = e ]; then
      [ "$(sha256sum < "$t/$sub" | cut -d' ' -f1)" = "$(field snapshots "$label" stdin sha256)" ] \
        || die "$repo: snapshot $label content differs"
    else
      python3 "$DIR/manifest.py" "$t/$sub" --compare "$DIR/manifest.json" --label "$label" \
        --ignore "$IGNORE" || die "$repo: snapshot $label differs from its manifest"
    fi
    rm -rf "$t"
  done
  [ -z "$(R list locks --no-lock)" ] || die "$repo: lock left behind"
  echo "verify-fixtures: $repo OK"
done

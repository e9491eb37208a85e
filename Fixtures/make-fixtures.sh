#!/usr/bin/env bash
# Builds the restic fixture repositories used by the Swift integration tests.
#
#   bash Fixtures/make-fixtures.sh OUTDIR
#
# Makes OUTDIR/repo-v1 and OUTDIR/repo-v2 with the real restic (password "fixture-password"),
# OUTDIR/manifest.json (what the backed-up trees looked like, plus the snapshot IDs),
# OUTDIR/golden/ (verbatim restic output to compare our CLI with), OUTDIR/repo-v*.tar.gz, and
# then verifies everything with restic itself (check --read-data, restore + manifest compare).
#
# Must run as root: the source tree has files owned by 1234:5678 and restore must chown.
# The source tree content, metadata and snapshot metadata are deterministic; the repository
# bytes are not (restic picks a random chunker polynomial, keys and IVs), so snapshot IDs
# change on every run. Always copy tarballs, manifest.json and golden/ together.
set -euo pipefail

OUT=${1:?usage: make-fixtures.sh OUTDIR}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MANIFEST_PY="$HERE/manifest.py"
SRC=/tmp/cartae-fixture-src
PASSWORD=fixture-password

# restic prints times in the local zone; golden files must not depend on the machine.
export TZ=UTC LC_ALL=C.UTF-8
export RESTIC_PASSWORD=$PASSWORD
unset RESTIC_REPOSITORY RESTIC_PASSWORD_FILE RESTIC_PASSWORD_COMMAND RESTIC_REPOSITORY_FILE || true
umask 022

die() { echo "make-fixtures: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (chown 1234:5678, restore of owners)"
command -v restic >/dev/null || die "restic not found"
command -v python3 >/dev/null || die "python3 not found"
RESTIC_VERSION=$(restic version)
case "$RESTIC_VERSION" in
  "restic 0.14.0 "*) ;;
  *) [ "${FIXTURES_ANY_RESTIC:-}" = 1 ] || die "expected restic 0.14.0, got: $RESTIC_VERSION (set FIXTURES_ANY_RESTIC=1 to go on)";;
esac

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -rf "$OUT/repo-v1" "$OUT/repo-v2" "$OUT/golden" "$OUT/manifest.json" \
       "$OUT/repo-v1.tar.gz" "$OUT/repo-v2.tar.gz"
WORK=$(mktemp -d /tmp/cartae-fixture-work.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------------------------------------
# Deterministic content. Random bytes are SHAKE-256 of a label, so any language can regenerate
# them; text is built from counters.
gen() {
  python3 - "$@" <<'PY'
import hashlib, sys
kind, out = sys.argv[1], sys.argv[2]
args = sys.argv[3:]
if kind == "random":          # random OUT SIZE LABEL
    data = hashlib.shake_256(args[1].encode()).digest(int(args[0]))
elif kind == "log":           # log OUT LINES: ~105 bytes a line, very compressible
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "INFO", "ERROR"]
    lines = []
    for i in range(int(args[0])):
        sec = 7 * 3600 + i // 10
        lines.append("2024-05-03T%02d:%02d:%02d.%03dZ %-5s worker-%d request %07d handled in %3d ms status=%d path=/api/v1/items/%d\n"
                     % (sec // 3600 % 24, sec // 60 % 60, sec % 60, (i * 37) % 1000,
                        levels[i % 7], i % 8, i, (i * 7919) % 997, 500 if i % 7 == 6 else 200, i % 4096))
    data = "".join(lines).encode()
elif kind == "sql":           # sql OUT SIZE: a pg_dump-like text of exactly SIZE bytes
    parts = ["-- PostgreSQL database dump (cartae fixture)\n",
             "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n",
             "CREATE TABLE public.items (\n    id integer NOT NULL,\n    name text NOT NULL,\n    price numeric(10,2),\n    created_at timestamp with time zone\n);\n\n",
             "COPY public.items (id, name, price, created_at) FROM stdin;\n"]
    size, i = int(args[0]), 0
    text = "".join(parts)
    rows = [text]
    total = len(text.encode())
    while total < size:
        row = "%d\titem-%06d \u00e9t\u00e9\t%d.%02d\t2024-05-%02d %02d:%02d:%02d+00\n" % (
            i + 1, i, (i * 31) % 10000, i % 100, 1 + i % 28, i % 24, (i * 7) % 60, (i * 13) % 60)
        rows.append(row)
        total += len(row.encode())
        i += 1
    data = "".join(rows).encode()[:size]
elif kind == "rdb":           # rdb OUT SIZE: RDB-looking header plus SHAKE bytes
    body = hashlib.shake_256(b"cartae-fixture:redis.rdb").digest(int(args[0]) - 9)
    data = b"REDIS0011" + body
elif kind == "text":          # text OUT LABEL: a few lines naming the label
    data = ("cartae fixture file: %s\n" % args[0]).encode() * 3
else:
    sys.exit("gen: unknown kind " + kind)
if out == "-":
    sys.stdout.buffer.write(data)
else:
    with open(out, "wb") as f:
        f.write(data)
PY
}

# touch with UTC times, never following symlinks.
stamp() { touch -h -d "$1" -- "$2"; }

build_state_a() {
  rm -rf "$SRC"
  mkdir -p "$SRC"
  cd "$SRC"

  gen text README.txt "README"
  : > empty.txt
  mkdir empty-dir
  gen random big.bin $((9 * 1024 * 1024 + 12345)) "cartae-fixture:big.bin"
  mkdir logs
  gen log logs/app.log 20000

  # 4 MiB logical: hole [0,1M), 1 MiB of data [1M,2M), hole [2M,4M).
  truncate -s 4M sparse.img
  gen random "$WORK/sparse-data" $((1024 * 1024)) "cartae-fixture:sparse.img"
  dd if="$WORK/sparse-data" of=sparse.img bs=1M seek=1 conv=notrunc status=none

  mkdir -p level1/level2/level3
  gen text level1/notes.txt "notes, version A"
  gen text level1/level2/middle.txt "middle"
  gen text level1/level2/level3/deep.txt "deep"

  mkdir links
  ln -s ../README.txt links/rel-link
  ln -s /tmp/cartae-fixture-src/level1/notes.txt links/abs-link
  ln -s does-not-exist/nowhere.txt links/dangling

  # One inode, three names in three directories.
  mkdir hardlinks
  gen text hardlinks/original.txt "hardlinked"
  ln hardlinks/original.txt level1/hl-copy.txt
  ln hardlinks/original.txt level1/level2/level3/hl-deep.txt

  mkdir perms
  gen text perms/private-0600.txt "private"
  gen text perms/readonly-0444.txt "readonly"
  printf '#!/bin/sh\necho cartae fixture script\n' > perms/script-0700.sh
  mkdir perms/dir-0751 perms/sticky-1777 perms/setgid-2750
  gen text perms/dir-0751/inside.txt "inside 0751"
  gen text perms/sticky-1777/tmpfile.txt "inside sticky"
  gen text perms/setgid-2750/inside.txt "inside setgid"
  gen text perms/owned-1234-5678.txt "owned by 1234:5678"

  mkdir unicode
  gen text "unicode/Grüße und Küsse.txt" "umlauts"
  mkdir "unicode/日本語 ファイル"
  gen text "unicode/日本語 ファイル/テキスト.txt" "japanese"
  gen text "unicode/name with  spaces" "two spaces"
  gen text 'unicode/we"ird\name.txt' "quote and backslash"

  mkdir special
  mkfifo -m 0640 special/pipe.fifo

  chmod 0600 perms/private-0600.txt
  chmod 0444 perms/readonly-0444.txt
  chmod 0700 perms/script-0700.sh
  chmod 0751 perms/dir-0751
  chmod 1777 perms/sticky-1777
  chmod 2750 perms/setgid-2750
  chown 1234:5678 perms/owned-1234-5678.txt
  chown -h 1234:5678 links/abs-link

  stamp "2023-06-15 12:00:00" README.txt
  stamp "1999-12-31 23:59:59.999999999" empty.txt
  stamp "2024-02-29 23:59:59.5" big.bin
  stamp "2024-03-01 06:00:00.25" logs/app.log
  stamp "2021-07-04 04:07:21.000000700" sparse.img
  stamp "2024-04-01 08:00:00.1" level1/notes.txt
  stamp "2005-05-05 05:05:05.050505050" level1/level2/middle.txt
  stamp "2038-01-19 03:14:08.000000001" level1/level2/level3/deep.txt
  stamp "2040-02-29 12:34:56.987654321" links/rel-link
  stamp "1999-01-01 01:01:01.010101010" links/abs-link
  stamp "2001-09-09 01:46:40" links/dangling
  stamp "2010-10-10 10:10:10.101010101" hardlinks/original.txt
  stamp "2022-02-22 22:22:22.222222222" perms/private-0600.txt
  stamp "2099-12-31 23:59:59.999999999" perms/readonly-0444.txt
  stamp "2015-03-14 09:26:53.589793238" perms/script-0700.sh
  stamp "2016-01-01 00:00:00.000001" perms/dir-0751/inside.txt
  stamp "2017-01-01 00:00:00.000002" perms/sticky-1777/tmpfile.txt
  stamp "2018-01-01 00:00:00.000003" perms/setgid-2750/inside.txt
  stamp "2012-12-12 12:12:12.121212121" perms/owned-1234-5678.txt
  stamp "2019-01-01 00:00:00.5" "unicode/Grüße und Küsse.txt"
  stamp "2019-01-02 00:00:00.25" "unicode/日本語 ファイル/テキスト.txt"
  stamp "2019-01-03 00:00:00.125" "unicode/name with  spaces"
  stamp "2019-01-04 00:00:00.0625" 'unicode/we"ird\name.txt'
  stamp "2020-02-02 02:02:02.020202020" special/pipe.fifo
  stamp_dirs
}

# Directory times last and children first: creating entries changes a directory's mtime.
stamp_dirs() {
  cd "$SRC"
  stamp "2024-04-03 03:03:03.000000003" level1/level2/level3
  stamp "2024-04-02 02:02:02.000000002" level1/level2
  stamp "2024-04-01 01:01:01.000000001" level1
  stamp "2000-01-01 00:00:00.000000001" empty-dir
  stamp "2024-03-01 06:00:01" logs
  stamp "2040-01-01 00:00:00.5" links
  stamp "2010-10-10 10:10:11" hardlinks
  stamp "2016-06-06 06:06:06.6" perms/dir-0751
  stamp "2017-07-07 07:07:07.7" perms/sticky-1777
  stamp "2018-08-08 08:08:08.8" perms/setgid-2750
  stamp "2011-11-11 11:11:11.111111111" perms
  stamp "2019-02-01 00:00:00.75" "unicode/日本語 ファイル"
  stamp "2019-02-02 00:00:00.875" unicode
  stamp "2020-02-02 02:02:03" special
  stamp "2024-01-02 03:04:05.123456789" .
}

# State B: one file changed, one added.
build_state_b() {
  cd "$SRC"
  gen text level1/notes.txt "notes, version B (changed after snapshot a)"
  gen text level1/level2/new-in-b.txt "added for snapshot b"
  stamp "2024-05-03 12:00:00.5" level1/notes.txt
  stamp "2024-05-03 13:00:00" level1/level2/new-in-b.txt
  stamp_dirs
}

# ---------------------------------------------------------------------------------------------
R() { local repo=$1; shift; restic --no-cache -r "$OUT/$repo" "$@"; }

no_locks() {
  local repo=$1 locks
  locks=$(R "$repo" list locks --no-lock)
  [ -z "$locks" ] || die "$repo: lock left behind: $locks"
}

backup() { # repo, then restic backup arguments
  local repo=$1; shift
  R "$repo" backup --quiet "$@"
  no_locks "$repo"
}

STDIN_SQL="$WORK/dump.sql"
STDIN_RDB="$WORK/redis.rdb"
gen sql "$STDIN_SQL" $((300 * 1024))
gen rdb "$STDIN_RDB" 4096

for v in 1 2; do
  R "repo-v$v" init --repository-version "$v" >/dev/null
  R "repo-v$v" cat config > "$WORK/config-v$v.json"
done

build_state_a
python3 "$MANIFEST_PY" "$SRC" > "$WORK/manifest-a.json"
for v in 1 2; do
  backup "repo-v$v" --host alpha --tag daily,full --time "2024-05-03 07:00:00" "$SRC"
done

build_state_b
python3 "$MANIFEST_PY" "$SRC" > "$WORK/manifest-b.json"
python3 "$MANIFEST_PY" "$SRC/level1" > "$WORK/manifest-c.json"
for v in 1 2; do
  backup "repo-v$v" --host alpha --tag daily --time "2024-05-04 07:00:00" "$SRC"
  backup "repo-v$v" --host beta --tag weekly --time "2024-05-05 08:00:00" "$SRC/level1"
  backup "repo-v$v" --host alpha --tag postgres --time "2024-05-06 02:00:00" \
    --stdin --stdin-filename db/dump.sql < "$STDIN_SQL"
  backup "repo-v$v" --host beta --time "2024-05-06 03:00:00" \
    --stdin --stdin-filename redis.rdb < "$STDIN_RDB"
done

for v in 1 2; do
  R "repo-v$v" snapshots --json > "$WORK/snapshots-v$v.json"
done

# ---------------------------------------------------------------------------------------------
python3 - "$OUT/manifest.json" "$WORK" "$RESTIC_VERSION" "$PASSWORD" "$SRC" <<'PY'
import hashlib, json, os, sys
out, work, version, password, src = sys.argv[1:]
def load(name):
    with open(os.path.join(work, name), encoding="utf-8") as f:
        return json.load(f)
def digest(name):
    with open(os.path.join(work, name), "rb") as f:
        data = f.read()
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
labels = {  # label -> (time as restic prints it, expected paths, what restore makes below the target)
    "a": ("2024-05-03T07:00:00Z", [src], src.lstrip("/")),
    "b": ("2024-05-04T07:00:00Z", [src], src.lstrip("/")),
    "c": ("2024-05-05T08:00:00Z", [src + "/level1"], src.lstrip("/") + "/level1"),
    "d": ("2024-05-06T02:00:00Z", ["/db/dump.sql"], "db/dump.sql"),
    "e": ("2024-05-06T03:00:00Z", ["/redis.rdb"], "redis.rdb"),
}
snaps = {repo: load("snapshots-%s.json" % repo[-2:]) for repo in ("repo-v1", "repo-v2")}
snapshots = {}
for label, (time, paths, restored) in labels.items():
    info = {"time": time, "paths": paths, "restored_path": restored, "ids": {}}
    for repo, listing in snaps.items():
        found = [s for s in listing if s["time"] == time]
        if len(found) != 1 or found[0]["paths"] != paths:
            sys.exit("snapshot %s not found exactly once in %s" % (label, repo))
        s = found[0]
        info["host"], info["tags"] = s["hostname"], s.get("tags", [])
        info["ids"][repo] = s["id"]
    if label in ("a", "b", "c"):
        info["manifest"] = label
    snapshots[label] = info
# b must have picked a as its parent (same host and path, older time).
for repo in snaps:
    b = [s for s in snaps[repo] if s["time"] == labels["b"][0]][0]
    if b.get("parent") != snapshots["a"]["ids"][repo]:
        sys.exit("snapshot b in %s does not have a as parent" % repo)
snapshots["d"]["stdin"] = digest("dump.sql")
snapshots["e"]["stdin"] = digest("redis.rdb")
doc = {
    "format": 1,
    "restic_version": version,
    "password": password,
    "source_root": src,
    "restic_restore_ignore": ["sparse"],
    "snapshots": snapshots,
    "restic_snapshots_json": snaps,
    # restic cat config: the chunker polynomial decides where big files were cut.
    "repositories": {repo: load("config-%s.json" % repo[-2:]) for repo in snaps},
    "manifests": {label: load("manifest-%s.json" % label) for label in ("a", "b", "c")},
}
with open(out, "w", encoding="utf-8") as f:
    f.write(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
PY

snap_id() { # repo label
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshots"][sys.argv[3]]["ids"][sys.argv[2]])' \
    "$OUT/manifest.json" "$1" "$2"
}

# ---------------------------------------------------------------------------------------------
# Golden output: exactly what restic 0.14 writes to stdout when it is not a terminal.
golden() { # repo dir
  local repo=$1 dir=$2 a b d
  mkdir -p "$dir"
  a=$(snap_id "$repo" a)
  b=$(snap_id "$repo" b)
  d=$(snap_id "$repo" d)
  R "$repo" snapshots --json > "$dir/snapshots.json"
  R "$repo" snapshots > "$dir/snapshots.txt"
  R "$repo" ls --json "$a" > "$dir/ls-a.json"
  R "$repo" ls "$a" > "$dir/ls-a.txt"
  R "$repo" ls -l "$a" > "$dir/ls-l-a.txt"
  R "$repo" ls --json "$d" > "$dir/ls-d.json"
  R "$repo" ls -l "$d" > "$dir/ls-l-d.txt"
  R "$repo" diff "$a" "$b" > "$dir/diff-a-b.txt"
  R "$repo" cat snapshot "$a" > "$dir/cat-snapshot-a.json"
  R "$repo" stats "$a" > "$dir/stats-a.txt"
  R "$repo" stats --json "$a" > "$dir/stats-a.json"
  R "$repo" stats --mode raw-data "$a" > "$dir/stats-raw-data-a.txt"
  R "$repo" stats --mode raw-data --json "$a" > "$dir/stats-raw-data-a.json"
  dump_trees "$repo" "$a" "$dir/trees-a"
  dump_trees "$repo" "$d" "$dir/trees-d"
  no_locks "$repo"
}

# Every tree blob of a snapshot, plaintext exactly as stored (file name = tree ID = SHA-256 of
# the bytes), plus index.txt "ID PATH" in walk order: known answers for byte-exact tree encoding.
dump_trees() { # repo snapshot-id dir
  mkdir -p "$3"
  python3 - "$OUT/$1" "$2" "$3" <<'PY'
import hashlib, json, os, subprocess, sys
repo, snap, out = sys.argv[1:]
def restic(*args):
    return subprocess.run(["restic", "--no-cache", "-r", repo] + list(args),
                          check=True, stdout=subprocess.PIPE).stdout
tree = json.loads(restic("snapshots", "--json", snap))[0]["tree"]
index, stack = [], [(tree, "/")]
while stack:
    tid, path = stack.pop(0)
    data = restic("cat", "blob", tid)
    if hashlib.sha256(data).hexdigest() != tid:
        sys.exit("tree %s: restic cat blob bytes do not hash to the ID" % tid)
    with open(os.path.join(out, tid + ".json"), "wb") as f:
        f.write(data)
    index.append("%s %s\n" % (tid, path))
    for node in json.loads(data)["nodes"]:
        if node["type"] == "dir":
            stack.append((node["subtree"], path.rstrip("/") + "/" + node["name"]))
with open(os.path.join(out, "index.txt"), "w", encoding="utf-8") as f:
    f.writelines(index)
PY
}
golden repo-v2 "$OUT/golden"
golden repo-v1 "$OUT/golden/v1"

# ---------------------------------------------------------------------------------------------
# Verification with restic itself.
IGNORE=$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["restic_restore_ignore"]))' "$OUT/manifest.json")
for v in 1 2; do
  repo="repo-v$v"
  R "$repo" check --read-data > "$WORK/check.log" 2>&1 || { cat "$WORK/check.log" >&2; die "$repo: check --read-data failed"; }
  for label in a b c; do
    t="$WORK/restore-$repo-$label"
    R "$repo" restore --quiet "$(snap_id "$repo" "$label")" --target "$t"
    sub=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshots"][sys.argv[2]]["restored_path"])' "$OUT/manifest.json" "$label")
    python3 "$MANIFEST_PY" "$t/$sub" --compare "$OUT/manifest.json" --label "$label" --ignore "$IGNORE" \
      || die "$repo: restore of snapshot $label differs from its source"
    rm -rf "$t"
  done
  for label in d e; do
    t="$WORK/restore-$repo-$label"
    R "$repo" restore --quiet "$(snap_id "$repo" "$label")" --target "$t"
    python3 - "$OUT/manifest.json" "$label" "$t" <<'PY' || die "$repo: stdin snapshot $label restored wrongly"
import hashlib, json, os, sys
doc, label, target = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
info = doc["snapshots"][label]
data = open(os.path.join(target, info["restored_path"]), "rb").read()
if len(data) != info["stdin"]["size"] or hashlib.sha256(data).hexdigest() != info["stdin"]["sha256"]:
    sys.exit("content mismatch for " + label)
PY
    rm -rf "$t"
  done
  no_locks "$repo"
done

# Reproducible tarballs of the repositories (git would drop the empty data/XX folders).
for v in 1 2; do
  tar --sort=name --mtime="2024-05-07 00:00:00Z" --owner=0 --group=0 --numeric-owner \
      --format=gnu -C "$OUT" -cf - "repo-v$v" | gzip -9n > "$OUT/repo-v$v.tar.gz"
done

echo "make-fixtures: OK"
ls -l "$OUT"

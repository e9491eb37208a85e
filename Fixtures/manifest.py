#!/usr/bin/env python3
"""Canonical JSON description of a directory tree, for comparing a restored tree with its source.

Usage:
  manifest.py DIR [--root-name NAME] [--ignore KEY[,KEY...]]...
  manifest.py DIR --compare EXPECTED.json [--label LABEL] [--ignore ...]

Output (stdout): {"entries": [ ... ]} with one object per entry: the root first, then the rest
sorted by the UTF-8 bytes of their paths. The root itself is the entry "." (or NAME with
--root-name, which also prefixes every other path with "NAME/"). Keys of an entry (lstat, symlinks are never followed):
  path      relative path
  type      file | dir | symlink | fifo | socket | chardev | blockdev
  mode      permission and special bits (S_IMODE) as a 4-digit octal string, e.g. "1777"
  uid, gid  numeric owner
  mtime     modification time in integer nanoseconds since the epoch
  size      files only: byte size
  sha256    files only: hex SHA-256 of the content
  sparse    files only: true when allocated blocks * 512 < size (the file has holes)
  target    symlinks only: link target
  device    chardev/blockdev only: [major, minor]
  hardlink  non-directories whose inode is shared by several paths inside DIR: a small integer,
            1, 2, ... numbered by the first such path in sorted order (same inode -> same number)

--ignore removes keys before printing or comparing. KEY is an entry key ("mtime", "sparse",
"uid", ...), or KEY_TYPES to remove it only for one type: "mtime_dirs", "mtime_symlinks",
"mtime_files", "mtime_fifos", "mode_symlinks" ... ("owner" = uid and gid; "root" drops the
root entry itself).

--compare loads EXPECTED.json, which is either an output of this script or a fixture
manifest.json ({"manifests": {LABEL: {...}}}; pick one with --label), applies the same
--ignore to both sides and exits 0 when equal, 1 (with a list of differences on stderr) when
not. Exit 2 on usage errors.
"""

import argparse
import hashlib
import json
import os
import stat
import sys

TYPE_PLURALS = {
    "dirs": "dir", "files": "file", "symlinks": "symlink", "fifos": "fifo",
    "sockets": "socket", "chardevs": "chardev", "blockdevs": "blockdev",
}
ENTRY_KEYS = {"path", "type", "mode", "uid", "gid", "mtime", "size", "sha256", "sparse",
              "target", "device", "hardlink"}


def display(raw: bytes) -> str:
    # Non-UTF-8 names become visible "\xNN" text instead of breaking the JSON encoding.
    return raw.decode("utf-8", errors="backslashreplace")


def file_type(st: os.stat_result) -> str:
    m = st.st_mode
    if stat.S_ISREG(m):
        return "file"
    if stat.S_ISDIR(m):
        return "dir"
    if stat.S_ISLNK(m):
        return "symlink"
    if stat.S_ISFIFO(m):
        return "fifo"
    if stat.S_ISSOCK(m):
        return "socket"
    if stat.S_ISCHR(m):
        return "chardev"
    if stat.S_ISBLK(m):
        return "blockdev"
    return "unknown"


def sha256_of(path: bytes) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def walk(root: bytes):
    """Yields (relative path bytes, absolute path bytes, lstat) for root and everything below it."""
    stack = [b""]
    while stack:
        rel = stack.pop()
        full = os.path.join(root, rel) if rel else root
        st = os.lstat(full)
        yield rel, full, st
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(full), reverse=True):
                stack.append(os.path.join(rel, name) if rel else name)


def build(root: str, root_name: str) -> dict:
    root_b = os.fsencode(root)
    prefix = os.fsencode(root_name)
    rows = []
    for rel, full, st in walk(root_b):
        kind = file_type(st)
        if rel:
            shown = rel if root_name == "." else prefix + b"/" + rel
        else:
            shown = prefix
        entry = {
            "path": display(shown),
            "type": kind,
            "mode": "%04o" % stat.S_IMODE(st.st_mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "mtime": st.st_mtime_ns,
        }
        if kind == "file":
            entry["size"] = st.st_size
            entry["sha256"] = sha256_of(full)
            entry["sparse"] = st.st_blocks * 512 < st.st_size
        elif kind == "symlink":
            entry["target"] = display(os.readlink(full))
        elif kind in ("chardev", "blockdev"):
            entry["device"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
        inode = (st.st_dev, st.st_ino) if kind != "dir" else None
        rows.append(((rel != b"", shown), inode, entry))

    rows.sort(key=lambda r: r[0])
    counts = {}
    for _, inode, _ in rows:
        if inode is not None:
            counts[inode] = counts.get(inode, 0) + 1
    groups = {}
    for _, inode, entry in rows:
        if inode is not None and counts[inode] > 1:
            entry["hardlink"] = groups.setdefault(inode, len(groups) + 1)
    return {"entries": [entry for _, _, entry in rows]}


def parse_ignores(specs) -> list:
    result = []
    for spec in specs:
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            if item == "owner":
                result += [("uid", None), ("gid", None)]
                continue
            if item == "root":
                result.append(("root", None))
                continue
            key, _, plural = item.rpartition("_")
            if key in ENTRY_KEYS and plural in TYPE_PLURALS:
                result.append((key, TYPE_PLURALS[plural]))
            elif item in ENTRY_KEYS and item != "path":
                result.append((item, None))
            else:
                raise ValueError("unknown --ignore key %r" % item)
    return result


def apply_ignores(manifest: dict, ignores: list) -> dict:
    entries = [dict(e) for e in manifest["entries"]]
    if ("root", None) in ignores and entries:
        entries = entries[1:]
    for e in entries:
        for key, kind in ignores:
            if key != "root" and (kind is None or e["type"] == kind):
                e.pop(key, None)
    return {"entries": entries}


def render(manifest: dict) -> str:
    return json.dumps(manifest, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def load_expected(path: str, label):
    with open(path, "r", encoding="utf-8") as f:
        data = json.load(f)
    if "entries" in data:
        return data
    manifests = data.get("manifests")
    if not isinstance(manifests, dict):
        raise ValueError("%s has neither 'entries' nor 'manifests'" % path)
    if label is None:
        raise ValueError("%s holds several manifests; choose one with --label (%s)"
                         % (path, ", ".join(sorted(manifests))))
    if label not in manifests:
        raise ValueError("no manifest labelled %r in %s" % (label, path))
    return manifests[label]


def differences(expected: dict, actual: dict) -> list:
    exp = {e["path"]: e for e in expected["entries"]}
    act = {e["path"]: e for e in actual["entries"]}
    out = []
    for path in sorted(set(exp) | set(act), key=lambda p: p.encode("utf-8", "surrogateescape")):
        if path not in act:
            out.append("missing: %s" % path)
        elif path not in exp:
            out.append("unexpected: %s" % path)
        else:
            for key in sorted(set(exp[path]) | set(act[path])):
                a, b = exp[path].get(key), act[path].get(key)
                if a != b:
                    out.append("%s: %s expected %r, got %r" % (path, key, a, b))
    return out


def main(argv) -> int:
    parser = argparse.ArgumentParser(description="Canonical JSON description of a directory tree.")
    parser.add_argument("dir")
    parser.add_argument("--root-name", default=".", help='label of the root entry (default ".")')
    parser.add_argument("--ignore", action="append", default=[], metavar="KEY[,KEY...]")
    parser.add_argument("--compare", metavar="EXPECTED.json")
    parser.add_argument("--label", help="manifest label inside a fixture manifest.json")
    args = parser.parse_args(argv)
    try:
        ignores = parse_ignores(args.ignore)
    except ValueError as err:
        print("manifest.py: %s" % err, file=sys.stderr)
        return 2
    if not os.path.isdir(args.dir):
        print("manifest.py: %s is not a directory" % args.dir, file=sys.stderr)
        return 2
    actual = apply_ignores(build(args.dir, args.root_name), ignores)
    if args.compare is None:
        sys.stdout.write(render(actual))
        return 0
    try:
        expected = apply_ignores(load_expected(args.compare, args.label), ignores)
    except (OSError, ValueError) as err:
        print("manifest.py: %s" % err, file=sys.stderr)
        return 2
    diffs = differences(expected, actual)
    for line in diffs:
        print(line, file=sys.stderr)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env bash
# Runs restic and cartae-restic in turn on the same data and machine and prints, per step, wall
# time, CPU time, peak RSS and repository size for both, and the ratios restic ÷ ours.
#
#   Benchmarks/compare-restic.sh                 # a generated data set (small files, random, text)
#   Benchmarks/compare-restic.sh /usr/share      # real directories
#   BENCH_ROUNDS=3 Benchmarks/compare-restic.sh /usr/share
#
# Steps: init, first backup, unchanged backup, restore, check --read-data, forget + prune.
# With BENCH_ROUNDS=N the whole sequence runs N times (fresh repositories each round, restic
# first in odd rounds, ours first in even ones) and the table shows the median wall and CPU
# time, the largest peak RSS, and the ratio of each round. Every round's repositories and
# restores stay on disk until the end (see below), so N rounds need N times the space.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=${BENCH_WORK:-$(mktemp -d /tmp/cartae-bench.XXXXXX)}
trap '[[ -n ${BENCH_KEEP:-} ]] || rm -rf "$work"' EXIT
export RESTIC_PASSWORD=bench-password TZ=UTC

# Statically linked Swift runtime, as deployed: about 5 MB less resident memory per process
# than loading the toolchain's shared libraries (Foundation, ICU), and a faster start.
build=(swift build -c release --package-path "$root" --static-swift-stdlib)
"${build[@]}" --product cartae-restic >/dev/null
ours="$("${build[@]}" --show-bin-path)/cartae-restic"
command -v restic >/dev/null || { echo "restic is not installed: apt-get install -y restic" >&2; exit 1; }

if (($# == 0)); then
    data="$work/data"
    python3 "$here/make-dataset.py" "$data" >/dev/null
    set -- "$data"
fi
sources=("$@")

rounds=${BENCH_ROUNDS:-1}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_ROUNDS must be a positive number, got '$rounds'" >&2; exit 1; }

# run LABEL TOOL ARGS... → appends "label tool wall cpu rss" to the results file
results="$work/results.txt"
: >"$results"
run() {
    local label=$1 tool=$2; shift 2
    local stats="$work/time.txt"
    sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    /usr/bin/time -f "%e %U %S %M" -o "$stats" "$@" >/dev/null 2>"$work/stderr.txt" || {
        echo "$tool $label failed:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
    read -r wall user sys rss <"$stats"
    echo "$label $tool $wall $(awk -v a="$user" -v b="$sys" "BEGIN{print a+b}") $rss" >>"$results"
}

for round in $(seq "$rounds"); do
    order=(restic ours); ((round % 2 == 0)) && order=(ours restic)
    for tool in "${order[@]}"; do
        repo="$work/repo-$tool-$round"
        bin=restic; [[ $tool == ours ]] && bin=$ours
        extra=(); [[ $tool == restic ]] && extra=(--no-cache)
        run init "$tool" "$bin" "${extra[@]}" -r "$repo" init
        run backup "$tool" "$bin" "${extra[@]}" -r "$repo" backup -q --host bench "${sources[@]}"
        run unchanged "$tool" "$bin" "${extra[@]}" -r "$repo" backup -q --host bench "${sources[@]}"
        du -sb "$repo" | awk -v t="$tool" '{print "size " t " " $1}' >>"$results"
        # Restore targets stay until the end: ext4 scans past recently deleted inodes when
        # it allocates new ones, so deleting one restore would slow the next one.
        run restore "$tool" "$bin" "${extra[@]}" -r "$repo" restore latest --target "$work/restore-$tool-$round"
        run check "$tool" "$bin" "${extra[@]}" -r "$repo" check --read-data
        run prune "$tool" "$bin" "${extra[@]}" -r "$repo" forget --keep-last 1 --prune
    done
done

python3 - "$results" <<'PY'
import statistics, sys
rows = {}
sizes = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if parts[0] == "size":
        sizes.setdefault(parts[1], []).append(int(parts[2])); continue
    label, tool, wall, cpu, rss = parts
    rows.setdefault(label, {}).setdefault(tool, []).append((float(wall), float(cpu), int(rss)))
rounds = len(sizes["ours"])
def median(samples, field): return statistics.median(s[field] for s in samples)
print(f"{'step':<10} {'restic s':>9} {'ours s':>9} {'ratio':>7} {'restic cpu':>10} {'ours cpu':>9} {'restic MB':>10} {'ours MB':>8}"
      + ("  ratio per round" if rounds > 1 else ""))
for label in ["init", "backup", "unchanged", "restore", "check", "prune"]:
    r, o = rows[label]["restic"], rows[label]["ours"]
    line = (f"{label:<10} {median(r, 0):>9.2f} {median(o, 0):>9.2f} {median(r, 0)/max(median(o, 0), 0.001):>6.2f}x"
            f" {median(r, 1):>10.2f} {median(o, 1):>9.2f} {max(s[2] for s in r)/1024:>10.1f} {max(s[2] for s in o)/1024:>8.1f}")
    if rounds > 1:
        line += "  " + " ".join(f"{a[0]/max(b[0], 0.001):.2f}" for a, b in zip(r, o))
    print(line)
size_r, size_o = statistics.median(sizes["restic"]), statistics.median(sizes["ours"])
print(f"{'repo size':<10} {size_r/1e6:>8.1f}M {size_o/1e6:>8.1f}M {size_o/size_r:>6.3f} (ours/restic)")
PY

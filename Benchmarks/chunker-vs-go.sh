#!/bin/sh
# restic's Go chunker against ours on the same deterministic bytes:
#   Benchmarks/chunker-vs-go.sh [MIB] [ROUNDS] [SEED]     (defaults: 256 5 1)
# Needs Go and restic's chunker source (Debian: golang-go golang-github-restic-chunker-dev); the Go
# program is built in GOPATH mode against /usr/share/gocode (override with GOCODE=...) in a temp dir.
# Both print the chunk count and a hash of the chunk end offsets, which must match.
# SCRATCH (default: Benchmarks/.build) is the Swift scratch path of the Benchmarks package.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mib=${1:-256}; rounds=${2:-5}; seed=${3:-1}
gocode=${GOCODE:-/usr/share/gocode}
scratch=${SCRATCH:-$here/.build}

[ -d "$gocode/src/github.com/restic/chunker" ] || {
    echo "restic's chunker source is missing under $gocode (apt-get install golang-github-restic-chunker-dev)" >&2
    exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/chunkerspeed"
cp "$here/go/chunkerspeed.go" "$tmp/src/chunkerspeed/main.go"
(cd "$tmp/src/chunkerspeed" && GO111MODULE=off GOPATH="$tmp:$gocode" GOCACHE="$tmp/cache" GOFLAGS= \
    go build -o "$tmp/chunkerspeed" .)

swift build -c release --package-path "$here" --scratch-path "$scratch" --product chunker-speed >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log" >&2; exit 1; }
swift=$(swift build -c release --package-path "$here" --scratch-path "$scratch" --show-bin-path 2>/dev/null)/chunker-speed

go_out=$("$tmp/chunkerspeed" "$mib" "$rounds" "$seed")
echo "$go_out"
swift_out=$("$swift" "$mib" "$rounds" "$seed")
echo "$swift_out"

# "N chunks, boundaries H" must agree.
cuts() { echo "$1" | sed -n 's/.*MiB, \([0-9]* chunks, boundaries [0-9a-f]*\),.*/\1/p'; }
if [ "$(cuts "$go_out")" = "$(cuts "$swift_out")" ] && [ -n "$(cuts "$go_out")" ]; then
    echo "cut points: identical ($(cuts "$go_out"))"
else
    echo "cut points: DIFFER" >&2
    exit 1
fi

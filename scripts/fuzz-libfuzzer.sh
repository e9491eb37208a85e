#!/usr/bin/env bash
# Long fuzzing runs of the repository decoders with libFuzzer (coverage-guided, AddressSanitizer).
#
#   scripts/fuzz-libfuzzer.sh TARGET [libFuzzer flags…]     e.g. scripts/fuzz-libfuzzer.sh tree -max_total_time=600
#
# TARGET: tree index snapshot config keyfile lock masterkey node packheader zstd unpacked
# The in-suite fuzzer (Tests/ResticCoreTests/Fuzz) runs a fixed, deterministic budget on every
# `swift test`; this script is for open-ended runs. It compiles ResticCompress, ResticCrypto and
# ResticCore straight from Sources with swiftc (no Package.swift target), links a fuzz entry
# point, seeds a working corpus from Fixtures/fuzz/<corpus> and runs libFuzzer with
# `-malloc_limit_mb=64`, so one allocation sized by a claimed length (rather than by the input)
# is reported as a crash. Crashes land in $FUZZ_WORK/artifacts; keep one as
# Fixtures/fuzz/regressions/<decoder>-<short-name> and the test suite replays it.
set -euo pipefail

target=${1:?usage: $0 TARGET [libFuzzer flags…]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
work=${FUZZ_WORK:-$root/.build/libfuzzer}
build=$work/build
mkdir -p "$build" "$work/corpus-$target" "$work/artifacts"

case $target in
    tree|index|snapshot|config|keyfile|lock|packheader|zstd|unpacked) corpus=$target ;;
    masterkey|node) corpus=tree ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac

flags=(-sanitize=fuzzer,address -parse-as-library -g -Onone -swift-version 6)
rebuilt=${FUZZ_REBUILD:-}
module() {  # NAME [extra swiftc flags…]: a static library and its module from Sources/NAME
    local name=$1; shift
    # A module is rebuilt when its sources changed or a module it imports was rebuilt.
    if [ -z "$rebuilt" ] && [ -f "$build/lib$name.a" ] \
        && [ -z "$(find "$root/Sources/$name" -newer "$build/lib$name.a" -name '*.swift')" ]; then return; fi
    rebuilt=1
    echo "compiling $name" >&2
    swiftc "${flags[@]}" -emit-library -static -module-name "$name" -emit-module -emit-module-path "$build/$name.swiftmodule" \
        -I "$build" "$@" $(find "$root/Sources/$name" -name '*.swift' | sort) -o "$build/lib$name.a"
}
module ResticCompress -I "$root/Sources/CZstd"
module ResticCrypto -I "$root/Sources/CLibCrypto"
module ResticCore -I "$root/Sources/CZstd" -I "$root/Sources/CLibCrypto"

cat > "$build/main.swift" <<'SWIFT'
import ResticCore
import ResticCrypto
import ResticCompress
#if canImport(Glibc)
import Glibc
#endif

let target = String(cString: getenv("CARTAE_FUZZ_TARGET"))
let key = try! MasterKey(encryption: (1...32).map { UInt8($0) }, macK: (33...48).map { UInt8($0) },
                         macR: (49...64).map { UInt8($0) })
// libFuzzer calls the entry point from one thread.
nonisolated(unsafe) let decompressor = try! ZstdDecompressor()

/// Any thrown error is a fine outcome; libFuzzer reports traps, sanitizer errors, leaks, slow
/// inputs and allocations above -malloc_limit_mb.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: count))
    switch target {
    case "tree": _ = try? Tree.decode(input)
    case "index": _ = try? IndexFile.decode(input)
    case "snapshot": _ = try? Snapshot.decode(input)
    case "config": _ = try? RepositoryConfig.decode(input)
    case "keyfile": _ = try? KeyFile.decode(input)
    case "lock": _ = try? LockFile.decode(input)
    case "masterkey": _ = try? MasterKeyJSON.decode(input)
    case "node": _ = try? Node.decodeJSON(input)
    case "packheader":
        // le32(data size) ‖ plaintext header: sealed, given its trailer, then read back.
        guard count >= 4 else { return 0 }
        let size = input[..<4].reversed().reduce(0) { $0 << 8 | Int($1) }
        let sealed = key.seal(Array(input[4...]))
        let tail = sealed + PackHeader.lengthField(sealed.count)
        if let hlen = try? PackHeader.headerLength(trailer: Array(tail.suffix(4)), fileSize: size + tail.count),
           hlen + 4 <= tail.count {
            _ = try? PackHeader.parse(key.open(Array(tail[(tail.count - 4 - hlen)..<(tail.count - 4)])))
        }
    case "zstd":
        for expected in [nil, 5, 400 << 20] as [Int?] {
            _ = try? decompressor.decompress(input, expectedSize: expected, limit: 512 << 20)
        }
    case "unpacked":
        guard let first = input.first else { return 0 }
        let json = first == 2 ? (try? decompressor.decompress(Array(input[1...]), expectedSize: nil, limit: 512 << 20)) : input
        if let json { _ = try? IndexFile.decode(json); _ = try? Snapshot.decode(json) }
    default:
        print("unknown CARTAE_FUZZ_TARGET \(target)")
        exit(2)
    }
    return 0
}
SWIFT

binary=$build/cartae-fuzz
if [ -n "${FUZZ_REBUILD:-}" ] || [ ! -x "$binary" ] || [ -n "$(find "$build" -name '*.a' -newer "$binary")" ] \
    || [ "$build/main.swift" -nt "$binary" ]; then
    echo "linking $binary" >&2
    swiftc "${flags[@]}" -I "$build" -I "$root/Sources/CZstd" -I "$root/Sources/CLibCrypto" "$build/main.swift" \
        -L "$build" -lResticCore -lResticCrypto -lResticCompress -lzstd -lcrypto -o "$binary"
fi

cp -n "$root/Fixtures/fuzz/$corpus"/* "$work/corpus-$target/" 2>/dev/null || true
cp -n "$root/Fixtures/fuzz/regressions/$target"-* "$work/corpus-$target/" 2>/dev/null || true
export CARTAE_FUZZ_TARGET=$target
# detect_leaks=0: the Swift runtime keeps metadata caches that LeakSanitizer would report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
exec "$binary" -malloc_limit_mb=64 -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -artifact_prefix="$work/artifacts/$target-" "$@" "$work/corpus-$target"

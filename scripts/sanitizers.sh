#!/usr/bin/env bash
# Runs tests under AddressSanitizer and ThreadSanitizer and reports what they find.
#
#   scripts/sanitizers.sh                       both sanitizers, the default subset
#   SANITIZERS=thread scripts/sanitizers.sh     one of them
#   FILTER='ResticCoreTests' scripts/sanitizers.sh   another subset (a `swift test --filter` regex)
#   FILTER=all scripts/sanitizers.sh            the whole suite (hours under TSan on 2 cores)
#   SCRATCH_BASE=/tmp/x                         build in /tmp/x/.build-asan and .build-tsan instead of ./
#   LEAKS=1                                     also run LeakSanitizer (off by default: see below)
#
# Each sanitizer gets its own build (`swift build --build-tests --sanitize=… --scratch-path
# .build-asan|.build-tsan`), so the test runner *and* the cartae-restic binary the integration
# tests start are instrumented. Every process writes its reports to a log folder
# (ASAN_OPTIONS/TSAN_OPTIONS log_path, inherited by the children the tests start); the script
# prints each distinct report's SUMMARY line and the path of the full report, and exits 1 if
# there was any report or failed test.
#
# The default subset, and why: the whole suite runs ~15 min normally, ×3 under ASan and ×10 or
# more under TSan, too long for a routine run. The subset keeps
#   - every unit-test target (crypto with the key wiping, compression, chunker, formats,
#     backends with the retry/connection-limit/caching decorators, maintenance, DR stages),
#     which are quick and hit the memory-unsafe code (OpenSSL/zstd buffers, pointer parsing);
#   - the integration suites that drive the concurrent engine through the binary: backup
#     readers and the shared pack writer (IncrementalTests), restore's parallel pack workers
#     (FixtureRestoreTests), check --read-data (CheckTests), the lock refresher and its
#     cancellation (LockTests, ExitCodesInterruptTests), and error paths under a full disk
#     (DiskFullTests, needs root for its tmpfs).
# Suites left out spend their time in restic, servers or fixtures rather than in new code paths.
#
# Locks under TSan: on Linux, `Synchronization.Mutex` locks with raw futex calls inside the
# (uninstrumented) standard library, so TSan sees no synchronisation and would report every
# access guarded by it as a race. The engine's one lock type, CartaeSync's `Locked`, therefore
# becomes a pthread mutex in the thread build (`-Xswiftc -DCARTAE_TSAN_LOCKS`, below), which
# TSan understands; normal builds keep the standard library's Mutex. What TSan still cannot
# see is a Swift continuation's resumption as an ordering: state handed over through one
# must also be read under a lock (see Collector in Sources/ResticRestorer/FileWorkers.swift).
# Reports inside third-party checkouts (swift-subprocess's AsyncIO uses Mutex too) are
# listed separately from ours.

# LeakSanitizer is off by default because the Swift runtime's and Foundation's one-time
# caches show up as leaks at exit in every process, which drowns real findings.
set -uo pipefail
cd "$(dirname "$0")/.."

sanitizers=${SANITIZERS:-"address thread"}
unit='^(ResticCryptoTests|ResticCompressTests|ResticChunkerTests|ResticCoreTests|ResticBackendsTests|ResticMaintenanceTests|CartaeStagesTests)\.'
integration='^IntegrationTests\.(IncrementalTests|FixtureRestoreTests|CheckTests|LockTests|ExitCodesInterruptTests|DiskFullTests)'
filter=${FILTER:-"$unit|$integration"}
filterArgs=(--filter "$filter")
[[ $filter == all ]] && filterArgs=()
base=${SCRATCH_BASE:-.}
status=0

for sanitizer in $sanitizers; do
    case $sanitizer in
        address) scratch=$base/.build-asan; flags=() ;;
        thread) scratch=$base/.build-tsan; flags=(-Xswiftc -DCARTAE_TSAN_LOCKS) ;;
        *) echo "unknown sanitizer $sanitizer (use address or thread)" >&2; exit 2 ;;
    esac
    reports=$(mktemp -d "/tmp/cartae-$sanitizer-reports.XXXXXX")
    log=$reports/test.log
    echo "== $sanitizer: building in $scratch"
    started=$SECONDS
    if ! swift build --build-tests --sanitize="$sanitizer" "${flags[@]}" --scratch-path "$scratch" >"$reports/build.log" 2>&1; then
        tail -30 "$reports/build.log"
        echo "== $sanitizer: build failed (log: $reports/build.log)"
        status=1
        continue
    fi
    built=$SECONDS
    echo "== $sanitizer: built in $((built - started)) s; testing (${FILTER:-default subset})"
    # halt_on_error=0: collect every report of a run instead of stopping at the first.
    # exitcode=0 (TSan): a report must not turn a command's exit status into 66, which would
    # fail the test for a report that is already counted below (swift-subprocess has some).
    export ASAN_OPTIONS="log_path=$reports/report:detect_leaks=${LEAKS:-0}:halt_on_error=0:detect_stack_use_after_return=1"
    export TSAN_OPTIONS="log_path=$reports/report:halt_on_error=0:second_deadlock_stack=1:exitcode=0"
    swift test --skip-build --sanitize="$sanitizer" "${flags[@]}" --scratch-path "$scratch" "${filterArgs[@]}" >"$log" 2>&1
    testStatus=$?
    unset ASAN_OPTIONS TSAN_OPTIONS
    finished=$SECONDS
    summary=$(grep -E '^(✔|✘) Test run|^Test Suite .All tests. (passed|failed)|Executed [0-9]+ tests' "$log" | tail -3)
    echo "== $sanitizer: tests ran $((finished - built)) s, exit $testStatus"
    [[ -n $summary ]] && echo "$summary"
    grep -E '^✘ Test .* failed' "$log" | head -20
    files=("$reports"/report.*)
    if [[ -e ${files[0]} ]]; then
        echo "== $sanitizer: ${#files[@]} report file(s) in $reports:"
        # One line per distinct place (count, kind and source location), then one report file
        # for each, to read the full stacks in.
        grep -h '^SUMMARY:' "${files[@]}" | sed 's/ in \$.*//; s/ in [A-Za-z_].*//' | sort | uniq -c | sort -rn
        for place in $(grep -h '^SUMMARY:' "${files[@]}" | sed 's/ in .*//' | awk '{print $NF}' | sort -u); do
            echo "   e.g. $place: $(grep -l -F "$place" "${files[@]}" | head -1)"
        done
        ours=$(grep -h '^SUMMARY:' "${files[@]}" | grep -vc '/checkouts/')
        echo "== $sanitizer: $ours report(s) in our code, the rest in dependencies' checkouts"
        ((ours == 0)) || status=1
    else
        echo "== $sanitizer: no reports"
    fi
    [[ $testStatus == 0 ]] || status=1
done
exit $status

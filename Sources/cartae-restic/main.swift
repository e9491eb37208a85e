import CartaeCLI
import CLibcExtras
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// The loader's relocation and symbol tables have done their work by now (see loader.h).
cartae_release_loader_tables()

// Backup and restore allocate and free many multi-megabyte buffers (chunks, packs). glibc
// would serve each from a fresh mmap and unmap it on free, paying page faults every time; a
// higher threshold keeps them in the heap for reuse.
//
// Backup is the exception: its long-lived buffers (chunk buffers, pack buffers) are reused by
// each task, and what churns are short-lived chunk copies; kept in the heap those fragment it
// across arenas and peak memory grows well past what is live, so they get their own mappings.
let arguments = CommandLine.arguments.dropFirst()
let backingUp = arguments.contains("backup")
// Prune (and forget, which may prune) is sequential and holds little: what would stay resident
// is what its phases left behind in the heap, scrypt's 32 MiB first of all, then tree and blob
// buffers freed in another order than they were made. Mapped on their own, anything from a
// quarter MiB up goes back to the system when freed, so memory follows what is live (measured:
// peak 89 → 67 MB on a 17-pack repack, CPU within 3%).
let pruning = arguments.contains("prune") || arguments.contains("forget")
mallopt(M_MMAP_THRESHOLD, backingUp ? 1 << 20 : pruning ? 256 << 10 : 64 << 20)
mallopt(M_TRIM_THRESHOLD, backingUp ? 4 << 20 : 128 << 20)
// Tasks hop between threads, so a buffer freed on one thread is not reused by an allocation
// on another unless they share an arena; with one arena per thread (glibc's default) every
// thread faults in its own copy of the same few pack buffers. Two arenas keep contention low.
mallopt(M_ARENA_MAX, 2)

// Restore and check work on many files at once: use the hard limit on open files, as Go
// programs such as restic do, rather than the often small soft limit.
var openFiles = rlimit()
if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &openFiles) == 0, openFiles.rlim_cur < openFiles.rlim_max {
    openFiles.rlim_cur = openFiles.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &openFiles)
}

// SIGINT and SIGTERM cancel the running command, which then stops cleanly (locks removed, no
// half-written snapshot) and exits 130; a second signal exits at once.
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let command = Task { await Runner.run(Array(arguments)) }
let signalQueue = DispatchQueue(label: "signals")
let received = Atomic<Int>(0)
let handlers = [SIGINT, SIGTERM].map { number in
    let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
    // @Sendable: the handler runs on the signal queue, not the main actor it would otherwise inherit.
    source.setEventHandler { @Sendable in
        if received.add(1, ordering: .relaxed).newValue > 1 { _exit(130) }
        command.cancel()
    }
    source.resume()
    return source
}
let status = await command.value
exit(command.isCancelled ? 130 : status)

import CartaeCLI
import CLibcExtras
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Backup and restore allocate and free many multi-megabyte buffers (chunks, packs). glibc
// would serve each from a fresh mmap and unmap it on free, paying page faults every time; a
// higher threshold keeps them in the heap for reuse.
mallopt(M_MMAP_THRESHOLD, 64 << 20)
mallopt(M_TRIM_THRESHOLD, 128 << 20)

// SIGINT and SIGTERM cancel the running command, which then stops cleanly (locks removed, no
// half-written snapshot) and exits 130; a second signal exits at once.
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let command = Task { await Runner.run(Array(CommandLine.arguments.dropFirst())) }
let signalQueue = DispatchQueue(label: "signals")
let received = Atomic<Int>(0)
let handlers = [SIGINT, SIGTERM].map { number in
    let source = DispatchSource.makeSignalSource(signal: number, queue: signalQueue)
    source.setEventHandler {
        if received.add(1, ordering: .relaxed).newValue > 1 { _exit(130) }
        command.cancel()
    }
    source.resume()
    return source
}
let status = await command.value
exit(command.isCancelled ? 130 : status)

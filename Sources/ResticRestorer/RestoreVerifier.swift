#if canImport(Glibc)
import Glibc
#endif
import ResticCore
import ResticCrypto
import ResticRepository

/// `restore --verify`: reads every restored file back, blob by blob, and compares each piece's
/// SHA-256 with the blob ID the snapshot lists.
enum RestoreVerifier {
    static func verify(_ plan: RestorePlan, repository: IndexedRepository, verified: inout Int) -> [String] {
        var problems: [String] = []
        var good = Set<Int>()
        for (number, file) in plan.files.enumerated() where !file.failed {
            let fd = file.path.withCString { open($0, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else {
                problems.append("verify \(file.path): \(String(cString: strerror(errno)))")
                continue
            }
            defer { close(fd) }
            var offset = 0
            var ok = true
            for blob in file.blobs {
                guard let location = repository.index.location(of: blob, .data) else { ok = false; break }
                let length = location.plaintextLength
                var buffer = [UInt8](repeating: 0, count: length)
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(offset)) }
                if n != length || ObjectID(bytes: SHA256.digest(buffer)) != blob {
                    problems.append("verify \(file.path): content at offset \(offset) does not match blob \(blob.hex)")
                    ok = false
                    break
                }
                offset += length
            }
            var st = stat()
            if ok && fstat(fd, &st) == 0 && Int(st.st_size) != offset {
                problems.append("verify \(file.path): size \(st.st_size), expected \(offset)")
                ok = false
            }
            if ok { verified += 1; good.insert(number) }
        }
        // restic counts every file node, so further names of a verified hardlinked file count too.
        for entry in plan.entries {
            if case .hardlink(let index) = entry.kind, good.contains(index) { verified += 1 }
        }
        return problems
    }
}

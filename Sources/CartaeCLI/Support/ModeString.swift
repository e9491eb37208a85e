import ResticCore

enum ModeString {
    /// Go's `os.FileMode.String()`: type letters for the high bits (or "-"), then rwxrwxrwx.
    static func describe(_ mode: UInt32) -> String {
        let letters = Array("dalTLDpSugct?")
        var out = ""
        for (i, letter) in letters.enumerated() where mode & (1 << UInt32(31 - i)) != 0 {
            out.append(letter)
        }
        if out.isEmpty { out = "-" }
        let rwx = Array("rwxrwxrwx")
        for i in 0..<9 {
            out.append(mode & (1 << UInt32(8 - i)) != 0 ? rwx[i] : "-")
        }
        return out
    }

    /// The node's mode with its type bit, as restic's `ls -l` shows it.
    static func nodeMode(_ node: Node) -> UInt32 {
        var mode = node.mode
        switch node.type {
        case "dir": mode |= GoFileMode.dir
        case "symlink": mode |= GoFileMode.symlink
        case "dev": mode |= GoFileMode.device
        case "chardev": mode |= GoFileMode.device | GoFileMode.charDevice
        case "fifo": mode |= GoFileMode.namedPipe
        case "socket": mode |= GoFileMode.socket
        default: break
        }
        return mode
    }
}

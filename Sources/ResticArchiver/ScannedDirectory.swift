#if canImport(Glibc)
import Glibc
#endif
import ResticCore

/// One directory as the prefetch read it, in the order the walker visits its entries (names
/// sorted as bytes), packed into one byte array: a cached directory is two allocations however
/// many entries it has, about 30 bytes plus the name per entry.
///
/// Per entry: flags and name length (a byte each); mode; uid and gid unless the same as the
/// entry before; nlink, size, inode, mtime seconds (all LEB128); mtime nanoseconds (4 bytes);
/// ctime seconds minus mtime seconds (zigzag LEB128); ctime nanoseconds (4 bytes); st_dev if
/// it differs from the directory's own (a mount point) and st_rdev if not zero (LEB128); the
/// name; the link target (length first); the extended attributes (block length first, then per
/// attribute: name length, value length, name, value; in the order the file system lists them).
struct ScannedDirectory: Sendable {
    /// The directory's own device and inode when it was listed: the walker uses the listing only
    /// for the same directory.
    let device: UInt64
    let inode: UInt64
    /// CLOCK_MONOTONIC nanoseconds when its watch was set, before the listing began.
    let listedAt: UInt64
    let count: Int
    let bytes: [UInt8]
    /// The directory's own metadata when it was listed (see `refresh`).
    let own: Own

    struct Own: Sendable {
        var mode: UInt32, uid: UInt32, gid: UInt32
        var mtime: timespec, ctime: timespec
    }

    /// A directory whose entries were appended by builders, in order (each builder's first entry
    /// states its owner, so their bytes may be joined); `st` is the directory's own fstat.
    init(own st: stat, listedAt: UInt64, count: Int, bytes: [UInt8]) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        self.listedAt = listedAt
        self.count = count
        self.bytes = bytes
        own = Own(mode: st.st_mode, uid: st.st_uid, gid: st.st_gid, mtime: st.st_mtim, ctime: st.st_ctim)
    }

    /// Sets the metadata `st` (the directory's entry in its parent's listing) has from the
    /// directory's own listing, which is as new or newer: while it is in the cache, no event
    /// came on the directory's watch, so this is the directory's metadata now.
    func refresh(_ st: inout stat) {
        st.st_mode = own.mode
        st.st_uid = own.uid
        st.st_gid = own.gid
        st.st_mtim = own.mtime
        st.st_ctim = own.ctime
    }

    static let hasDevice: UInt8 = 1, hasRdev: UInt8 = 2, hasLink: UInt8 = 4, hasAttributes: UInt8 = 8
    static let sameOwner: UInt8 = 16

    /// What the walker needs of one entry.
    struct Entry {
        var name: [UInt8]
        var status: stat
        var attributes: [ExtendedAttribute]
        var linkTarget: [UInt8]?
    }

    /// A position in `bytes`, and the owner the next entry may share.
    struct Cursor {
        var offset = 0
        var uid: UInt32 = 0, gid: UInt32 = 0
    }

    /// The entry at `cursor`, moving it to the next; nil after the last.
    func entry(at cursor: inout Cursor) -> Entry? {
        guard cursor.offset < bytes.count else { return nil }
        return bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw: raw, at: cursor.offset)
            let flags = reader.byte()
            let nameLength = Int(reader.byte())
            var st = stat()
            st.st_mode = UInt32(truncatingIfNeeded: reader.varint())
            if flags & Self.sameOwner == 0 {
                cursor.uid = UInt32(truncatingIfNeeded: reader.varint())
                cursor.gid = UInt32(truncatingIfNeeded: reader.varint())
            }
            st.st_uid = cursor.uid
            st.st_gid = cursor.gid
            st.st_nlink = numericCast(reader.varint())
            st.st_size = numericCast(Int64(bitPattern: reader.varint()))
            st.st_ino = numericCast(reader.varint())
            let mtime = Int64(bitPattern: reader.varint())
            st.st_mtim = timespec(tv_sec: Int(mtime), tv_nsec: Int(reader.fixed32()))
            let ctime = mtime &+ reader.zigzag()
            st.st_ctim = timespec(tv_sec: Int(ctime), tv_nsec: Int(reader.fixed32()))
            st.st_dev = numericCast(flags & Self.hasDevice != 0 ? reader.varint() : device)
            if flags & Self.hasRdev != 0 { st.st_rdev = numericCast(reader.varint()) }
            let name = reader.bytes(nameLength)
            var linkTarget: [UInt8]?
            if flags & Self.hasLink != 0 { linkTarget = reader.bytes(Int(reader.varint())) }
            var attributes: [ExtendedAttribute] = []
            if flags & Self.hasAttributes != 0 {
                let end = Int(reader.varint()) + reader.at
                while reader.at < end {
                    let nameCount = Int(reader.varint())
                    let valueCount = Int(reader.varint())
                    let attributeName = String(decoding: reader.bytes(nameCount), as: UTF8.self)
                    attributes.append(ExtendedAttribute(name: attributeName, value: reader.bytes(valueCount)))
                }
            }
            cursor.offset = reader.at
            return Entry(name: name, status: st, attributes: attributes, linkTarget: linkTarget)
        }
    }

    /// Moves `cursor` past `count` entries (fewer if the listing ends first): a walker that hands
    /// the second half of a large directory to another task starts that task here. Through
    /// `entry(at:)`, so that the layout is read in one place only; a split happens a few times per
    /// large folder, and building the skipped entries costs well under a millisecond.
    func skip(_ count: Int, cursor: inout Cursor) {
        var skipped = 0
        while skipped < count, entry(at: &cursor) != nil { skipped += 1 }
    }

    /// Whether an entry has this name (the walker looks for CACHEDIR.TAG before walking).
    func contains(_ name: [UInt8]) -> Bool {
        var cursor = Cursor()
        while let entry = entry(at: &cursor) {
            if entry.name == name { return true }
        }
        return false
    }
}

/// Reads the layout above; the bytes come from `ScannedDirectoryBuilder` only.
private struct ByteReader {
    let raw: UnsafeRawBufferPointer
    var at: Int

    mutating func byte() -> UInt8 {
        defer { at += 1 }
        return raw[at]
    }

    mutating func varint() -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = raw[at]
            at += 1
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }

    mutating func zigzag() -> Int64 {
        let v = varint()
        return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
    }

    mutating func fixed32() -> UInt32 {
        defer { at += 4 }
        return raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        defer { at += count }
        return Array(raw[at..<at + count])
    }
}

/// Appends entries in the layout above into a buffer the prefetch thread reuses directory
/// after directory; `finish` copies out exactly the bytes used.
struct ScannedDirectoryBuilder {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0
    private var uid: UInt32 = 0, gid: UInt32 = 0

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        count = 0
        uid = 0
        gid = 0
    }

    /// False when the entry does not fit the layout (then the directory is not cached).
    mutating func append(name: UnsafeRawBufferPointer, status st: stat, directoryDevice: UInt64,
                         attributes: [ExtendedAttribute], linkTarget: [UInt8]?) -> Bool {
        guard name.count <= Int(UInt8.max), st.st_mtim.tv_nsec >= 0, st.st_ctim.tv_nsec >= 0 else { return false }
        let device = UInt64(st.st_dev), rdev = UInt64(st.st_rdev)
        var flags: UInt8 = 0
        if device != directoryDevice { flags |= ScannedDirectory.hasDevice }
        if rdev != 0 { flags |= ScannedDirectory.hasRdev }
        if linkTarget != nil { flags |= ScannedDirectory.hasLink }
        if !attributes.isEmpty { flags |= ScannedDirectory.hasAttributes }
        if count > 0 && st.st_uid == uid && st.st_gid == gid { flags |= ScannedDirectory.sameOwner }
        bytes.append(flags)
        bytes.append(UInt8(name.count))
        varint(UInt64(st.st_mode))
        if flags & ScannedDirectory.sameOwner == 0 {
            uid = st.st_uid
            gid = st.st_gid
            varint(UInt64(uid))
            varint(UInt64(gid))
        }
        varint(UInt64(st.st_nlink))
        varint(UInt64(bitPattern: Int64(st.st_size)))
        varint(UInt64(st.st_ino))
        let mtime = Int64(st.st_mtim.tv_sec)
        varint(UInt64(bitPattern: mtime))
        fixed32(UInt32(st.st_mtim.tv_nsec))
        let delta = Int64(st.st_ctim.tv_sec) &- mtime
        varint(UInt64(bitPattern: (delta << 1) ^ (delta >> 63)))
        fixed32(UInt32(st.st_ctim.tv_nsec))
        if flags & ScannedDirectory.hasDevice != 0 { varint(device) }
        if flags & ScannedDirectory.hasRdev != 0 { varint(rdev) }
        bytes.append(contentsOf: name)
        if let linkTarget {
            varint(UInt64(linkTarget.count))
            bytes.append(contentsOf: linkTarget)
        }
        if !attributes.isEmpty {
            var block = 0
            for attribute in attributes {
                block += Self.varintSize(UInt64(attribute.name.utf8.count)) + Self.varintSize(UInt64(attribute.value.count))
                    + attribute.name.utf8.count + attribute.value.count
            }
            varint(UInt64(block))
            for attribute in attributes {
                varint(UInt64(attribute.name.utf8.count))
                varint(UInt64(attribute.value.count))
                bytes.append(contentsOf: attribute.name.utf8)
                bytes.append(contentsOf: attribute.value)
            }
        }
        count += 1
        return true
    }

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func fixed32(_ value: UInt32) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    static func varintSize(_ value: UInt64) -> Int {
        var v = value, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

    /// The bytes appended so far, in an array of exactly their size.
    var exactBytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, initialized in
            _ = buffer.initialize(fromContentsOf: bytes)
            initialized = bytes.count
        }
    }

    /// The directory, `own` being its fstat.
    func finish(own st: stat, listedAt: UInt64) -> ScannedDirectory {
        ScannedDirectory(own: st, listedAt: listedAt, count: count, bytes: exactBytes)
    }
}

extension GoTime {
    /// Parses RFC 3339 as Go's `time.Time.UnmarshalJSON` does: `YYYY-MM-DDTHH:MM:SS`, an
    /// optional `.` fraction (digits beyond nine are dropped), then `Z` or `±hh:mm`.
    public init?(rfc3339: String) {
        var s = rfc3339
        guard let t = s.withUTF8({ GoTime(rfc3339Bytes: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = t
    }

    init?(rfc3339Bytes p: UnsafeRawBufferPointer) {
        func num(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= p.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                let c = p[i]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard p.count >= 20,
              let year = num(0, 4), p[4] == UInt8(ascii: "-"),
              let month = num(5, 2), p[7] == UInt8(ascii: "-"),
              let day = num(8, 2), p[10] == UInt8(ascii: "T"),
              let hour = num(11, 2), p[13] == UInt8(ascii: ":"),
              let minute = num(14, 2), p[16] == UInt8(ascii: ":"),
              let second = num(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= GoTime.daysIn(month: month, year: Int64(year)),
              hour < 24, minute < 60, second < 60 else { return nil }
        var i = 19
        var nanos = 0
        if i < p.count && p[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            var scale = 100_000_000
            while i < p.count, p[i] >= 0x30, p[i] <= 0x39 {
                nanos += Int(p[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < p.count else { return nil }
        var offset = 0
        if p[i] == UInt8(ascii: "Z") {
            i += 1
        } else {
            let sign = p[i]
            guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"),
                  let oh = num(i + 1, 2), i + 3 < p.count, p[i + 3] == UInt8(ascii: ":"),
                  let om = num(i + 4, 2), oh < 24, om < 60 else { return nil }
            offset = (oh * 60 + om) * 60 * (sign == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        }
        guard i == p.count else { return nil }
        let days = GoTime.daysFromCivil(Int64(year), month, day)
        let local = days * 86400 + Int64(hour * 3600 + minute * 60 + second)
        self.init(seconds: local - Int64(offset), nanoseconds: Int32(nanos), utcOffset: Int32(offset))
    }

    /// Go's `RFC3339Nano` rendering: fraction without trailing zeros (none when zero), `Z` for
    /// offset 0, otherwise `±hh:mm` (offset seconds are dropped from the zone, as Go does).
    public var rfc3339: String {
        var out = [UInt8]()
        out.reserveCapacity(35)
        appendRFC3339(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func appendRFC3339(to out: inout [UInt8]) {
        @inline(__always) func two(_ v: Int) {
            out.append(0x30 + UInt8(v / 10))
            out.append(0x30 + UInt8(v % 10))
        }
        let c = civil
        var year = c.year
        if year < 0 { out.append(UInt8(ascii: "-")); year = -year }
        let yearDigits = Array(String(year).utf8)
        if yearDigits.count < 4 { out.append(contentsOf: [UInt8](repeating: 0x30, count: 4 - yearDigits.count)) }
        out.append(contentsOf: yearDigits)
        out.append(UInt8(ascii: "-")); two(c.month)
        out.append(UInt8(ascii: "-")); two(c.day)
        out.append(UInt8(ascii: "T")); two(c.hour)
        out.append(UInt8(ascii: ":")); two(c.minute)
        out.append(UInt8(ascii: ":")); two(c.second)
        var ns = Int(nanoseconds)
        if ns > 0 && ns < 1_000_000_000 {
            var digits = 9
            while ns % 10 == 0 { ns /= 10; digits -= 1 }
            out.append(UInt8(ascii: "."))
            var buf = [UInt8](repeating: 0x30, count: digits)
            for k in stride(from: digits - 1, through: 0, by: -1) {
                buf[k] = 0x30 + UInt8(ns % 10)
                ns /= 10
            }
            out.append(contentsOf: buf)
        }
        if utcOffset == 0 {
            out.append(UInt8(ascii: "Z"))
            return
        }
        var zone = Int(utcOffset) / 60  // minutes, truncated toward zero like Go
        if zone < 0 {
            out.append(UInt8(ascii: "-"))
            zone = -zone
        } else {
            out.append(UInt8(ascii: "+"))
        }
        if zone / 60 < 100 { two(zone / 60) } else { out.append(contentsOf: Array(String(zone / 60).utf8)) }
        out.append(UInt8(ascii: ":"))
        two(zone % 60)
    }
}

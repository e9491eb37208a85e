#if canImport(Glibc)
import Glibc
#endif

/// Reads process environment variables; a seam so commands never reach for globals directly.
public enum Environment {
    public static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let string = String(cString: value)
        return string.isEmpty ? nil : string
    }
}

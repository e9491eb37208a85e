import ResticCore

/// `check --read-data-subset`: which packs to read, chosen as restic chooses them.
///
/// - `n/t`: the packs whose first ID byte mod t is n − 1, so 1/t … t/t cover every pack once
///   and the same call always picks the same packs;
/// - `x%`: ⌊count × x / 100⌋ packs (at least one), picked at random;
/// - a size (`500M`, `2g`, `100b` …, powers of 1024): turned into a percentage of the total
///   pack size, then picked by count like `x%`.
public enum CheckSubset: Sendable, Equatable {
    case bucket(n: Int, t: Int)
    case percentage(Double)
    case size(Int64)

    /// t may not exceed 256 because only the first byte of a pack ID decides its group.
    public static let maxBuckets = 256

    /// Parses the flag's value with restic's rules and error messages. A bare number is refused
    /// (restic reads it as a one-element `n/t` list); sizes need a unit, `b` for bytes.
    public init(parsing text: String) throws {
        let invalid = ResticError.invalid("check flag --read-data-subset has invalid value, please see documentation")
        if let numbers = Self.unsignedList(text) {
            guard numbers.count == 2 else { throw invalid }
            let (n, t) = (numbers[0], numbers[1])
            guard n != 0, t != 0, n <= t else {
                throw ResticError.invalid("check flag --read-data-subset=n/t values must be positive integers, and n <= t, e.g. --read-data-subset=1/2")
            }
            guard t <= UInt64(Self.maxBuckets) else {
                throw ResticError.invalid("check flag --read-data-subset=n/t t must be at most \(Self.maxBuckets)")
            }
            self = .bucket(n: Int(n), t: Int(t))
        } else if text.hasSuffix("%") {
            guard let value = Double(text.dropLast()), !value.isNaN else { throw invalid }
            guard value > 0, value <= 100 else {
                throw ResticError.invalid("check flag --read-data-subset=x% x must be above 0.0% and at most 100.0%")
            }
            self = .percentage(value)
        } else {
            guard let bytes = Self.parseBytes(text) else { throw invalid }
            guard bytes > 0 else { throw ResticError.invalid("check flag --read-data-subset=n n must be above 0") }
            self = .size(bytes)
        }
    }

    /// The packs to read out of `packs` (pack ID → file size), sorted by ID. Random choices
    /// come from `generator`, so tests can fix them.
    public func select(from packs: [ObjectID: Int64], using generator: inout some RandomNumberGenerator) -> [ObjectID] {
        switch self {
        case .bucket(let n, let t):
            return packs.keys.filter { Self.bucket(of: $0, groups: t) == n }.sorted()
        case .percentage(let percent):
            return Self.randomPacks(Array(packs.keys), percent: percent, using: &generator)
        case .size(let bytes):
            let total = packs.values.reduce(Int64(0), +)
            guard total > 0 else { return packs.keys.sorted() }
            let percent = Double(min(bytes, total)) / Double(total) * 100
            return Self.randomPacks(Array(packs.keys), percent: percent, using: &generator)
        }
    }

    public func select(from packs: [ObjectID: Int64]) -> [ObjectID] {
        var generator = SystemRandomNumberGenerator()
        return select(from: packs, using: &generator)
    }

    /// The group (1 … t) a pack belongs to for `n/t`.
    public static func bucket(of pack: ObjectID, groups t: Int) -> Int {
        Int(pack.firstByte) % t + 1
    }

    /// How many packs `x%` of `count` packs means: rounded down, but at least one.
    public static func count(percent: Double, of count: Int) -> Int {
        guard count > 0 else { return 0 }
        let wanted = Double(count) * (percent / 100)
        return min(count, max(1, wanted.isFinite ? Int(wanted) : count))
    }

    static func randomPacks(_ packs: [ObjectID], percent: Double,
                            using generator: inout some RandomNumberGenerator) -> [ObjectID] {
        // Sorting first makes the pick depend on the generator only, not on hash-table order.
        var shuffled = packs.sorted()
        shuffled.shuffle(using: &generator)
        return shuffled.prefix(count(percent: percent, of: packs.count)).sorted()
    }

    /// Go's `%.1f` for the values check prints (non-negative, at most 100); exact ties round
    /// to even as Go does (12.25 → 12.2).
    static func formatPercent(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded(.toNearestOrEven))
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// restic's `stringToIntSlice`: "/"-separated unsigned decimal numbers, nil if any part is not one.
    private static func unsignedList(_ text: String) -> [UInt64]? {
        var numbers: [UInt64] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let value = UInt64(part) else { return nil }
            numbers.append(value)
        }
        return numbers
    }

    /// restic's `ui.ParseBytes`: a decimal with an optional unit b, k, m, g, t (any case, powers
    /// of 1024); nil on a syntax error, a negative value or overflow (restic multiplies unsigned).
    static func parseBytes(_ text: String) -> Int64? {
        guard let last = text.last else { return nil }
        var number = Substring(text)
        var unit: Int64 = 1
        switch last {
        case "b", "B": number = number.dropLast()
        case "k", "K": number = number.dropLast(); unit = 1 << 10
        case "m", "M": number = number.dropLast(); unit = 1 << 20
        case "g", "G": number = number.dropLast(); unit = 1 << 30
        case "t", "T": number = number.dropLast(); unit = 1 << 40
        default: break
        }
        guard let value = Int64(number), value >= 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        return overflow ? nil : product
    }
}

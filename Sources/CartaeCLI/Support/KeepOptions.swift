import ArgumentParser
import ResticCore
import ResticMaintenance

/// forget's `--keep-*` flags, turned into a `ForgetPolicy`.
struct KeepOptions: ParsableArguments {
    @Option(name: [.customShort("l"), .customLong("keep-last")], parsing: .unconditional, help: ArgumentHelp("Keep the last n snapshots (use 'unlimited' to keep all snapshots).", valueName: "n"))
    var last: String?

    @Option(name: [.customShort("H"), .customLong("keep-hourly")], parsing: .unconditional, help: ArgumentHelp("Keep the last n hourly snapshots (use 'unlimited' to keep all hourly snapshots).", valueName: "n"))
    var hourly: String?

    @Option(name: [.customShort("d"), .customLong("keep-daily")], parsing: .unconditional, help: ArgumentHelp("Keep the last n daily snapshots (use 'unlimited' to keep all daily snapshots).", valueName: "n"))
    var daily: String?

    @Option(name: [.customShort("w"), .customLong("keep-weekly")], parsing: .unconditional, help: ArgumentHelp("Keep the last n weekly snapshots (use 'unlimited' to keep all weekly snapshots).", valueName: "n"))
    var weekly: String?

    @Option(name: [.customShort("m"), .customLong("keep-monthly")], parsing: .unconditional, help: ArgumentHelp("Keep the last n monthly snapshots (use 'unlimited' to keep all monthly snapshots).", valueName: "n"))
    var monthly: String?

    @Option(name: [.customShort("y"), .customLong("keep-yearly")], parsing: .unconditional, help: ArgumentHelp("Keep the last n yearly snapshots (use 'unlimited' to keep all yearly snapshots).", valueName: "n"))
    var yearly: String?

    @Option(name: .customLong("keep-within"), help: ArgumentHelp("Keep snapshots that are newer than duration (eg. 1y5m7d2h) relative to the latest snapshot.", valueName: "duration"))
    var within: String?

    @Option(name: .customLong("keep-within-hourly"), help: ArgumentHelp("Keep hourly snapshots that are newer than duration (eg. 1y5m7d2h) relative to the latest snapshot.", valueName: "duration"))
    var withinHourly: String?

    @Option(name: .customLong("keep-within-daily"), help: ArgumentHelp("Keep daily snapshots that are newer than duration (eg. 1y5m7d2h) relative to the latest snapshot.", valueName: "duration"))
    var withinDaily: String?

    @Option(name: .customLong("keep-within-weekly"), help: ArgumentHelp("Keep weekly snapshots that are newer than duration (eg. 1y5m7d2h) relative to the latest snapshot.", valueName: "duration"))
    var withinWeekly: String?

    @Option(name: .customLong("keep-within-monthly"), help: ArgumentHelp("Keep monthly snapshots that are newer than duration (eg. 1y5m7d2h) relative to the latest snapshot.", valueName: "duration"))
    var withinMonthly: String?

    @Option(name: .customLong("keep-within-yearly"), help: ArgumentHelp("Keep yearly snapshots that are newer than duration (eg. 1y5m7d2h) relative to the latest snapshot.", valueName: "duration"))
    var withinYearly: String?

    @Option(name: .customLong("keep-tag"), help: ArgumentHelp("Keep snapshots with this taglist (can be specified multiple times).", valueName: "taglist"))
    var keepTags: [String] = []

    /// The policy the flags describe; refuses malformed counts and durations with restic's messages.
    func policy() throws -> ForgetPolicy {
        var policy = ForgetPolicy()
        let counts: [(ForgetBucket, String, String?)] = [
            (.last, "keep-last", last), (.hourly, "keep-hourly", hourly), (.daily, "keep-daily", daily),
            (.weekly, "keep-weekly", weekly), (.monthly, "keep-monthly", monthly), (.yearly, "keep-yearly", yearly),
        ]
        for (bucket, flag, text) in counts {
            if let text { policy.setCount(bucket, try KeepOptions.count(text, flag: flag)) }
        }
        if let within { policy.within = try KeepOptions.duration(within, flag: "keep-within") }
        let durations: [(ForgetBucket, String, String?)] = [
            (.hourly, "keep-within-hourly", withinHourly), (.daily, "keep-within-daily", withinDaily),
            (.weekly, "keep-within-weekly", withinWeekly), (.monthly, "keep-within-monthly", withinMonthly),
            (.yearly, "keep-within-yearly", withinYearly),
        ]
        for (bucket, flag, text) in durations {
            if let text { policy.withinBuckets[bucket] = try KeepOptions.duration(text, flag: flag) }
        }
        policy.tags = keepTags.map(ForgetPolicy.tagList)
        try policy.validate()
        return policy
    }

    /// A count: a number (-1 and "unlimited" mean no limit) or "unlimited".
    static func count(_ text: String, flag: String) throws -> Int {
        if text == "unlimited" { return -1 }
        guard let value = Int(text) else {
            throw ResticError.invalid("invalid argument \"\(text)\" for \"--\(flag)\" flag: not a number (use a count or 'unlimited')")
        }
        guard value >= -1 else {
            throw ResticError.invalid("negative values other than -1 are not allowed for --keep-*")
        }
        return value
    }

    static func duration(_ text: String, flag: String) throws -> KeepDuration {
        do {
            return try KeepDuration(parsing: text)
        } catch let error as ResticError {
            throw ResticError.invalid("invalid argument \"\(text)\" for \"--\(flag)\" flag: \(error.message)")
        }
    }
}

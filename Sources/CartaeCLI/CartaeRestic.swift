import ArgumentParser

/// The root command only lists the subcommands; each lives in its own file.
public struct CartaeRestic: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "cartae-restic",
        abstract: "Backup and restore with the restic repository format, in Swift.",
        version: CartaeVersion.text,
        subcommands: [
            BackupCommand.self, CatCommand.self, CheckCommand.self, DRCommand.self, DumpCommand.self, ForgetCommand.self, InitCommand.self, KeyCommand.self,
            ListCommand.self, LsCommand.self, PruneCommand.self, RepairCommand.self,
            RestoreCommand.self, SnapshotsCommand.self, StatsCommand.self, UnlockCommand.self, VersionCommand.self,
        ]
    )

    public init() {}
}

public enum CartaeVersion {
    public static let number = "0.1.0"
    public static let text = "cartae-restic \(number)"
}

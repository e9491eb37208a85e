/// The parts of the infrastructure the disaster-recovery system backs up, each as its own
/// snapshot; `all` runs every stage independently.
public enum StageKind: String, CaseIterable, Sendable {
    case postgres, redis, volumes

    /// The stages a `dr backup`/`dr restore` argument names ("all" or one stage).
    public static func parse(_ text: String) -> [StageKind]? {
        if text == "all" { return allCases }
        return StageKind(rawValue: text).map { [$0] }
    }

    /// The tag every snapshot of this stage carries.
    public var tag: String { rawValue }
}

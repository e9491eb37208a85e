import ResticCore
import ResticRepository

/// Streams a file's content blob by blob, in order, so no more than one blob (plus the next,
/// loaded ahead) is held in memory whatever the file's size.
public struct ContentStreamer: Sendable {
    public let repository: IndexedRepository

    public init(repository: IndexedRepository) {
        self.repository = repository
    }

    public func stream(_ node: Node, _ sink: ([UInt8]) throws -> Void) async throws {
        let blobs = node.content ?? []
        guard !blobs.isEmpty else { return }
        let repo = repository
        var ahead: Task<[UInt8], Error>? = Task { try await repo.loadBlob(blobs[0], .data) }
        for i in blobs.indices {
            guard let current = ahead else { break }
            ahead = i + 1 < blobs.count ? Task { [next = blobs[i + 1]] in try await repo.loadBlob(next, .data) } : nil
            do {
                try sink(try await current.value)
            } catch {
                ahead?.cancel()
                throw error
            }
        }
    }
}

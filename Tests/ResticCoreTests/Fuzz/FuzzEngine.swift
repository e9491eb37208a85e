import Foundation
import Testing

/// A small in-process mutation fuzzer that runs inside the normal test suite.
///
/// Deterministic: a SplitMix64 generator with fixed seeds picks the corpus entry and the
/// mutations, so a failure reproduces with the same seed and execution number. Decoders are
/// only asked to return a value or throw one of their own error types; a trap kills the test
/// process, which fails the suite loudly. Inputs are bounded in size and every decoder is linear
/// in its input, so a hang shows up as a suite that does not finish.
///
/// Set `CARTAE_FUZZ_TRACE=DIR` to have every input written to `DIR/<target>.current` before it
/// runs: after a crash that file holds the input to keep as a regression.
struct FuzzRNG {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// True with probability 1/n.
    mutating func oneIn(_ n: Int) -> Bool { below(n) == 0 }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// One decoder under test.
struct FuzzTarget {
    enum Style { case json, binary }

    var name: String
    var seeds: [[UInt8]]
    var executions: Int
    /// Inputs are cut to this size after mutation (deep-nesting inputs get `maxNestedSize`).
    var maxInputSize = 16 * 1024
    var maxNestedSize = 256 * 1024
    var style: Style
    /// Format words (keys, type names) that mutations may insert.
    var dictionary: [String] = []
    /// Decodes one input; returns true when a value came out. Throwing is the other outcome.
    var decode: ([UInt8]) throws -> Bool
    /// The error types this decoder may throw; anything else is a finding.
    var expectedError: (any Error) -> Bool
}

struct FuzzReport: CustomStringConvertible {
    var name: String
    var executions = 0
    var values = 0
    var errors = 0
    /// Inputs that threw an error of a foreign type (as hex), with the error.
    var findings: [(input: String, error: String)] = []

    var description: String {
        "\(name): \(executions) executions, \(values) values, \(errors) errors, \(findings.count) findings"
    }
}

enum Fuzzer {
    static let traceDirectory = ProcessInfo.processInfo.environment["CARTAE_FUZZ_TRACE"]

    /// Runs `target.executions` mutated inputs; mutants that decoded are kept (up to 64) as
    /// extra starting points, the coverage-free stand-in for "interesting" inputs.
    static func run(_ target: FuzzTarget, seed: UInt64) -> FuzzReport {
        var report = FuzzReport(name: target.name)
        guard !target.seeds.isEmpty else { return report }
        var rng = FuzzRNG(seed: seed)
        var mutator = FuzzMutator(style: target.style, dictionary: target.dictionary.map { Array($0.utf8) })
        var pool: [[UInt8]] = []
        let trace = traceDirectory.map { "\($0)/\(target.name).current" }
        for _ in 0..<target.executions {
            let base = !pool.isEmpty && rng.oneIn(4) ? rng.pick(pool) : rng.pick(target.seeds)
            var input = base
            let nested = mutator.mutate(&input, rng: &rng, corpus: target.seeds)
            let cap = nested ? target.maxNestedSize : target.maxInputSize
            if input.count > cap { input.removeLast(input.count - cap) }
            if let trace { FileManager.default.createFile(atPath: trace, contents: Data(input)) }
            report.executions += 1
            do {
                if try target.decode(input) {
                    report.values += 1
                    if input != base && input.count <= target.maxInputSize {
                        if pool.count < 64 { pool.append(input) } else { pool[rng.below(64)] = input }
                    }
                } else {
                    report.errors += 1
                }
            } catch {
                report.errors += 1
                if !target.expectedError(error), report.findings.count < 5 {
                    report.findings.append((hex(input.prefix(512)), "\(type(of: error)): \(error)"))
                }
            }
        }
        return report
    }

    /// Runs the target and records every finding as a test issue.
    @discardableResult
    static func check(_ target: FuzzTarget, seed: UInt64) -> FuzzReport {
        #expect(!target.seeds.isEmpty, "\(target.name): the seed corpus is empty")
        let report = run(target, seed: seed)
        for finding in report.findings {
            Issue.record("\(target.name): unexpected error \(finding.error) for input \(finding.input)")
        }
        // Every mutation mix must still produce both outcomes, or the fuzzer tests nothing.
        #expect(report.executions == target.executions)
        #expect(report.errors > 0, "\(target.name): no input was rejected")
        #expect(report.values > 0, "\(target.name): no input was accepted")
        print("fuzz \(report)")
        return report
    }

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// The seed corpus and regression inputs kept in `Fixtures/fuzz`.
enum FuzzCorpus {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.appendingPathComponent("Fixtures/fuzz")
            }
        }
        return URL(fileURLWithPath: "Fixtures/fuzz")
    }()

    /// Every file of `Fixtures/fuzz/<decoder>/`, in name order.
    static func seeds(_ decoder: String) -> [[UInt8]] {
        files(in: root.appendingPathComponent(decoder)).map(\.bytes)
    }

    /// Regression inputs for one decoder: files named `<decoder>-<short-name>`.
    static func regressions(_ decoder: String) -> [(name: String, bytes: [UInt8])] {
        files(in: root.appendingPathComponent("regressions")).filter { $0.name.hasPrefix(decoder + "-") }
    }

    static func files(in dir: URL) -> [(name: String, bytes: [UInt8])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().compactMap { name in
            guard !name.hasPrefix("."), let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path)
            else { return nil }
            return (name, [UInt8](data))
        }
    }
}

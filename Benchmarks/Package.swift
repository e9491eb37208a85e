// swift-tools-version:6.1
// Micro-benchmarks of the engine's building blocks, kept out of the main build: run with
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
import Foundation
import PackageDescription

// A path dependency's identity is its folder name, which depends on where the clone lives.
let engine = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "cartae-restic-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "make-large-repo",
            dependencies: [
                .product(name: "ResticRepository", package: engine),
                .product(name: "ResticEngine", package: engine),
            ],
            path: "Tools/make-large-repo"
        ),
        .systemLibrary(name: "CMalloc", path: "Tools/CMalloc"),
        .executableTarget(
            name: "index-memory",
            dependencies: [
                "CMalloc",
                .product(name: "ResticRepository", package: engine),
                .product(name: "ResticEngine", package: engine),
            ],
            path: "Tools/index-memory"
        ),
        .executableTarget(
            name: "chunker-speed",
            dependencies: [.product(name: "ResticEngine", package: engine)],
            path: "Tools/chunker-speed"
        ),
        .executableTarget(
            name: "Engine",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ResticEngine", package: engine),
                .product(name: "ResticRepository", package: engine),
            ],
            path: "Benchmarks/Engine",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)

// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "cartae-restic",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cartae-restic", targets: ["cartae-restic"]),
        .library(name: "ResticRepository", targets: ["ResticRepository"]),
        // For the separate Benchmarks/ package.
        .library(name: "ResticEngine", targets: ["ResticCore", "ResticCrypto", "ResticCompress", "ResticChunker", "ResticBackends"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
    ],
    targets: [
        // C at the edge: only ResticCrypto and ResticCompress import these.
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),

        // Parts of libc the Glibc module leaves out (xattrs, mallopt).
        .systemLibrary(name: "CLibcExtras"),

        // The lock every module shares (a pthread one in sanitizer builds).
        .target(name: "CartaeSync"),

        .target(name: "ResticCrypto", dependencies: ["CLibCrypto", "CartaeSync"],
                // scrypt's mixing loop is our own Swift; unoptimised it takes a minute per key
                // instead of a quarter second, which would stall every debug build and test.
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "ResticCompress", dependencies: ["CZstd"]),
        .target(name: "ResticChunker", dependencies: ["CartaeSync"]),
        .target(name: "ResticCore", dependencies: ["ResticCrypto", "ResticCompress"]),
        .target(name: "ResticBackends", dependencies: [
            "ResticCore", "ResticCrypto", "CartaeSync", "CLibcExtras",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .target(name: "ResticRepository",
                dependencies: ["ResticCore", "ResticChunker", "ResticBackends", "ResticCrypto", "ResticCompress", "CartaeSync"]),
        .target(name: "ResticRestorer", dependencies: ["ResticRepository", "ResticBackends", "CLibcExtras", "CartaeSync"]),
        .target(name: "ResticArchiver", dependencies: ["ResticRepository", "ResticChunker", "CLibcExtras", "CartaeSync"]),
        .target(name: "ResticMaintenance", dependencies: ["ResticRepository", "CartaeSync"]),
        // The disaster-recovery system: stages, configuration, metrics, schedule.
        .target(name: "CartaeStages", dependencies: [
            "ResticRepository", "ResticArchiver", "ResticRestorer", "ResticMaintenance", "ResticBackends", "CartaeSync",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .target(name: "CartaeCLI", dependencies: [
            "ResticRepository", "ResticRestorer", "ResticArchiver", "ResticMaintenance", "CartaeStages", "CartaeSync",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "cartae-restic", dependencies: ["CartaeCLI", "CLibcExtras"]),

        .testTarget(name: "ResticCryptoTests", dependencies: ["ResticCrypto"]),
        .testTarget(name: "ResticCompressTests", dependencies: ["ResticCompress"]),
        .testTarget(name: "ResticChunkerTests", dependencies: ["ResticChunker"]),
        .testTarget(name: "ResticCoreTests", dependencies: ["ResticCore", "ResticCrypto", "ResticCompress"]),
        .testTarget(name: "ResticBackendsTests", dependencies: ["ResticBackends"]),
        .testTarget(name: "ResticRepositoryTests", dependencies: ["ResticRepository"]),
        .testTarget(name: "ResticMaintenanceTests", dependencies: ["ResticMaintenance"]),
        .testTarget(name: "CartaeStagesTests", dependencies: ["CartaeStages"]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "ResticRepository", "ResticRestorer", "ResticArchiver", "ResticMaintenance", "CartaeCLI", "CLibcExtras",
        ]),
    ]
)

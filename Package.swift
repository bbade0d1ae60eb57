// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "sfgit",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "sfgit", targets: ["sfgit"]),
        .library(name: "SFGit", targets: ["SFGit"]),
        .library(name: "SFGitMemory", targets: ["SFGitMemory"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", exact: "2.0.1"),
    ],
    targets: [
        // Debian's libyaml (libyaml-dev): the scanner and emitter; SFGitMemory adds only a strict adapter.
        .systemLibrary(
            name: "SFGitYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // Debian's libgit2 1.5.1 (libgit2-dev); shim.h wraps what Swift cannot call directly.
        .systemLibrary(
            name: "SFGitLibgit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        // The few Linux calls Swift cannot reach through Glibc (prctl, pipe2, a spawn's chdir).
        .systemLibrary(name: "SFGitPOSIX"),
        // The one way a child process is started: posix_spawn, deadlines, memory caps, death-binding.
        .target(
            name: "SFGitProcess",
            dependencies: ["SFGitPOSIX"]
        ),
        // The memory file format. Pure: no git, no SQLite.
        .target(
            name: "SFGitMemory",
            dependencies: ["SFGitYAML"]
        ),
        // A small, safe wrapper over libgit2: objects, refs, tree building, tree diff, signatures.
        .target(
            name: "SFGitRepository",
            dependencies: ["SFGitLibgit2", "SFGitProcess", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Policy and allowed_signers, SSHSIG verification and signing, the commit-graph verifier.
        .target(
            name: "SFGitTrust",
            dependencies: [
                "SFGitRepository", "SFGitMemory", "SFGitProcess",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The local SQLite cache: migrations, FTS5, incremental indexing, recall queries.
        .target(
            name: "SFGitIndex",
            dependencies: [
                "SFGitMemory",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API for the FTS5 ranking function (TermStatistics).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The facade the executable calls: workflows such as `check` and `verify`.
        .target(
            name: "SFGit",
            dependencies: [
                "SFGitMemory", "SFGitRepository", "SFGitTrust", "SFGitIndex", "SFGitProcess",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The network step's child process (`RemoteStep`), which the facade starts for every
        // fetch and push and kills at its deadline; installed beside `sfgit`.
        .executableTarget(
            name: "sfgit-network",
            dependencies: ["SFGitRepository", "SFGitProcess"]
        ),
        // The thin command-line front end.
        .executableTarget(
            name: "sfgit",
            dependencies: [
                "SFGit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `make bench`: throughput figures printed next to their baselines.
        .executableTarget(
            name: "sfgit-bench",
            dependencies: ["SFGitMemory", "SFGitYAML", "SFGit", "SFGitTrust", "SFGitRepository", "SFGitIndex", "SFGitProcess", "SFGitTestSupport"]
        ),
        // Test-only helpers: temporary directories, a runner for the built binary.
        .target(
            name: "SFGitTestSupport",
            dependencies: ["SFGitMemory", "SFGitRepository", "SFGitTrust", "SFGitProcess"]
        ),
        .testTarget(
            name: "SFGitProcessTests",
            dependencies: ["SFGitProcess"]
        ),
        .testTarget(
            name: "SFGitMemoryTests",
            dependencies: [
                "SFGitMemory", "SFGitTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "SFGitRepositoryTests",
            dependencies: [
                "SFGitRepository", "SFGitTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "SFGitTrustTests",
            dependencies: [
                "SFGitTrust", "SFGitRepository", "SFGitMemory", "SFGitTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                // To make an ssh-rsa (SHA-1) signature that the verifier must refuse.
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "SFGitIndexTests",
            dependencies: [
                "SFGitIndex", "SFGitMemory", "SFGitTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        // The facade's workflows and internals, in process (the binary-level stories are SFGitCLITests).
        .testTarget(
            name: "SFGitTests",
            dependencies: ["SFGit", "SFGitRepository", "SFGitProcess", "SFGitTestSupport", "sfgit", "sfgit-network"]
        ),
        .testTarget(
            name: "SFGitCLITests",
            dependencies: ["SFGit", "SFGitTrust", "SFGitMemory", "SFGitIndex", "SFGitRepository", "SFGitTestSupport", "sfgit", "sfgit-network"]
        ),
    ]
)

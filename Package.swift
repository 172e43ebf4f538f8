// swift-tools-version:6.1
import PackageDescription

/// Settings every Helios Swift target shares: Swift 6 language mode (strict concurrency) plus the
/// upcoming features that keep dependencies explicit.
let heliosSwiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "helios",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HeliosRaft", targets: ["HeliosRaft"]),
        .library(name: "HeliosLog", targets: ["HeliosLog"]),
        .library(name: "HeliosCompression", targets: ["HeliosCompression"]),
        .library(name: "HeliosTesting", targets: ["HeliosTesting"]),
        .library(name: "HeliosClient", targets: ["HeliosClient"]),
        .library(name: "HeliosJobFile", targets: ["HeliosJobFile"]),
        .executable(name: "helios", targets: ["helios"]),
        .executable(name: "helios-bench", targets: ["HeliosBench"]),
        .executable(name: "helios-simulate", targets: ["HeliosSimulateCommand"]),
        .executable(name: "helios-torture", targets: ["HeliosTorture"]),
        .executable(name: "helios-fuzz", targets: ["HeliosFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // traits: [] keeps SwiftPM from emitting trait flags in random order (spurious rebuilds).
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0", traits: []),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    ],
    targets: [
        // MARK: C shims

        /// CRC32C (Castagnoli) with the SSE4.2 / ARMv8 CRC instructions and a table fallback.
        .target(name: "CCRC32C"),
        /// fork/exec for task processes (a new process group or session, reset signals, exec errors
        /// reported through a pipe): the parts Swift cannot do safely between fork and exec.
        .target(name: "CSpawn"),
        /// libFuzzer's driver entry point (declaration only; tools/fuzz links compiler-rt's libFuzzer).
        .target(name: "CFuzzer"),
        /// The system liblz4 (Debian `liblz4-dev`), found with pkg-config.
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]
        ),

        // MARK: Libraries

        /// The Raft core: a pure state machine (tick, step, propose, ready, advance). Standard library only.
        .target(name: "HeliosRaft", swiftSettings: heliosSwiftSettings),

        /// Generated protobuf types from Formats/proto (tools/generate-protos; committed).
        .target(
            name: "HeliosProto",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        /// Generated gRPC service code for Formats/proto (tools/generate-protos; committed).
        .target(
            name: "HeliosAPI",
            dependencies: [
                "HeliosProto",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        /// Events -> projections; deterministic apply; snapshots of the projection.
        .target(
            name: "HeliosState",
            dependencies: ["HeliosProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: heliosSwiftSettings
        ),
        .target(
            name: "HeliosSnapshot",
            dependencies: ["HeliosState", "HeliosProto", "HeliosCompression", "HeliosLog", "HeliosRaft",
                           .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: heliosSwiftSettings
        ),
        /// Pure placement logic over the state (runs on the leader).
        .target(
            name: "HeliosScheduler",
            dependencies: ["HeliosState", "HeliosProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: heliosSwiftSettings
        ),
        /// Drives Raft nodes: the shared Ready-handling logic, the async driver over the segmented log,
        /// transports.
        .target(
            name: "HeliosReplication",
            dependencies: ["HeliosRaft", "HeliosLog", .product(name: "Logging", package: "swift-log")],
            swiftSettings: heliosSwiftSettings
        ),
        /// Deterministic whole-cluster simulation of the Raft core and driver logic (test support).
        .target(
            name: "HeliosSimulation",
            dependencies: ["HeliosRaft", "HeliosReplication", "HeliosTesting"],
            swiftSettings: heliosSwiftSettings
        ),
        /// The network edge: the gRPC server on HTTP/2 frames and the peer link between servers.
        .target(
            name: "HeliosEdge",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        /// A Helios server: Raft over the peer link, the projection as state machine, the scheduler, the APIs.
        .target(
            name: "HeliosServer",
            dependencies: [
                "HeliosAPI", "HeliosEdge", "HeliosState", "HeliosSnapshot", "HeliosScheduler", "HeliosReplication", "HeliosRaft",
                "HeliosLog", "HeliosProto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        /// The node agent: fingerprint, registration, heartbeats, the allocation watch, the exec driver
        /// (through `helios executor` processes), cgroup limits, log rotation and log streaming.
        .target(
            name: "HeliosAgent",
            dependencies: [
                "CSpawn", "HeliosAPI", "HeliosClient", "HeliosProto",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        /// The embeddable Swift client (every public RPC, failover, leader hints, retries).
        .target(
            name: "HeliosClient",
            dependencies: [
                "HeliosAPI", "HeliosProto",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        /// Job files (YAML or JSON, Formats/jobspec.md) to job specs, with Nomad's defaults and errors
        /// naming file:line and field. No gRPC: tools and fuzzers link it alone.
        .target(
            name: "HeliosJobFile",
            dependencies: [
                "HeliosProto",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        /// The segmented append-only log: Raft log and event store in one file format.
        .target(
            name: "HeliosLog",
            dependencies: [
                "CCRC32C",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        /// Standard LZ4 frames (streaming) over the system liblz4.
        .target(
            name: "HeliosCompression",
            dependencies: ["CLZ4"],
            swiftSettings: heliosSwiftSettings
        ),
        /// Test doubles shared by the test targets: crash-simulating file system, seeded randomness.
        .target(
            name: "HeliosTesting",
            dependencies: ["HeliosLog", "HeliosProto", .product(name: "Logging", package: "swift-log"),
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: heliosSwiftSettings
        ),

        // MARK: Executables

        .executableTarget(
            name: "helios",
            dependencies: [
                "HeliosLog",
                "HeliosState",
                "HeliosSnapshot",
                "HeliosProto",
                "HeliosRaft",
                "HeliosServer",
                "HeliosAgent",
                "HeliosClient",
                "HeliosJobFile",
                "HeliosReplication",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        .executableTarget(
            name: "HeliosBench",
            dependencies: [
                "HeliosLog",
                "HeliosRaft",
                "HeliosState",
                "HeliosSnapshot",
                "HeliosProto",
                "HeliosCompression",
                "HeliosScheduler",
                "HeliosAPI",
                "HeliosBenchProto",
                "HeliosTesting",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        /// Generated code for the etcd API subset the benchmarks call (Formats/proto/etcd).
        .target(
            name: "HeliosBenchProto",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),

        /// The fault suite: real server processes killed, paused and restarted under a recorded load.
        .executableTarget(
            name: "HeliosTorture",
            dependencies: [
                "HeliosClient", "HeliosProto", "HeliosTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        /// Fuzz targets for bad input (log recovery, job files, event apply): replays inputs when built
        /// normally, runs under libFuzzer when built by tools/fuzz. No gRPC, so the fuzz build is small.
        .executableTarget(
            name: "HeliosFuzz",
            dependencies: [
                "CFuzzer", "HeliosLog", "HeliosJobFile", "HeliosState", "HeliosSnapshot", "HeliosScheduler", "HeliosProto", "HeliosTesting",
                "HeliosEdge",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: heliosSwiftSettings
        ),
        .executableTarget(
            name: "HeliosSimulateCommand",
            dependencies: ["HeliosSimulation", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: heliosSwiftSettings
        ),

        // MARK: Tests

        .testTarget(
            name: "HeliosLogTests",
            dependencies: ["HeliosLog", "HeliosTesting", "CCRC32C", .product(name: "Logging", package: "swift-log")],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosRaftTests",
            dependencies: ["HeliosRaft"],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosStateTests",
            dependencies: ["HeliosState", "HeliosProto", "HeliosTesting", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosSnapshotTests",
            dependencies: ["HeliosSnapshot", "HeliosState", "HeliosProto", "HeliosLog", "HeliosRaft", "HeliosTesting", "HeliosCompression",
                           "CCRC32C",
                           .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosServerTests",
            dependencies: ["HeliosServer", "HeliosEdge", "HeliosAPI", "HeliosProto", "HeliosRaft", "HeliosState", "HeliosTesting",
                           .product(name: "GRPCCore", package: "grpc-swift-2"),
                           .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                           .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                           .product(name: "Logging", package: "swift-log")],
            exclude: ["Python"],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosEdgeTests",
            dependencies: ["HeliosEdge", "HeliosAPI", "HeliosProto", "HeliosTesting",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                           .product(name: "NIOHPACK", package: "swift-nio-http2"),
                           .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "GRPCCore", package: "grpc-swift-2"),
                           .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOSSL", package: "swift-nio-ssl"),
                           .product(name: "X509", package: "swift-certificates"),
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosFuzzTests",
            dependencies: ["HeliosFuzz", "HeliosTesting"],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosTortureTests",
            dependencies: ["HeliosTesting", "HeliosTorture", "helios"],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosClientTests",
            dependencies: ["helios", "HeliosClient", "HeliosJobFile", "HeliosServer", "HeliosProto", "HeliosTesting", "HeliosEdge",
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosJobFileTests",
            dependencies: ["HeliosJobFile", "HeliosProto", "HeliosTesting"],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosAgentTests",
            dependencies: ["helios", "HeliosAgent", "HeliosServer", "HeliosAPI", "HeliosProto", "HeliosTesting",
                           .product(name: "GRPCCore", package: "grpc-swift-2"),
                           .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                           .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosSchedulerTests",
            dependencies: ["HeliosScheduler", "HeliosState", "HeliosProto", "HeliosTesting",
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosReplicationTests",
            dependencies: ["HeliosReplication", "HeliosRaft", "HeliosLog", "HeliosTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosSimulationTests",
            dependencies: ["HeliosSimulation", "HeliosRaft"],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosCompressionTests",
            dependencies: ["HeliosCompression", "HeliosTesting"],
            swiftSettings: heliosSwiftSettings
        ),
        .testTarget(
            name: "HeliosCLITests",
            dependencies: ["helios", "HeliosLog", "HeliosState", "HeliosRaft", "HeliosTesting", "HeliosClient",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: heliosSwiftSettings
        ),
    ]
)

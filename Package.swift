// swift-tools-version:6.0
import PackageDescription

// Layout follows the data: job file → schedule → launch → event → query.
// AscribeCore is pure (no syscalls): job files, identities, schedules, zone rules.
// AscribeRuntime does the I/O: reading job directories and the zone database, the event store.
// C libraries come only from the OS, through system-library targets (no package dependencies).
let package = Package(
    name: "Ascribe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ascribe", targets: ["ascribe"]),
    ],
    targets: [
        .target(name: "AscribeCore"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSLCrypto", path: "Sources/COpenSSLCrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "AscribeRuntime", dependencies: ["AscribeCore", "CSQLite", "COpenSSLCrypto"]),
        .executableTarget(name: "ascribe", dependencies: ["AscribeCore", "AscribeRuntime"]),
        // Prints measured figures for BENCHMARKS.md: swift run -c release ascribe-benchmarks
        .executableTarget(name: "ascribe-benchmarks", dependencies: ["AscribeCore", "AscribeRuntime"],
                          path: "Sources/AscribeBenchmarks"),
        .testTarget(name: "AscribeCoreTests", dependencies: ["AscribeCore", "AscribeRuntime"]),
    ],
    swiftLanguageModes: [.v6]
)

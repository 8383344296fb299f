// swift-tools-version:6.0
import PackageDescription

// Layout follows the data: job file → schedule → launch → event → query.
// AscribeCore is pure (no syscalls): job files, identities, schedules, zone rules.
// AscribeRuntime does the I/O: reading job directories and the zone database, launching runs,
// the event store. CAscribeShim wraps the GNU/Linux calls Swift cannot see; ascribe-exec is the C
// exec helper the launcher spawns to drop privilege (docs/LAUNCH.md). Other C libraries come only
// from the OS, through system-library targets (no package dependencies).
let package = Package(
    name: "Ascribe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ascribe", targets: ["ascribe"]),
        .executable(name: "ascribe-exec", targets: ["ascribe-exec"]),
    ],
    targets: [
        .target(name: "AscribeCore"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSLCrypto", path: "Sources/COpenSSLCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CAscribeShim", path: "Sources/CAscribeShim"),
        .target(name: "AscribeRuntime", dependencies: ["AscribeCore", "CAscribeShim", "CSQLite", "COpenSSLCrypto"]),
        // Plain C, linked statically and without Swift's start-up object (-nostartfiles), so
        // SwiftPM does not pull in the Swift runtime: no dynamic loader and no Swift runtime
        // run while the helper is still root, and each run starts ~3 ms sooner (docs/LAUNCH.md).
        .executableTarget(name: "ascribe-exec", path: "Sources/ascribe-exec",
                          linkerSettings: [.unsafeFlags(["-nostartfiles", "-static-executable"])]),
        .executableTarget(name: "ascribe", dependencies: ["AscribeCore", "AscribeRuntime", "ascribe-exec"]),
        // Prints measured figures for BENCHMARKS.md: swift run -c release ascribe-benchmarks
        .executableTarget(name: "ascribe-benchmarks", dependencies: ["AscribeCore", "AscribeRuntime", "ascribe-exec"],
                          path: "Sources/AscribeBenchmarks"),
        .testTarget(name: "AscribeCoreTests", dependencies: ["AscribeCore", "AscribeRuntime", "ascribe-exec"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

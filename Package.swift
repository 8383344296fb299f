// swift-tools-version:6.2
import PackageDescription

// Layout follows the data: job file → schedule → launch → event → query.
// AscribeCore is pure (no syscalls): job files, identities, schedules, zone rules.
// AscribeSystem is the OS layer: each system call wrapped once (errno, EINTR, no pointers out).
// AscribeRuntime does the I/O through it: reading job directories and the zone database,
// launching runs, the event store. AscribeCommandLine is presentation: commands declared once,
// read by the argument parser and rendered as --help, the man page and shell completions.
// CAscribeShim wraps the GNU/Linux calls Swift cannot see; ascribe-exec is the C
// exec helper the launcher spawns to drop privilege (docs/LAUNCH.md). Other C libraries come only
// from the OS, through system-library targets (no package dependencies).
//
// Linux only (glibc ≥ 2.34, kernel ≥ 5.3 for pidfds): the launcher, the daemon and the OS layer
// are built on epoll, eventfd, inotify, pidfds, SO_PEERCRED and /proc. Said once, in
// Sources/AscribeSystem/Platform.swift, which stops a build anywhere else with that message.
// Tools 6.2: `nonisolated(nonsending)` (RunExecution.runTogether).
let package = Package(
    name: "Ascribe",
    products: [
        .executable(name: "ascribe", targets: ["ascribe"]),
        .executable(name: "ascribe-exec", targets: ["ascribe-exec"]),
    ],
    targets: [
        .target(name: "AscribeCore"),
        .target(name: "AscribeCommandLine", dependencies: ["AscribeCore"]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgreSQL", path: "Sources/CPostgreSQL", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSLCrypto", path: "Sources/COpenSSLCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "CAscribeShim", path: "Sources/CAscribeShim"),
        // The one OS layer: the only module that calls Glibc and the C shim for files, processes,
        // sockets, epoll, inotify and signals; its API is Swift types only.
        .target(name: "AscribeSystem", dependencies: ["CAscribeShim"]),
        .target(name: "AscribeRuntime", dependencies: ["AscribeCore", "AscribeSystem", "CSQLite", "CPostgreSQL", "COpenSSLCrypto"]),
        // Plain C, linked statically and without Swift's start-up object (-nostartfiles), so
        // SwiftPM does not pull in the Swift runtime: no dynamic loader and no Swift runtime
        // run while the helper is still root, and each run starts ~3 ms sooner (docs/LAUNCH.md).
        .executableTarget(name: "ascribe-exec", path: "Sources/ascribe-exec",
                          linkerSettings: [.unsafeFlags(["-nostartfiles", "-static-executable"])]),
        // The Swift runtime linked in (glibc, libcrypto and libsqlite3 stay shared, so NSS and
        // security updates work as for any program): a short command no longer loads and
        // relocates libswiftCore and its companions, most of its start-up (BENCHMARKS.md).
        .executableTarget(name: "ascribe", dependencies: ["AscribeCore", "AscribeSystem", "AscribeRuntime", "AscribeCommandLine", "ascribe-exec"],
                          linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        // Prints measured figures for BENCHMARKS.md: swift run -c release ascribe-benchmarks
        .executableTarget(name: "ascribe-benchmarks", dependencies: ["AscribeCore", "AscribeSystem", "AscribeRuntime", "ascribe-exec"],
                          path: "Sources/AscribeBenchmarks"),
        // Tests follow the modules: each module's tests depend on that module (and what it
        // depends on) only; the end-to-end tests run the built `ascribe` and its examples, and
        // inject faults into the real daemon. Helpers two targets share live in a support library:
        // AscribeCoreTestSupport holds fixtures with no I/O (pure), AscribeTestSupport the harnesses
        // that run the launcher, the daemon and the binary.
        .target(name: "AscribeCoreTestSupport", dependencies: ["AscribeCore"], path: "Tests/AscribeCoreTestSupport"),
        .target(name: "AscribeTestSupport", dependencies: ["AscribeCore", "AscribeSystem", "AscribeRuntime"],
                path: "Tests/AscribeTestSupport"),
        .testTarget(name: "AscribeCoreTests", dependencies: ["AscribeCore", "AscribeCoreTestSupport"]),
        .testTarget(name: "AscribeCommandLineTests", dependencies: ["AscribeCore", "AscribeCommandLine", "AscribeCoreTestSupport"]),
        .testTarget(name: "AscribeSystemTests", dependencies: ["AscribeSystem"]),
        .testTarget(name: "AscribeRuntimeTests", dependencies: ["AscribeCore", "AscribeSystem", "AscribeRuntime", "ascribe-exec",
                                                                "AscribeCoreTestSupport", "AscribeTestSupport"]),
        .testTarget(name: "AscribeEndToEndTests", dependencies: ["AscribeCore", "AscribeSystem", "AscribeRuntime", "AscribeCommandLine",
                                                                 "ascribe-exec", "AscribeCoreTestSupport", "AscribeTestSupport"],
                    exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

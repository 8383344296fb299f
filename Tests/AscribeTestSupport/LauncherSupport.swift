import Foundation
import Glibc
import AscribeRuntime

/// Tests that change identity run for real as root (as CI does) and are skipped otherwise
/// (`.requires(isRoot, …)`: in CI, not being root fails them).
package let isRoot = geteuid() == 0

/// A stand-in for the libcrypto SHA-256 the lead wires in: FNV-1a 64, enough to check that the
/// launcher feeds every byte, in order, exactly once.
package struct FNV1aDigest: OutputDigest {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325

    package init() {}

    package mutating func update(_ bytes: ArraySlice<UInt8>) {
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    }

    package mutating func finalize() -> String { String(hash, radix: 16) }

    package static func of(_ bytes: [UInt8]) -> String {
        var digest = FNV1aDigest()
        digest.update(bytes[...])
        return digest.finalize()
    }
}

/// A fresh directory (mode 0755: the run's user can reach neither it nor the files in it
/// unless a test opens them up), removed afterwards with everything in it.
package func withScratch<T>(_ body: (String) throws -> T) throws -> T {
    let path = try makeScratchDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// For async tests, which remove it themselves.
package func makeScratchDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-launch-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
    return path
}

package func makeLauncher(_ scratch: String, helperPath: String? = nil, developmentMode: Bool = false,
                  drainGrace: Duration = .seconds(2), schedulerUID: UInt32 = geteuid()) -> Launcher {
    let configuration = LauncherConfiguration(
        credentialsRuntimeDirectory: scratch + "/run/credentials", helperPath: helperPath, developmentMode: developmentMode,
        outputDrainGrace: drainGrace, makeDigest: { FNV1aDigest() })
    return Launcher(configuration: configuration, schedulerUID: schedulerUID)
}

/// As root, runs as `nobody`; otherwise as the test's own user.
package func makeRequest(
    _ scratch: String, _ arguments: [String], runAs: RunAsTarget? = isRoot ? RunAsTarget(user: "nobody") : nil,
    workingDirectory: String = "/", environment: [LaunchRequest.Variable] = [], credentials: [LaunchRequest.Credential] = [],
    timeout: Duration? = nil, killGrace: Duration = .seconds(1), cap: Int = 1 << 20, runID: String = UUID().uuidString
) -> LaunchRequest {
    LaunchRequest(
        runID: runID, executable: LaunchRequest.resolveProgram(arguments[0]) ?? arguments[0], arguments: arguments,
        runAs: runAs, workingDirectory: workingDirectory, extraEnvironment: environment,
        attribution: AttributionEnvironment(job: "stale-lock-reaper", identity: "stale-lock-reaper", runID: runID,
                                            scheduledFor: "2026-11-23T18:00:00+00:00"),
        credentials: credentials, timeout: timeout, killGrace: killGrace,
        outputPath: scratch + "/output-\(runID).log", outputCapBytes: cap)
}

/// prepare → start → wait.
package func launchAndWait(_ launcher: Launcher, _ request: LaunchRequest) throws -> LaunchCompletion {
    let running = try launcher.start(try launcher.prepare(request))
    return launcher.wait(running)
}

/// The capture file's text; empty when the run wrote nothing (and so no file was made).
package func capturedText(_ completion: LaunchCompletion) throws -> String {
    guard let path = completion.output.path else { return "" }
    return try String(contentsOfFile: path, encoding: .utf8)
}

/// A credential store file `<scratch>/store/<identity>/<name>` (mode 0600 unless told).
package func storeCredential(_ scratch: String, _ name: String, _ contents: String, mode: Int = 0o600) throws -> LaunchRequest.Credential {
    let directory = scratch + "/store/stale-lock-reaper"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let path = directory + "/" + name
    try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    return LaunchRequest.Credential(name: name, source: path)
}

/// `Key:\tvalue` lines of a `/proc/<pid>/status` text.
package func statusField(_ status: String, _ key: String) -> String? {
    status.split(separator: "\n").first { $0.hasPrefix(key + ":") }
        .map { $0.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces) }
}

/// Polls `condition` until it holds or `seconds` pass.
package func eventually(within seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// True once no process is left in the group.
package func processGroupIsGone(_ group: Int32) -> Bool {
    kill(-group, 0) == -1 && errno == ESRCH
}

/// `/proc/<pid>/stat` fields after the command name: state, ppid, pgrp, session, ...
package func statFields(_ pid: Int32) -> [String]? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return nil }
    return text[text.index(after: close)...].split(separator: " ").map(String.init)
}

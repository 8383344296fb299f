import Foundation
import Testing
import AscribeTestSupport

@Suite struct UnitFileTests {
    private static let unit = AscribeBinary.repository.appendingPathComponent("examples/ascribe.service")

    private func directives() throws -> [String: String] {
        var found: [String: String] = [:]
        for line in try String(contentsOf: Self.unit, encoding: .utf8).split(separator: "\n")
        where !line.hasPrefix("#") && line.contains("=") {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            found[String(parts[0])] = String(parts[1])
        }
        return found
    }

    @Test func unitRunsTheDaemonSandboxed() throws {
        let unit = try directives()
        #expect(unit["ExecStart"] == "/usr/local/bin/ascribe daemon --jobs /etc/ascribe/jobs.d --state /var/lib/ascribe")
        #expect(unit["ExecReload"] == "/bin/kill -HUP $MAINPID")
        #expect(unit["KillMode"] == "mixed")
        #expect(unit["ProtectSystem"] == "strict")
        #expect(unit["ReadWritePaths"] == "/var/lib/ascribe /run/ascribe")
        #expect(unit["StateDirectoryMode"] == "0700" && unit["RuntimeDirectoryMode"] == "0711")
        #expect(unit["UMask"] == "0077")
        let capabilities = Set((unit["CapabilityBoundingSet"] ?? "").split(separator: " ").map(String.init))
        #expect(capabilities == ["CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_KILL",
                                 "CAP_AUDIT_CONTROL"])
    }

    @Test(.enabled(if: Tool.path("systemd-analyze") != nil, "systemd-analyze is not installed: examples/ascribe.service not verified"))
    func systemdAcceptsTheUnit() throws {
        // verify insists the ExecStart program and the man:ascribe(1) page exist: point them at the build.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-unit-\(getpid())")
        let manuals = directory.appendingPathComponent("man/man1")
        try FileManager.default.createDirectory(at: manuals, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(at: AscribeBinary.repository.appendingPathComponent("docs/ascribe.1"),
                                         to: manuals.appendingPathComponent("ascribe.1"))
        let text = try String(contentsOf: Self.unit, encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/ascribe", with: AscribeBinary.path)
        let copy = directory.appendingPathComponent("ascribe.service")
        try text.write(to: copy, atomically: true, encoding: .utf8)
        let result = try Tool.run("systemd-analyze", ["verify", copy.path],
                                  environment: ["MANPATH": directory.appendingPathComponent("man").path])
        #expect(result.status == 0)
        #expect(result.output.isEmpty, "systemd-analyze verify: \(result.output)")
    }
}

import AscribeCore
import Foundation
import Testing
import AscribeTestSupport

/// `ascribe import` and `ascribe --version`, run as the real binary.
@Suite struct ImportCommandLineTests {
    static let userCrontab = """
        # m h dom mon dow command
        MAILTO=ops@example.com
        LANG=C.UTF-8
        */10 * * * * /bin/date >> /dev/null
        30 2 * * * /usr/bin/env sh -c 'uptime'
        @daily /bin/echo "daily: \\%s"

        """

    /// A fresh directory under the system's temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func jobFiles(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".job") }.sorted()
    }

    @Test func importFromStandardInputThenCheckPasses() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("jobs.d").path
        let result = try AscribeBinary.run(["import", "--out", out, "--owner", "ops <ops@example.com>", "--run-as", "nobody"],
                                           input: Self.userCrontab)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("wrote \(out)/date.job"))
        #expect(result.stdout.contains("3 job files written to \(out) from 1 crontab."))
        #expect(result.stdout.contains("stdin:2: MAILTO=ops@example.com"))
        #expect(Self.jobFiles(URL(fileURLWithPath: out)) == ["date.job", "echo.job", "uptime.job"])
        let text = try String(contentsOfFile: out + "/echo.job", encoding: .utf8)
        #expect(text.contains("\ncommand = /bin/echo \"daily: %s\"\n"))
        #expect(text.contains("\nowner = ops <ops@example.com>\n"))
        #expect(text.contains("\nrun-as = nobody\n"))
        #expect(text.contains("\nenvironment = LANG=C.UTF-8\n"))

        let check = try AscribeBinary.run(["check", out])
        #expect(check.status == 0, "\(check.stdout)")
        #expect(check.stdout.contains("3 loaded, 0 rejected; 0 errors"))
    }

    @Test func withoutOwnerTheFilesFailCheckUntilOneIsNamed() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("jobs.d").path
        let result = try AscribeBinary.run(["import", "--out", out, "--run-as", "nobody"], input: Self.userCrontab)
        #expect(result.status == 0)
        #expect(result.stdout.contains("owner: 3 jobs without an owner"))
        let check = try AscribeBinary.run(["check", out])
        #expect(check.status == 1)
        #expect(check.stdout.components(separatedBy: "error: missing required key `owner`").count == 4)
    }

    @Test func dryRunWritesNothing() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("jobs.d")
        let result = try AscribeBinary.run(["import", "--out", out.path, "--dry-run"], input: Self.userCrontab)
        #expect(result.status == 0)
        #expect(result.stdout.contains("--- \(out.path)/date.job (would write)\n# Imported by `ascribe import` from stdin:4:"))
        #expect(result.stdout.contains("3 job files would be written to \(out.path)"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func existingFilesAreNotOverwrittenUnlessForced() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("jobs.d")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let mine = "# hand-written, keep\n"
        try mine.write(to: out.appendingPathComponent("date.job"), atomically: true, encoding: .utf8)

        let first = try AscribeBinary.run(["import", "--out", out.path, "--owner", "ops <ops@example.com>", "--json"],
                                          input: "0 1 * * * /bin/date\n")
        #expect(first.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        let jobs = try #require(object["jobs"] as? [[String: Any]])
        #expect(jobs.map { $0["job"] as? String } == ["date-2"])
        let findings = try #require(object["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["kind"] as? String == "name-taken" && $0["source"] as? String == "stdin:1" })
        #expect(try String(contentsOf: out.appendingPathComponent("date.job"), encoding: .utf8) == mine)

        let forced = try AscribeBinary.run(["import", "--out", out.path, "--owner", "ops <ops@example.com>", "--force"],
                                           input: "0 1 * * * /bin/date\n")
        #expect(forced.status == 0)
        #expect(try String(contentsOf: out.appendingPathComponent("date.job"), encoding: .utf8).contains("command = /bin/date"))
        #expect(Self.jobFiles(out) == ["date-2.job", "date.job"])
    }

    @Test func filesAreWrittenWithFixedModesWhateverTheUmask() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let crontab = root.appendingPathComponent("crontab")
        try "0 1 * * * /bin/date\n".write(to: crontab, atomically: true, encoding: .utf8)
        let out = root.appendingPathComponent("new/jobs.d")
        for umask in ["077", "000"] {
            try? FileManager.default.removeItem(at: root.appendingPathComponent("new"))
            let result = try AscribeBinary.run(["import", crontab.path, "--out", out.path], umask: umask)
            #expect(result.status == 0, "\(result.stderr)")
            let directory = try FileManager.default.attributesOfItem(atPath: out.path)
            let file = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("date.job").path)
            #expect((directory[.posixPermissions] as? Int) == 0o755, "umask \(umask)")
            #expect((file[.posixPermissions] as? Int) == 0o644, "umask \(umask)")
        }
    }

    @Test func exitCodesTellSkippedLinesFromBadInput() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let out = root.appendingPathComponent("jobs.d").path
        let skipped = try AscribeBinary.run(["import", "--out", out], input: "61 * * * * /bin/true\n0 1 * * * /bin/false\n")
        #expect(skipped.status == 1)
        #expect(skipped.stdout.contains("stdin:1: skipped: invalid schedule: minute field"))
        #expect(skipped.stdout.contains("1 job file written to \(out) from 1 crontab; 1 line skipped."))
        let percent = try AscribeBinary.run(["import", "--out", out, "--dry-run", "--json"], input: "0 1 * * * mail root%hi\n")
        #expect(percent.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(percent.stdout.utf8)) as? [String: Any])
        #expect(object["complete"] as? Bool == false)
        #expect((object["jobs"] as? [[String: Any]])?.first?["loads_once_owned"] as? Bool == false)

        for arguments in [
            ["import", "/nonexistent/crontab", "--out", out],
            ["import", root.path, "--out", out],
            ["import", "--owner", "ops <", "--out", out],
            ["import", "--format", "weekly", "--out", out],
            ["import", "-", "-", "--out", out],
            ["import"],
        ] {
            let result = try AscribeBinary.run(arguments, input: "")
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.hasPrefix("ascribe import: "), "\(arguments): \(result.stderr)")
        }
    }

    @Test func systemFormatIsDetectedOrForced() throws {
        let root = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let crontab = root.appendingPathComponent("crontab")
        try "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n".write(to: crontab, atomically: true, encoding: .utf8)
        let out = root.appendingPathComponent("jobs.d").path
        let asUser = try AscribeBinary.run(["import", crontab.path, "--out", out, "--dry-run"])
        #expect(asUser.stdout.contains("re-run with --format system"))
        let asSystem = try AscribeBinary.run(["import", crontab.path, "--out", out, "--dry-run", "--format", "system"])
        #expect(asSystem.stdout.contains("identity = run-parts-cron-hourly\n"))
        #expect(asSystem.stdout.contains("run-as = root\n"))
    }

    @Test(arguments: [["--version"], ["version"]])
    func versionPrintsTheSingleConstant(arguments: [String]) throws {
        let result = try AscribeBinary.run(arguments)
        #expect(result.status == 0)
        #expect(result.stdout == "ascribe \(AscribeVersion.current)\n")
        #expect(AscribeVersion.current == "0.1.0")
    }
}

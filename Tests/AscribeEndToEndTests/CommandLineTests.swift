import Foundation
import Testing
import AscribeTestSupport

@Suite struct CommandLineTests {
    @Test func nextExpressionPrintsOnlyTimestamps() throws {
        let result = try AscribeBinary.run(["next", "--expr", "30 2 * * *", "--tz", "Europe/Berlin",
                                            "--from", "2026-03-28T12:00:00+01:00", "--count", "2"])
        #expect(result.status == 0)
        #expect(result.stdout == "2026-03-29T03:00:00+02:00\n2026-03-30T02:30:00+02:00\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func nextExpressionLocalFromTimeIsReadInTheZone() throws {
        let result = try AscribeBinary.run(["next", "--expr", "*/30 * * * *", "--tz", "America/New_York",
                                            "--from", "2026-11-01T01:10", "--count", "3"])
        #expect(result.stdout == "2026-11-01T01:30:00-04:00\n2026-11-01T01:00:00-05:00\n2026-11-01T01:30:00-05:00\n")
    }

    @Test(arguments: [
        (["next", "--expr", "61 * * * *"], "minute field"),
        (["next", "--expr", "0 0 * * FRX"], "day-of-week field"),
        (["next", "--expr", "0 0 30 2 *"], "never fires"),
        (["next", "--expr", "@reboot"], "@reboot"),
        (["next", "--expr", "* * * * *", "--tz", "Mars/Base"], "unknown time zone"),
        (["next", "--expr", "* * * * *", "--from", "yesterday"], "--from"),
        (["next", "--expr", "* * * * *", "--count", "0"], "--count"),
        (["check", "--bogus"], "unknown option --bogus"),
        (["log", "--stat", "x"], "unknown option --stat; did you mean --state?"),
        (["why", "reaper", "--at", "now", "--until", "now"], "--at and --until exclude each other"),
        (["check", "/nonexistent/jobs.d"], "/nonexistent/jobs.d"),
        (["plan", "--jobs", "jobs.d", "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"], "--to must be after --from"),
        (["frobnicate"], "unknown command"),
        (["daemon", "--store", "/var/lib/ascribe/events.db"], "--store: expected a PostgreSQL URI"),
        (["daemon", "--host-name", "web 1"], "--host-name: \"web 1\" is not a host name"),
        (["daemon", "--store", "postgresql://ascribe@db.example.com/ascribe", "--witness-file", "/tmp/never-written"],
         "a fleet's log in PostgreSQL has no checkpoints yet"),
    ])
    func badInputExitsTwoWithAMessage(arguments: [String], message: String) throws {
        let result = try AscribeBinary.run(arguments)
        #expect(result.status == 2, "\(arguments)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    /// Output is written as it is produced, not held until the command ends: with standard output
    /// and error on one pipe, the note `next` prints after its last fire time follows the first
    /// 64 KiB of fire times instead of preceding all of them.
    @Test func outputIsWrittenAsItIsProducedNotAtExit() throws {
        let result = try AscribeBinary.run(["next", "--expr", "*/30 * * * *", "--tz", "UTC", "--from", "9998-10-01T00:00:00Z",
                                            "--count", "10000"], wrapper: ["/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3993)
        let note = try #require(lines.firstIndex { $0.hasPrefix("ascribe next: only 3992 of the 10000 fires") })
        #expect(note > 0, "the closing note came before every fire time: output was held until exit")
        #expect(lines[..<note].allSatisfy { $0.hasPrefix("99") })
    }

    @Test func checkExitCodes() throws {
        let clean = try AscribeBinary.run(["check", "jobs.d"])
        #expect(clean.status == 0, "\(clean.stdout)")
        #expect(clean.stdout.contains("5 loaded, 0 rejected; 0 errors"))
        let rejected = try AscribeBinary.run(["check", "examples/rejected"])
        #expect(rejected.status == 1)
        #expect(rejected.stdout.contains("examples/rejected/pasted-crontab-line.job:15:12: error: identity \"admin\""))
        let json = try AscribeBinary.run(["check", "examples/rejected", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["errors"] as? Int == 6)
    }

    @Test func strictTurnsWarningsIntoFindings() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        // An owner without a contact address: a warning, not a reason the job cannot start.
        try harness.job("no-contact", schedule: "0 3 * * *", command: "/bin/true", [])
        let file = harness.jobs + "/no-contact.job"
        let text = try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "test-team <test@example.com>", with: "test-team")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let relaxed = try AscribeBinary.run(["check", harness.jobs, "--dev"])
        #expect(relaxed.status == 0 && relaxed.stdout.contains("0 errors, 1 warning"), "\(relaxed.stdout)")
        #expect(try AscribeBinary.run(["check", harness.jobs, "--dev", "--strict"]).status == 1)
    }

    /// What a root daemon would refuse is an error without --strict: examples/backup-upload
    /// needs credentials and a program this machine lacks.
    @Test func launchRefusalsAreErrors() throws {
        let result = try AscribeBinary.run(["check", "examples", "--credentials", "/nonexistent"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("examples/backup-upload.job:14:15: error: credentials: credential `s3-access-key` is missing from the store (/nonexistent/backup-uploader/s3-access-key)"), "\(result.stdout)")
        #expect(result.stdout.contains("examples/backup-upload.job:17:11: error: command: command not found: /usr/local/bin/upload-backup does not exist"))
    }

    /// As root, a job without run-as is one a root daemon refuses every time.
    @Test(.requires(isRoot, "decides as a root daemon; CI runs as root"))
    func aJobWithoutRunAsFailsCheckAsRoot() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try "schedule = 0 3 * * *\nidentity = no-run-as\nowner = ops <ops@example.com>\ncommand = /bin/true\n"
            .write(toFile: harness.jobs + "/no-run-as.job", atomically: true, encoding: .utf8)
        let result = try AscribeBinary.run(["check", harness.jobs])
        #expect(result.status == 1)
        #expect(result.stdout.contains("no-run-as.job:1:1: error: run-as: the scheduler runs as root, so every job must name a run-as user"))
        let json = try AscribeBinary.run(["check", harness.jobs, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["errors"] as? Int == 1 && object["loaded"] as? Int == 0)
        // --dev changes no privilege as root.
        #expect(try AscribeBinary.run(["check", harness.jobs, "--dev"]).status == 1)
    }

    @Test func nextNamesEveryBadFieldWithItsCaret() throws {
        let result = try AscribeBinary.run(["next", "--expr", "61 25 * * *"])
        #expect(result.status == 2 && result.stdout.isEmpty)
        #expect(result.stderr == """
            ascribe next: invalid expression: minute field: "61": 61 is out of range (use 0-59)
              61 25 * * *
              ^^
            ascribe next: invalid expression: hour field: "25": 25 is out of range (use 0-23)
              61 25 * * *
                 ^^

            """)
    }

    @Test func planMarksDaylightSavingAndPileUps() throws {
        let result = try AscribeBinary.run(["plan", "--jobs", "examples", "--from", "2026-03-28T12:00:00+01:00",
                                            "--to", "2026-03-29T12:00:00+02:00"], environment: ["TZ": "Europe/Berlin"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("  nightly-export-berlin  identity nightly-order-exporter  run-as nobody  30 2 * * * (Europe/Berlin)"))
        #expect(result.stdout.contains("Sun 2026-03-29 (times in Europe/Berlin; DST: Europe/Berlin: clocks go forward 1 h at 02:00)"))
        #expect(result.stdout.contains("  03:00        nightly-export-berlin  [DST: 02:30 moved to 03:00 (Europe/Berlin)]\n"))
        let help = try AscribeBinary.run(["plan", "--help"])
        #expect(help.stdout.contains("\"DST: 02:30 moved to 03:00 (Europe/Berlin)\""))
        let pileUp = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--from", "2026-11-23T00:00:00Z",
                                            "--to", "2026-11-23T01:00:00Z", "--json"])
        let lines = pileUp.stdout.split(separator: "\n")
        #expect(lines.count == 17)  // load-heartbeat 12, stale-lock-reaper 4, failure-drill 1
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let atQuarterPast = objects.filter { $0["time"] as? String == "2026-11-23T00:15:00+00:00" }
        #expect(atQuarterPast.count == 2)
        #expect(atQuarterPast.allSatisfy { $0["jobs_in_same_minute"] as? Int == 2 })
    }

    /// A day of the bundled jobs: each job's command once, a */5 job's day on one line, all
    /// times in --tz, so mixed zones read in order; --to as a length after --from.
    @Test func planFoldsRepeatedSlotsAndPrintsOneZone() throws {
        let result = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--from", "2026-11-23T00:00:00Z", "--to", "1d",
                                            "--tz", "Asia/Kolkata"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count < 20, "\(result.stdout)")
        #expect(lines.filter { $0.contains("/proc/loadavg") }.count == 1)
        #expect(lines.contains("Mon 2026-11-23 (times in Asia/Kolkata)"))
        #expect(lines.contains("  05:35–23:55  load-heartbeat         every 5 min (221 slots)  [pile-up: 73 of them start with other jobs]"))
        #expect(lines.contains("  00:00–05:30  load-heartbeat         every 5 min (67 slots)  [pile-up: 23 of them start with other jobs]"))
        #expect(lines.contains("  12:00        kernel-version-report  [pile-up: 3 jobs]"))
        let tuesday = try #require(lines.firstIndex(of: "Tue 2026-11-24 (times in Asia/Kolkata)"))
        let kernel = try #require(lines.firstIndex(of: "  12:00        kernel-version-report  [pile-up: 3 jobs]"))
        #expect(kernel < tuesday)
        #expect(lines.last == "410 runs planned for 5 jobs, 2026-11-23T05:30:00+05:30 → 2026-11-24T05:30:00+05:30")
        let relative = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--from", "now", "--to", "7d"])
        #expect(relative.status == 0 && relative.stdout.contains(" runs planned for 5 jobs, "))
        let bad = try AscribeBinary.run(["plan", "--jobs", "jobs.d", "--to", "next week"])
        #expect(bad.status == 2 && bad.stderr.contains("--to \"next week\" is not a time: use now, a length after --from such as 7d"))
    }

    @Test(arguments: ["check", "next", "plan", "import"])
    func everyCommandHasHelpWithExamples(command: String) throws {
        let result = try AscribeBinary.run([command, "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Usage: ascribe \(command)"))
        #expect(result.stdout.contains("Examples:"))
    }
}

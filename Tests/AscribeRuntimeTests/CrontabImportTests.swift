import Foundation
import Testing
@testable import AscribeCore
import AscribeRuntime

/// Crontabs the import tests convert, and the checks they share.
enum CrontabFixture {
    /// Debian 12's stock `/etc/crontab`, byte for byte (package cron-daemon-common
    /// 3.0pl1-162; tabs as shipped).
    static let debianSystemCrontab = """
        # /etc/crontab: system-wide crontab
        # Unlike any other crontab you don't have to run the `crontab'
        # command to install the new version when you edit this file
        # and files in /etc/cron.d. These files also have username fields,
        # that none of the other crontabs do.

        SHELL=/bin/sh
        PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

        # Example of job definition:
        # .---------------- minute (0 - 59)
        # |  .------------- hour (0 - 23)
        # |  |  .---------- day of month (1 - 31)
        # |  |  |  .------- month (1 - 12) OR jan,feb,mar,apr ...
        # |  |  |  |  .---- day of week (0 - 6) (Sunday=0 or 7) OR sun,mon,tue,wed,thu,fri,sat
        # |  |  |  |  |
        # *  *  *  *  * user-name command to be executed
        17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly
        25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }
        47 6\t* * 7\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }
        52 6\t1 * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }
        #

        """

    /// A system crontab using every piece of Debian crontab syntax the importer maps: names,
    /// ranges, steps, lists, Sunday as 0 and 7, every macro, quoted and spaced variables,
    /// `%`, `\%`, CRON_TZ. (`L` and `#` are not crontab syntax: see `badLines`.)
    static let everySyntax = """
        # every piece of crontab syntax
        SHELL=/bin/bash
        PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
        MAILTO="ops@example.com"
          LANG = 'C.UTF-8'
        GREETING = "hello, world"
        WINDOWS_DIR=C:\\temp
        */15 * * * *\troot\t/usr/local/bin/rotate-logs.sh --all
        0 9-17/2 * * mon-fri\twww-data\t/usr/bin/php /var/www/app/artisan schedule:run
        30 2 * * *\tbackup\t/usr/local/bin/db-backup --full
        0 2,3 * jan-jun,oct,nov 0,7\tbackup\t/usr/local/bin/weekly-report
        5 4 1,15 * 5\tnobody\t/usr/bin/find /tmp -mtime +7 -delete
        0 0 1-31/2 * *\tnobody\techo odd days >> /var/log/odd-days.log
        @hourly\troot\t/usr/sbin/logrotate /etc/logrotate.conf
        @daily\troot\tnice -n 19 /usr/local/bin/clean-cache
        @midnight\troot\t/usr/local/bin/midnight-sweep
        @weekly\troot\t/usr/local/bin/weekly-sweep
        @monthly\troot\t/usr/local/bin/monthly-invoice
        @yearly\troot\t/usr/local/bin/yearly-archive
        @annually\troot\t/usr/local/bin/annual-audit
        @reboot\troot\t/usr/local/bin/warm-cache
        0 22 * * 1-5\tmail\tmail -s "It's 10pm" joe%Joe,%%Where are your kids?%
        5 0 * * *\tbackup\ttar czf /backup/$(date +\\%F).tgz /srv
        CRON_TZ=America/New_York
        30 1 * * *\troot\t/usr/local/bin/ny-report
        */30 1-3 * * sun\troot\t/usr/local/bin/ny-half-hourly

        """

    static let owner = (try? Owner(parsing: "ops-team <ops-oncall@example.com>"))

    static let database = ZoneDatabase()
    static let zones: @Sendable (String) -> ZoneRules? = { database.rules(for: $0) }

    /// Homes as Debian has them; `nobody`'s does not exist.
    static let homes: @Sendable (String) -> HomeDirectory = { user in
        switch user {
        case "root": .directory("/root")
        case "www-data": .directory("/var/www")
        case "backup": .directory("/var/backups")
        case "mail": .directory("/var/mail")
        case "nobody": .missing
        default: .unknownUser
        }
    }

    static func convert(_ text: String, path: String = "/etc/crontab", format: CrontabFormat = .system,
                        owner: Owner? = CrontabFixture.owner, runAs: RunAs? = nil,
                        taken: Set<String> = []) -> CrontabImportResult {
        CrontabImport.convert(text: text, source: path, format: format,
                              options: CrontabImportOptions(owner: owner, runAs: runAs, takenJobNames: taken, homeDirectory: homes),
                              zones: zones)
    }

    static func parse(_ job: ImportedJob) -> JobFileParseResult {
        JobFile.parse(Array(job.fileText.utf8), path: "/etc/ascribe/jobs.d/\(job.name).job", zones: zones)
    }

    /// The original line's schedule and user, read with nothing but string splitting: the
    /// first word if it is a macro, else the first five; then the user in system format.
    static func original(_ line: String, format: CrontabFormat) -> (expression: String, user: String?) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let count = words.first?.hasPrefix("@") == true ? 1 : 5
        let user = format == .system && words.count > count ? words[count] : nil
        return (words.prefix(count).joined(separator: " "), user)
    }

    static func instant(_ text: String) -> Instant {
        guard case .instant(let instant) = RFC3339.parse(text) else { return Instant(secondsSinceEpoch: 0) }
        return instant
    }

    /// One week around each 2026 DST change in Europe/Berlin and in America/New_York.
    static let weeks: [(Instant, Instant)] = [
        ("2026-03-25T00:00:00Z", "2026-04-01T00:00:00Z"), ("2026-10-21T00:00:00Z", "2026-10-28T00:00:00Z"),
        ("2026-03-05T00:00:00Z", "2026-03-12T00:00:00Z"), ("2026-10-29T00:00:00Z", "2026-11-05T00:00:00Z"),
    ].map { (instant($0.0), instant($0.1)) }
}

@Suite struct CrontabImportTests {
    // MARK: Round trip

    @Test(arguments: [
        (CrontabFixture.debianSystemCrontab, "/etc/crontab", 4),
        (CrontabFixture.everySyntax, "/etc/cron.d/every-syntax", 18),
    ])
    func roundTripKeepsScheduleRunAsAndFireTimes(text: String, path: String, expectedJobs: Int) throws {
        let result = CrontabFixture.convert(text, path: path)
        #expect(result.skippedLines == 0, "\(result.findings)")
        #expect(result.jobs.count == expectedJobs)
        let zoneLine = text.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.hasPrefix("CRON_TZ=") }.map { $0 + 1 }

        var definitions: [JobDefinition] = []
        var expectedZones: [JobName: String] = [:]
        for job in result.jobs where job.loadsOnceOwned {
            let parsed = CrontabFixture.parse(job)
            #expect(parsed.errors.isEmpty, "\(job.name): \(parsed.errors)")
            let definition = try #require(parsed.definition)
            let original = CrontabFixture.original(job.originalLine, format: .system)
            #expect(definition.schedule.description == original.expression)
            #expect(definition.schedule == (try Schedule(parsing: original.expression)))
            #expect(definition.runAs?.description == original.user)
            #expect(definition.owner.text == "ops-team <ops-oncall@example.com>")
            guard case .shell = definition.command else {
                Issue.record("\(job.name): command not run through a shell")
                continue
            }
            if let zoneLine, job.origin.line > zoneLine { expectedZones[definition.name] = "America/New_York" }
            #expect(definition.timezone?.identifier == expectedZones[definition.name])
            definitions.append(definition)
        }

        for defaultZoneName in ["UTC", "Europe/Berlin"] {
            let defaultZone = try #require(CrontabFixture.zones(defaultZoneName))
            for (start, end) in CrontabFixture.weeks {
                let plan = SchedulePlan(jobs: definitions, defaultZone: defaultZone, after: start, through: end)
                #expect(!plan.truncated)
                for definition in definitions {
                    let original = try #require(result.jobs.first { $0.name == definition.name })
                    let expression = CrontabFixture.original(original.originalLine, format: .system).expression
                    let planned = plan.fires.filter { $0.job.name == definition.name }.map(\.instant)
                    guard expression != "@reboot" else {
                        #expect(planned.isEmpty)
                        #expect(plan.rebootJobs.contains { $0.name == definition.name })
                        continue
                    }
                    let zone = try #require(CrontabFixture.zones(expectedZones[definition.name] ?? defaultZoneName))
                    let direct = try CronExpression(parsing: expression).fires(after: start, until: end, in: zone).map(\.instant)
                    #expect(planned == direct, "\(definition.name) in \(defaultZoneName) from \(start)")
                }
            }
        }
    }

    @Test func debianCrontabMapsShellPathUserAndRunParts() throws {
        let result = CrontabFixture.convert(CrontabFixture.debianSystemCrontab, owner: nil)
        #expect(result.jobs.map(\.name.rawValue) == [
            "run-parts-cron-hourly", "run-parts-cron-daily", "run-parts-cron-weekly", "run-parts-cron-monthly",
        ])
        let daily = try #require(result.jobs.dropFirst().first)
        #expect(daily.fileText.contains("\nshell = /bin/sh\n"))
        #expect(daily.fileText.contains("\ncommand = test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }\n"))
        #expect(daily.fileText.contains("\nrun-as = root\n"))
        #expect(daily.fileText.contains("\nworking-directory = /root\n"))
        #expect(daily.fileText.hasPrefix("# Imported by `ascribe import` from /etc/crontab:19:\n#   25 6\t* * *\troot\ttest -x"))
        #expect(daily.fileText.contains("\npurpose = imported from /etc/crontab:19: 25 6 * * * root test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }\n"))
        #expect(!daily.fileText.contains("environment ="))

        let path = try #require(result.findings.first { $0.location.line == 8 })
        #expect(path.kind == .variableDropped(name: "PATH", value: "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin", reason: .fixedPath))
        #expect(path.jobs.count == 4)
        #expect(path.message.contains("/usr/local/sbin, /sbin, /usr/sbin are no longer searched"))
        #expect(daily.fileText.contains("# REVIEW: PATH=/usr/local/sbin"))
        #expect(result.findings.filter { $0.kind == .runsAsRoot }.count == 4)
        #expect(result.isComplete)
    }

    // MARK: Owners

    @Test(arguments: [CrontabFixture.debianSystemCrontab, CrontabFixture.everySyntax])
    func withoutOwnerEveryFileFailsOnlyForTheMissingOwner(text: String) throws {
        let result = CrontabFixture.convert(text, path: "/etc/cron.d/fixture", owner: nil)
        #expect(!result.jobs.isEmpty)
        for job in result.jobs {
            let parsed = CrontabFixture.parse(job)
            var expected = ["missing required key `owner`, e.g. `owner = storage-team <storage-oncall@example.com>`"]
            if !job.loadsOnceOwned {
                expected.append("missing required key `command`, e.g. `command = /usr/bin/find /tmp -name '*.lock' -mmin +60 -delete`")
            }
            #expect(parsed.errors.map(\.message).sorted() == expected.sorted(), "\(job.name)")
            #expect(parsed.errors.allSatisfy { $0.line == 1 && $0.column == 1 })
            #expect(job.fileText.contains("\n" + ImportedJobFile.ownerPlaceholder + "\n"))
            #expect(job.fileText.contains("# owner = ?  (who is accountable for this job? e.g. storage-team <storage-oncall@example.com>)"))
        }
        let ownerless = result.findings.filter { $0.kind == .missingOwner }
        #expect(ownerless.flatMap(\.jobs) == result.jobs.map(\.name))
        #expect(ownerless.allSatisfy { $0.effect == .ownerNeeded })
    }

    @Test func ownerOptionMustBeOneValidLine() {
        #expect(throws: JobValueError.self) { try CrontabImport.owner(parsing: "ops\nrun-as = root") }
        #expect(throws: JobValueError.self) { try CrontabImport.owner(parsing: "ops <") }
        #expect(throws: JobValueError.self) { try CrontabImport.owner(parsing: "  ") }
        #expect((try? CrontabImport.owner(parsing: " ops <ops@example.com> "))?.text == "ops <ops@example.com>")
    }

    @Test func ownerWithAControlCharacterIsNeverWritten() throws {
        let owner = try Owner(parsing: "ops\nrun-as = root")
        let result = CrontabFixture.convert("0 1 * * * /usr/bin/backup\n", format: .user, owner: owner)
        #expect(result.jobs.isEmpty)
        #expect(result.findings.map(\.kind) == [.skipped(.jobFileRejected("the owner holds a control character"))])
    }

    // MARK: Identities

    @Test(arguments: [
        ("/usr/local/bin/rotate-logs.sh --all", "rotate-logs"),
        ("cd / && run-parts --report /etc/cron.daily", "run-parts-cron-daily"),
        ("test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }", "run-parts-cron-weekly"),
        ("/usr/bin/php /var/www/app/artisan schedule:run", "artisan"),
        ("nice -n 19 ionice -c 3 /usr/local/bin/clean-cache", "clean-cache"),
        ("test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron", "e2scrub-all-cron"),
        ("[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi", "sessionclean"),
        ("su - postgres -c \"pg_dump -Fc app > /backup/app.dump\"", "pg-dump"),
        ("/usr/bin/flock -n /tmp/x.lock /opt/app/bin/sync_orders.py", "sync-orders"),
        ("python3 -m app.jobs.cleanup", "app-jobs-cleanup"),
        ("echo start >> /var/log/x; /usr/local/bin/Nightly_Export.PY 2>&1 | logger -t export", "nightly-export"),
        ("bash -lc '/srv/bin/reindex.sh --fast'", "reindex"),
        ("timeout 1h /usr/bin/rsync -a /srv /mnt", "rsync"),
        ("$HOME/bin/daily.job >> $HOME/tmp/out 2>&1", "daily-job"),
        ("/usr/bin/cron-something", "cron-something"),
        ("date >> /tmp/heartbeat", "date"),
    ])
    func identityIsSuggestedFromTheCommand(command: String, identity: String) throws {
        let result = CrontabFixture.convert("0 1 * * * \(command)\n", path: "crontab", format: .user)
        let job = try #require(result.jobs.first)
        #expect(job.identity.rawValue == identity)
        #expect(job.name.rawValue == identity)
        #expect(!result.findings.contains { if case .identityReplaced = $0.kind { true } else { false } })
    }

    @Test(arguments: [
        ("/usr/bin/cron", "cron", "imported-cron"),
        ("/usr/local/bin/admin.sh", "admin", "imported-admin"),
        ("/usr/local/bin/admin.sh --rotate-keys", "admin", "admin-rotate-keys"),
        ("root", "root", "imported-root"),
        ("/opt/svc/bin/svc restart", "svc", "svc-restart"),
        ("/opt/bin/System.sh", "system", "imported-system"),
        ("sudo -u deploy /usr/local/bin/default", "default", "imported-default"),
    ])
    func bannedIdentitySuggestionsAreReplaced(command: String, banned: String, replacement: String) throws {
        let result = CrontabFixture.convert("0 1 * * * \(command)\n", path: "crontab", format: .user)
        let job = try #require(result.jobs.first)
        #expect(job.identity.rawValue == replacement)
        #expect(!IdentityName.isBanned(job.identity.rawValue))
        let finding = try #require(result.findings.first { $0.kind == .identityReplaced(suggested: banned, chosen: replacement) })
        #expect(finding.jobs == [job.name])
        #expect(finding.effect == .review)
        #expect(job.fileText.contains("# REVIEW: \"\(banned)\" is an anonymous actor name"))
        #expect(CrontabFixture.parse(job).errors.isEmpty)
    }

    @Test func identitiesAreUniqueAcrossTheImportAndTheDirectory() throws {
        let text = """
            0 1 * * * /usr/local/bin/backup.sh daily
            0 2 * * 0 /usr/local/bin/backup.sh weekly
            0 3 1 * * /usr/local/bin/backup.sh monthly
            0 4 * * * /usr/bin/cron
            0 5 * * * /usr/bin/cron

            """
        let second = CrontabImport.convert(
            [CrontabSource(path: "a", text: text, format: .user), CrontabSource(path: "b", text: "0 6 * * * backup.sh\n", format: .user)],
            options: CrontabImportOptions(owner: CrontabFixture.owner, takenJobNames: ["backup-3", "imported-cron"]),
            zones: CrontabFixture.zones)
        #expect(second.jobs.map(\.identity.rawValue) == ["backup", "backup-2", "backup-4", "imported-cron-2", "imported-cron-3", "backup-5"])
        #expect(Set(second.jobs.map(\.identity)).count == second.jobs.count)
        #expect(second.jobs.allSatisfy { $0.name.rawValue == $0.identity.rawValue })
        #expect(second.findings.contains { $0.kind == .identityShared(suggested: "backup", chosen: "backup-2") })
        #expect(second.findings.contains { $0.kind == .nameTaken(suggested: "imported-cron", chosen: "imported-cron-2") })
        #expect(second.findings.contains { $0.location == CrontabLocation(path: "b", line: 1) && $0.kind == .identityShared(suggested: "backup", chosen: "backup-5") })
    }

    @Test func commandThatNamesNothingGetsAGenericIdentity() throws {
        let result = CrontabFixture.convert("0 1 * * * cd /srv && true\n", path: "/var/spool/cron/crontabs/alice", format: .user)
        let job = try #require(result.jobs.first)
        #expect(job.identity.rawValue == "imported-alice-1")
        #expect(result.findings.contains { $0.kind == .identityGeneric(chosen: "imported-alice-1") })
    }

    // MARK: Bad lines

    @Test func badLinesAreReportedWithFileAndLineAndSkipped() throws {
        let text = """
            SHELL=/bin/sh
            0 1 * * *\troot\t/usr/local/bin/first
            61 * * * *\troot\t/usr/local/bin/bad-minute
            0 1 * * *\troot
            0 1 * * *\tbob:staff\t/usr/local/bin/grouped
            0 1 * * *\t1000\t/usr/local/bin/numeric
            0 1 * *
            0 0 L * *\troot\t/usr/local/bin/last-day
            0 0 * * FRI#2\troot\t/usr/local/bin/second-friday
            @DAILY\troot\t/usr/local/bin/shouting
            MAILTO=
            0 2 * * *\troot\t/usr/local/bin/second
            0 3 * * *\troot\t/usr/local/bin/unterminated
            """
        let result = CrontabFixture.convert(text, path: "/etc/cron.d/mixed")
        #expect(result.jobs.map(\.identity.rawValue) == ["first", "second"])
        let skipped = result.findings.filter { $0.effect == .lineSkipped }
        #expect(skipped.map(\.location.line) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 13])
        #expect(skipped.allSatisfy { $0.location.path == "/etc/cron.d/mixed" && $0.jobs.isEmpty })
        #expect(skipped.map(\.description) == [
            "/etc/cron.d/mixed:3: skipped: invalid schedule: minute field: \"61\": 61 is out of range (use 0-59)",
            "/etc/cron.d/mixed:4: skipped: no command after the schedule",
            "/etc/cron.d/mixed:5: skipped: user field \"bob:staff\" is not a user name: cron takes a user name only, no :group (a user crontab? use --format user)",
            "/etc/cron.d/mixed:6: skipped: user field \"1000\" is not a user name: cron looks the user up by name, so a number is not a uid here (a user crontab? use --format user)",
            "/etc/cron.d/mixed:7: skipped: invalid schedule: expected 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily, found 4 fields",
            "/etc/cron.d/mixed:8: skipped: \"L\" is not crontab syntax: Debian's cron rejected this line, so it never ran (job files accept L, LW, 5L and FRI#2)",
            "/etc/cron.d/mixed:9: skipped: \"FRI#2\" is not crontab syntax: Debian's cron rejected this line, so it never ran (job files accept L, LW, 5L and FRI#2)",
            "/etc/cron.d/mixed:10: skipped: @DAILY: Debian's cron knows macros in lowercase only, so it rejected this line and it never ran",
            "/etc/cron.d/mixed:11: skipped: `MAILTO=` with nothing after `=` is not a setting to cron (write MAILTO=\"\"), and it rejected the line",
            "/etc/cron.d/mixed:13: skipped: the last line does not end with a newline: cron rejects such a line, so it never ran (add the newline and import again)",
        ])
        #expect(result.skippedLines == 10)
        #expect(!result.isComplete)
    }

    @Test func systemLineWithoutUserAndUserLineReadAsSystemAreFlagged() throws {
        let system = CrontabFixture.convert("* * * * *\n", path: "/etc/crontab")
        #expect(system.findings.map(\.kind) == [.skipped(.missingUser)])
        let user = CrontabFixture.convert("17 * * * * root cd / && run-parts --report /etc/cron.hourly\n", path: "copy-of-crontab", format: .user)
        #expect(user.findings.contains { $0.kind == .looksLikeSystemCrontab })
    }

    @Test func unusableShellAndUnknownZoneSkipTheLinesBelowThem() throws {
        let text = """
            0 1 * * * /usr/local/bin/before
            SHELL=bash
            0 2 * * * /usr/local/bin/after-shell
            SHELL=/bin/dash
            CRON_TZ=Mars/Olympus_Mons
            0 3 * * * /usr/local/bin/after-zone
            CRON_TZ=""
            0 4 * * * /usr/local/bin/zone-reset

            """
        let result = CrontabFixture.convert(text, path: "crontab", format: .user)
        #expect(result.jobs.map(\.identity.rawValue) == ["before", "zone-reset"])
        #expect(result.jobs.last?.shell == "/bin/dash")
        #expect(result.jobs.last?.timezone == nil)
        #expect(result.findings.filter { $0.effect == .lineSkipped }.map(\.kind) == [
            .skipped(.unusableShell("bash", line: 2)), .skipped(.unknownTimeZone("Mars/Olympus_Mons", line: 5)),
        ])
    }

    @Test func lastLineWithoutNewlineIsSkippedLikeCronDoes() {
        let result = CrontabFixture.convert("0 1 * * * /usr/local/bin/a\n0 2 * * * /usr/local/bin/b", path: "crontab", format: .user)
        #expect(result.jobs.map(\.identity.rawValue) == ["a"])
        #expect(result.findings.contains { $0.location.line == 2 && $0.kind == .skipped(.missingNewline) })
    }

    @Test func filesCronIgnoresInCronDAreNotImported() {
        let result = CrontabFixture.convert("0 1 * * * root /usr/local/bin/a\n", path: "/etc/cron.d/php.dpkg-old")
        #expect(result.jobs.isEmpty)
        #expect(result.findings.map(\.kind) == [.fileIgnoredByCron])
        #expect(CrontabFixture.convert("0 1 * * * root /usr/local/bin/a\n", path: "/etc/cron.d/php_sessions-2").jobs.count == 1)
    }

    // MARK: Percent signs

    @Test(arguments: [
        ("mail -s hi joe%Joe,%%Where are your kids?%", "mail -s hi joe", "Joe,\n\nWhere are your kids?\n"),
        ("date +\\%F", "date +%F", nil),
        ("printf '\\%s' x%in\\%put", "printf '%s' x", "in%put"),
        ("a\\\\%b", "a\\\\", "b"),
        ("cat%a\\b\\\\c\\", "cat", "a\\b\\\\c\\"),
        ("cmd%", "cmd", ""),
    ] as [(String, String, String?)])
    func percentSplitsTheCommandLikeCron(raw: String, command: String, input: String?) {
        let text = CronCommandText(raw)
        #expect(text.command == command)
        #expect(text.standardInput == input)
    }

    @Test(arguments: ["Joe,\n\nWhere are your kids?\n", "100% it's 'quoted' \\n \\", "", "no newline"])
    func feedingSuggestionReproducesTheInputExactly(input: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", CronCommandText.feedingInput(input, to: "cat")]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(String(decoding: output, as: UTF8.self) == input)
    }

    @Test func commandWithStandardInputIsWrittenWithoutACommandAndFlagged() throws {
        let result = CrontabFixture.convert("0 22 * * 1-5 mail -s \"It's 10pm\" joe%Joe,%%Where are your kids?%\n",
                                            path: "crontab", format: .user, runAs: try RunAs(parsing: "joe"))
        let job = try #require(result.jobs.first)
        #expect(job.command == .undecided(command: "mail -s \"It's 10pm\" joe", standardInput: "Joe,\n\nWhere are your kids?\n"))
        #expect(!job.loadsOnceOwned)
        #expect(!job.fileText.contains("\ncommand ="))
        #expect(job.fileText.contains("\n# command = printf 'Joe,\\n\\nWhere are your kids?\\n' | ( mail -s \"It's 10pm\" joe )\n"))
        #expect(job.fileText.contains("\n# command = mail -s \"It's 10pm\" joe%Joe,%%Where are your kids?%\n"))
        let parsed = CrontabFixture.parse(job)
        #expect(parsed.errors.map(\.key) == [.command])
        let finding = try #require(result.findings.first { $0.effect == .commandNeeded })
        #expect(finding.jobs == [job.name])
        #expect(!result.isComplete)
        #expect(result.skippedLines == 0)
    }

    @Test func escapedPercentBecomesAPlainPercent() throws {
        let result = CrontabFixture.convert("5 0 * * * tar czf /backup/$(date +\\%F).tgz /srv\n", path: "crontab", format: .user)
        let job = try #require(result.jobs.first)
        #expect(job.command == .ready("tar czf /backup/$(date +%F).tgz /srv"))
        #expect(job.fileText.contains("# cron reads `\\%` as a literal `%`"))
        #expect(result.isComplete)
    }

    // MARK: Environment

    @Test func variablesBecomeEnvironmentExceptTheOnesTheLauncherOwns() throws {
        let text = """
            MAILTO=ops@example.com
              LANG = 'C.UTF-8'
            GREETING = "hello, world"
            WINDOWS_DIR=C:\\temp\\new
            PADDED="  keep leading"
            TRAILING='trailing  '
            HOME=/srv/app
            LOGNAME=alice
            ASCRIBE_JOB=spoofed
            TZ=Asia/Tokyo
            weird-name=1
            "QUOTED NAME"=x
            LANG=en_GB.UTF-8
            0 1 * * * /usr/local/bin/report

            """
        let result = CrontabFixture.convert(text, path: "crontab", format: .user, runAs: try RunAs(parsing: "alice"))
        let job = try #require(result.jobs.first)
        let definition = try #require(CrontabFixture.parse(job).definition)
        #expect(definition.environment.map(\.description) == [
            "LANG=en_GB.UTF-8", "GREETING=hello, world", "WINDOWS_DIR=C:\\temp\\new", "PADDED=  keep leading", "TZ=Asia/Tokyo",
        ])
        #expect(job.fileText.contains("environment = LANG=en_GB.UTF-8, GREETING=hello\\, world, WINDOWS_DIR=C:\\\\temp\\\\new, PADDED=  keep leading, TZ=Asia/Tokyo\n"))
        #expect(definition.workingDirectory == "/srv/app")
        #expect(definition.timezone == nil)
        let dropped = result.findings.compactMap { finding -> String? in
            guard case .variableDropped(let name, _, let reason) = finding.kind else { return nil }
            switch reason {
            case .fixedPath: return "\(name):path"
            case .homeBecameWorkingDirectory: return "\(name):home"
            case .launcherOwned: return "\(name):launcher"
            case .invalidName: return "\(name):name"
            case .trailingBlanks: return "\(name):blanks"
            }
        }
        #expect(dropped == ["TRAILING:blanks", "HOME:home", "LOGNAME:launcher", "ASCRIBE_JOB:launcher", "weird-name:name", "QUOTED NAME:name"])
        #expect(result.findings.contains { $0.kind == .mailNotSent(address: "ops@example.com") && $0.location.line == 1 })
        #expect(result.findings.contains { $0.kind == .timeZoneVariable("Asia/Tokyo") })
        #expect(job.fileText.contains("# REVIEW: MAILTO=ops@example.com: cron mailed output there"))
        let ownerless = CrontabFixture.convert(text, path: "crontab", format: .user, owner: nil)
        #expect(ownerless.jobs.first?.fileText.contains("\n# cron mailed this job's output to ops@example.com\n") == true)
    }

    @Test func cronTimeZoneBecomesTheJobsTimezone() throws {
        let result = CrontabFixture.convert("CRON_TZ=Europe/Berlin\n30 2 * * * /usr/local/bin/nightly\n", path: "crontab", format: .user)
        let job = try #require(result.jobs.first)
        let definition = try #require(CrontabFixture.parse(job).definition)
        #expect(definition.timezone?.identifier == "Europe/Berlin")
        #expect(!definition.environment.contains { $0.name == "CRON_TZ" })
        #expect(result.findings.contains { $0.kind == .cronTimeZone("Europe/Berlin") })
    }

    @Test func userCrontabRunAsComesFromTheOptionOrIsFlagged() throws {
        let without = CrontabFixture.convert("0 1 * * * /usr/local/bin/a\n", path: "crontab", format: .user)
        #expect(without.jobs.first?.runAs == nil)
        #expect(without.findings.contains { $0.kind == .noRunAs })
        #expect(without.isComplete)
        let with = CrontabFixture.convert("0 1 * * * /usr/local/bin/a\n", path: "crontab", format: .user, runAs: try RunAs(parsing: "www-data"))
        let job = try #require(with.jobs.first)
        let definition = try #require(CrontabFixture.parse(job).definition)
        #expect(definition.runAs?.user == "www-data")
        #expect(definition.workingDirectory == "/var/www")
        #expect(!with.findings.contains { $0.kind == .noRunAs })
    }

    @Test func homeOfAnUnknownUserIsFlaggedAndAMissingOneIgnored() throws {
        let result = CrontabFixture.convert("0 1 * * * ghost /usr/local/bin/a\n0 2 * * * nobody /usr/local/bin/b\n", path: "/etc/crontab")
        #expect(result.jobs.map(\.workingDirectory) == [nil, nil])
        #expect(result.findings.filter { if case .homeUnknown = $0.kind { true } else { false } }.map(\.location.line) == [1])
    }

    @Test func rebootAndNeverFiringSchedulesAreFlagged() {
        let result = CrontabFixture.convert("@reboot /usr/local/bin/warm\n0 0 30 2 * /usr/local/bin/never\n", path: "crontab", format: .user)
        #expect(result.jobs.count == 2)
        #expect(result.findings.contains { $0.kind == .rebootMeansDaemonStart && $0.location.line == 1 })
        #expect(result.findings.contains { $0.kind == .neverFires && $0.location.line == 2 })
    }

    @Test func formatIsDetectedFromThePath() {
        #expect(CrontabFormat.detect(path: "/etc/crontab") == .system)
        #expect(CrontabFormat.detect(path: "/etc/cron.d/php") == .system)
        #expect(CrontabFormat.detect(path: "/tmp/crontab") == .user)
        #expect(CrontabFormat.detect(path: "stdin") == .user)
    }

    @Test func crlfLinesAndAByteOrderMarkAreRead() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("SHELL=/bin/sh\r\n0 1 * * * /usr/local/bin/a\r\n".utf8)
        let result = CrontabImport.convert([CrontabSource(path: "crontab", bytes: bytes, format: .user)],
                                           options: CrontabImportOptions(owner: CrontabFixture.owner), zones: CrontabFixture.zones)
        let job = try #require(result.jobs.first)
        #expect(job.command == .ready("/usr/local/bin/a"))
        #expect(job.shell == "/bin/sh")
    }

    @Test func unreadableLinesAreSkipped() {
        let bytes: [UInt8] = Array("0 1 * * * /usr/bin/a \u{7}\n".utf8) + Array("0 2 * * * /usr/bin/b ".utf8) + [0xFF, 0x0A]
            + Array("# comment with a bad byte ".utf8) + [0xFE, 0x0A]
        let result = CrontabImport.convert([CrontabSource(path: "crontab", bytes: bytes, format: .user)],
                                           options: CrontabImportOptions(), zones: CrontabFixture.zones)
        #expect(result.jobs.isEmpty)
        #expect(result.findings.map(\.kind) == [.skipped(.unreadable(.controlCharacter(7))), .skipped(.unreadable(.notUTF8))])
    }

    // MARK: Robustness

    /// Random crontabs from crontab-shaped pieces and raw noise: the importer never crashes,
    /// every file it writes parses with at most the errors it announces, and every line is
    /// accounted for.
    @Test func randomCrontabsNeverCrashAndYieldParsableFiles() throws {
        var random = SplitMix64(seed: 0x1A2B_3C4D)
        let pieces = [
            "*", "*/5", "0", "59", "60", "1-5", "5-1", "mon-fri", "JAN", "L", "FRI#2", "@daily", "@reboot", "@bogus", "@DAILY",
            "root", "nobody", "bob:staff", "1000", "%", "\\%", "\\", "'", "\"", "=", "SHELL=/bin/sh", "SHELL=sh",
            "PATH=/x", "HOME=/srv", "CRON_TZ=Europe/Berlin", "CRON_TZ=Nowhere", "A=b,c", "MAILTO=", "#", ";", "&&", "|",
            "{", "}", "$(", ")", "`", "2>&1", ">", "/usr/bin/cron", "admin.sh", "run-parts", "/etc/cron.daily", "sh", "-c",
            "sudo", "-u", "flock", "é", "\u{202E}", "\t", " ", "  ",
        ]
        for round in 0..<1_500 {
            var text = ""
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                switch Int.random(in: 0..<10, using: &random) {
                case 0:
                    let noise = (0..<Int.random(in: 0...30, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                    text += String(decoding: noise, as: UTF8.self)
                case 1...3:
                    text += ["*", "0", "*/15"].randomElement(using: &random).map { "\($0) * * * * " } ?? ""
                    text += (0..<Int.random(in: 0...6, using: &random)).compactMap { _ in pieces.randomElement(using: &random) }.joined(separator: " ")
                default:
                    text += (0..<Int.random(in: 0...10, using: &random)).compactMap { _ in pieces.randomElement(using: &random) }.joined(separator: " ")
                }
                text += "\n"
            }
            let format: CrontabFormat = round.isMultiple(of: 2) ? .user : .system
            let result = CrontabFixture.convert(text, path: "fuzz", format: format, owner: round.isMultiple(of: 3) ? nil : CrontabFixture.owner)
            for job in result.jobs {
                let unexpected = CrontabFixture.parse(job).errors.filter {
                    !($0.key == .owner && $0.message.hasPrefix("missing required key"))
                        && !($0.key == .command && !job.loadsOnceOwned && $0.message.hasPrefix("missing required key"))
                }
                #expect(unexpected.isEmpty, "round \(round): \(text.debugDescription)\n\(job.fileText)\n\(unexpected)")
            }
            let entries = result.jobs.count + result.skippedLines
            #expect(entries <= Array(text.utf8).split(separator: 0x0A, omittingEmptySubsequences: false).count)
            #expect(Set(result.jobs.map(\.name)).count == result.jobs.count)
        }
    }
}

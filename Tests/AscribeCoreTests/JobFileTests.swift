import Testing
@testable import AscribeCore
import AscribeCoreTestSupport

@Suite struct JobFileTests {
    @Test func validFullFileYieldsEveryField() throws {
        let text = """
            # Reaps locks.
            schedule = 30 2 * * *
            identity = stale-lock-reaper
            owner = storage-team <storage-oncall@example.com>
            command = /usr/bin/find /tmp -name '*.lock' -mmin +60 "-delete"
            run-as = nobody:nogroup
            credentials = db-password, api.token
            purpose = delete stale lock files
            runbook = https://runbooks.example.com/reaper
            timezone = Europe/Berlin
            timeout = 1h30m
            kill-grace = 30s
            overlap = queue
            catch-up = all
            working-directory = /var/tmp
            environment = LANG=C.UTF-8, TAGS=a\\,b, EMPTY=
            enabled = no

            """
        let result = JobFileFixture.parse(text)
        #expect(result.diagnostics.isEmpty)
        let job = try #require(result.definition)
        #expect(job.name.rawValue == "stale-lock-reaper")
        #expect(job.schedule == (try Schedule(parsing: "30 2 * * *")))
        #expect(job.identity.rawValue == "stale-lock-reaper")
        #expect(job.owner.name == "storage-team")
        #expect(job.owner.contact == "storage-oncall@example.com")
        #expect(job.owner.text == "storage-team <storage-oncall@example.com>")
        #expect(job.command == .argv(["/usr/bin/find", "/tmp", "-name", "*.lock", "-mmin", "+60", "-delete"]))
        #expect(job.runAs?.user == "nobody")
        #expect(job.runAs?.group == "nogroup")
        #expect(job.credentials.map(\.rawValue) == ["db-password", "api.token"])
        #expect(job.purpose == "delete stale lock files")
        #expect(job.runbook == "https://runbooks.example.com/reaper")
        #expect(job.timezone?.identifier == "Europe/Berlin")
        #expect(job.timeout?.seconds == 5400)
        #expect(job.killGrace.seconds == 30)
        #expect(job.overlap == .queue)
        #expect(job.catchUp == .all)
        #expect(job.workingDirectory == "/var/tmp")
        #expect(job.environment.map(\.description) == ["LANG=C.UTF-8", "TAGS=a,b", "EMPTY="])
        #expect(job.enabled == false)
        #expect(job.source.path == "/etc/ascribe/jobs.d/stale-lock-reaper.job")
        #expect(job.source.line(of: .schedule) == 2)
        #expect(job.source.line(of: .enabled) == 17)
        #expect(job.source.column(of: .command) == 11)
        #expect(job.source.line(of: .shell) == nil)
    }

    @Test func omittedKeysTakeTheirDefaults() throws {
        let job = try #require(JobFileFixture.parse(JobFileFixture.file()).definition)
        #expect(job.runAs == nil)
        #expect(job.credentials.isEmpty)
        #expect(job.purpose == nil)
        #expect(job.runbook == nil)
        #expect(job.timezone == nil)
        #expect(job.timeout == nil)
        #expect(job.killGrace.seconds == 10)
        #expect(job.overlap == .skip)
        #expect(job.catchUp == CatchUpPolicy.none)
        #expect(job.placement == .once)
        #expect(job.workingDirectory == "/")
        #expect(job.environment.isEmpty)
        #expect(job.enabled)
        #expect(job.command == .argv(["/usr/bin/true"]))
    }

    @Test func shellKeepsTheCommandAsOneScript() throws {
        let text = JobFileFixture.file(replacing: "command", with: "command = tar c /srv | gzip > \"$HOME/x\" && echo 'done", appending: ["shell = /bin/sh"])
        let result = JobFileFixture.parse(text)
        #expect(result.diagnostics.isEmpty)
        let job = try #require(result.definition)
        #expect(job.command == .shell(program: "/bin/sh", script: "tar c /srv | gzip > \"$HOME/x\" && echo 'done"))
        #expect(job.command.arguments == ["/bin/sh", "-c", "tar c /srv | gzip > \"$HOME/x\" && echo 'done"])
    }

    @Test func jobNameComesFromTheFileStem() throws {
        #expect(JobFileFixture.parse(JobFileFixture.file(), path: "/x/jobs.d/journal-archiver.job").definition?.name.rawValue == "journal-archiver")
        #expect(JobFileFixture.parse(JobFileFixture.file(), path: "relative.job").definition?.name.rawValue == "relative")
        #expect(JobFileFixture.rendered(JobFileFixture.parse(JobFileFixture.file(), path: "/x/jobs.d/Journal_Archiver.job")) == [
            "1:1: error: the file name gives the job name \"Journal_Archiver\", which is not valid: name must start with a lowercase letter (a-z), not \"J\"; rename the file",
        ])
    }

    /// Each malformed input, and exactly what the parser says about it.
    @Test(arguments: [
        // Keys
        (JobFileFixture.file(replacing: "schedule", with: "Schedule = */15 * * * *"), [
            "1:1: error: unknown key `Schedule`; did you mean `schedule`? (keys are case-sensitive)",
            "1:1: error: missing required key `schedule`, e.g. `schedule = */15 * * * *`",
        ]),
        (JobFileFixture.file(appending: ["timout = 5m"]), ["5:1: error: unknown key `timout`; did you mean `timeout`?"]),
        (JobFileFixture.file(appending: ["  run_as = nobody"]), ["5:3: error: unknown key `run_as`; did you mean `run-as`?"]),
        (JobFileFixture.file(appending: ["user = nobody"]), ["5:1: error: unknown key `user`; did you mean `run-as`?"]),
        (JobFileFixture.file(appending: ["name = reaper"]), ["5:1: error: unknown key `name`; a job's name is its file name (`<name>.job`)"]),
        (JobFileFixture.file(appending: ["frobnicate = 1"]), [
            "5:1: error: unknown key `frobnicate`; known keys: schedule, identity, owner, command, shell, run-as, credentials, tokens, purpose, runbook, timezone, timeout, kill-grace, overlap, catch-up, placement, working-directory, environment, enabled",
        ]),
        (JobFileFixture.file(appending: ["", "schedule = @daily"]), ["6:1: error: `schedule` is already set on line 1; each key may appear once"]),
        ("# nothing but a comment\n\n", [
            "1:1: error: missing required key `schedule`, e.g. `schedule = */15 * * * *`",
            "1:1: error: missing required key `identity`, e.g. `identity = stale-lock-reaper`",
            "1:1: error: missing required key `owner`, e.g. `owner = storage-team <storage-oncall@example.com>`",
            "1:1: error: missing required key `command`, e.g. `command = /usr/bin/find /tmp -name '*.lock' -mmin +60 -delete`",
        ]),
        (JobFileFixture.file(appending: ["  just some words"]), ["5:3: error: expected `key = value`; comment lines start with #"]),
        (JobFileFixture.file(appending: ["   = value"]), ["5:4: error: missing key before `=`"]),
        (JobFileFixture.file(appending: ["timeout ="]), ["5:10: error: empty value; remove the line to use the default"]),
        (JobFileFixture.file(replacing: "owner", with: "owner =   "), ["3:11: error: empty value; `owner` is required"]),
        // Values containing `#` and `=` are kept whole; a line starting with # is a comment.
        (JobFileFixture.file(appending: ["purpose = clean up # and = signs", "\t# timeout = nonsense"]), []),
        // Durations
        (JobFileFixture.file(appending: ["timeout = 90"]), ["5:11: error: timeout: \"90\" has no unit; add a unit: 90s, 10m, 2h"]),
        (JobFileFixture.file(appending: ["timeout = 1h30"]), ["5:13: error: timeout: \"30\" has no unit; add a unit: 90s, 10m, 2h"]),
        (JobFileFixture.file(appending: ["timeout = 0s"]), ["5:11: error: timeout: a duration must be longer than 0s"]),
        (JobFileFixture.file(appending: ["timeout = 31d"]), ["5:11: error: timeout: \"31d\" is longer than 30 days"]),
        (JobFileFixture.file(appending: ["timeout = 99999999999999999999s"]), ["5:11: error: timeout: \"99999999999999999999s\" is longer than 30 days"]),
        (JobFileFixture.file(appending: ["timeout = 30m1h"]), ["5:15: error: timeout: units go from largest to smallest, each at most once (1h30m, not 30m1h)"]),
        (JobFileFixture.file(appending: ["kill-grace = 10x"]), ["5:16: error: kill-grace: unknown unit \"x\"; use s, m, h or d (90s, 10m, 2h, 1d)"]),
        (JobFileFixture.file(appending: ["kill-grace = -5s"]), ["5:14: error: kill-grace: expected a number at \"-\"; write a duration like 90s, 10m, 2h, 1h30m"]),
        // Commands
        (JobFileFixture.file(replacing: "command", with: "command = echo 'oops"), ["4:16: error: command: unterminated single quote"]),
        (JobFileFixture.file(replacing: "command", with: "command = /bin/echo \"a \\\" b"), ["4:21: error: command: unterminated double quote"]),
        (JobFileFixture.file(replacing: "command", with: "command = /bin/echo a\\"), [
            "4:22: error: command: a backslash at the end escapes nothing; remove it or write \\\\ for a literal backslash",
        ]),
        (JobFileFixture.file(replacing: "command", with: "command = '' arg"), ["4:11: error: command: the program name is empty"]),
        (JobFileFixture.file(replacing: "command", with: "command = /bin/echo hi | wc -l 2>&1 \\| '>' $HOME"), [
            "4:24: warning: command: `|` is passed to the program literally; set `shell = /bin/sh` to run the command through a shell",
            "4:32: warning: command: `2>&1` is passed to the program literally; set `shell = /bin/sh` to run the command through a shell",
            "4:44: warning: command: `$HOME` is passed to the program literally; set `shell = /bin/sh` to run the command through a shell",
        ]),
        (JobFileFixture.file(appending: ["shell = sh"]), ["5:9: error: shell: must be an absolute path such as /bin/sh"]),
        (JobFileFixture.file(appending: ["shell = /usr/bin/env bash"]), ["5:21: error: shell: must be one path such as /bin/sh, without arguments"]),
        // Environment
        (JobFileFixture.file(appending: ["environment = FOO"]), ["5:15: error: environment: \"FOO\" has no `=`; write NAME=value pairs separated by commas"]),
        (JobFileFixture.file(appending: ["environment = A=1, PATH=/opt/bin"]), [
            "5:20: error: environment: `PATH` is set by the launcher and cannot be overridden: every run gets it from the launcher (the run-as user's, or the fixed PATH)",
        ]),
        (JobFileFixture.file(appending: ["environment = ASCRIBE_JOB=other, TRACEPARENT=00-x"]), [
            "5:15: error: environment: `ASCRIBE_JOB` is set by the launcher and cannot be overridden: it attributes the run, and attribution must not be spoofable",
            "5:34: error: environment: `TRACEPARENT` is set by the launcher and cannot be overridden: it attributes the run, and attribution must not be spoofable",
        ]),
        (JobFileFixture.file(appending: ["environment = CREDENTIALS_DIRECTORY=/tmp"]), [
            "5:15: error: environment: `CREDENTIALS_DIRECTORY` is set by the launcher and cannot be overridden: every run gets it from the launcher (the run-as user's, or the fixed PATH)",
        ]),
        (JobFileFixture.file(appending: ["environment = GOOD=1, 9LIVES=x, MY-VAR=2"]), [
            "5:23: error: environment: \"9\" is not allowed in variable name \"9LIVES\"; variable names use letters, digits and `_` and do not start with a digit",
            "5:35: error: environment: \"-\" is not allowed in variable name \"MY-VAR\"; variable names use letters, digits and `_` and do not start with a digit",
        ]),
        (JobFileFixture.file(appending: ["environment = A=1, A=2"]), ["5:20: error: environment: `A` is set twice"]),
        (JobFileFixture.file(appending: ["environment = A=1,,B=2"]), ["5:19: error: environment: empty entry (two commas in a row, or a comma at an end)"]),
        (JobFileFixture.file(appending: ["environment = =1"]), ["5:15: error: environment: empty variable name before `=`; write NAME=value"]),
        // Credentials
        (JobFileFixture.file(appending: ["credentials = a, a"]), ["5:18: error: credentials: `a` is listed twice"]),
        (JobFileFixture.file(appending: ["credentials = ok, ../etc/shadow"]), [
            "5:21: error: credentials: \"/\" is not allowed in a credential name; use letters, digits, `_`, `.` and `-` (it names a file in the identity's store)",
        ]),
        (JobFileFixture.file(appending: ["credentials = .."]), [
            "5:15: error: credentials: \"..\" is not a credential name; it would name a directory, not a file in the identity's store",
        ]),
        (JobFileFixture.file(appending: ["credentials = a,"]), ["5:17: error: credentials: empty credential name (two commas in a row, or a comma at an end)"]),
        // Time zones
        (JobFileFixture.file(appending: ["timezone = Mars/Base"]), [
            "5:12: error: timezone: unknown time zone \"Mars/Base\" (use an IANA name such as Europe/Berlin or UTC)",
        ]),
        (JobFileFixture.file(appending: ["timezone = Europe/Berln"]), [
            "5:12: error: timezone: unknown time zone \"Europe/Berln\"; did you mean Europe/Berlin?",
        ]),
        // Cron errors point inside the schedule value, every bad field at once.
        (JobFileFixture.file(replacing: "schedule", with: "schedule = 61 25 * * *"), [
            "1:12: error: schedule: minute field: \"61\": 61 is out of range (use 0-59)",
            "1:15: error: schedule: hour field: \"25\": 25 is out of range (use 0-23)",
        ]),
        (JobFileFixture.file(replacing: "schedule", with: "schedule = */15 * * * mon-fry"), [
            "1:23: error: schedule: day-of-week field: \"mon-fry\": \"FRY\" is not a valid value (use 0-7 or SUN-SAT (0 and 7 are Sunday), 5L, FRI#2)",
        ]),
        (JobFileFixture.file(replacing: "schedule", with: "schedule = 0 25 * * *"), [
            "1:14: error: schedule: hour field: \"25\": 25 is out of range (use 0-23)",
        ]),
        // Identities
        (JobFileFixture.file(replacing: "identity", with: "identity = admin"), [
            "2:12: error: identity \"admin\" is an anonymous actor name; name the identity for what the automation does, e.g. stale-lock-reaper",
        ]),
        (JobFileFixture.file(replacing: "identity", with: "identity = System"), [
            "2:12: error: identity \"System\" is an anonymous actor name; name the identity for what the automation does, e.g. stale-lock-reaper",
        ]),
        (JobFileFixture.file(replacing: "identity", with: "identity = ad_min"), [
            "2:12: error: identity \"ad_min\" is an anonymous actor name; name the identity for what the automation does, e.g. stale-lock-reaper",
        ]),
        (JobFileFixture.file(replacing: "identity", with: "identity = S.A"), [
            "2:12: error: identity \"S.A\" is an anonymous actor name; name the identity for what the automation does, e.g. stale-lock-reaper",
        ]),
        (JobFileFixture.file(replacing: "identity", with: "identity = Stale-Reaper"), [
            "2:12: error: identity: name must start with a lowercase letter (a-z), not \"S\"",
        ]),
        (JobFileFixture.file(replacing: "identity", with: "identity = stale_reaper"), [
            "2:17: error: identity: \"_\" (character 6) is not allowed; names use lowercase letters (a-z), digits and -",
        ]),
        (JobFileFixture.file(replacing: "identity", with: "identity = " + String(repeating: "a", count: 64)), [
            "2:12: error: identity: name is 64 characters long; the limit is 63",
        ]),
        // Owners
        (JobFileFixture.file(replacing: "owner", with: "owner = storage-team"), [
            "3:9: warning: owner has no contact address; add one like `storage-team <storage-oncall@example.com>`",
        ]),
        (JobFileFixture.file(replacing: "owner", with: "owner = storage-team <#storage>"), [
            "3:9: warning: owner contact \"#storage\" is not an e-mail address or URL; add one like `storage-team <storage-oncall@example.com>`",
        ]),
        (JobFileFixture.file(replacing: "owner", with: "owner = storage-team <oncall@example.com"), [
            "3:22: error: owner: `<` is never closed; write it like `storage-team <storage-oncall@example.com>`",
        ]),
        // run-as
        (JobFileFixture.file(appending: ["run-as = root"]), [
            "5:10: warning: run-as: runs as uid 0; give the job an unprivileged user that can change only what it needs to",
        ]),
        (JobFileFixture.file(appending: ["run-as = 0:0"]), [
            "5:10: warning: run-as: runs as uid 0; give the job an unprivileged user that can change only what it needs to",
        ]),
        (JobFileFixture.file(appending: ["run-as = Alice"]), [
            "5:10: error: run-as: \"A\" cannot start a user name; user names use lowercase letters, digits, `_`, `.` and `-`, start with a letter or `_`, at most 32 characters",
        ]),
        (JobFileFixture.file(appending: ["run-as = alice:"]), ["5:15: error: run-as: empty group after `:`; write user or user:group"]),
        (JobFileFixture.file(appending: ["run-as = alice:wheel:x"]), [
            "5:21: error: run-as: \":\" is not allowed in a group name; group names use lowercase letters, digits, `_`, `.` and `-`, start with a letter or `_`, at most 32 characters",
        ]),
        (JobFileFixture.file(appending: ["run-as = 4294967295"]), ["5:10: error: run-as: numeric user id 4294967295 is out of range (0-4294967294)"]),
        // Choices
        (JobFileFixture.file(appending: ["overlap = Skip"]), ["5:11: error: overlap: \"Skip\" is not one of skip, queue, allow; did you mean `skip`?"]),
        (JobFileFixture.file(appending: ["placement = everyhost"]), [
            "5:13: error: placement: \"everyhost\" is not one of once, every-host; did you mean `every-host`?",
        ]),
        (JobFileFixture.file(appending: ["catch-up = every"]), ["5:12: error: catch-up: \"every\" is not one of none, once, all"]),
        (JobFileFixture.file(appending: ["enabled = true"]), ["5:11: error: enabled: use yes or no, not \"true\""]),
        (JobFileFixture.file(appending: ["working-directory = tmp/work"]), [
            "5:21: error: working-directory: \"tmp/work\" is not an absolute path; write one starting with /",
        ]),
    ])
    func malformedInputIsReportedExactly(text: String, expected: [String]) {
        let result = JobFileFixture.parse(text)
        #expect(JobFileFixture.rendered(result) == expected)
        #expect((result.definition == nil) == result.diagnostics.contains { $0.severity == .error })
    }

    @Test(arguments: ["root-cause-mailer", "bots-cleaner", "system-journal-archiver", "sab", "nobody-home"])
    func identitiesThatOnlyContainABannedWordAreAccepted(name: String) throws {
        let job = try #require(JobFileFixture.parse(JobFileFixture.file(replacing: "identity", with: "identity = \(name)")).definition)
        #expect(job.identity.rawValue == name)
    }

    @Test(arguments: ["system", "System", "SYSTEM", "ad_min", "ro-ot", "s.a", "S.A", "Super-User", "no.body", "_svc_", "Bot"])
    func bannedNamesAreRecognisedWhateverTheirSpelling(name: String) {
        #expect(IdentityName.isBanned(name))
        #expect(throws: NameError.banned(name)) { try IdentityName(name) }
    }

    @Test func aFileWithSeveralProblemsReportsAllOfThem() {
        let text = """
            schedule = 61 * * * *
            identity = root
            owner = ops
            command = /bin/echo "unterminated
            timeout = 5
            colour = blue
            environment = HOME=/root
            """
        #expect(JobFileFixture.rendered(JobFileFixture.parse(text)) == [
            "1:12: error: schedule: minute field: \"61\": 61 is out of range (use 0-59)",
            "2:12: error: identity \"root\" is an anonymous actor name; name the identity for what the automation does, e.g. stale-lock-reaper",
            "3:9: warning: owner has no contact address; add one like `storage-team <storage-oncall@example.com>`",
            "4:21: error: command: unterminated double quote",
            "5:11: error: timeout: \"5\" has no unit; add a unit: 90s, 10m, 2h",
            "6:1: error: unknown key `colour`; known keys: schedule, identity, owner, command, shell, run-as, credentials, tokens, purpose, runbook, timezone, timeout, kill-grace, overlap, catch-up, placement, working-directory, environment, enabled",
            "7:15: error: environment: `HOME` is set by the launcher and cannot be overridden: every run gets it from the launcher (the run-as user's, or the fixed PATH)",
        ])
    }

    @Test func diagnosticsPrintLikeCompilerMessages() throws {
        let result = JobFileFixture.parse(JobFileFixture.file(appending: ["timeout = 90"]), path: "jobs.d/stale-lock-reaper.job")
        let diagnostic = try #require(result.diagnostics.first)
        #expect(diagnostic.description == "jobs.d/stale-lock-reaper.job:5:11: error: timeout: \"90\" has no unit; add a unit: 90s, 10m, 2h")
        #expect(diagnostic.key == .timeout)
    }

    // MARK: Bytes

    @Test func invalidUTF8IsReportedAtTheBadByte() {
        let bytes = Array(JobFileFixture.file().utf8) + Array("purpose = café ".utf8) + [0xFF, 0x0A]
        let result = JobFile.parse(bytes, path: "/x/stale-lock-reaper.job", zones: JobFileFixture.zones)
        #expect(JobFileFixture.rendered(result) == ["5:16: error: invalid UTF-8 (byte 0xFF); job files must be UTF-8 text"])
        #expect(result.definition == nil)
    }

    @Test(arguments: [
        ([0xC0, 0xAF], 0xC0),  // overlong "/"
        ([0xED, 0xA0, 0x80], 0xED),  // a UTF-16 surrogate
        ([0xF4, 0x90, 0x80, 0x80], 0xF4),  // past U+10FFFF
        ([0xE2, 0x82], 0xE2),  // truncated sequence at the end of the line
    ] as [([UInt8], UInt8)])
    func malformedSequencesAreInvalid(sequence: [UInt8], lead: UInt8) {
        let bytes = Array("purpose = ab".utf8) + sequence
        let result = JobFile.parse(Array(JobFileFixture.file().utf8) + bytes, path: "/x/stale-lock-reaper.job", zones: JobFileFixture.zones)
        #expect(JobFileFixture.rendered(result) == ["5:13: error: invalid UTF-8 (byte 0x\(JobFileText.hex(lead, digits: 2))); job files must be UTF-8 text"])
    }

    @Test func aBadByteInARequiredLineIsNotAlsoReportedAsAMissingKey() {
        let bytes = Array("schedule = */5 * * * *\u{0}\n".utf8) + Array(JobFileFixture.file(replacing: "schedule").utf8)
        #expect(JobFileFixture.rendered(JobFile.parse(bytes, path: "/x/stale-lock-reaper.job", zones: JobFileFixture.zones)) == [
            "1:23: error: NUL byte; a job file is text",
        ])
    }

    @Test func nulBytesAreRefused() {
        let result = JobFileFixture.parse(JobFileFixture.file(appending: ["purpose = a\u{0}b"]))
        #expect(JobFileFixture.rendered(result) == ["5:12: error: NUL byte; a job file is text"])
    }

    @Test func controlAndBidirectionalCharactersAreRefused() {
        #expect(JobFileFixture.rendered(JobFileFixture.parse(JobFileFixture.file(appending: ["purpose = a\u{1B}[2Jb"]))) == [
            "5:12: error: control character U+001B; a job file may contain tabs but no other control characters",
        ])
        #expect(JobFileFixture.rendered(JobFileFixture.parse(JobFileFixture.file(appending: ["purpose = x\u{202E}yz"]))) == [
            "5:12: error: bidirectional control character U+202E; it makes the line display differently from what it says",
        ])
    }

    @Test func crlfLineEndingsAndAByteOrderMarkAreAccepted() throws {
        let text = "\u{FEFF}" + JobFileFixture.baseLines.joined(separator: "\r\n") + "\r\npurpose = tidy\r\n"
        let result = JobFileFixture.parse(text)
        #expect(result.diagnostics.isEmpty)
        let job = try #require(result.definition)
        #expect(job.command == .argv(["/usr/bin/true"]))
        #expect(job.purpose == "tidy")
        #expect(job.source.column(of: .schedule) == 12)
    }

    @Test func overlongLinesAndFilesAreRefusedWithoutBuildingThem() {
        let longLine = "purpose = " + String(repeating: "x", count: 20_000)
        #expect(JobFileFixture.rendered(JobFileFixture.parse(JobFileFixture.file(appending: [longLine]))) == ["5:1: error: line is 20010 bytes long; the limit is 16 KiB"])
        let huge = [UInt8](repeating: 0x23, count: JobFile.maximumFileBytes + 1)
        #expect(JobFileFixture.rendered(JobFile.parse(huge, path: "/x/big.job", zones: JobFileFixture.zones)) == [
            "1:1: error: file is 1048577 bytes; a job file may be at most 1 MiB",
        ])
    }

    @Test func rebootIsASchedule() throws {
        let job = try #require(JobFileFixture.parse(JobFileFixture.file(replacing: "schedule", with: "schedule = @reboot")).definition)
        #expect(job.schedule == .reboot)
    }

    @Test func aGarbageFileGetsASummaryInsteadOfThousandsOfLines() {
        let text = String(repeating: "no equals sign here\n", count: 500)
        let lines = JobFileFixture.rendered(JobFileFixture.parse(text))
        #expect(lines.count == JobFile.maximumDiagnostics + 1)
        #expect(lines.last == "97:1: error: 404 more problems not shown; is this really a job file?")
    }

    /// Random edits of a valid file must never trap, and the result must keep its promise:
    /// a definition exactly when there is no error.
    @Test func arbitraryBytesNeverCrashTheParser() {
        var random = SplitMix64(seed: 0x5EED)
        let alphabet: [UInt8] = Array(" \t=#,:<>'\"\\$|-_./@\r\n0123456789smhdLW*".utf8) + [0, 0xC3, 0xA9, 0xFF, 0xE2, 0x80, 0xAE]
        let seed = Array(JobFileFixture.file(appending: ["run-as = a:b", "environment = A=1", "credentials = c", "timeout = 1h",
                                          "overlap = queue", "shell = /bin/sh", "timezone = UTC"]).utf8)
        var errorsSeen = 0
        for _ in 0..<3_000 {
            var bytes = seed
            for _ in 0...Int(random.next() % 6) {
                let position = Int(random.next() % UInt64(bytes.count + 1))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: bytes.insert(byte, at: position)
                case 1: if position < bytes.count { bytes.remove(at: position) }
                default: if position < bytes.count { bytes[position] = byte }
                }
            }
            let result = JobFile.parse(bytes, path: "/x/fuzz.job", zones: JobFileFixture.zones)
            let hasErrors = result.diagnostics.contains { $0.severity == .error }
            #expect((result.definition == nil) == hasErrors)
            #expect(result.diagnostics.allSatisfy { $0.line >= 1 && $0.column >= 1 })
            if hasErrors { errorsSeen += 1 }
        }
        #expect(errorsSeen > 0)
    }

    // MARK: Pieces

    @Test(arguments: [
        ("a'b'\"c\"", ["abc"]),
        ("\"a\\$b\\x\\\\\"", ["a$b\\x\\"]),
        ("a\\ b  c", ["a b", "c"]),
        ("'' \"\"", ["", ""]),
        ("\t x\t", ["x"]),
        ("'it''s' \"say \\\"hi\\\"\"", ["its", "say \"hi\""]),
    ])
    func commandSplitting(text: String, words: [String]) throws {
        #expect(try CommandSplitter.split(text).map(\.text) == words)
    }

    @Test(arguments: [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86_400), ("1h30m", 5400), ("1d2h3m4s", 93_784), ("30d", 2_592_000)])
    func timeSpans(text: String, seconds: Int) throws {
        let span = try TimeSpan(parsing: text)
        #expect(span.seconds == seconds)
        #expect(try TimeSpan(parsing: span.description) == span)
    }

    @Test func ownerForms() throws {
        let bare = try Owner(parsing: "<oncall@example.com>")
        #expect(bare.name == "oncall@example.com")
        #expect(bare.hasContactAddress)
        let url = try Owner(parsing: "payments <https://oncall.example.com/payments>")
        #expect(url.name == "payments")
        #expect(url.hasContactAddress)
        #expect(try Owner(parsing: "alice").contact == nil)
        #expect(throws: JobValueError(offset: 5, reason: "unexpected text after the contact address; write it like `storage-team <storage-oncall@example.com>`")) {
            try Owner(parsing: "a <b> c")
        }
    }

    @Test func sharedIdentitiesAreWarnedOnEveryJobThatShares() throws {
        let first = try #require(JobFileFixture.parse(JobFileFixture.file(), path: "/j/first-job.job").definition)
        let second = try #require(JobFileFixture.parse(JobFileFixture.file(), path: "/j/second-job.job").definition)
        let third = try #require(JobFileFixture.parse(JobFileFixture.file(), path: "/j/third-job.job").definition)
        let alone = try #require(JobFileFixture.parse(JobFileFixture.file(replacing: "identity", with: "identity = journal-archiver"), path: "/j/alone.job").definition)
        #expect(JobSetFindings.check([third, alone, first, second]).map(\.description) == [
            "/j/first-job.job:2:12: warning: identity `stale-lock-reaper` is shared with second-job, third-job; give each automation its own identity so every event names exactly one",
            "/j/second-job.job:2:12: warning: identity `stale-lock-reaper` is shared with first-job, third-job; give each automation its own identity so every event names exactly one",
            "/j/third-job.job:2:12: warning: identity `stale-lock-reaper` is shared with first-job, second-job; give each automation its own identity so every event names exactly one",
        ])
        #expect(JobSetFindings.check([first, alone]).isEmpty)
    }
}

@Suite struct PlacementKeyTests {
    @Test func placementChoosesOnceOrEveryHost() throws {
        let everyHost = try #require(JobFileFixture.parse(JobFileFixture.file(appending: ["placement = every-host"])).definition)
        #expect(everyHost.placement == .everyHost)
        let once = try #require(JobFileFixture.parse(JobFileFixture.file(appending: ["placement = once"])).definition)
        #expect(once.placement == .once)
    }
}

@testable import AscribeCore

/// What each fuzz target does with one input: parse it and, when it parses, compute schedules
/// from it, checking invariants with `precondition` so libFuzzer reports a violation as a crash.
/// The libFuzzer binaries (Tests/fuzz/run.sh) compile this file next to a one-line entry point,
/// and `FuzzCorpusTests` replays every checked-in corpus and crasher file through it, so each
/// finding stays a regression test in the normal `swift test`.
enum FuzzTargets {
    /// The fuzz targets by the name `Tests/fuzz/run.sh` and the corpus directories use.
    static let all: [String: @Sendable ([UInt8]) -> Void] = [
        "jobfile": jobFile,
        "cron": cronExpression,
        "crontab": crontab,
        "note": note,
    ]

    /// A signed note, read also as a checkpoint body, an inclusion proof and an add-checkpoint
    /// request: whatever parses renders back to exactly the bytes read (strict base64, one
    /// spelling per note), so a changed byte can never verify as the same note.
    static func note(_ bytes: [UInt8]) {
        if let note = try? SignedNote.parse(bytes) {
            precondition(Array(note.rendered.utf8) == bytes, "a note renders back to its bytes")
            precondition(note.signatures.count <= SignedNote.signatureLimit, "signatures are capped")
            if let checkpoint = try? Checkpoint(body: note.text) {
                precondition(checkpoint.body == note.text, "a checkpoint renders back to its text")
            }
        }
        if let proof = try? InclusionProofText(parsing: bytes) {
            precondition(Array(proof.rendered.utf8) == bytes || String(validating: proof.note, as: UTF8.self) == nil,
                         "a proof renders back to its bytes")
            precondition(proof.path.count <= InclusionProofText.pathLimit, "paths are capped")
        }
        if let request = try? AddCheckpointRequest(parsing: bytes) {
            precondition(request.rendered == bytes, "a request renders back to its bytes")
            precondition(request.proof.count <= AddCheckpointRequest.proofLimit, "proofs are capped")
        }
    }

    /// A whole job file; the `timezone` value is also read as a TZ string, so the TZ-string
    /// parser is fuzzed through it.
    static func jobFile(_ bytes: [UInt8]) {
        let result = JobFile.parse(bytes, path: "/etc/ascribe/jobs.d/fuzz.job", zones: zone(named:))
        precondition((result.definition == nil) == !result.errors.isEmpty, "definition iff no errors")
        precondition(result.diagnostics.count <= JobFile.maximumDiagnostics + 1, "diagnostics are capped")
        precondition(result.diagnostics.allSatisfy { $0.line >= 1 && $0.column >= 1 }, "positions are 1-based")
        guard let definition = result.definition else { return }
        _ = definition.schedule.plainEnglish
        if case .calendar(let expression) = definition.schedule {
            checkFires(of: expression, in: definition.timezone ?? .utc)
        }
    }

    /// One schedule expression, fed to `nextFire` in zones with every kind of clock change.
    static func cronExpression(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let schedule = try? Schedule(parsing: text) else { return }
        _ = schedule.plainEnglish
        guard case .calendar(let expression) = schedule else { return }
        for zone in zones { checkFires(of: expression, in: zone) }
    }

    /// One crontab, imported as a user and as a system crontab; every job file the import
    /// writes is parsed back.
    static func crontab(_ bytes: [UInt8]) {
        for format in CrontabFormat.allCases {
            let source = CrontabSource(path: "/var/spool/cron/crontabs/fuzz", bytes: bytes, format: format)
            let result = CrontabImport.convert([source], options: CrontabImportOptions(), zones: zone(named:))
            for job in result.jobs {
                _ = JobFile.parse(Array(job.fileText.utf8), path: "/tmp/\(job.name).job", zones: zone(named:))
            }
        }
    }

    /// Fires after starts around the edges of the calendar and of each zone's clock changes:
    /// each strictly later than its start, and, in zones without clock changes, on a minute
    /// the expression matches.
    private static func checkFires(of expression: CronExpression, in zone: ZoneRules) {
        for start in starts {
            var after = start
            for _ in 0..<3 {
                guard let fire = expression.nextFire(after: after, in: zone) else {
                    precondition(!expression.canFire || start.secondsSinceEpoch > 200_000_000_000,
                                 "an expression that can fire has a next fire")
                    break
                }
                precondition(fire.instant > after, "fires move forward")
                if zone.isFixedOffset {
                    precondition(expression.matches(zone.localTime(at: fire.instant)), "fires match the expression")
                }
                after = fire.instant
            }
        }
        let window = expression.fires(after: starts[1], until: starts[1].adding(seconds: 3 * 86_400), in: zone, limit: 5)
        // Two slots share an instant only when daylight saving moved the first onto the second's (docs/SCHEDULES.md).
        precondition(zip(window, window.dropFirst()).allSatisfy {
            $0.instant < $1.instant || ($0.instant == $1.instant && $0.shiftedFrom != nil && $0.shiftedFrom != $1.shiftedFrom)
        }, "fires are in order")
    }

    /// A leap day in 1972, the spring-forward and fall-back nights of 2026 in Europe, a day in
    /// 2100 (no leap day), and a moment near the last year `nextFire` answers for.
    private static let starts: [Instant] = [
        68_169_600, 1_774_740_000, 1_792_882_800, 4_107_542_400, 253_369_000_000,
    ].map { Instant(secondsSinceEpoch: $0) }

    /// UTC, a fixed negative offset with seconds, Berlin, Lord Howe (30-minute changes), and a
    /// made-up zone whose clock jumps by 2 minutes, 3 hours (at an odd second) and back by 4
    /// hours (to an offset with seconds) around the start instants.
    private static let zones: [ZoneRules] = [
        .utc,
        .fixed(identifier: "Fixed-093030", offsetSeconds: -34_230),
        berlin,
        try! ZoneRules(identifier: "Australia/Lord_Howe", posixTZ: "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"),
        ZoneRules(identifier: "Jumpy", initialOffset: 0, transitions: [
            (at: 1_774_740_000, offset: 120), (at: 1_774_750_000, offset: 10_920),
            (at: 1_792_882_800, offset: -3_485), (at: 4_107_542_400, offset: 50_400),
        ]),
    ]

    private static let berlin = try! ZoneRules(identifier: "Europe/Berlin", posixTZ: "CET-1CEST,M3.5.0,M10.5.0/3")

    /// Known names resolve to fixed rules; anything else is tried as a TZ string.
    private static func zone(named name: String) -> ZoneRules? {
        switch name {
        case "UTC": .utc
        case "Europe/Berlin": berlin
        default: try? ZoneRules(identifier: name, posixTZ: name)
        }
    }
}

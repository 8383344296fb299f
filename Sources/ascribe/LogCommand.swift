import AscribeCommandLine
import AscribeCore
import AscribeRuntime
import AscribeSystem
import Dispatch
import Glibc

enum LogCommand {
    enum Options {
        static let state = CommonOptions.state()
        static let job = CommandOption("--job", value: "JOB", help: "only events of job JOB")
        static let identity = CommandOption("--identity", value: "I", help: "only events of identity I")
        static let type = CommandOption("--type", value: "TYPE", help: "only one type: \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
        static let since = CommandOption("--since", value: "T", help: "from T on: RFC 3339, now, or an age such as 90m, 2h, 7d")
        static let until = CommandOption("--until", value: "T", help: "before T (same forms)")
        static let limit = CommandOption("--limit", value: "N", help: "only the newest N matching events (still printed oldest first)")
        static let verbose = CommandOption("--verbose", help: "every field on each line: pid, run-as, config source, every detail")
        static let json = CommandOption("--json", help: "one JSON object per line, every field, for shippers and scripts")
        static let follow = CommandOption("--follow", help: "after the matching history, keep printing matching events as they are written, one per line, until SIGINT, SIGTERM or a closed pipe (then exit 0); not with --until")
    }

    static let declaration = CommandDeclaration(
        name: "log", summary: "show recorded events, filtered by job, identity, type and time",
        discussion: """
            The event log, oldest first: every run fired, succeeded, failed, timed out, skipped, missed
            or lost, and every configuration and enable/disable change, with who did it. Each line
            reads: time, type, job, identity → principal (the person behind a manual run or a
            change), the outcome in words and the run id's first 8 characters.
            """,
        options: [Options.state, Options.job, Options.identity, Options.type, Options.since, Options.until, Options.limit,
                  Options.verbose, Options.json, Options.follow],
        exclusive: [[Options.verbose, Options.json]],
        examples: """
            ascribe log --job stale-lock-reaper --since 1d
            ascribe log --type run.failed --limit 20
            ascribe log --identity backup-uploader --since 2026-11-01T00:00:00Z --json
            ascribe log --follow --json --since 1h | vector --config ascribe-source.toml
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        var filter = EventFilter()
        filter.job = arguments.value(Options.job)
        filter.identity = arguments.value(Options.identity)
        if let typeName = arguments.value(Options.type) {
            guard let type = EventType(rawValue: typeName) else {
                throw UsageError(message: "unknown event type \"\(typeName)\"; types: \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.type = type
        }
        let host = HostContext()
        let sinceText = arguments.value(Options.since), untilText = arguments.value(Options.until)
        let since = try sinceText.map { (text) throws(UsageError) in try host.pastTime(text, option: "--since") }
        let until = try untilText.map { (text) throws(UsageError) in try host.pastTime(text, option: "--until") }
        if let since, let sinceText, let until, let untilText {
            try requireOrderedWindow(start: ("--since", sinceText, since), end: ("--until", untilText, until))
        }
        filter.since = since.map(EventTime.init)
        filter.until = until.map(EventTime.init)
        filter.limit = try arguments.integer(Options.limit, range: 1...10_000_000)
        let verbose = arguments.flag(Options.verbose)
        let json = arguments.flag(Options.json)
        let follow = arguments.flag(Options.follow)
        _ = try arguments.operands(max: 0)
        if follow, filter.until != nil { throw UsageError(message: "--follow prints events as they come; it cannot stop at --until") }

        // A missing or unreadable store is a failure to read the log (exit 1), not bad usage.
        let store: EventStore
        do throws(EventStoreError) {
            store = try EventStore.open(path: DefaultPaths.eventStore(stateDirectory: state), access: .readOnly)
        } catch {
            output.error("ascribe log: \(error.description)")
            return .findings
        }
        func text(_ event: Event) -> String { json ? event.jsonObject.rendered : verbose ? event.verboseLogLine : event.logLine }
        do throws(EventStoreError) {
            var follower = try EventFollower(store: store, filter: filter)
            guard follow else {
                try follower.forEachPastEvent { output.line(text($0)) }
                return .ok
            }
            return try followLog(&follower, text)
        } catch {
            output.error("ascribe log: \(error.description)")
            return .findings
        }
    }

    /// How long `--follow` waits between looks at the log when nothing new has come.
    static let followPollInterval = DispatchTimeInterval.milliseconds(200)

    /// `--follow`: prints straight to standard output (not through `Output`, which writes in
    /// 64 KiB chunks) so a shipper sees each event as it is written. SIGINT and SIGTERM end it between
    /// polls (or between 64 KiB chunks of history); a reader that goes away (EPIPE, with
    /// SIGPIPE ignored) ends it at the next write.
    private static func followLog(_ follower: inout EventFollower, _ text: (Event) -> String) throws(EventStoreError) -> ExitCode {
        signal(SIGPIPE, SIG_IGN)
        let stop = DispatchSemaphore(value: 0)
        let signals: DaemonSignals
        do {
            signals = try DaemonSignals([SIGINT, SIGTERM]) { _ in stop.signal() }
        } catch {
            throw .fileSystem(path: "signal handlers", operation: error.call, errno: error.code)
        }
        defer { withExtendedLifetime(signals) {} }
        var pending = ""
        var finished = false
        func flush() {
            guard !finished, !pending.isEmpty else { return }
            do {
                try SystemCalls.writeAll(SystemCalls.standardOutput, ArraySlice(pending.utf8))
            } catch {
                finished = true
            }
            pending = ""
        }
        try follower.forEachPastEvent { event in
            guard !finished else { return }
            pending += text(event) + "\n"
            if pending.utf8.count >= 65_536 {
                flush()
                if stop.wait(timeout: .now()) == .success { finished = true }
            }
        }
        flush()
        while !finished {
            let events = try follower.newEvents()
            for event in events { pending += text(event) + "\n" }
            flush()
            if stop.wait(timeout: events.isEmpty ? .now() + followPollInterval : .now()) == .success { break }
        }
        return .ok
    }
}

enum VerifyCommand {
    static let declaration = CommandDeclaration(
        name: "verify", summary: "re-walk the event log's hash chain and report the first broken link",
        discussion: """
            Re-walks the event log's hash chain from the first event and reports either
            "N events, chain intact" or the first broken link and why (exit 1). An edited, deleted or
            inserted event breaks the chain; see docs/EVENTS.md for what a chain alone cannot show.

            With --checkpoint, also checks that the log extends each signed checkpoint in FILE
            (kept off the host: a witness file, a saved copy): a log shorter than a checkpoint is
            named TRUNCATED, one whose first events hash to another root REWRITTEN. The roots are
            recomputed from the events, not read from the stored tree. With --proof, checks an
            inclusion proof from `ascribe prove` on its own, without the log.

            With --store, walks a fleet's chain in PostgreSQL (every host's events; docs/FLEET.md).
            """,
        options: [state, store, CheckpointOptions.checkpoint, CheckpointOptions.key, CheckpointOptions.witnessKey,
                  CheckpointOptions.maxAge, CheckpointOptions.proof],
        exclusive: [[CheckpointOptions.checkpoint, CheckpointOptions.proof], [state, store], [store, CheckpointOptions.checkpoint],
                    [store, CheckpointOptions.proof]],
        examples: """
            ascribe verify
            ascribe verify --state /var/lib/ascribe
            ascribe verify --proof examples/checkpoint/seq-3.proof --key web1-checkpoint+134c3025+AUbz8bk3u4CSUaAqxn2VxflEJLQxWqzMiplbs75FuhUX
            ascribe verify --checkpoint examples/checkpoint/web1.checkpoint --key web1-checkpoint+134c3025+AUbz8bk3u4CSUaAqxn2VxflEJLQxWqzMiplbs75FuhUX --max-age 2h   # exits 1
            """,
        forms: [UsageForm(options: [state]),
                UsageForm(options: [store], required: [store]),
                UsageForm(options: [state, CheckpointOptions.checkpoint, CheckpointOptions.key, CheckpointOptions.witnessKey,
                                    CheckpointOptions.maxAge], required: [CheckpointOptions.checkpoint]),
                UsageForm(options: [CheckpointOptions.proof, CheckpointOptions.key],
                          required: [CheckpointOptions.proof, CheckpointOptions.key])])

    static let state = CommonOptions.state()
    static let store = CommandOption("--store", value: "URI", help: "verify a fleet's log in PostgreSQL (a libpq URI, postgresql://user@host/db) instead of <state>/events.db")

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let state = arguments.value(Self.state) ?? DefaultPaths.stateDirectory
        let fleet = try DaemonStore(parsing: arguments.value(Self.store))
        _ = try arguments.operands(max: 0)
        if let proof = arguments.value(CheckpointOptions.proof) {
            return try verifyProof(arguments, path: proof, output: &output)
        }
        if let checkpoint = arguments.value(CheckpointOptions.checkpoint) {
            return try verifyCheckpoints(arguments, path: checkpoint, state: state, output: &output)
        }
        let walk: () throws(EventStoreError) -> ChainVerification
        switch fleet {
        case .local:
            let store = try HostContext().openStore(state: state, access: .readOnly)
            walk = { () throws(EventStoreError) in try store.verify() }
        case .postgreSQL(let uri):
            walk = { () throws(EventStoreError) in try PostgreSQLEventLog.open(uri, host: HostName.current(), access: .readOnly).verify() }
        }
        do throws(EventStoreError) {
            switch try walk() {
            case .intact(let count):
                output.line("\(count) event\(count == 1 ? "" : "s"), chain intact")
                return .ok
            case .broken(let seq, let reason):
                output.line("chain broken at seq \(seq): \(reason)")
                return .findings
            }
        } catch {
            output.error("ascribe verify: \(error.description)")
            return .findings
        }
    }
}

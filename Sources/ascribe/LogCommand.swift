import AscribeCore
import AscribeRuntime

enum LogCommand {
    static let help = """
        Usage: ascribe log [--state DIR] [--job JOB] [--identity I] [--type TYPE] [--since T] [--until T]
                           [--limit N] [--json]

        The event log, oldest first: every run fired, succeeded, failed, timed out, skipped, missed
        or lost, and every configuration and enable/disable change, with who did it.

        Options:
          --state DIR    state directory holding events.db (default \(DefaultPaths.stateDirectoryHelp))
          --job JOB      only events of job JOB
          --identity I   only events of identity I
          --type TYPE    only one type: \(EventType.allCases.map(\.rawValue).joined(separator: ", "))
          --since T      from T on: RFC 3339, now, or an age such as 90m, 2h, 7d
          --until T      before T (same forms)
          --limit N      only the newest N matching events (still printed oldest first)
          --json         one JSON object per line, every field, for shippers and scripts

        Examples:
          ascribe log --job stale-lock-reaper --since 1d
          ascribe log --type run.failed --limit 20
          ascribe log --identity backup-uploader --since 2026-11-01T00:00:00Z --json
        """

    static func run(_ reader: inout ArgumentReader, output: inout Output) throws(UsageError) -> ExitCode {
        if reader.wantsHelp {
            output.line(help)
            return .ok
        }
        let state = try reader.option("--state") ?? DefaultPaths.stateDirectory
        var filter = EventFilter()
        filter.job = try reader.option("--job")
        filter.identity = try reader.option("--identity")
        if let typeName = try reader.option("--type") {
            guard let type = EventType(rawValue: typeName) else {
                throw UsageError(message: "unknown event type \"\(typeName)\"; types: \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.type = type
        }
        let host = HostContext()
        if let since = try reader.option("--since") { filter.since = EventTime(try host.pastTime(since, option: "--since")) }
        if let until = try reader.option("--until") { filter.until = EventTime(try host.pastTime(until, option: "--until")) }
        filter.limit = try reader.integerOption("--limit", range: 1...10_000_000)
        let json = reader.flag("--json")
        _ = try reader.positionals(max: 0)

        let store = try host.openStore(state: state, access: .readOnly)
        func emit(_ event: Event) { output.line(json ? event.jsonObject.rendered : event.logLine) }
        do throws(EventStoreError) {
            if filter.limit != nil {
                for event in try store.events(matching: filter).reversed() { emit(event) }
            } else {
                filter.order = .oldestFirst
                try store.forEachEvent(matching: filter, emit)
            }
        } catch {
            output.error("ascribe log: \(error.description)")
            return .findings
        }
        return .ok
    }
}

enum VerifyCommand {
    static let help = """
        Usage: ascribe verify [--state DIR]

        Re-walks the event log's hash chain from the first event and reports either
        "N events, chain intact" or the first broken link and why (exit 1). An edited, deleted or
        inserted event breaks the chain; see docs/EVENTS.md for what a chain alone cannot show.

        Options:
          --state DIR    state directory holding events.db (default \(DefaultPaths.stateDirectoryHelp))

        Examples:
          ascribe verify
          ascribe verify --state /var/lib/ascribe
        """

    static func run(_ reader: inout ArgumentReader, output: inout Output) throws(UsageError) -> ExitCode {
        if reader.wantsHelp {
            output.line(help)
            return .ok
        }
        let state = try reader.option("--state") ?? DefaultPaths.stateDirectory
        _ = try reader.positionals(max: 0)
        let store = try HostContext().openStore(state: state, access: .readOnly)
        do throws(EventStoreError) {
            switch try store.verify() {
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

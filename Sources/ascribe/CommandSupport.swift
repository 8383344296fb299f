import AscribeCommandLine
import AscribeCore
import AscribeRuntime
import AscribeSystem
import Dispatch
import Synchronization

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

/// What every command needs from the host: the zone database and the daemon's own zone.
struct HostContext {
    let zones = ZoneDatabase()

    var systemZone: ZoneRules {
        // `TZ` is the only variable the zone depends on: reading it alone spares every command
        // building the whole environment as a dictionary at start-up.
        zones.systemZone(environment: SystemCalls.environmentValue("TZ").map { ["TZ": $0] } ?? [:])
    }

    func zone(named name: String?) throws(UsageError) -> ZoneRules {
        guard let name else { return systemZone }
        guard let rules = zones.rules(for: name) else {
            throw UsageError(message: zones.advice(for: name).message(for: name))
        }
        return rules
    }

    /// `now`, an RFC 3339 time with an offset, or a wall-clock reading in `zone`.
    func time(_ text: String?, option: String, zone: ZoneRules) throws(UsageError) -> Instant {
        guard let text, text != "now" else { return SystemClock.now() }
        guard let parsed = RFC3339.parse(text) else {
            throw UsageError(message: "\(option) \"\(text)\" is not a time: use now or RFC 3339 such as 2026-03-29T01:30:00+01:00")
        }
        return zone.instant(for: parsed)
    }

    /// For looking back: `now`, RFC 3339, a wall-clock reading in the system zone, or an age
    /// such as `90m`, `2h`, `7d` before now.
    func pastTime(_ text: String, option: String) throws(UsageError) -> Instant {
        if let age = try? TimeSpan(parsing: text) {
            return SystemClock.now().adding(seconds: -Int64(age.seconds))
        }
        guard text == "now" || RFC3339.parse(text) != nil else {
            throw UsageError(message: "\(option) \"\(text)\" is not a time: use now, an age such as 2h or 7d, or RFC 3339 such as 2026-11-23T08:00:00Z")
        }
        return try time(text, option: option, zone: systemZone)
    }

    func openStore(state: String, access: EventStore.Access) throws(UsageError) -> EventStore {
        do {
            return try EventStore.open(path: DefaultPaths.eventStore(stateDirectory: state), access: access)
        } catch {
            throw UsageError(message: error.description)
        }
    }

    func loadJobs(_ path: String) throws(UsageError) -> JobDirectoryLoad {
        do {
            return try JobDirectory.load(path: path, zones: { zones.rules(for: $0) }, zoneAdvice: { zones.advice(for: $0) })
        } catch {
            throw UsageError(message: error.description)
        }
    }
}

extension JobCommand {
    /// The command as a reader would type it, quoting words that need it.
    var displayText: String {
        switch self {
        case .argv(let words): words.map(Self.quoted).joined(separator: " ")
        case .shell(let program, let script): "\(program) -c \(Self.quoted(script))"
        }
    }

    private static func quoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
            ($0.properties.isAlphabetic && $0.isASCII) || "0123456789-_./=:,+@%".unicodeScalars.contains($0)
        }
        return plain ? word : "'" + word.replacing("'", with: "'\\''") + "'"
    }
}

/// Waits, from a command's synchronous entry point, for asynchronous work (the daemon's loop,
/// a run through `runTogether`) and returns its result (nil only if the work never reported).
func waitFor<Value: Sendable>(_ work: sending @escaping () async -> Value) -> Value? {
    let box = AsyncResultBox<Value>()
    Task {
        let result = await work()
        box.value.withLock { $0 = result }
        box.finished.signal()
    }
    box.finished.wait()
    return box.value.withLock { $0 }
}

/// Where `waitFor`'s task leaves its result for the waiting thread.
private final class AsyncResultBox<Value: Sendable>: Sendable {
    let value = Mutex<Value?>(nil)
    let finished = DispatchSemaphore(value: 0)
}

/// Says at once what the state directory rules changed, for callers that have no `Output`: a
/// warning belongs next to what happened, and a daemon's exit may be weeks away.
func announce(_ report: StateDirectoryReport, command: String) {
    for note in report.notes { SystemCalls.write("ascribe \(command): \(note)\n", to: SystemCalls.standardError) }
}

extension HostContext {
    /// `ascribe run` without a daemon takes the state directory under the daemon's rules
    /// (docs/DAEMON.md): nil when it may go on, else the exit status after saying why.
    func applyStateDirectoryRules(_ state: String, command: String, output: inout Output) -> ExitCode? {
        do {
            announce(try StateDirectory.prepare(state), command: command)
            return nil
        } catch {
            output.error("ascribe \(command): \(error.description)")
            return .findings
        }
    }
}

/// A window that ends before it starts is a mistake to point out, not an empty answer.
func requireOrderedWindow(start: (option: String, text: String, instant: Instant),
                          end: (option: String, text: String, instant: Instant)) throws(UsageError) {
    guard start.instant <= end.instant else {
        throw UsageError(message: "\(start.option) \(start.text) is after \(end.option) \(end.text): the window ends before it starts")
    }
}

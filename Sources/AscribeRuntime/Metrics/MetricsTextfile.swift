import AscribeCore
import Dispatch
import Synchronization
import AscribeSystem

/// Keeps a Prometheus textfile (`daemon --metrics-file`) current from the daemon's events.
///
/// Off the daemon's queue: `record` only enqueues. On the first event it counts the whole log
/// (read-only, its own connection) and reads the jobs directory; after that each event is
/// applied by seq, so none is counted twice. `config.loaded` re-reads the jobs the daemon
/// added or changed. Writes are coalesced (at most one per `coalescing`), each a temp file in
/// the same directory renamed over the target, mode 0644, so a collector never reads half a
/// file. A failed write is reported once, and again when writing works once more.
public final class MetricsTextfile: Sendable {
    private struct State: Sendable {
        var metrics = JobMetrics()
        var jobs: [String: JobDefinition] = [:]
        var counted = false
        var writeScheduled = false
        var failing = false
    }

    public let path: String
    private let stateDirectory: String
    private let jobsDirectory: String
    private let zones: ZoneDatabase
    private let defaultZone: ZoneRules
    private let coalescing: DispatchTimeInterval
    private let report: @Sendable (String) -> Void
    private let queue = DispatchQueue(label: "ascribe.metrics")
    private let state = Mutex(State())

    public init(path: String, stateDirectory: String, jobsDirectory: String, zones: ZoneDatabase, defaultZone: ZoneRules,
                coalescing: DispatchTimeInterval = .milliseconds(250), report: @escaping @Sendable (String) -> Void) {
        self.path = path
        self.stateDirectory = stateDirectory
        self.jobsDirectory = jobsDirectory
        self.zones = zones
        self.defaultZone = defaultZone
        self.coalescing = coalescing
        self.report = report
    }

    /// Called with each durable event, on any thread; never blocks on I/O.
    public func record(_ event: Event) {
        queue.async { self.handle(event) }
    }

    /// Applies what is queued and writes the file now (at daemon stop).
    public func finish() {
        queue.sync { self.write() }
    }

    private func handle(_ event: Event) {
        if !state.withLock({ $0.counted }) { countLog() }
        let reload = event.type == .configLoaded ? loadJobs().map { $0.merging(keptDefinitions(event)) { fresh, _ in fresh } } : nil
        let schedule = state.withLock { state in
            state.metrics.apply(event)
            if let reload { Self.update(&state.jobs, from: event, with: reload) }
            defer { state.writeScheduled = true }
            return !state.writeScheduled
        }
        if schedule { queue.asyncAfter(deadline: .now() + coalescing) { self.write() } }
    }

    /// The whole log's counts, and the jobs directory, before the first event is applied.
    private func countLog() {
        var metrics = JobMetrics()
        do throws(EventStoreError) {
            let store = try EventStore.open(path: DefaultPaths.eventStore(stateDirectory: stateDirectory), access: .readOnly)
            try store.forEachEvent(matching: EventFilter(order: .oldestFirst)) { metrics.apply($0, force: true) }
        } catch {
            report("metrics: could not count the event log (\(error.description)); counting from now on")
        }
        let jobs = loadJobs() ?? [:]
        state.withLock { state in
            state.metrics = metrics
            state.jobs = jobs
            state.counted = true
        }
    }

    /// The last good definitions the daemon keeps in force for jobs whose file does not load
    /// (`config.loaded` `kept`), read back from the definition archive, so they keep their series.
    private func keptDefinitions(_ event: Event) -> [String: JobDefinition] {
        let kept = ConfigLoadDetails(event.details).kept.hashes
        guard !kept.isEmpty,
              let store = try? EventStore.open(path: DefaultPaths.eventStore(stateDirectory: stateDirectory), access: .readOnly)
        else { return [:] }
        let zones = self.zones
        var found: [String: JobDefinition] = [:]
        for (name, prefix) in kept {
            if let archived = store.definition(of: name, hashPrefix: prefix, zones: { zones.rules(for: $0) }) {
                found[name.rawValue] = archived.definition
            }
        }
        return found
    }

    private func loadJobs() -> [String: JobDefinition]? {
        let zones = self.zones
        do throws(JobDirectoryError) {
            let load = try JobDirectory.load(path: jobsDirectory, zones: { zones.rules(for: $0) })
            return Dictionary(load.jobs.map { ($0.name.rawValue, $0) }) { first, _ in first }
        } catch {
            report("metrics: could not read \(jobsDirectory): \(error.description)")
            return nil
        }
    }

    /// Follows the daemon's view of its jobs from a `config.loaded`: at start, `jobs` lists
    /// every loaded job (`name=hash,…`); on reload, `added`, `changed` and `removed` say what
    /// moved, and a job whose file was rejected keeps its previous definition, as in the daemon.
    static func update(_ jobs: inout [String: JobDefinition], from event: Event, with fresh: [String: JobDefinition]) {
        let lists = ConfigLoadDetails(event.details)
        let listed = lists.jobs.names
        if !listed.isEmpty {
            jobs = Dictionary(listed.compactMap { name in (fresh[name] ?? jobs[name]).map { (name, $0) } }) { first, _ in first }
            return
        }
        guard let reload = lists.reload else { return }
        for name in reload.added.names + reload.changed.names { if let job = fresh[name] { jobs[name] = job } }
        for name in reload.removed.names { jobs[name] = nil }
    }

    private func write() {
        let (text, wasFailing) = state.withLock { state in
            state.writeScheduled = false
            return (state.metrics.exposition(jobs: Array(state.jobs.values), defaultZone: defaultZone, now: SystemClock.now()),
                    state.failing)
        }
        do throws(SystemError) {
            try FileSystem.replace(path, with: Array(text.utf8), exactMode: 0o644)
            if wasFailing { report("metrics: writing \(path) works again") }
            state.withLock { $0.failing = false }
        } catch {
            if !wasFailing { report("metrics: cannot write \(path): \(error.description); will retry with the next event") }
            state.withLock { $0.failing = true }
        }
    }
}

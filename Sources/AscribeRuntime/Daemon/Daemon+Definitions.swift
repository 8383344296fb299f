import AscribeCore

extension Daemon {
    /// Keeps the exact text of every loaded definition under its hash (docs/DAEMON.md,
    /// "Definitions in force"). A failure is printed, not fatal: the events still name the hash.
    func archive(_ load: JobDirectoryLoad, at now: Instant) {
        guard let store else { return }
        let definitions = load.jobs.compactMap { job -> StoredDefinition? in
            guard let hash = load.definitionHashes[job.name], let bytes = load.definitionBytes[job.name] else { return nil }
            return StoredDefinition(hash: hash, job: job.name.rawValue, path: job.source.path, bytes: bytes)
        }
        do {
            try store.archive(definitions, at: EventTime(now))
        } catch {
            output(.problem("could not archive job definitions: \(error.description)"))
        }
    }

    /// The jobs the log says were loaded last — replayed from `config.loaded` events, each
    /// definition parsed back from the archive. nil when the log has no `config.loaded` yet.
    /// A definition missing from the archive (a log written before it existed) is taken from
    /// the jobs loaded now when that job's hash still matches, else left out.
    func definitionsInForce() -> [LoadedJob]? {
        guard let store else { return nil }
        var loads: [Event] = []
        try? store.forEachEvent(matching: EventFilter(type: .configLoaded, order: .oldestFirst)) { loads.append($0) }
        guard !loads.isEmpty else { return nil }
        let hashes = ConfigHistory.hashes(afterReplaying: loads)
        let zones = configuration.zones
        var result: [LoadedJob] = []
        for (name, prefix) in hashes.sorted(by: { $0.key < $1.key }) {
            if let current = state.jobs[name], current.hash?.hasPrefix(prefix) == true {
                result.append(current)
                continue
            }
            guard let archived = store.definition(of: name, hashPrefix: prefix, zones: { zones.rules(for: $0) }) else {
                output(.problem("the definition of \(name) in force before this start (\(prefix)) is not archived; its missed slots are not computed"))
                continue
            }
            result.append(LoadedJob(definition: archived.definition, hash: archived.hash))
        }
        return result
    }

    /// Since when the log has listed each rejected job file (before this start writes anything).
    func rejectedEarlier() -> [JobName: EventTime] {
        guard let store else { return [:] }
        var loads: [Event] = []
        try? store.forEachEvent(matching: EventFilter(type: .configLoaded, order: .oldestFirst)) { loads.append($0) }
        return ConfigHistory.rejectedSince(afterReplaying: loads)
    }
}

/// Which definition of each job was loaded, from the log alone: a start's `config.loaded`
/// lists every job (`jobs = name=hash,…`), a reload's lists `added`, `changed`, `removed`.
public enum ConfigHistory {
    /// Job name → the 12-digit hash prefix in force after `loads` (oldest first).
    public static func hashes(afterReplaying loads: [Event]) -> [JobName: String] {
        var current: [JobName: String] = [:]
        for load in loads { apply(load, to: &current) }
        return current
    }

    /// One `config.loaded` applied to the jobs loaded before it.
    public static func apply(_ load: Event, to current: inout [JobName: String]) {
        guard load.type == .configLoaded else { return }
        let lists = ConfigLoadDetails(load.details)
        if let reload = lists.reload {
            for (name, hash) in reload.added.hashes + reload.changed.hashes { current[name] = hash }
            for (name, _) in reload.removed.hashes { current[name] = nil }
        } else {
            current = [:]
            for (name, hash) in lists.jobs.hashes { current[name] = hash }
        }
    }

    /// Each job whose file the daemon's latest load rejected (`config.loaded` `rejected`), and
    /// since when: the first `config.loaded` of the unbroken run of loads that listed it.
    public static func rejectedSince(afterReplaying loads: [Event]) -> [JobName: EventTime] {
        var since: [JobName: EventTime] = [:]
        for load in loads where load.type == .configLoaded {
            let names = Set(ConfigLoadDetails(load.details).rejected.compactMap { try? JobName($0) })
            since = since.filter { names.contains($0.key) }
            for name in names where since[name] == nil { since[name] = load.time }
        }
        return since
    }
}

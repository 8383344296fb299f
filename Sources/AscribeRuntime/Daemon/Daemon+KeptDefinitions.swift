import AscribeCore

/// A job file that does not load, as the daemon last read it (docs/DAEMON.md, "Definitions in
/// force"): its errors, since when, and the definition kept in force instead, if any.
struct FileRejection {
    var path: String
    /// The job the file would define (its stem), when that is a valid job name.
    var job: JobName?
    /// Its errors, by line.
    var problems: [JobFileDiagnostic]
    var since: Instant
    /// The hash of the last good definition kept in force; nil when the job is not loaded.
    var keptHash: String?
}

extension Daemon {
    /// At start: a job whose file exists but does not load, and which the log says was in
    /// force before (`inForce`, replayed from `config.loaded` and read back from the archive),
    /// stays loaded from that definition, as a reload keeps it. A deleted file has no error,
    /// so its job is not kept.
    func keptAtStart(_ load: JobDirectoryLoad, inForce: [LoadedJob]?) -> [JobName: LoadedJob] {
        let previous = Dictionary((inForce ?? []).map { ($0.definition.name, $0) }) { first, _ in first }
        var kept: [JobName: LoadedJob] = [:]
        for diagnostic in load.diagnostics where diagnostic.severity == .error {
            guard let name = try? JobName(JobFile.stem(of: diagnostic.path)), jobs[name] == nil,
                  let job = previous[name] else { continue }
            kept[name] = job
        }
        return kept
    }

    /// Records what the latest load rejected, keeping `since` for files still rejected (at
    /// start, `earlier`: since when the log has listed them).
    func noteRejections(_ load: JobDirectoryLoad, kept: Set<JobName>, now: Instant, earlier: [JobName: EventTime] = [:]) {
        var next: [String: FileRejection] = [:]
        for diagnostic in load.diagnostics where diagnostic.severity == .error {
            let name = try? JobName(JobFile.stem(of: diagnostic.path))
            var entry = next[diagnostic.path] ?? FileRejection(
                path: diagnostic.path, job: name, problems: [],
                since: rejections[diagnostic.path]?.since ?? name.flatMap { earlier[$0]?.instant } ?? now,
                keptHash: name.flatMap { kept.contains($0) ? jobs[$0]?.hash : nil })
            entry.problems.append(diagnostic)
            next[diagnostic.path] = entry
        }
        rejections = next
    }

    /// Since when the log has listed each rejected job file (before this start writes anything).
    func rejectedEarlier() -> [JobName: EventTime] {
        guard let store else { return [:] }
        var loads: [Event] = []
        try? store.forEachEvent(matching: EventFilter(type: .configLoaded, order: .oldestFirst)) { loads.append($0) }
        return ConfigHistory.rejectedSince(afterReplaying: loads)
    }

    /// `config.loaded` details naming the rejected files' jobs (`rejected`) and those whose last
    /// good definition stays in force (`kept`, `name=hash`), so the log alone says which jobs
    /// run a kept definition (`why`, `identities`, metrics).
    var rejectionDetails: [String: String] {
        let named = rejections.values.compactMap(\.job).sorted()
        let kept = rejections.values.compactMap { rejection in
            rejection.job.flatMap { name in rejection.keptHash.map { (name, $0) } }
        }.sorted { $0.0 < $1.0 }
        return EventDetails([.rejected: JobNameList.encode(named.map(\.rawValue)),
                             .kept: JobHashList(abbreviating: kept.map { ($0.0.rawValue, $0.1) }).encoded])
    }

    /// `status`: each rejected file, its first error, since when, and what runs instead.
    func rejectionsJSON() -> JSONValue {
        .array(rejections.values.sorted { $0.path < $1.path }.map { rejection in
            let first = rejection.problems.first
            return .object([
                ("file", .string(rejection.path)), ("job", .optional(rejection.job?.rawValue)),
                ("line", first.map { .int($0.line) } ?? .null), ("message", .optional(first?.message)),
                ("errors", .int(rejection.problems.count)),
                ("since", .string(EventTime(rejection.since).rfc3339)),
                ("kept_hash", .optional(rejection.keptHash.map(JobHashList.abbreviated))),
            ])
        })
    }
}

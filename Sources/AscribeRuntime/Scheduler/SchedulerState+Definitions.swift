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

/// What a reload did.
enum ReloadOutcome {
    /// A file event that changed no definition (a touch, a save of the same text): nothing recorded.
    case unchanged
    /// Record `drafts` (`config.rejected` for each error, then one `config.loaded`); `summary`
    /// says what happened, in words.
    case reloaded(drafts: [EventDraft], summary: String)
}

extension SchedulerState {
    /// At start: the jobs the directory defines, before any kept definition is added.
    mutating func load(_ load: JobDirectoryLoad) {
        for job in load.jobs {
            jobs[job.name] = LoadedJob(definition: job, hash: load.definitionHashes[job.name], writers: load.writers[job.name])
        }
    }

    /// At start: a job whose file exists but does not load, and which the log says was in
    /// force before (`inForce`, replayed from `config.loaded` and read back from the archive),
    /// stays loaded from that definition, as a reload keeps it. A deleted file has no error,
    /// so its job is not kept. `earlier`: since when the log has listed each rejected file.
    /// Returns the kept jobs.
    mutating func keepAtStart(_ load: JobDirectoryLoad, inForce: [LoadedJob]?, earlier: [JobName: EventTime],
                              now: Instant) -> [JobName: LoadedJob] {
        let previous = Dictionary((inForce ?? []).map { ($0.definition.name, $0) }) { first, _ in first }
        var kept: [JobName: LoadedJob] = [:]
        for diagnostic in load.diagnostics where diagnostic.severity == .error {
            guard let name = try? JobName(JobFile.stem(of: diagnostic.path)), jobs[name] == nil,
                  let job = previous[name] else { continue }
            kept[name] = job
        }
        jobs.merge(kept) { current, _ in current }
        noteRejections(load, kept: Set(kept.keys), now: now, earlier: earlier)
        return kept
    }

    /// A start's `config.loaded` (every job with its hash) and a `config.rejected` per error.
    func startDrafts(_ load: JobDirectoryLoad, kept: [JobName: LoadedJob], now: Instant) -> [EventDraft] {
        var loaded = schedulerDraft(.configLoaded, at: now)
        loaded.reason = "loaded \(jobs.count) job(s) from \(settings.jobsDirectory)"
        let loadedList = JobHashList(abbreviating: definitions.map { ($0.name.rawValue, jobs[$0.name]?.hash) })
        loaded.details = EventDetails([.directory: settings.jobsDirectory, .jobs: loadedList.encoded,
                                       .writers: Self.writerList(jobs)])
        loaded.details.merge(rejectionDetails) { $1 }
        let rejected = load.diagnostics.filter { $0.severity == .error }.map { diagnostic in
            var draft = rejection(diagnostic, at: now)
            if let name = try? JobName(JobFile.stem(of: diagnostic.path)), let job = kept[name] {
                draft.job = name.rawValue
                draft.details[.kept] = "the last good definition (\(job.hash.map(JobHashList.abbreviated) ?? "-")) stays in force"
            }
            return draft
        }
        return [loaded] + rejected
    }

    /// A reload read `load`: valid files replace their jobs; a file with errors gets
    /// `config.rejected` (file:line and message) and the job's previous definition stays in
    /// force; jobs whose file is gone are removed. One `config.loaded` names what was added,
    /// changed and removed, with definition hashes. `signal`, `fileChange`, `requestedBy`: what
    /// caused it, said in its reason (the requester is also its principal).
    mutating func reload(_ load: JobDirectoryLoad, now: Instant, signal: String?, fileChange: String?,
                         requestedBy: Requester?) -> ReloadOutcome {
        var rejected: [EventDraft] = []
        var keptByRejection = Set<JobName>()
        for diagnostic in load.diagnostics where diagnostic.severity == .error {
            var draft = rejection(diagnostic, at: now)
            if let name = try? JobName(JobFile.stem(of: diagnostic.path)), jobs[name] != nil {
                draft.job = name.rawValue
                draft.details[.kept] = "the previous definition stays in force"
                keptByRejection.insert(name)
            }
            rejected.append(draft)
        }
        var next: [JobName: LoadedJob] = [:]
        for job in load.jobs { next[job.name] = LoadedJob(definition: job, hash: load.definitionHashes[job.name], writers: load.writers[job.name]) }
        for name in keptByRejection where next[name] == nil { next[name] = jobs[name] }
        let added = next.keys.filter { jobs[$0] == nil }.sorted()
        let removed = jobs.keys.filter { next[$0] == nil }.sorted()
        let changed = next.keys.filter { name in jobs[name].map { $0.hash != next[name]?.hash } ?? false }.sorted()
        func listed(_ names: [JobName]) -> String {
            JobHashList(abbreviating: names.map { ($0.rawValue, next[$0]?.hash ?? jobs[$0]?.hash) }).encoded
        }
        if fileChange != nil && rejected.isEmpty && rejections.isEmpty && added.isEmpty && removed.isEmpty && changed.isEmpty {
            return .unchanged
        }
        var loaded = schedulerDraft(.configLoaded, at: now)
        loaded.reason = "reloaded \(settings.jobsDirectory)" + (signal.map { " on \($0)" } ?? "")
            + (fileChange.map { " on file change: \($0)" } ?? "")
            + (requestedBy.map { " at the request of \($0.principal)" } ?? "")
        loaded.details = EventDetails([.directory: settings.jobsDirectory, .jobs: String(next.count),
                                       .added: listed(added), .changed: listed(changed), .removed: listed(removed),
                                       .writers: Self.writerList(next)])
        jobs = next
        noteRejections(load, kept: keptByRejection, now: now)
        loaded.details.merge(rejectionDetails) { $1 }
        replan()
        for name in removed { dropQueue(of: name) }
        let drafts = (rejected + [loaded]).map { requestedBy?.attributed($0) ?? $0 }
        func names(_ list: [JobName]) -> String { list.isEmpty ? "none" : list.map(\.rawValue).joined(separator: ", ") }
        let summary = "\(next.count) job(s) loaded; added \(names(added)); changed \(names(changed)); removed \(names(removed))"
            + (rejected.isEmpty ? "" : "; \(rejected.count) problem(s) rejected, previous definitions kept (see config.rejected)")
        return .reloaded(drafts: drafts, summary: summary)
    }

    /// Records what the latest load rejected, keeping `since` for files still rejected (at
    /// start, `earlier`: since when the log has listed them).
    mutating func noteRejections(_ load: JobDirectoryLoad, kept: Set<JobName>, now: Instant, earlier: [JobName: EventTime] = [:]) {
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

    /// `config.loaded`'s `writers`: `job=owner(uid)` for each job, `+` every other non-root
    /// account that can change its file (PRODUCT.md §7), in job order.
    static func writerList(_ jobs: [JobName: LoadedJob]) -> String {
        jobs.keys.sorted().compactMap { name in jobs[name]?.writers.map { "\(name)=\($0.listEntry)" } }.joined(separator: ",")
    }

    /// A `config.rejected` for one loading error.
    func rejection(_ diagnostic: JobFileDiagnostic, at now: Instant) -> EventDraft {
        var draft = schedulerDraft(.configRejected, at: now)
        draft.configSource = "\(diagnostic.path):\(diagnostic.line)"
        draft.reason = diagnostic.message
        return draft
    }

    /// Each enabled calendar job's next slot after what has been processed, and how many jobs
    /// have none (disabled, `@reboot`, never firing).
    func nextSlots() -> (slots: [NextSlotsText.Slot], notScheduled: Int) {
        var slots: [NextSlotsText.Slot] = []
        var notScheduled = 0
        for definition in definitions {
            let zone = definition.timezone ?? settings.defaultZone
            guard definition.enabled, disablements.blocking(definition) == nil, case .calendar(let expression) = definition.schedule,
                  let next = expression.nextFire(after: lastProcessed, in: zone) else {
                notScheduled += 1
                continue
            }
            slots.append(NextSlotsText.Slot(job: definition.name.rawValue, instant: next.instant, zone: zone))
        }
        return (slots, notScheduled)
    }
}

import AscribeCore
import AscribeSystem

/// Replies owed to the client of a manual run, as the run starts and ends.
struct RunObserver {
    var started: (Int32) -> Void
    var ended: (RunReport) -> Void
}

/// Refusals of one kind from one uid: recorded at most once a minute, the rest counted into the
/// next one, so a flood of refused requests or connections cannot flood the log.
struct RefusalTally {
    /// Whose refusals of which kind (`not-allowed`, `busy`) are counted together.
    struct Key: Hashable {
        var uid: UInt32
        var code: ControlRefusal
    }

    var lastRecorded: Instant
    var unrecorded: Int
}

extension Daemon {
    /// The most `next` entries `status` lists.
    static let statusNextLimit = 20
    static let refusalRecordInterval: Int64 = 60

    /// Starts the control socket when the configuration asks for one, and opens the state
    /// directory to the control group (0710: members can reach the socket, not list or read
    /// anything else; the log and run output stay 0600/0700).
    func startControl() throws(DaemonStartError) {
        guard let access = configuration.control else { return }
        let path = ControlClient.socketPath(stateDirectory: configuration.stateDirectory)
        do {
            control = try ControlServer(path: path, access: access,
                                        handler: { call in Task { await self.handle(call) } },
                                        busy: { busy in Task { await self.recordBusy(busy) } })
            if let group = access.group {
                try SystemCalls.changeOwner(path: configuration.stateDirectory, uid: UInt32.max, gid: group.gid)
                try SystemCalls.changeMode(path: configuration.stateDirectory, 0o710)
            }
        } catch {
            control?.close()
            control = nil
            throw DaemonStartError(description: "control socket: \(error.description)")
        }
    }

    func handle(_ call: ControlServer.Call) {
        guard let control, let access = configuration.control else { return }
        let now = clock.now()
        guard access.allows(call.peer) else {
            recordRefusal(call, now: now, access: access)
            control.reply(to: call.connection, .refused(.notAllowed, message:
                "\(call.peer.userName) may not control this daemon: only \(access.allowedDescription) may"))
            return
        }
        let request: ControlRequest
        switch call.request {
        case .failure(let error):
            control.reply(to: call.connection, .refused(.badRequest, message: error.description))
            return
        case .success(let parsed):
            request = parsed
        }
        switch request {
        case .status:
            control.reply(to: call.connection, .status(statusJSON(now: now)))
        case .disable(let target, let reason):
            control.reply(to: call.connection, setDisabled(true, target, reason: reason, peer: call.peer, now: now))
        case .enable(let target, let reason):
            control.reply(to: call.connection, setDisabled(false, target, reason: reason, peer: call.peer, now: now))
        case .run(let name, let reason, let force):
            runManually(name, reason: reason, force: force, call: call, now: now)
        case .reload(let reason):
            control.reply(to: call.connection, .done(message: reload(requestedBy: (call.peer, reason)), events: []))
        case .rotateKeys(let purpose, let reason):
            control.reply(to: call.connection, rotateKeys(purpose, reason: reason, peer: call.peer, now: now))
        }
    }

    // MARK: Refusals

    private func recordRefusal(_ call: ControlServer.Call, now: Instant, access: ControlAccess) {
        let asked = (try? call.request.get().name) ?? "an unreadable request"
        recordRefusal(.notAllowed, of: call.peer, now: now,
                      reason: "refused \(asked) from \(call.peer.userName): only \(access.allowedDescription) may control the daemon",
                      details: EventDetails([.request: asked]))
    }

    /// A connection the socket's limits turned away, handed over by the socket's thread.
    func recordBusy(_ busy: ControlServer.Busy) {
        recordRefusal(.busy, of: busy.peer, now: clock.now(),
                      reason: "refused a control connection from \(busy.peer.userName): \(busy.refusal.description)",
                      details: EventDetails([.request: "none (refused at connect)", .connectionLimit: busy.refusal.limitName]))
    }

    /// Records a refusal, at most one per uid and kind a minute; the others are counted into
    /// the next one (`refusals_not_recorded_before`).
    private func recordRefusal(_ code: ControlRefusal, of peer: ControlPeer, now: Instant, reason: String, details: [String: String]) {
        let key = RefusalTally.Key(uid: peer.uid, code: code)
        if var tally = refusals[key], now.secondsSinceEpoch - tally.lastRecorded.secondsSinceEpoch < Self.refusalRecordInterval {
            tally.unrecorded += 1
            refusals[key] = tally
            return
        }
        var draft = schedulerDraft(.controlRefused, at: now)
        draft.principal = peer.principal.name
        draft.reason = reason
        draft.details = peer.details.merging(details) { $1 }
        draft.details[.refusal] = code.rawValue
        if let unrecorded = refusals[key]?.unrecorded, unrecorded > 0 {
            draft.details[.refusalsNotRecordedBefore] = String(unrecorded)
        }
        refusals[key] = RefusalTally(lastRecorded: now, unrecorded: 0)
        record([draft])
    }

    // MARK: Disable and enable

    private func setDisabled(_ disable: Bool, _ target: ControlTarget, reason: String, peer: ControlPeer, now: Instant) -> ControlReply {
        let resolved: Disablement.Target
        switch resolve(target, forEnable: !disable) {
        case .success(let found): resolved = found
        case .failure(let refusal): return .refused(refusal.code, message: refusal.message)
        }
        let current = disablements.byTarget[resolved]
        if disable, let current {
            return .done(message: "\(resolved) is already disabled by \(current.by) at \(current.at.rfc3339) (\"\(current.reason)\"); nothing recorded", events: [])
        }
        if !disable && current == nil {
            return .done(message: "\(resolved) is not disabled; nothing recorded", events: [])
        }
        let affected = definitions.filter {
            switch resolved {
            case .job(let name): $0.name.rawValue == name
            case .identity(let name): $0.identity.rawValue == name
            }
        }
        let type: EventType = switch (resolved, disable) {
        case (.identity, true): .identityDisabled
        case (.identity, false): .identityEnabled
        case (.job, true): .jobDisabled
        case (.job, false): .jobEnabled
        }
        var draft = schedulerDraft(type, at: now)
        draft.principal = peer.principal.name
        draft.reason = reason
        switch resolved {
        case .identity(let name): draft.identity = name
        case .job(let name):
            draft.job = name
            draft.identity = affected.first?.identity.rawValue
        }
        draft.owner = affected.first?.owner.text
        draft.details = peer.details.merging(EventDetails([.jobs: affected.map(\.name.rawValue).joined(separator: ",")])) { $1 }
        if disable {
            let running = affected.flatMap { active[$0.name] ?? [] }
            if !running.isEmpty { draft.details[.runningRunsContinue] = running.joined(separator: ",") }
        }
        guard let store else { return .refused(.stopping, message: "the daemon has no event store open") }
        let event: Event
        do {
            event = try store.append(draft)
        } catch {
            output(.problem("could not record \(type.rawValue): \(error.description)"))
            return .refused(.notRun, message: "\(type.rawValue) could not be recorded, so nothing changed: \(error.description)")
        }
        disablements.apply(event)
        if disable { skipQueued(of: affected, now: now) }
        let verb = disable ? "disabled" : "enabled"
        let scope = affected.isEmpty ? "no loaded job" : affected.map(\.name.rawValue).joined(separator: ", ")
        return .done(message: "\(resolved) \(verb) (affects \(scope)); recorded as seq \(event.seq)", events: [RenderedEvent(event)])
    }

    struct TargetRefusal: Error {
        var code: ControlRefusal
        var message: String
    }

    /// The job or identity a request names. Enable also accepts a name that is disabled but
    /// no longer loaded, so a removed job's switch can still be turned back.
    private func resolve(_ target: ControlTarget, forEnable: Bool) -> Result<Disablement.Target, TargetRefusal> {
        let name = target.name
        let isJob = (try? JobName(name)).map { jobs[$0] != nil } ?? false
        let isIdentity = jobs.values.contains { $0.definition.identity.rawValue == name }
        let disabledJob = forEnable && disablements.byTarget[.job(name)] != nil
        let disabledIdentity = forEnable && disablements.byTarget[.identity(name)] != nil
        switch target.kind {
        case .job?:
            if isJob || disabledJob { return .success(.job(name)) }
        case .identity?:
            if isIdentity || disabledIdentity { return .success(.identity(name)) }
        case nil:
            let asJob = isJob || disabledJob
            let asIdentity = isIdentity || disabledIdentity
            // The usual layout, one identity per automation: the job and its only identity
            // share the name; the identity is meant (it also covers the job's future runs).
            let identityJobs = jobs.values.filter { $0.definition.identity.rawValue == name }
            if asJob && asIdentity && identityJobs.count == 1 && identityJobs[0].definition.name.rawValue == name {
                return .success(.identity(name))
            }
            if asJob && asIdentity {
                return .failure(TargetRefusal(code: .ambiguousTarget, message:
                    "\"\(name)\" is both a job and an identity; say which with --job or --identity"))
            }
            if asJob { return .success(.job(name)) }
            if asIdentity { return .success(.identity(name)) }
        }
        let kind = target.kind.map { "\($0.rawValue) " } ?? "job or identity "
        return .failure(TargetRefusal(code: .unknownTarget, message: "no \(kind)\"\(name)\" is loaded from \(configuration.jobsDirectory)"))
    }

    /// Queued slots of jobs that were just disabled are skipped now rather than started later.
    func skipQueued(of affected: [JobDefinition], now: Instant) {
        var skipped: [EventDraft] = []
        for definition in affected {
            guard let job = jobs[definition.name], let queue = pending.removeValue(forKey: definition.name),
                  let blocked = disablements.blocking(definition) else { continue }
            for run in queue {
                skipped.append(skipDraft(job: job, slot: run.slot, reason: blocked.skipReason,
                                         details: run.details.merging(blocked.skipDetails) { $1 }, at: now))
            }
        }
        record(skipped)
    }

    // MARK: Manual runs

    private func runManually(_ name: String, reason: String?, force: Bool, call: ControlServer.Call, now: Instant) {
        guard let control else { return }
        guard !stopping else {
            control.reply(to: call.connection, .refused(.stopping, message: "the daemon is stopping; nothing new starts"))
            return
        }
        guard let jobName = try? JobName(name), let job = jobs[jobName] else {
            control.reply(to: call.connection, .refused(.unknownTarget, message: "no job \"\(name)\" is loaded from \(configuration.jobsDirectory)"))
            return
        }
        // Forcing past the rules is root's alone, like `ascribe run --force` without a daemon.
        guard !force || call.peer.uid == 0 else {
            var draft = schedulerDraft(.controlRefused, at: now)
            draft.principal = call.peer.principal.name
            draft.job = job.definition.name.rawValue
            draft.identity = job.definition.identity.rawValue
            draft.reason = "refused a forced run of \(jobName) from \(call.peer.userName): only root may force a run"
            draft.details = call.peer.details.merging(EventDetails([.request: "run", .force: DetailFlag.yes.rawValue])) { $1 }
            record([draft])
            control.reply(to: call.connection, .refused(.notAllowed, message: "only root may force a run (--force)"))
            return
        }
        var details = call.peer.details
        details.trigger = .manual
        // The same rules as a slot (RunDecision); a manual run never waits, so a queue is a refusal too.
        let decision = decide(job).forManualRun(of: job.definition)
        if force {
            details[.forced] = DetailFlag.yes.rawValue
            if let refusal = decision.refusal { details.merge(refusal.overriddenDetails) { $1 } }
        } else if let refusal = decision.refusal {
            var draft = skipDraft(job: job, slot: nil, reason: "manual run not started: " + refusal.reason,
                                  details: details.merging(refusal.details) { $1 }, at: now)
            draft.principal = call.peer.principal.name
            // Through record(): during a store outage the skip is held and written once the store is back.
            for event in record([draft]) { control.reply(to: call.connection, .runEvent(RenderedEvent(event))) }
            control.reply(to: call.connection, .refused(.notRun, message: draft.reason ?? ""))
            return
        }
        let connection = call.connection
        let caller = call.peer.uid
        let runID = RandomIdentifier.hex128()
        observers[runID] = RunObserver(
            started: { pid in control.reply(to: connection, .runStarted(runID: runID, pid: pid)) },
            ended: { report in
                // Outcomes for every caller; output only for root and the run's own user.
                let visibility = RunOutputVisibility.decide(caller: caller, report: report)
                for event in report.events { control.reply(to: connection, .runEvent(visibility.rendered(event))) }
                var message = report.summary(job: jobName)
                if case .withheld(let why) = visibility { message += "; " + why }
                control.reply(to: connection, .runEnded(succeeded: report.succeeded, message: message))
            })
        dispatch([(job, PendingRun(slot: nil, reason: reason, details: details, principal: call.peer.principal, runID: runID))])
    }

    // MARK: Status

    func statusJSON(now: Instant) -> JSONValue {
        func time(_ instant: Instant?) -> JSONValue { instant.map { .string(EventTime($0).rfc3339) } ?? .null }
        let running: [JSONValue] = active.keys.sorted().flatMap { name in
            (active[name] ?? []).map { runID -> JSONValue in
                let job = jobs[name]?.definition
                let adoptedRun = adopted[runID]
                let trigger = adoptedRun.map { $0.fired.details[.trigger] ?? Trigger.schedule.rawValue }
                    ?? (observers[runID] == nil ? Trigger.schedule : .manual).rawValue
                return .object([
                    ("run_id", .string(runID)), ("job", .string(name.rawValue)),
                    ("identity", .optional(job?.identity.rawValue ?? adoptedRun?.fired.identity)),
                    ("pid", (processGroups[runID] ?? adoptedRun?.pids.first).map { .int(Int64($0)) } ?? .null),
                    ("scheduled_for", time(runSlots[runID] ?? nil)),
                    ("trigger", .string(trigger)),
                    // Started by a daemon that died; this one watches its processes (Daemon+Adoption.swift).
                    ("adopted_at", time(adoptedRun?.adoptedAt)),
                    ("adopted_pids", adoptedRun.map { .array($0.pids.map { .int(Int64($0)) }) } ?? .null),
                ])
            }
        }
        let queued: [JSONValue] = pending.keys.sorted().flatMap { name in
            (pending[name] ?? []).map { .object([("job", .string(name.rawValue)), ("scheduled_for", time($0.slot))]) }
        }
        var upcoming: [(Instant, JobDefinition)] = []
        for definition in definitions where definition.enabled && disablements.blocking(definition) == nil {
            if case .calendar(let expression) = definition.schedule,
               let next = expression.nextFire(after: lastProcessed, in: definition.timezone ?? configuration.defaultZone)?.instant {
                upcoming.append((next, definition))
            }
        }
        upcoming.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1.name.rawValue < $1.1.name.rawValue) }
        let next: [JSONValue] = upcoming.prefix(Self.statusNextLimit).map { slot, definition in
            .object([("job", .string(definition.name.rawValue)), ("identity", .string(definition.identity.rawValue)),
                     ("at", time(slot))])
        }
        let fileDisabled: [JSONValue] = definitions.filter { !$0.enabled }.map { definition in
            .object([("kind", .string("job")), ("name", .string(definition.name.rawValue)),
                     ("by", .string(RunDecision.enabledSource(of: definition))),
                     ("at", .null), ("reason", .string("enabled = no in its job file")), ("seq", .null)])
        }
        let disabled: [JSONValue] = disablements.all.map { entry in
            .object([("kind", .string(entry.target.kind.rawValue)), ("name", .string(entry.target.name)),
                     ("by", .string(entry.by)), ("at", .string(entry.at.rfc3339)), ("reason", .string(entry.reason)),
                     ("seq", .int(entry.seq))])
        } + fileDisabled
        return .object([
            ("host", .string(configuration.host)), ("pid", .int(Int64(SystemCalls.processID))), ("started", time(startedAt)),
            ("now", time(now)), ("development", .bool(configuration.development)),
            ("jobs_directory", .string(configuration.jobsDirectory)), ("jobs", .int(jobs.count)),
            ("control_group", .optional(configuration.control?.group?.name)),
            ("stopping", .bool(stopping)), ("store_problem", storeProblemJSON()),
            ("running", .array(running)), ("queued", .array(queued)), ("next", .array(next)),
            ("disabled", .array(disabled)), ("rejected_files", rejectionsJSON()),
        ])
    }
}

import AscribeCore
import AscribeSystem

/// Replies owed to the client of a manual run, as the run starts and ends.
struct RunObserver {
    var started: (Int32) -> Void
    var ended: (RunReport) -> Void
}

/// What the daemon holds for a run in progress besides the scheduler's record (`ActiveRun`):
/// I/O handles, which the pure state does not keep.
enum RunHandle {
    /// The control client of a manual run, owed its replies.
    case client(RunObserver)
    /// The watch on the processes of a run a dead daemon started (Daemon+Adoption.swift).
    case survivors(SurvivorWatch)
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
        guard let access = configuration.control, let reactor else { return }
        let path = ControlClient.socketPath(stateDirectory: configuration.stateDirectory)
        do {
            control = try ControlServer(path: path, access: access, reactor: reactor,
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
        var draft = state.schedulerDraft(.controlRefused, at: now)
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
        let draft: EventDraft
        let resolved: Disablement.Target
        let affected: [JobDefinition]
        switch state.disablementChange(disable: disable, target, reason: reason, requester: Requester(peer: peer), now: now) {
        case .unchanged(let message): return .done(message: message, events: [])
        case .refused(let code, let message): return .refused(code, message: message)
        case .record(let change, let target, let jobs): (draft, resolved, affected) = (change, target, jobs)
        }
        guard let store else { return .refused(.stopping, message: "the daemon has no event store open") }
        let event: Event
        do {
            event = try store.append(draft)
        } catch {
            output(.problem("could not record \(draft.type.rawValue): \(error.description)"))
            return .refused(.notRun, message: "\(draft.type.rawValue) could not be recorded, so nothing changed: \(error.description)")
        }
        perform(state.applyDisablement(event, affected: affected, now: now), now: now)
        let verb = disable ? "disabled" : "enabled"
        let scope = affected.isEmpty ? "no loaded job" : affected.map(\.name.rawValue).joined(separator: ", ")
        return .done(message: "\(resolved) \(verb) (affects \(scope)); recorded as seq \(event.seq)", events: [RenderedEvent(event)])
    }

    // MARK: Manual runs

    private func runManually(_ name: String, reason: String?, force: Bool, call: ControlServer.Call, now: Instant) {
        guard let control else { return }
        guard !state.stopping else {
            control.reply(to: call.connection, .refused(.stopping, message: "the daemon is stopping; nothing new starts"))
            return
        }
        guard let jobName = try? JobName(name), let job = state.jobs[jobName] else {
            control.reply(to: call.connection, .refused(.unknownTarget, message: "no job \"\(name)\" is loaded from \(configuration.jobsDirectory)"))
            return
        }
        // Forcing past the rules is root's alone, like `ascribe run --force` without a daemon.
        guard !force || call.peer.uid == 0 else {
            var draft = state.schedulerDraft(.controlRefused, at: now)
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
        let decision = state.decideManualRun(of: job)
        if force {
            details[.forced] = DetailFlag.yes.rawValue
            if let refusal = decision.refusal { details.merge(refusal.overriddenDetails) { $1 } }
        } else if let refusal = decision.refusal {
            var draft = state.skipDraft(job: job, slot: nil, reason: "manual run not started: " + refusal.reason,
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
        handles[runID] = .client(RunObserver(
            started: { pid in control.reply(to: connection, .runStarted(runID: runID, pid: pid)) },
            ended: { report in
                // Outcomes for every caller; output only for root and the run's own user.
                let visibility = RunOutputVisibility.decide(caller: caller, report: report)
                for event in report.events { control.reply(to: connection, .runEvent(visibility.rendered(event))) }
                var message = report.summary(job: jobName)
                if case .withheld(let why) = visibility { message += "; " + why }
                control.reply(to: connection, .runEnded(succeeded: report.succeeded, message: message))
            }))
        perform([state.launch([JobRun(job: job, run: PendingRun(slot: nil, reason: reason, details: details,
                                                                principal: call.peer.principal, runID: runID))])], now: now)
    }

    // MARK: Status

    func statusJSON(now: Instant) -> JSONValue {
        func time(_ instant: Instant?) -> JSONValue { instant.map { .string(EventTime($0).rfc3339) } ?? .null }
        let active = state.active
        let definitions = state.definitions
        let running: [JSONValue] = active.byJob.keys.sorted().flatMap { name in
            active.of(name).compactMap { runID -> JSONValue? in
                guard let run = active[runID] else { return nil }
                let job = state.jobs[name]?.definition
                let adoption = run.adoption
                let trigger = adoption.map { $0.fired.details[.trigger] ?? Trigger.schedule.rawValue }
                    ?? (run.manual ? Trigger.manual : .schedule).rawValue
                return .object([
                    ("run_id", .string(runID)), ("job", .string(name.rawValue)),
                    ("identity", .optional(job?.identity.rawValue ?? adoption?.fired.identity)),
                    ("pid", (run.processGroup ?? adoption?.pids.first).map { .int(Int64($0)) } ?? .null),
                    ("scheduled_for", time(run.slot)),
                    ("trigger", .string(trigger)),
                    // Started by a daemon that died; this one watches its processes (Daemon+Adoption.swift).
                    ("adopted_at", time(adoption?.adoptedAt)),
                    ("adopted_pids", adoption.map { .array($0.pids.map { .int(Int64($0)) }) } ?? .null),
                ])
            }
        }
        let queued: [JSONValue] = state.pending.keys.sorted().flatMap { name in
            (state.pending[name] ?? []).map { .object([("job", .string(name.rawValue)), ("scheduled_for", time($0.slot))]) }
        }
        var upcoming: [(Instant, JobDefinition)] = []
        for definition in definitions where definition.enabled && state.disablements.blocking(definition) == nil {
            if case .calendar(let expression) = definition.schedule,
               let next = expression.nextFire(after: state.lastProcessed, in: definition.timezone ?? configuration.defaultZone)?.instant {
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
        let disabled: [JSONValue] = state.disablements.all.map { entry in
            .object([("kind", .string(entry.target.kind.rawValue)), ("name", .string(entry.target.name)),
                     ("by", .string(entry.by)), ("at", .string(entry.at.rfc3339)), ("reason", .string(entry.reason)),
                     ("seq", .int(entry.seq))])
        } + fileDisabled
        return .object([
            ("host", .string(configuration.host)), ("pid", .int(Int64(SystemCalls.processID))), ("started", time(startedAt)),
            ("now", time(now)), ("development", .bool(configuration.development)),
            ("jobs_directory", .string(configuration.jobsDirectory)), ("jobs", .int(state.jobs.count)),
            ("control_group", .optional(configuration.control?.group?.name)),
            ("stopping", .bool(state.stopping)), ("store_problem", storeProblemJSON()),
            ("running", .array(running)), ("queued", .array(queued)), ("next", .array(next)),
            ("disabled", .array(disabled)), ("rejected_files", rejectionsJSON()),
        ])
    }

    /// `status`: each rejected file, its first error, since when, and what runs instead.
    private func rejectionsJSON() -> JSONValue {
        .array(state.rejections.values.sorted { $0.path < $1.path }.map { rejection in
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

extension Requester {
    /// The caller on the control socket, as events record them (the evidence looks names up).
    init(peer: ControlPeer, reason: String? = nil) {
        self.init(principal: peer.principal.name, details: peer.details, reason: reason)
    }
}

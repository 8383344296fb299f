import AscribeCore
import Dispatch
import Synchronization

/// A run's identity tokens as issued at launch: the files it finds, and the events that
/// record them once its `run.fired` is known.
struct LaunchTokens {
    var issued: [(request: TokenRequest, token: IssuedToken)] = []

    var files: [LaunchRequest.GeneratedCredential] {
        issued.map { LaunchRequest.GeneratedCredential(name: $0.request.fileName, bytes: Array(($0.token.compact + "\n").utf8)) }
    }

    /// What keeps them fresh while the run lasts.
    func refreshEntry(fired: EventDraft, launch: PreparedLaunch) -> TokenRefresh.Run? {
        guard !issued.isEmpty, let directory = launch.credentialsDirectory else { return nil }
        return TokenRefresh.Run(directory: directory, account: launch.account, subject: RunExecution.tokenSubject(fired), fired: fired,
                                tokens: issued.map { TokenRefresh.Token(request: $0.request, issued: $0.token) })
    }

    /// One `credential.issued` per token, after `fired` (which by then names the run's account).
    func events(_ fired: EventDraft) -> [EventDraft] {
        issued.map { TokenAuthority.issuedDraft($0.token, name: $0.request.name.rawValue, fired: fired, at: fired.time) }
    }
}

extension RunExecution {
    /// Refreshes due tokens until no run holds one any more (or the task is cancelled), then
    /// wakes the recording loop to write their events.
    static func keepFresh(_ refresh: TokenRefresh, now: @escaping @Sendable () -> EventTime,
                          wake: AsyncStream<Void>.Continuation) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled, let due = refresh.nextDue() {
                let wait = due.secondsSinceEpoch - now().instant.secondsSinceEpoch
                if wait > 0 {
                    do { try await Task.sleep(for: .seconds(wait)) } catch { return }
                }
                refresh.refresh(now: now().instant)
                wake.yield()
            }
        }
    }

    /// Signs the tokens `job` asks for, with the claims `fired` records (PRODUCT.md §8).
    func issueTokens(for job: JobDefinition, fired: EventDraft) throws(LaunchFailure) -> LaunchTokens {
        guard let first = job.tokens.first else { return LaunchTokens() }
        guard let authority = environment.tokens else {
            throw .tokenUnavailable(name: first.name.rawValue, reason: "no token issuer is configured; start the daemon with --issuer URL, or give `ascribe run` --issuer (docs/TOKENS.md)")
        }
        let subject = Self.tokenSubject(fired)
        let tokens = try authority.issue(job.tokens, for: subject, at: fired.time.instant)
        return LaunchTokens(issued: Array(zip(job.tokens, tokens)))
    }

    /// The tokens of a batch of runs (`runs[i]`'s at index i), signed on every core at once.
    /// Signing is CPU work done before the batch's `run.fired` commit, so one signature after
    /// another delays every run of a burst by their sum: 0.3–0.6 ms per RS256 signature here,
    /// up to 0.6 s for 1,000 runs (issue 13 item 5, BENCHMARKS.md).
    func issueTokens(for runs: [(job: JobDefinition, fired: EventDraft)]) -> [Result<LaunchTokens, LaunchFailure>] {
        guard let authority = environment.tokens, runs.lazy.filter({ !$0.job.tokens.isEmpty }).count > 1 else {
            return runs.map { run in Result { () throws(LaunchFailure) in try issueTokens(for: run.job, fired: run.fired) } }
        }
        let work = runs.map { (requests: $0.job.tokens, subject: Self.tokenSubject($0.fired), at: $0.fired.time.instant) }
        let signed = Mutex<[Result<[IssuedToken], LaunchFailure>]>(Array(repeating: .success([]), count: work.count))
        DispatchQueue.concurrentPerform(iterations: work.count) { index in
            let run = work[index]
            guard !run.requests.isEmpty else { return }
            let result = Result { () throws(LaunchFailure) in try authority.issue(run.requests, for: run.subject, at: run.at) }
            signed.withLock { $0[index] = result }
        }
        return signed.withLock { results in
            zip(work, results).map { run, result in result.map { LaunchTokens(issued: Array(zip(run.requests, $0))) } }
        }
    }

    /// The claims of a run's tokens, from its `run.fired`: what the token says is what the log says.
    static func tokenSubject(_ fired: EventDraft) -> TokenSubject {
        TokenSubject(identity: fired.identity ?? "", job: fired.job ?? "", owner: fired.owner ?? "",
                     principal: fired.principal, trigger: fired.details[.trigger] ?? Trigger.schedule.rawValue,
                     scheduledFor: fired.scheduledFor?.rfc3339, host: fired.host, configHash: fired.configHash,
                     runID: fired.runID ?? "")
    }
}

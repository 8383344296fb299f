import AscribeCore
import AscribeSystem
import Synchronization

/// Keeps the tokens of running runs fresh (PRODUCT.md §8): once 80 % of a token's life has
/// passed, a new one is signed and renamed over the old file, and the issue is recorded as
/// `credential.issued`. Its own type, so the run loop only asks it when it is next due, lets
/// it refresh, and tells it when a run ends.
final class TokenRefresh: Sendable {
    struct Token: Sendable {
        var request: TokenRequest
        var issued: IssuedToken
        /// After a failed refresh: not tried again before this.
        var retryAfter: Instant?
    }

    /// How long a failed refresh waits before the next try.
    static let retryDelay: Int64 = 30

    struct Run: Sendable {
        var directory: String
        var account: ResolvedAccount
        var subject: TokenSubject
        /// The run's `run.fired`, which its `credential.issued` events repeat.
        var fired: EventDraft
        var tokens: [Token]
    }

    let authority: TokenAuthority
    private let state = Mutex<(runs: [String: Run], drafts: [EventDraft], problems: [String: String])>(([:], [], [:]))

    init(authority: TokenAuthority) {
        self.authority = authority
    }

    func add(runID: String, _ run: Run) {
        state.withLock { $0.runs[runID] = run }
    }

    /// The run has ended: its directory is about to go, and nothing more is written into it.
    func remove(runID: String) {
        state.withLock { _ = $0.runs.removeValue(forKey: runID) }
    }

    var isEmpty: Bool { state.withLock { $0.runs.isEmpty } }

    /// The earliest moment some token is due; nil when no run holds one.
    func nextDue() -> Instant? {
        state.withLock { state in
            state.runs.values.flatMap { run in run.tokens.map(self.dueTime) }.min()
        }
    }

    /// 80 % of the token's own life (not the current lifetime setting, which a restart could
    /// change), or later after a failed try.
    private func dueTime(_ token: Token) -> Instant {
        let issued = token.issued
        let life = issued.expires.secondsSinceEpoch - issued.issuedAt.secondsSinceEpoch
        let due = issued.issuedAt.adding(seconds: Int64((Double(life) * TokenIssuer.refreshFraction).rounded(.down)))
        return max(due, token.retryAfter ?? due)
    }

    /// Replaces every token due at `now` in its run's directory; the events and any problems
    /// wait in `take()`.
    func refresh(now: Instant) {
        let due = state.withLock { state in state.runs.filter { $0.value.tokens.contains { self.dueTime($0) <= now } } }
        for (runID, run) in due {
            var updated = run.tokens
            var drafts: [EventDraft] = []
            var problem: String?
            for (index, token) in run.tokens.enumerated() where dueTime(token) <= now {
                let fresh: IssuedToken
                do throws(LaunchFailure) {
                    guard let issued = try authority.issue([token.request], for: run.subject, at: now).first else { continue }
                    fresh = issued
                } catch {
                    problem = error.description
                    updated[index].retryAfter = now.adding(seconds: Self.retryDelay)
                    continue
                }
                do throws(SystemError) {
                    try CredentialStaging.replace(Array((fresh.compact + "\n").utf8), named: token.request.fileName,
                                                  in: run.directory, owner: run.account)
                } catch {
                    problem = "cannot replace \(token.request.fileName) in \(run.directory): \(error)"
                    updated[index].retryAfter = now.adding(seconds: Self.retryDelay)
                    continue
                }
                updated[index] = Token(request: token.request, issued: fresh)
                drafts.append(TokenAuthority.issuedDraft(fresh, name: token.request.name.rawValue, fired: run.fired, at: EventTime(now)))
            }
            state.withLock { state in
                // A run that ended meanwhile stays removed.
                if state.runs[runID] != nil { state.runs[runID]?.tokens = updated }
                state.drafts += drafts
                if let problem { state.problems[runID] = problem }
            }
        }
    }

    /// The `credential.issued` drafts of the refreshes so far, each once.
    func takeDrafts() -> [EventDraft] {
        state.withLock { state in
            defer { state.drafts = [] }
            return state.drafts
        }
    }

    /// The last refresh problem of a run that has ended (for its terminal event), once.
    func takeProblem(runID: String) -> String? {
        state.withLock { $0.problems.removeValue(forKey: runID) }
    }
}

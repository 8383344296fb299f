import AscribeCore
import Synchronization

/// What the scheduler needs to give runs their tokens: the issuer URL, the lifetime, and the
/// key store, whose active token key changes when a rotation takes effect.
///
/// Shared by the daemon (which swaps in the store after `keys rotate`) and every run it starts.
public final class TokenAuthority: Sendable {
    public let issuer: String
    public let lifetime: Int64
    private let state: Mutex<(store: KeyStore, signer: TokenIssuer?)>

    public init(issuer: String, lifetime: Int64, store: KeyStore) {
        self.issuer = issuer
        self.lifetime = lifetime
        self.state = Mutex((store, nil))
    }

    public var store: KeyStore {
        state.withLock { $0.store }
    }

    /// After a rotation: tokens are signed with whatever key this store makes active.
    public func replaceStore(_ store: KeyStore) {
        state.withLock { $0 = (store, nil) }
    }

    /// The signer for `now`: the store's active token key, read from its file once per key.
    public func signer(at now: Instant) throws(KeyStoreError) -> TokenIssuer {
        let (store, cached) = state.withLock { ($0.store, $0.signer) }
        if let cached, cached.record.state(at: now) == .active { return cached }
        let fresh = try TokenIssuer(issuer: issuer, lifetime: lifetime, store: store, now: now)
        state.withLock { $0.signer = fresh }
        return fresh
    }

    /// A run's tokens, one per request, each for its own audience.
    public func issue(_ requests: [TokenRequest], for subject: TokenSubject, at now: Instant) throws(LaunchFailure) -> [IssuedToken] {
        guard let first = requests.first else { return [] }
        let signer: TokenIssuer
        do throws(KeyStoreError) {
            signer = try self.signer(at: now)
        } catch {
            throw .tokenUnavailable(name: first.name.rawValue, reason: error.description)
        }
        var issued: [IssuedToken] = []
        for request in requests {
            do throws(CryptoError) {
                issued.append(try signer.issue(for: subject, audience: request.audience, at: now))
            } catch {
                throw .tokenUnavailable(name: request.name.rawValue, reason: error.description)
            }
        }
        return issued
    }

    /// The `credential.issued` event of `token`, given to the run `fired` is about: jti (the
    /// run id), aud, kid and exp; never the token.
    public static func issuedDraft(_ token: IssuedToken, name: String, fired: EventDraft, at time: EventTime) -> EventDraft {
        var draft = EventDraft(time: time, host: fired.host, type: .credentialIssued, actor: HostName.schedulerActor(host: fired.host),
                               principal: fired.principal, owner: fired.owner, job: fired.job, identity: fired.identity,
                               runID: token.jti, scheduledFor: fired.scheduledFor, configHash: fired.configHash,
                               development: fired.development)
        draft.details = EventDetails([.token: name, .aud: token.audience, .kid: token.kid,
                                      .exp: EventTime(token.expires).rfc3339])
        return draft
    }
}

import AscribeCore

/// Who and what a run's token speaks for: the claims of PRODUCT.md §8 besides the issuer,
/// audience and times.
public struct TokenSubject: Sendable, Equatable {
    public var identity: String
    public var job: String
    public var owner: String
    /// The human behind a manual run; nil when the schedule fired it.
    public var principal: String?
    public var trigger: String
    /// The slot, RFC 3339; nil for a run no slot asked for.
    public var scheduledFor: String?
    public var host: String
    public var configHash: String?
    /// The run id, which is the token's `jti`.
    public var runID: String

    public init(identity: String, job: String, owner: String, principal: String?, trigger: String,
                scheduledFor: String?, host: String, configHash: String?, runID: String) {
        self.identity = identity
        self.job = job
        self.owner = owner
        self.principal = principal
        self.trigger = trigger
        self.scheduledFor = scheduledFor
        self.host = host
        self.configHash = configHash
        self.runID = runID
    }

    /// `identity:<identity>:job:<job>`: what relying parties bind a role to.
    public var subject: String { "identity:\(identity):job:\(job)" }
}

/// A token as issued: the compact JWS the run reads, and what its `credential.issued` event
/// records (never the token itself).
public struct IssuedToken: Sendable, Equatable {
    public var compact: String
    public var jti: String
    public var audience: String
    public var kid: String
    public var issuedAt: Instant
    public var expires: Instant
}

/// Signs identity tokens with the store's active token key (PRODUCT.md §8): JWS compact,
/// ES256 or RS256 as the key is, `kid` its RFC 7638 thumbprint.
public struct TokenIssuer: Sendable {
    /// `iss`, the URL relying parties fetch `/.well-known/openid-configuration` under.
    public let issuer: String
    /// Seconds from `iat` to `exp`.
    public let lifetime: Int64
    public let record: KeyRecord
    let key: SigningKey

    public static let defaultLifetime: Int64 = 600
    /// PRODUCT.md §8's ceiling; also how long a retired key stays published.
    public static let maximumLifetime: Int64 = KeyStoreSettings.defaultLongestTokenLifetime
    /// Below this a token would need refreshing faster than the daemon's loop wakes.
    public static let minimumLifetime: Int64 = 60
    /// `nbf` is this far before `iat`, for relying parties whose clocks run behind.
    public static let notBeforeSkew: Int64 = 60
    /// A token is replaced once this share of its life has passed.
    public static let refreshFraction = 0.8

    public init(issuer: String, lifetime: Int64, record: KeyRecord, key: SigningKey) {
        self.issuer = issuer
        self.lifetime = lifetime
        self.record = record
        self.key = key
    }

    /// The signing key active at `now` in `store`.
    public init(issuer: String, lifetime: Int64, store: KeyStore, now: Instant) throws(KeyStoreError) {
        let (record, key) = try store.signingKey(.token, at: now)
        self.init(issuer: issuer, lifetime: lifetime, record: record, key: key)
    }

    /// A token for `subject`'s run, for `audience`, issued at `now`.
    public func issue(for subject: TokenSubject, audience: String, at now: Instant) throws(CryptoError) -> IssuedToken {
        let header = JSONValue.object([("alg", .string(record.algorithm.jwsName)), ("kid", .string(record.kid)), ("typ", .string("JWT"))])
        let expires = now.adding(seconds: lifetime)
        let claims = JSONValue.object([
            ("iss", .string(issuer)),
            ("sub", .string(subject.subject)),
            ("aud", .string(audience)),
            ("iat", .int(now.secondsSinceEpoch)),
            ("nbf", .int(now.secondsSinceEpoch - Self.notBeforeSkew)),
            ("exp", .int(expires.secondsSinceEpoch)),
            ("jti", .string(subject.runID)),
            ("identity", .string(subject.identity)),
            ("job", .string(subject.job)),
            ("owner", .string(subject.owner)),
            ("principal", .optional(subject.principal)),
            ("trigger", .string(subject.trigger)),
            ("scheduled_for", .optional(subject.scheduledFor)),
            ("host", .string(subject.host)),
            ("config_hash", .optional(subject.configHash)),
        ])
        let input = Base64.url.encode(Array(header.rendered.utf8)) + "." + Base64.url.encode(Array(claims.rendered.utf8))
        let signature = try key.sign(Array(input.utf8))
        return IssuedToken(compact: input + "." + Base64.url.encode(signature), jti: subject.runID, audience: audience,
                           kid: record.kid, issuedAt: now, expires: expires)
    }

    /// When a token issued at `issuedAt` is replaced: at 80 % of its life.
    public func refreshTime(issuedAt: Instant) -> Instant {
        issuedAt.adding(seconds: Int64((Double(lifetime) * Self.refreshFraction).rounded(.down)))
    }
}

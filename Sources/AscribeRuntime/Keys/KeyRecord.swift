import AscribeCore

/// What a key signs: per-run identity tokens (PRODUCT.md §8) or checkpoints (§9). Each purpose
/// has its own keys and its own life cycle; a key never serves both.
public enum KeyPurpose: String, Sendable, CaseIterable, Equatable {
    case token, checkpoint
}

/// Where a key is in its life cycle, at a given moment.
public enum KeyState: String, Sendable, Equatable {
    /// Published, not signing yet: relying parties learn it one cache period ahead.
    case next
    /// The key that signs now.
    case active
    /// No longer signs; still published while anything it signed can be valid.
    case retired
}

/// One key of the store, as its index records it. The private half lives in its own file
/// and is deleted once the key is retired.
public struct KeyRecord: Sendable, Equatable {
    /// Never reused: the RFC 7638 thumbprint for token keys, the C2SP note key ID (8 hex
    /// digits) for checkpoint keys.
    public var kid: String
    public var purpose: KeyPurpose
    public var algorithm: KeyAlgorithm
    public var publicKey: PublicKeyParameters
    public var created: Instant
    /// When it starts signing; nil for a next key no rotation has scheduled yet.
    public var activates: Instant?
    /// When it stops signing; nil while no rotation has scheduled that.
    public var retires: Instant?
    /// The signer name of a checkpoint key (its note key ID covers it); nil for token keys.
    public var name: String?

    public init(kid: String, purpose: KeyPurpose, algorithm: KeyAlgorithm, publicKey: PublicKeyParameters,
                created: Instant, activates: Instant?, retires: Instant?, name: String? = nil) {
        self.kid = kid
        self.purpose = purpose
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.created = created
        self.activates = activates
        self.retires = retires
        self.name = name
    }

    public func state(at now: Instant) -> KeyState {
        guard let activates, activates <= now else { return .next }
        if let retires, retires <= now { return .retired }
        return .active
    }

    /// Until when relying parties must still find it: a retired token key until the last
    /// token it signed has expired (plus the verifiers' clock leeway); nil for as long as it
    /// exists (every key that is not retired, and checkpoint keys, whose signatures on old
    /// checkpoints stay checkable).
    public func publishedUntil(longestTokenLifetime: Int64, leeway: Int64) -> Instant? {
        guard purpose == .token, let retires else { return nil }
        return Instant(secondsSinceEpoch: retires.secondsSinceEpoch + longestTokenLifetime + leeway)
    }

    /// The private key file's name inside the key directory.
    var privateFileName: String { "\(purpose.rawValue)-\(kid).pem" }
}

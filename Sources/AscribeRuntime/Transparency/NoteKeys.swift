import AscribeCore

/// Signs notes with an Ed25519 key under a name: the daemon's checkpoint key, or a witness's
/// cosigning key.
public struct NoteSigner: Sendable {
    public let name: String
    private let key: SigningKey
    /// The key's public half as a C2SP verifier key (algorithm 0x01, note signatures).
    public let verifierKey: NoteVerifierKey
    /// The same key as a cosigner (algorithm 0x04, `cosignature/v1`).
    public let cosignerKey: NoteVerifierKey

    public init(name: String, key: SigningKey) throws(NoteSigningError) {
        guard NoteKeyName.isValid(name) else { throw .badName(name) }
        guard case .ed25519(let publicKey) = try NoteSigningError.crypto({ () throws(CryptoError) in try key.publicParameters() }) else {
            throw .notEd25519(key.algorithm)
        }
        self.name = name
        self.key = key
        verifierKey = try NoteSigningError.hashing { () throws(SHA256Error) in
            try NoteVerifierKey(name: name, algorithm: NoteKeyID.ed25519, publicKey: publicKey, hashing: TreeHashing())
        }
        cosignerKey = try NoteSigningError.hashing { () throws(SHA256Error) in
            try NoteVerifierKey(name: name, algorithm: NoteKeyID.cosignatureV1, publicKey: publicKey, hashing: TreeHashing())
        }
    }

    /// The signature line of `text` (a note's text, ending in a newline).
    public func sign(_ text: String) throws(NoteSigningError) -> NoteSignature {
        let signature = try NoteSigningError.crypto { () throws(CryptoError) in try key.sign(Array(text.utf8)) }
        return NoteSignature(name: name, keyID: verifierKey.keyID, signature: signature)
    }

    /// A `cosignature/v1` line over `checkpoint`'s body at `time` (seconds since the epoch).
    public func cosign(_ checkpoint: Checkpoint, time: UInt64) throws(NoteSigningError) -> NoteSignature {
        let message = CosignatureV1.message(checkpointBody: checkpoint.body, time: time)
        let signature = try NoteSigningError.crypto { () throws(CryptoError) in try key.sign(message) }
        return NoteSignature(name: name, keyID: cosignerKey.keyID,
                             signature: CosignatureV1.signatureBytes(time: time, signature: signature))
    }
}

public enum NoteSigningError: Error, Sendable, CustomStringConvertible {
    case badName(String)
    case notEd25519(KeyAlgorithm)
    case crypto(CryptoError)
    case hashing(SHA256Error)

    public var description: String {
        switch self {
        case .badName(let name): "\(name.debugDescription) cannot name a note key (empty, white space or +)"
        case .notEd25519(let algorithm): "notes are signed with Ed25519 keys, not \(algorithm.rawValue)"
        case .crypto(let error): "signing: \(error)"
        case .hashing(let error): "signing: \(error)"
        }
    }

    static func crypto<Result>(_ work: () throws(CryptoError) -> Result) throws(NoteSigningError) -> Result {
        do { return try work() } catch { throw .crypto(error) }
    }

    static func hashing<Result>(_ work: () throws(SHA256Error) -> Result) throws(NoteSigningError) -> Result {
        do { return try work() } catch { throw .hashing(error) }
    }
}

/// Checks the signatures of one verifier key through libcrypto: note signatures for
/// algorithm 0x01, `cosignature/v1` (time, then the signature over the cosigned message) for 0x04.
public struct Ed25519NoteVerifier: NoteVerifier {
    public let key: NoteVerifierKey
    private let verifying: VerifyingKey

    public init(_ key: NoteVerifierKey) throws(CryptoError) {
        self.key = key
        verifying = try VerifyingKey(.ed25519(key.publicKey))
    }

    public var name: String { key.name }
    public var keyID: UInt32 { key.keyID }

    public func verify(message: [UInt8], signature: [UInt8]) -> Bool {
        if key.algorithm == NoteKeyID.cosignatureV1 {
            guard let (time, bytes) = CosignatureV1.split(signature) else { return false }
            let cosigned = CosignatureV1.message(checkpointBody: String(decoding: message, as: UTF8.self), time: time)
            return verifying.isValidSignature(bytes, for: cosigned)
        }
        return signature.count == 64 && verifying.isValidSignature(signature, for: message)
    }

    /// Verifiers for keys given as text (`--key`, `--witness-key`), each refusal naming the key.
    public static func parse(_ texts: [String]) throws(NoteError) -> [Ed25519NoteVerifier] {
        var verifiers: [Ed25519NoteVerifier] = []
        for text in texts {
            let key = try NoteVerifierKey.parse(text, hashing: TreeHashing())
            do {
                verifiers.append(try Ed25519NoteVerifier(key))
            } catch {
                throw .malformedKey("\(text): \(error)")
            }
        }
        return verifiers
    }
}

/// A C2SP signed note (c2sp.org/signed-note): UTF-8 text ending in a newline, a blank line,
/// then one line per signature, `— <name> <base64(key ID ‖ signature)>`.
public struct SignedNote: Equatable, Sendable {
    /// The signed text, ending in a newline.
    public var text: String
    public var signatures: [NoteSignature]

    /// At most this many signature lines, as the Go reference allows.
    public static let signatureLimit = 100

    public init(text: String, signatures: [NoteSignature] = []) {
        self.text = text
        self.signatures = signatures
    }

    /// The note as sent and saved.
    public var rendered: String {
        text + "\n" + signatures.map(\.line).joined()
    }

    /// Reads a note. Refuses text that is not UTF-8, any ASCII control character but the
    /// newline, a note with no signature block, and any signature line not in the form above.
    public static func parse(_ bytes: [UInt8]) throws(NoteError) -> SignedNote {
        guard let whole = String(validating: bytes, as: UTF8.self) else { throw .malformed("the note is not UTF-8") }
        if let control = whole.unicodeScalars.first(where: { $0.value < 0x20 && $0 != "\n" }) {
            throw .malformed("the note holds the control character U+\(Self.hex(control.value))")
        }
        guard let split = Self.lastBlankLine(in: bytes) else {
            throw .malformed("no blank line before the signature lines")
        }
        let text = String(decoding: bytes[..<(split + 1)], as: UTF8.self)
        let block = bytes[(split + 2)...]
        guard block.last == UInt8(ascii: "\n") else { throw .malformed("the signature lines do not end in a newline") }
        var signatures: [NoteSignature] = []
        for line in block.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            guard signatures.count < signatureLimit else { throw .malformed("more than \(signatureLimit) signatures") }
            signatures.append(try NoteSignature(line: String(decoding: line, as: UTF8.self)))
        }
        return SignedNote(text: text, signatures: signatures)
    }

    /// The signatures by `verifiers`, each checked. A signature whose name and key ID match a
    /// verifier but whose bytes do not verify fails the whole note (it was altered); signatures
    /// by keys the caller does not know are ignored, and at least one must verify.
    public func verifiedSignatures(by verifiers: [any NoteVerifier]) throws(NoteError) -> [NoteSignature] {
        var verified: [NoteSignature] = []
        let message = Array(text.utf8)
        for signature in signatures {
            guard let verifier = verifiers.first(where: { $0.name == signature.name && $0.keyID == signature.keyID }) else {
                continue
            }
            guard verifier.verify(message: message, signature: signature.signature) else {
                throw .invalidSignature(name: signature.name, keyID: signature.keyID)
            }
            if !verified.contains(signature) { verified.append(signature) }
        }
        guard !verified.isEmpty else {
            throw .noKnownSignature(names: signatures.map { "\($0.name)+\(NoteKeyID.hex($0.keyID))" })
        }
        return verified
    }

    private static func lastBlankLine(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        var index = bytes.count - 2
        while index >= 0 {
            if bytes[index] == UInt8(ascii: "\n") && bytes[index + 1] == UInt8(ascii: "\n") { return index }
            index -= 1
        }
        return nil
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// One signature line of a note.
public struct NoteSignature: Equatable, Sendable {
    public var name: String
    public var keyID: UInt32
    /// The signature bytes after the key ID (for a cosignature, the timestamp and signature).
    public var signature: [UInt8]

    public init(name: String, keyID: UInt32, signature: [UInt8]) {
        self.name = name
        self.keyID = keyID
        self.signature = signature
    }

    /// Reads `— <name> <base64>` (without its newline).
    public init(line: String) throws(NoteError) {
        let prefix = "\u{2014} "
        guard line.hasPrefix(prefix) else { throw .malformed("a signature line does not start with \"— \"") }
        let rest = line.dropFirst(prefix.count)
        guard let space = rest.firstIndex(of: " ") else { throw .malformed("a signature line has no space after its name") }
        let name = String(rest[..<space])
        guard NoteKeyName.isValid(name) else { throw .malformed("signature name \(name.debugDescription) is not a key name") }
        guard let bytes = Base64.standard.decode(rest[rest.index(after: space)...]), bytes.count > 4 else {
            throw .malformed("the signature of \(name) is not base64 of a key ID and a signature")
        }
        self.init(name: name, keyID: NoteKeyID.read(bytes), signature: Array(bytes[4...]))
    }

    /// `— <name> <base64>` and its newline.
    public var line: String {
        "\u{2014} \(name) \(Base64.standard.encode(NoteKeyID.bytes(keyID) + signature))\n"
    }
}

/// What a note or key could not be read or trusted for.
public enum NoteError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    /// A signature by a known key that does not verify: the note was altered.
    case invalidSignature(name: String, keyID: UInt32)
    /// No signature by any key the caller trusts.
    case noKnownSignature(names: [String])
    case malformedKey(String)

    public var description: String {
        switch self {
        case .malformed(let problem): "not a signed note: \(problem)"
        case .invalidSignature(let name, let keyID):
            "the signature by \(name)+\(NoteKeyID.hex(keyID)) does not verify: the note was altered"
        case .noKnownSignature(let names):
            names.isEmpty ? "the note has no signature"
                : "no signature by a trusted key (signed by \(names.joined(separator: ", ")))"
        case .malformedKey(let problem): "not a verifier key: \(problem)"
        }
    }
}

/// Checks one key's signatures; the runtime's Ed25519 verifiers do the cryptography.
public protocol NoteVerifier: Sendable {
    var name: String { get }
    var keyID: UInt32 { get }
    func verify(message: [UInt8], signature: [UInt8]) -> Bool
}

/// Key names: non-empty, no white space, no `+` (it separates a verifier key's parts).
public enum NoteKeyName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("+") && !name.unicodeScalars.contains { $0.properties.isWhitespace }
    }
}

/// The 4-byte key ID: SHA-256(name ‖ 0x0A ‖ algorithm ‖ public key), first 4 bytes, big-endian.
public enum NoteKeyID {
    /// Ed25519 note signatures.
    public static let ed25519: UInt8 = 0x01
    /// Ed25519 cosignatures (c2sp.org/tlog-cosignature `cosignature/v1`).
    public static let cosignatureV1: UInt8 = 0x04

    public static func compute<Hashing: MerkleHashing>(name: String, algorithm: UInt8, publicKey: [UInt8],
                                                      hashing: Hashing) throws(Hashing.Failure) -> UInt32 {
        read(try hashing.digest(Array(name.utf8) + [0x0A, algorithm] + publicKey))
    }

    /// The first four bytes, big-endian (the caller has at least four).
    static func read(_ bytes: [UInt8]) -> UInt32 {
        bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The key ID as it is written into a signature: four bytes, big-endian.
    public static func bytes(_ keyID: UInt32) -> [UInt8] {
        [UInt8(keyID >> 24), UInt8(truncatingIfNeeded: keyID >> 16), UInt8(truncatingIfNeeded: keyID >> 8),
         UInt8(truncatingIfNeeded: keyID)]
    }

    /// Eight lowercase hex digits, as in a verifier key.
    public static func hex(_ keyID: UInt32) -> String {
        let digits = String(keyID, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// A verifier key as C2SP spells it: `<name>+<key ID, 8 hex digits>+<base64(algorithm ‖ key)>`,
/// e.g. `PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`.
public struct NoteVerifierKey: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var keyID: UInt32
    public var algorithm: UInt8
    public var publicKey: [UInt8]

    /// The key for `publicKey`, its ID computed.
    public init<Hashing: MerkleHashing>(name: String, algorithm: UInt8, publicKey: [UInt8],
                                        hashing: Hashing) throws(Hashing.Failure) {
        self.name = name
        self.algorithm = algorithm
        self.publicKey = publicKey
        keyID = try NoteKeyID.compute(name: name, algorithm: algorithm, publicKey: publicKey, hashing: hashing)
    }

    /// Reads a verifier key, checking its ID against its name and key. Ed25519 keys
    /// (algorithms 0x01 and 0x04) must be 32 bytes.
    public static func parse<Hashing: MerkleHashing>(_ text: String, hashing: Hashing) throws(NoteError) -> NoteVerifierKey {
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, NoteKeyName.isValid(String(parts[0])) else {
            throw .malformedKey("expected <name>+<8 hex digits>+<base64 key>")
        }
        guard parts[1].utf8.count == 8, let keyID = UInt32(parts[1], radix: 16), parts[1].allSatisfy(\.isHexDigit) else {
            throw .malformedKey("the key ID \(String(parts[1]).debugDescription) is not 8 hex digits")
        }
        guard let material = Base64.standard.decode(parts[2]), let algorithm = material.first else {
            throw .malformedKey("the key is not base64")
        }
        let publicKey = Array(material.dropFirst())
        guard algorithm == NoteKeyID.ed25519 || algorithm == NoteKeyID.cosignatureV1 else {
            throw .malformedKey("algorithm \(algorithm) is not Ed25519 (1) or an Ed25519 cosignature (4)")
        }
        guard publicKey.count == 32 else { throw .malformedKey("an Ed25519 key is 32 bytes, not \(publicKey.count)") }
        let key: NoteVerifierKey
        do {
            key = try NoteVerifierKey(name: String(parts[0]), algorithm: algorithm, publicKey: publicKey, hashing: hashing)
        } catch {
            throw .malformedKey("its key ID could not be computed: \(error)")
        }
        guard key.keyID == keyID else {
            throw .malformedKey("key ID \(NoteKeyID.hex(keyID)) does not match the name and key (\(NoteKeyID.hex(key.keyID)))")
        }
        return key
    }

    public var description: String {
        "\(name)+\(NoteKeyID.hex(keyID))+\(Base64.standard.encode([algorithm] + publicKey))"
    }
}

internal import COpenSSLCrypto
import AscribeCore

/// The signature schemes of Ascribe's keys: ES256 and RS256 for tokens (what OIDC relying
/// parties accept), Ed25519 for checkpoints (what C2SP signed notes use).
public enum KeyAlgorithm: String, Sendable, CaseIterable, Equatable {
    /// ECDSA on P-256 with SHA-256.
    case es256 = "ES256"
    /// RSASSA-PKCS1-v1_5 with SHA-256, a modulus of at least 2,048 bits.
    case rs256 = "RS256"
    case ed25519 = "Ed25519"

    /// The JWS `alg` (RFC 7518 §3.1, RFC 8037 §3.1).
    public var jwsName: String { self == .ed25519 ? "EdDSA" : rawValue }

    /// Smaller RSA keys are refused, whether generated, read or met in a JWKS (RFC 7518 §3.3).
    public static let minimumRSABits = 2048

    fileprivate var openSSLName: String {
        switch self {
        case .es256: "EC"
        case .rs256: "RSA"
        case .ed25519: "ED25519"
        }
    }
}

/// A public key as its numbers: what a JWK carries and what a signature is checked against.
public enum PublicKeyParameters: Equatable, Sendable {
    /// The P-256 point, each coordinate 32 bytes.
    case ecP256(x: [UInt8], y: [UInt8])
    /// Big-endian, without leading zero bytes.
    case rsa(modulus: [UInt8], exponent: [UInt8])
    /// The 32-byte public key of RFC 8032.
    case ed25519([UInt8])

    public var algorithm: KeyAlgorithm {
        switch self {
        case .ecP256: .es256
        case .rsa: .rs256
        case .ed25519: .ed25519
        }
    }
}

/// A private key held by libcrypto, that signs.
///
/// A class so the `EVP_PKEY` has one owner that frees it once.
public final class SigningKey: @unchecked Sendable {
    // Sendable proof: `key` is set in `init` and never modified afterwards; every method only
    // reads it (each signature gets its own EVP_MD_CTX), and OpenSSL 3 allows an EVP_PKEY to be
    // used by several threads at once when none changes it (openssl-threads(7)).
    fileprivate let key: OpaquePointer
    public let algorithm: KeyAlgorithm

    private init(key: OpaquePointer, algorithm: KeyAlgorithm) {
        self.key = key
        self.algorithm = algorithm
    }

    deinit {
        EVP_PKEY_free(key)
    }

    /// A fresh key from the OS's random source; `rsaBits` only for RS256 (at least 2,048).
    public static func generate(_ algorithm: KeyAlgorithm, rsaBits: Int = KeyAlgorithm.minimumRSABits) throws(CryptoError) -> SigningKey {
        if algorithm == .rs256, rsaBits < KeyAlgorithm.minimumRSABits {
            throw CryptoError(function: "SigningKey.generate", message: "an RSA key needs at least \(KeyAlgorithm.minimumRSABits) bits, not \(rsaBits)")
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm.openSSLName, nil) else {
            throw .fromErrorQueue(function: "EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw .fromErrorQueue(function: "EVP_PKEY_keygen_init") }
        switch algorithm {
        case .es256:
            guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else {
                throw .fromErrorQueue(function: "EVP_PKEY_CTX_set_group_name")
            }
        case .rs256:
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(clamping: rsaBits)) == 1 else {
                throw .fromErrorQueue(function: "EVP_PKEY_CTX_set_rsa_keygen_bits")
            }
        case .ed25519:
            break
        }
        var generated: OpaquePointer?
        guard EVP_PKEY_generate(context, &generated) == 1, let generated else {
            throw .fromErrorQueue(function: "EVP_PKEY_generate")
        }
        return SigningKey(key: generated, algorithm: algorithm)
    }

    /// A key read from PEM (PKCS#8 `PRIVATE KEY`, or the traditional EC/RSA forms); only the
    /// three algorithms above, P-256 only, RSA of 2,048 bits or more.
    public convenience init(pem: [UInt8]) throws(CryptoError) {
        let read: OpaquePointer? = pem.withUnsafeBytes { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(clamping: bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let read else { throw .fromErrorQueue(function: "PEM_read_bio_PrivateKey") }
        do throws(CryptoError) {
            self.init(key: read, algorithm: try supportedAlgorithm(of: read))
        } catch {
            EVP_PKEY_free(read)
            throw error
        }
    }

    /// PKCS#8 PEM, unencrypted: the key directory's permissions are what protects it.
    public func pem() throws(CryptoError) -> [UInt8] {
        try writePEM(function: "PEM_write_bio_PrivateKey") { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    /// The signature of `message`: raw `r ‖ s` for ES256 (as JWS wants), PKCS#1 v1.5 for
    /// RS256, RFC 8032's 64 bytes for Ed25519.
    public func sign(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw .fromErrorQueue(function: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        let digest = algorithm == .ed25519 ? nil : EVP_sha256()
        guard EVP_DigestSignInit(context, nil, digest, nil, key) == 1 else {
            throw .fromErrorQueue(function: "EVP_DigestSignInit")
        }
        var length = 0
        let sized = message.withUnsafeBufferPointer { EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) == 1 }
        guard sized else { throw .fromErrorQueue(function: "EVP_DigestSign") }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = signature.withUnsafeMutableBufferPointer { output in
            message.withUnsafeBufferPointer { EVP_DigestSign(context, output.baseAddress, &length, $0.baseAddress, $0.count) == 1 }
        }
        guard signed else { throw .fromErrorQueue(function: "EVP_DigestSign") }
        signature.removeSubrange(length...)
        return algorithm == .es256 ? try ECDSASignature.raw(fromDER: signature) : signature
    }

    /// The public half, as numbers.
    public func publicParameters() throws(CryptoError) -> PublicKeyParameters {
        try parameters(of: key, algorithm: algorithm)
    }

    /// The public half, ready to check signatures.
    public func verifyingKey() throws(CryptoError) -> VerifyingKey {
        try VerifyingKey(publicParameters())
    }

    fileprivate func writePEM(function: String, _ write: (OpaquePointer) -> Int32) throws(CryptoError) -> [UInt8] {
        try COpenSSLCryptoPEM.write(function: function, write)
    }
}

/// A public key held by libcrypto, that checks signatures.
public final class VerifyingKey: @unchecked Sendable {
    // Sendable proof: as for `SigningKey` — set once in `init`, only read afterwards, and an
    // EVP_PKEY may be used by several threads at once when none changes it.
    private let key: OpaquePointer
    public let parameters: PublicKeyParameters

    /// The key for `parameters`; refuses a point not on P-256, an RSA modulus under 2,048
    /// bits, or an Ed25519 key that is not 32 bytes.
    public init(_ parameters: PublicKeyParameters) throws(CryptoError) {
        let info = try SubjectPublicKeyInfo.der(parameters)
        let parsed: OpaquePointer? = info.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw .fromErrorQueue(function: "d2i_PUBKEY") }
        do throws(CryptoError) {
            guard try supportedAlgorithm(of: parsed) == parameters.algorithm else {
                throw CryptoError(function: "VerifyingKey", message: "the key read back is not \(parameters.algorithm.rawValue)")
            }
        } catch {
            EVP_PKEY_free(parsed)
            throw error
        }
        self.key = parsed
        self.parameters = parameters
    }

    deinit {
        EVP_PKEY_free(key)
    }

    public var algorithm: KeyAlgorithm { parameters.algorithm }

    /// Whether `signature` (in the form `SigningKey.sign` makes) is this key's over `message`.
    /// Anything malformed is simply not a valid signature.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        let encoded: [UInt8]
        if algorithm == .es256 {
            do { encoded = try ECDSASignature.der(fromRaw: signature) } catch { return false }
        } else {
            encoded = signature
        }
        guard let context = EVP_MD_CTX_new() else {
            CryptoError.clearErrorQueue()
            return false
        }
        defer { EVP_MD_CTX_free(context) }
        let digest = algorithm == .ed25519 ? nil : EVP_sha256()
        guard EVP_DigestVerifyInit(context, nil, digest, nil, key) == 1 else {
            CryptoError.clearErrorQueue()
            return false
        }
        let verified = encoded.withUnsafeBufferPointer { signatureBytes in
            message.withUnsafeBufferPointer { messageBytes in
                EVP_DigestVerify(context, signatureBytes.baseAddress, signatureBytes.count, messageBytes.baseAddress, messageBytes.count)
            }
        }
        if verified != 1 { CryptoError.clearErrorQueue() }
        return verified == 1
    }

    /// SubjectPublicKeyInfo PEM (`PUBLIC KEY`), the form most other tools read.
    public func pem() throws(CryptoError) -> [UInt8] {
        try COpenSSLCryptoPEM.write(function: "PEM_write_bio_PUBKEY") { PEM_write_bio_PUBKEY($0, key) }
    }
}

/// A memory BIO that collects what a PEM writer produced.
private enum COpenSSLCryptoPEM {
    static func write(function: String, _ write: (OpaquePointer) -> Int32) throws(CryptoError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .fromErrorQueue(function: "BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw .fromErrorQueue(function: function) }
        let pending = Int(BIO_ctrl_pending(bio))
        var output = [UInt8](repeating: 0, count: pending)
        let read = output.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(clamping: pending)) }
        guard read == pending else { throw .fromErrorQueue(function: "BIO_read") }
        return output
    }
}

/// Which of the three supported kinds `key` is; refuses any other curve, type or RSA size.
private func supportedAlgorithm(of key: OpaquePointer) throws(CryptoError) -> KeyAlgorithm {
    if EVP_PKEY_is_a(key, "ED25519") == 1 { return .ed25519 }
    if EVP_PKEY_is_a(key, "RSA") == 1 {
        let bits = Int(EVP_PKEY_get_bits(key))
        guard bits >= KeyAlgorithm.minimumRSABits else {
            throw CryptoError(function: "RSA key", message: "\(bits) bits is under the \(KeyAlgorithm.minimumRSABits) RS256 requires")
        }
        return .rs256
    }
    if EVP_PKEY_is_a(key, "EC") == 1 {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        let read = name.withUnsafeMutableBufferPointer {
            EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, $0.baseAddress, $0.count, &length) == 1
        }
        let group = read ? String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "an unknown curve"
        guard group == "prime256v1" || group == "P-256" else {
            CryptoError.clearErrorQueue()
            throw CryptoError(function: "EC key", message: "the curve is \(group), not P-256")
        }
        return .es256
    }
    throw CryptoError(function: "key type", message: "not an ECDSA P-256, RSA or Ed25519 key")
}

/// The public numbers of `key`.
private func parameters(of key: OpaquePointer, algorithm: KeyAlgorithm) throws(CryptoError) -> PublicKeyParameters {
    switch algorithm {
    case .ed25519:
        var bytes = [UInt8](repeating: 0, count: 32)
        var length = bytes.count
        guard EVP_PKEY_get_raw_public_key(key, &bytes, &length) == 1, length == 32 else {
            throw .fromErrorQueue(function: "EVP_PKEY_get_raw_public_key")
        }
        return .ed25519(bytes)
    case .es256:
        var point = [UInt8](repeating: 0, count: 65)
        var length = 0
        let read = point.withUnsafeMutableBufferPointer {
            EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, $0.baseAddress, $0.count, &length) == 1
        }
        guard read, length == 65, point[0] == 0x04 else { throw .fromErrorQueue(function: "EVP_PKEY_get_octet_string_param") }
        return .ecP256(x: Array(point[1...32]), y: Array(point[33...64]))
    case .rs256:
        return .rsa(modulus: try bigNumber(OSSL_PKEY_PARAM_RSA_N, of: key), exponent: try bigNumber(OSSL_PKEY_PARAM_RSA_E, of: key))
    }
}

private func bigNumber(_ name: String, of key: OpaquePointer) throws(CryptoError) -> [UInt8] {
    var number: OpaquePointer?
    guard EVP_PKEY_get_bn_param(key, name, &number) == 1, let number else {
        throw .fromErrorQueue(function: "EVP_PKEY_get_bn_param \(name)")
    }
    defer { BN_free(number) }
    var bytes = [UInt8](repeating: 0, count: (Int(BN_num_bits(number)) + 7) / 8)
    _ = BN_bn2bin(number, &bytes)
    return bytes
}

/// The DER `SubjectPublicKeyInfo` (RFC 5280 §4.1) of a public key given as numbers: the one
/// form libcrypto reads for all three kinds, so a JWK's numbers become a key without building
/// OpenSSL parameter lists by hand.
enum SubjectPublicKeyInfo {
    /// id-ecPublicKey with the prime256v1 curve.
    private static let ecAlgorithm: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
                                               0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
    /// rsaEncryption with its NULL parameters.
    private static let rsaAlgorithm: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00]
    /// id-Ed25519 (RFC 8410), no parameters.
    private static let ed25519Algorithm: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]

    static func der(_ parameters: PublicKeyParameters) throws(CryptoError) -> [UInt8] {
        switch parameters {
        case .ecP256(let x, let y):
            guard x.count == 32, y.count == 32 else {
                throw CryptoError(function: "P-256 key", message: "x and y are 32 bytes each, not \(x.count) and \(y.count)")
            }
            return info(algorithm: ecAlgorithm, key: [0x04] + x + y)
        case .rsa(let modulus, let exponent):
            guard !modulus.isEmpty, !exponent.isEmpty else {
                throw CryptoError(function: "RSA key", message: "the modulus and exponent must not be empty")
            }
            return info(algorithm: rsaAlgorithm, key: element(0x30, integer(modulus) + integer(exponent)))
        case .ed25519(let key):
            guard key.count == 32 else {
                throw CryptoError(function: "Ed25519 key", message: "a public key is 32 bytes, not \(key.count)")
            }
            return info(algorithm: ed25519Algorithm, key: key)
        }
    }

    private static func info(algorithm: [UInt8], key: [UInt8]) -> [UInt8] {
        element(0x30, element(0x30, algorithm) + element(0x03, [0x00] + key))
    }

    /// A non-negative INTEGER: leading zeros dropped, one added back when the top bit is set.
    private static func integer(_ bytes: [UInt8]) -> [UInt8] {
        var magnitude = Array(bytes.drop { $0 == 0 })
        if magnitude.isEmpty { magnitude = [0] }
        if magnitude[0] & 0x80 != 0 { magnitude.insert(0, at: 0) }
        return element(0x02, magnitude)
    }

    private static func element(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + length(content.count) + content
    }

    private static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var remaining = count
        while remaining > 0 {
            bytes.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}

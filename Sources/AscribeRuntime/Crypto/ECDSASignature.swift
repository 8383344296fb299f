internal import COpenSSLCrypto

/// The two spellings of an ECDSA P-256 signature: libcrypto's DER `SEQUENCE { r, s }` and the
/// fixed 64-byte `r ‖ s` that JWS (RFC 7518 §3.4) requires.
public enum ECDSASignature {
    /// Bytes per coordinate on P-256.
    public static let coordinateLength = 32

    /// `r ‖ s`, each left-padded to 32 bytes.
    public static func raw(fromDER der: [UInt8]) throws(CryptoError) -> [UInt8] {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let signature = parsed else { throw .fromErrorQueue(function: "d2i_ECDSA_SIG") }
        defer { ECDSA_SIG_free(signature) }
        var output = [UInt8](repeating: 0, count: 2 * coordinateLength)
        let written = output.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return BN_bn2binpad(ECDSA_SIG_get0_r(signature), base, Int32(coordinateLength)) == coordinateLength
                && BN_bn2binpad(ECDSA_SIG_get0_s(signature), base + coordinateLength, Int32(coordinateLength)) == coordinateLength
        }
        guard written else {
            CryptoError.clearErrorQueue()
            throw CryptoError(function: "ECDSASignature.raw", message: "a coordinate is longer than 32 bytes: not a P-256 signature")
        }
        return output
    }

    /// The DER form libcrypto verifies; `raw` must be exactly 64 bytes.
    public static func der(fromRaw raw: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard raw.count == 2 * coordinateLength else {
            throw CryptoError(function: "ECDSASignature.der", message: "an ES256 signature is 64 bytes, not \(raw.count)")
        }
        guard let signature = ECDSA_SIG_new() else { throw .fromErrorQueue(function: "ECDSA_SIG_new") }
        defer { ECDSA_SIG_free(signature) }
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(coordinateLength), nil) }
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress.map { $0 + coordinateLength }, Int32(coordinateLength), nil) }
        guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            throw .fromErrorQueue(function: "ECDSA_SIG_set0")
        }
        let length = i2d_ECDSA_SIG(signature, nil)
        guard length > 0 else { throw .fromErrorQueue(function: "i2d_ECDSA_SIG") }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer in
            var cursor = buffer.baseAddress
            return i2d_ECDSA_SIG(signature, &cursor)
        }
        guard written == length else { throw .fromErrorQueue(function: "i2d_ECDSA_SIG") }
        return output
    }
}

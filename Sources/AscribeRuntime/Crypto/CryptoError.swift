internal import COpenSSLCrypto

/// A signing-key operation that failed: which libcrypto call (or which check of ours), and
/// OpenSSL's own words for it when it gave any.
public struct CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The libcrypto function that failed (`EVP_DigestSign`), or the check that refused the input.
    public let function: String
    /// The first code on OpenSSL's per-thread error queue; 0 for a refusal of ours.
    public let openSSLCode: UInt
    public let message: String

    init(function: String, message: String) {
        self.function = function
        self.openSSLCode = 0
        self.message = message
    }

    private init(function: String, code: UInt, message: String) {
        self.function = function
        self.openSSLCode = code
        self.message = message
    }

    /// Drains OpenSSL's error queue so a later failure is not blamed on this one.
    static func fromErrorQueue(function: String) -> CryptoError {
        let code = ERR_get_error()
        while ERR_get_error() != 0 {}
        var message = "no detail from OpenSSL"
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            buffer.withUnsafeMutableBufferPointer { text in
                ERR_error_string_n(code, text.baseAddress, text.count)
            }
            let end = buffer.firstIndex(of: 0) ?? buffer.count
            message = String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return CryptoError(function: function, code: code, message: message)
    }

    /// Forgets whatever a failed check left on the queue (a bad signature is an answer, not an error).
    static func clearErrorQueue() {
        while ERR_get_error() != 0 {}
    }

    public var description: String { "\(function) failed: \(message)" }
}

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
        let (code, message) = OpenSSLErrorQueue.take()
        return CryptoError(function: function, code: code, message: message)
    }

    /// Forgets whatever a failed check left on the queue (a bad signature is an answer, not an error).
    static func clearErrorQueue() {
        OpenSSLErrorQueue.clear()
    }

    public var description: String { "\(function) failed: \(message)" }
}

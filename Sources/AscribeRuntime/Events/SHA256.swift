internal import COpenSSLCrypto

/// A SHA-256 digest: the 32 bytes and their lowercase hex spelling (the form events store).
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public var hex: String { lowercaseHex(bytes) }

    public var description: String { hex }
}

/// A libcrypto call that reported failure, with OpenSSL's own error code and words for it.
public struct SHA256Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// The libcrypto function that failed, e.g. `EVP_DigestUpdate`.
    public let function: String
    /// The first code on OpenSSL's per-thread error queue (0 when the call left none).
    public let openSSLCode: UInt
    public let message: String

    /// Drains OpenSSL's error queue so a later failure is not blamed on this one.
    static func fromErrorQueue(function: String) -> SHA256Error {
        let (code, message) = OpenSSLErrorQueue.take()
        return SHA256Error(function: function, openSSLCode: code, message: message)
    }

    public var description: String { "SHA-256: \(function) failed: \(message)" }
}

/// SHA-256 through the OS's libcrypto (EVP interface): a maintained, audited implementation
/// rather than a hand-written one, and the same library the signatures will use.
public enum SHA256 {
    /// The digest of `bytes` in one call.
    public static func digest(_ bytes: some Collection<UInt8>) throws(SHA256Error) -> SHA256Digest {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let succeeded = withContiguousBytes(of: bytes) { input in
            output.withUnsafeMutableBufferPointer { buffer in
                EVP_Digest(input.baseAddress, input.count, buffer.baseAddress, &length, EVP_sha256(), nil) == 1
            }
        }
        guard succeeded, length == 32 else { throw .fromErrorQueue(function: "EVP_Digest") }
        return SHA256Digest(bytes: Array(output.prefix(32)))
    }
}

/// Incremental SHA-256, for output that arrives in chunks (a run's captured stdout/stderr).
///
/// Non-copyable on purpose: the libcrypto context has exactly one owner, so two copies can
/// never feed the same context. Keep it in a property of whatever owns the capture and call
/// `update` for each chunk, then `finalize()` once, which consumes it.
public struct SHA256Hasher: ~Copyable, @unchecked Sendable {
    // Sendable proof: `context` is created in `init`, never leaves this value, is used only by
    // `mutating`/`consuming` methods (the compiler guarantees exclusive access to a
    // non-copyable value), and is freed in `deinit`. Sending the value to another thread moves
    // the sole owner there; no second reference to the context can exist.
    private let context: OpaquePointer

    public init() throws(SHA256Error) {
        guard let context = EVP_MD_CTX_new() else { throw .fromErrorQueue(function: "EVP_MD_CTX_new") }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            let error = SHA256Error.fromErrorQueue(function: "EVP_DigestInit_ex")
            EVP_MD_CTX_free(context)
            throw error
        }
        self.context = context
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    public mutating func update(_ bytes: some Collection<UInt8>) throws(SHA256Error) {
        let context = context
        let succeeded = withContiguousBytes(of: bytes) { input in
            input.isEmpty || EVP_DigestUpdate(context, input.baseAddress, input.count) == 1
        }
        guard succeeded else { throw .fromErrorQueue(function: "EVP_DigestUpdate") }
    }

    /// The digest of everything passed to `update`; the hasher is used up.
    public consuming func finalize() throws(SHA256Error) -> SHA256Digest {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let context = context
        let succeeded = output.withUnsafeMutableBufferPointer { buffer in
            EVP_DigestFinal_ex(context, buffer.baseAddress, &length) == 1
        }
        guard succeeded, length == 32 else { throw .fromErrorQueue(function: "EVP_DigestFinal_ex") }
        return SHA256Digest(bytes: Array(output.prefix(32)))
    }
}

/// `bytes` as lowercase hex digits, two per byte.
func lowercaseHex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// Calls `body` with the bytes of `collection` in contiguous memory, copying only when the
/// collection does not already store them that way.
private func withContiguousBytes<Result>(
    of collection: some Collection<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Result
) -> Result {
    if let result = collection.withContiguousStorageIfAvailable(body) { return result }
    return Array(collection).withUnsafeBufferPointer(body)
}

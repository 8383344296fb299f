internal import COpenSSLCrypto

/// OpenSSL's per-thread error queue, read once for every libcrypto caller (digests, keys).
enum OpenSSLErrorQueue {
    /// The first code on the queue and OpenSSL's words for it, draining the rest so a later
    /// failure is not blamed on this one.
    static func take() -> (code: UInt, message: String) {
        let code = ERR_get_error()
        clear()
        guard code != 0 else { return (0, "no detail from OpenSSL") }
        var buffer = [CChar](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { text in
            ERR_error_string_n(code, text.baseAddress, text.count)
        }
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        return (code, String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    static func clear() {
        while ERR_get_error() != 0 {}
    }
}

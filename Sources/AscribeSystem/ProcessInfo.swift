import Glibc

/// Who and where this process is, and the time: calls that cannot fail (or whose failure has
/// one obvious answer), for the runtime's attribution and clocks.
extension SystemCalls {
    public static var processID: Int32 { getpid() }
    public static var realUID: UInt32 { UInt32(getuid()) }

    /// The process environment (`environ`) as name → value; an entry without `=` is skipped,
    /// and of two entries with one name the first wins, as `getenv` answers.
    public static var environment: [String: String] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.utf8.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(text[..<equals])
                if variables[name] == nil { variables[name] = String(text[text.index(after: equals)...]) }
            }
            entry += 1
        }
        return variables
    }

    /// One variable of the environment (`getenv`: of two entries with one name, the first);
    /// nil when it is not set. Cheaper than `environment` when one variable is all a call needs.
    public static func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// `gethostname`; nil when it fails.
    public static func hostName() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let status = buffer.withUnsafeMutableBufferPointer { pointer -> Int32 in
            guard let base = pointer.baseAddress else { return -1 }
            return gethostname(base, pointer.count - 1)
        }
        guard status == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `CLOCK_REALTIME` now, as seconds and nanoseconds since the epoch.
    public static func realTime() -> (seconds: Int64, nanoseconds: Int64) {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return (Int64(spec.tv_sec), Int64(spec.tv_nsec))
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The host name every event carries, and the daemon's named actor `ascribe-scheduler@<host>`.
public enum HostName {
    public static func current() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let status = buffer.withUnsafeMutableBufferPointer { pointer -> Int32 in
            guard let base = pointer.baseAddress else { return -1 }
            return gethostname(base, pointer.count - 1)
        }
        guard status == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let name = String(decoding: bytes, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    public static func schedulerActor(host: String) -> String {
        "ascribe-scheduler@\(host)"
    }
}

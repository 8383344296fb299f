#if canImport(Glibc)
import Glibc
#endif

/// The human behind a manual command, as the kernel reports it — never taken from a flag or an
/// environment variable, which the caller controls.
public struct Principal: Hashable, Sendable, CustomStringConvertible {
    /// Where the uid came from: the audit login uid survives `sudo`, the real uid does not.
    public enum Source: String, Sendable {
        case auditLoginUID = "audit login uid"
        case realUID = "real uid"
    }

    public var uid: UInt32
    /// The user name, or `uid:<n>` when the user database has no entry.
    public var name: String
    public var source: Source

    public var description: String { name }

    /// This process's principal: `/proc/self/loginuid` when set, else the real uid.
    public static func current() -> Principal {
        if let loginUID = auditLoginUID() {
            return Principal(uid: loginUID, name: name(of: loginUID), source: .auditLoginUID)
        }
        let uid = UInt32(getuid())
        return Principal(uid: uid, name: name(of: uid), source: .realUID)
    }

    /// Another process's principal (a control client): its audit login uid when set, else `uid`,
    /// the uid the kernel reported for it.
    static func peer(pid: Int32, uid: UInt32) -> Principal {
        if pid > 0, let loginUID = auditLoginUID(process: "\(pid)") {
            return Principal(uid: loginUID, name: name(of: loginUID), source: .auditLoginUID)
        }
        return Principal(uid: uid, name: name(of: uid), source: .realUID)
    }

    /// The audit login uid, or nil when unset (4294967295) or unreadable.
    static func auditLoginUID(process: String = "self") -> UInt32? {
        let noCheck: (FileStatus) throws(Never) -> Void = { _ in }
        guard let bytes = try? FileSystem.read("/proc/\(process)/loginuid", limit: 32, check: noCheck) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        guard let value = UInt32(text), value != UInt32.max else { return nil }
        return value
    }

    static func name(of uid: UInt32) -> String {
        guard case .success(let record?) = AccountDatabase.userRecord(uid: uid), !record.name.isEmpty else {
            return "uid:\(uid)"
        }
        return record.name
    }
}

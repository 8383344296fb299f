import AscribeCore
import AscribeSystem

/// Whose audit login uid may name the human behind a command. The kernel lets a process whose
/// login uid is unset (4294967295: services, containers, hosts without `pam_loginuid`) write
/// any uid into `/proc/self/loginuid` once, so a login uid proves nothing by itself.
public enum LoginUIDTrust: String, Sendable {
    /// Only a root caller's login uid names the human (root could forge anything anyway; this
    /// is the `sudo` case). Anyone else's differing login uid is recorded as a claim.
    case rootCallersOnly
    /// `ascribe daemon --trust-login-uid`: the operator vouches that no non-root process on the
    /// host can run with an unset login uid (docs/CONTROL.md), so every caller's is believed.
    case everyCaller
}

/// The human behind a manual command, as the kernel reports it — never taken from a flag or an
/// environment variable, which the caller controls.
public struct Principal: Hashable, Sendable, CustomStringConvertible {
    /// Where the uid came from, recorded as `principal_source`.
    public enum Source: String, Sendable {
        /// A root caller's audit login uid: it survives `sudo`.
        case auditLoginUID = "audit login uid"
        /// A non-root caller's audit login uid, believed because of `--trust-login-uid`.
        case trustedLoginUID = "audit login uid (--trust-login-uid)"
        /// This process's real uid (a local `ascribe run`).
        case realUID = "real uid"
        /// The uid the kernel recorded for a control client when it connected (`SO_PEERCRED`).
        case peerUID = "peer uid"
    }

    public var uid: UInt32
    /// The user name, or `uid:<n>` when the user database has no entry.
    public var name: String
    public var source: Source
    /// A login uid the caller carries but could have written itself, when it differs from `uid`:
    /// kept as evidence (`login_uid_claimed`, `login_user_claimed`), never the principal.
    public var claimedLoginUID: UInt32?

    public var description: String { name }

    /// `principal_source`, and the claimed login user when there is one, for events.
    public var details: [String: String] {
        var details = EventDetails([.principalSource: source.rawValue])
        if let claimedLoginUID {
            details[.loginUidClaimed] = String(claimedLoginUID)
            details[.loginUserClaimed] = Self.name(of: claimedLoginUID)
        }
        return details
    }

    /// This process's principal (a local `ascribe run`): as root, the audit login uid when set
    /// (`sudo`); otherwise the real uid, with a differing login uid recorded as a claim.
    public static func current() -> Principal {
        resolve(uid: SystemCalls.realUID, loginUID: auditLoginUID(), trust: .rootCallersOnly, uidSource: .realUID)
    }

    /// A control client's principal: `uid` is what the kernel reported for it (`SO_PEERCRED`);
    /// its audit login uid counts only as `trust` allows.
    static func peer(pid: Int32, uid: UInt32, trust: LoginUIDTrust = .rootCallersOnly) -> Principal {
        resolve(uid: uid, loginUID: pid > 0 ? auditLoginUID(process: "\(pid)") : nil, trust: trust, uidSource: .peerUID)
    }

    /// The rule of PRODUCT.md §7: the login uid names the human only for a root caller or under
    /// `everyCaller`; otherwise the caller's own uid does, and a differing login uid is a claim.
    static func resolve(uid: UInt32, loginUID: UInt32?, trust: LoginUIDTrust, uidSource: Source) -> Principal {
        guard let loginUID else { return Principal(uid: uid, name: name(of: uid), source: uidSource) }
        if uid == 0 {
            return Principal(uid: loginUID, name: name(of: loginUID), source: .auditLoginUID)
        }
        if trust == .everyCaller {
            return Principal(uid: loginUID, name: name(of: loginUID), source: .trustedLoginUID)
        }
        return Principal(uid: uid, name: name(of: uid), source: uidSource, claimedLoginUID: loginUID == uid ? nil : loginUID)
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

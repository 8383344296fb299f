import AscribeCore
import AscribeSystem

/// The process on the other end of a control connection, as the kernel recorded it when it
/// connected (`SO_PEERCRED`, `SO_PEERGROUPS`) — nothing the client says about itself.
public struct ControlPeer: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    /// The human behind the caller: the peer's uid, or its audit login uid when that cannot
    /// have been chosen by the caller (a root peer: `sudo`; or `--trust-login-uid`).
    public var principal: Principal

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32], principal: Principal) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.principal = principal
    }

    static func of(connection descriptor: Int32, trust: LoginUIDTrust) throws(SystemError) -> ControlPeer {
        let credentials = try SystemCalls.peerCredentials(descriptor)
        return ControlPeer(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid, groups: credentials.groups,
                           principal: .peer(pid: credentials.pid, uid: credentials.uid, trust: trust))
    }

    /// The user name of the uid the peer actually ran as (differs from the principal after sudo).
    public var userName: String { Principal.name(of: uid) }

    /// Evidence for events: who connected, as numbers and names.
    public var details: [String: String] {
        var details = principal.details.merging(EventDetails([.peerPid: String(pid), .peerUid: String(uid), .peerUser: userName])) { $1 }
        if principal.uid != uid { details[.viaUser] = userName }
        return details
    }
}

/// Who may control the daemon: root, the daemon's own user, and members of the control group.
/// The socket's mode (0660, the control group) already keeps others from connecting; this
/// check is the second lock, so a mode loosened by hand does not open the door.
public struct ControlAccess: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var name: String
        public var gid: UInt32
    }

    public var daemonUID: UInt32
    public var group: Group?
    /// Whose audit login uid may name the principal (`--trust-login-uid`).
    public var loginUIDTrust: LoginUIDTrust

    public init(daemonUID: UInt32 = SystemCalls.effectiveUID, group: Group?, loginUIDTrust: LoginUIDTrust = .rootCallersOnly) {
        self.daemonUID = daemonUID
        self.group = group
        self.loginUIDTrust = loginUIDTrust
    }

    /// `name` looked up in the group database; `nil` when no group is configured.
    public static func resolve(groupName name: String?) throws(ControlAccessError) -> ControlAccess {
        guard let name else { return ControlAccess(group: nil) }
        switch AccountDatabase.group(named: name) {
        case .found(let gid): return ControlAccess(group: Group(name: name, gid: gid))
        case .notFound: throw ControlAccessError(description: "control group \"\(name)\" does not exist (create it, or pass --control-group none)")
        case .failed(let error): throw ControlAccessError(description: "control group \"\(name)\": \(error.description)")
        }
    }

    /// The default control group, `ascribe`, when the host has one.
    public static let defaultGroupName = "ascribe"

    /// Root and the daemon's own user: they may always control it, and the last connections
    /// of the socket are kept for them.
    public func isPrivileged(uid: UInt32) -> Bool {
        uid == 0 || uid == daemonUID
    }

    public func allows(_ peer: ControlPeer) -> Bool {
        if isPrivileged(uid: peer.uid) { return true }
        guard let group else { return false }
        return peer.gid == group.gid || peer.groups.contains(group.gid)
    }

    /// Who is allowed, in words, for refusals.
    public var allowedDescription: String {
        let daemonUser = daemonUID == 0 ? "root" : "root and \(Principal.name(of: daemonUID)) (the daemon's user)"
        return group.map { "\(daemonUser) and members of group \($0.name)" } ?? "\(daemonUser) (no control group is configured)"
    }
}

public struct ControlAccessError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

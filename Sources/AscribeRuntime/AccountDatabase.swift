import AscribeCore
import AscribeSystem

/// What the host's account database says, for commands outside the runtime.
public enum HostAccounts {
    /// The home directory of `user` on this host, and whether it is a directory here.
    public static func homeDirectory(ofUser user: String) -> HomeDirectory {
        guard case .success(let record?) = AccountDatabase.userRecord(named: user), !record.home.isEmpty else {
            return .unknownUser
        }
        let status = try? FileStatus(path: record.home, followingLinks: true)
        return status?.kind == .directory ? .directory(record.home) : .missing
    }
}

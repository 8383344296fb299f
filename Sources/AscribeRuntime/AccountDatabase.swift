import AscribeCore
#if canImport(Glibc)
import Glibc
#endif

/// What the host's user and group databases (NSS) say about a name.
enum AccountLookup: Equatable {
    case found(id: UInt32)
    case notFound
    case failed(SystemError)
}

/// Reentrant lookups in the user and group databases. The C records point into a buffer that
/// lives only inside each call; only the id is copied out.
enum AccountDatabase {
    /// Buffers grow on ERANGE up to this size; NSS entries beyond it are not plausible.
    private static let maximumBuffer = 1 << 20

    static func user(named name: String) -> AccountLookup {
        lookup { buffer, size in
            var record = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let code = getpwnam_r(name, &record, buffer, size, &result)
            return (code, result == nil ? nil : UInt32(record.pw_uid))
        }
    }

    static func group(named name: String) -> AccountLookup {
        lookup { buffer, size in
            var record = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            let code = getgrnam_r(name, &record, buffer, size, &result)
            return (code, result == nil ? nil : UInt32(record.gr_gid))
        }
    }

    /// The user's home directory (`pw_dir`), or nil when the user is unknown or has none.
    static func homeDirectory(ofUser name: String) -> String? {
        let found: Result<String?, SystemError> = lookupValue { buffer, size in
            var record = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let code = getpwnam_r(name, &record, buffer, size, &result)
            guard result != nil, let directory = record.pw_dir else { return (code, nil) }
            return (code, String(cString: directory))
        }
        guard case .success(let directory?) = found, !directory.isEmpty else { return nil }
        return directory
    }

    /// Calls `body` with a scratch buffer, doubling it while the library answers ERANGE.
    private static func lookup(_ body: (UnsafeMutablePointer<CChar>, Int) -> (Int32, UInt32?)) -> AccountLookup {
        switch lookupValue(body) {
        case .success(let id?): .found(id: id)
        case .success(nil): .notFound
        case .failure(let error): .failed(error)
        }
    }

    /// The value `body` copies out of the C record (nil: no such entry), growing the buffer
    /// while the library answers ERANGE.
    private static func lookupValue<Value>(_ body: (UnsafeMutablePointer<CChar>, Int) -> (Int32, Value?)) -> Result<Value?, SystemError> {
        let suggested = sysconf(Int32(_SC_GETPW_R_SIZE_MAX))
        var size = suggested > 0 ? min(suggested, maximumBuffer) : 16 * 1024
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let (code, value) = buffer.withUnsafeMutableBufferPointer { pointer -> (Int32, Value?) in
                guard let base = pointer.baseAddress else { return (EINVAL, nil) }
                return body(base, pointer.count)
            }
            if code == ERANGE, size < maximumBuffer {
                size *= 2
                continue
            }
            if code == 0 || code == ENOENT || code == ESRCH || code == EBADF || code == EPERM {
                return .success(value)
            }
            return .failure(SystemError(code: code))
        }
    }
}

/// What the host's account database says, for commands outside the runtime.
public enum HostAccounts {
    /// The home directory of `user` on this host, and whether it is a directory here.
    public static func homeDirectory(ofUser user: String) -> HomeDirectory {
        guard let home = AccountDatabase.homeDirectory(ofUser: user) else { return .unknownUser }
        let status = try? FileStatus(path: home, followingLinks: true)
        return status?.kind == .directory ? .directory(home) : .missing
    }
}

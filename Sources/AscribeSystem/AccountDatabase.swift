import Synchronization
import Glibc

/// What the host's user and group databases (NSS) say about a name.
public enum AccountLookup: Equatable {
    case found(id: UInt32)
    case notFound
    case failed(SystemError)
}

/// A user's entry in the user database, copied out of the C record.
public struct UserRecord: Equatable, Sendable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    public var home: String
    public var shell: String
}

/// A group's entry in the group database, copied out of the C record.
public struct GroupRecord: Equatable, Sendable {
    public var name: String
    public var gid: UInt32
    /// The user names the entry lists (its supplementary members).
    public var members: [String]
}

/// Reentrant lookups in the user and group databases. The C records point into a buffer that
/// lives only inside each call; only Swift values are copied out.
public enum AccountDatabase {
    /// Buffers grow on ERANGE up to this size; NSS entries beyond it are not plausible.
    private static let maximumBuffer = 1 << 20

    public static func user(named name: String) -> AccountLookup {
        switch userRecord(named: name) {
        case .success(let record): record.map { .found(id: $0.uid) } ?? .notFound
        case .failure(let error): .failed(error)
        }
    }

    public static func group(named name: String) -> AccountLookup {
        let result = lookup { buffer, size -> (Int32, UInt32?) in
            var record = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            let code = getgrnam_r(name, &record, buffer, size, &result)
            return (code, result == nil ? nil : UInt32(record.gr_gid))
        }
        switch result {
        case .success(let gid): return gid.map { .found(id: $0) } ?? .notFound
        case .failure(let error): return .failed(error)
        }
    }

    /// The whole passwd entry for a name; nil when there is none.
    public static func userRecord(named name: String) -> Result<UserRecord?, SystemError> {
        lookup { buffer, size in
            var record = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let code = getpwnam_r(name, &record, buffer, size, &result)
            return (code, result == nil ? nil : UserRecord(record))
        }
    }

    /// The whole passwd entry for a uid; nil when there is none.
    public static func userRecord(uid: UInt32) -> Result<UserRecord?, SystemError> {
        lookup { buffer, size in
            var record = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let code = getpwuid_r(uid_t(uid), &record, buffer, size, &result)
            return (code, result == nil ? nil : UserRecord(record))
        }
    }

    /// A group's name and the user names its entry lists, by gid; nil when there is none.
    public static func groupRecord(gid: UInt32) -> Result<GroupRecord?, SystemError> {
        lookup { buffer, size in
            var record = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            let code = getgrgid_r(gid_t(gid), &record, buffer, size, &result)
            return (code, result == nil ? nil : GroupRecord(record))
        }
    }

    /// Every entry of the user database, for "whose primary group is this": group entries list
    /// only supplementary members. The enumeration state is process-wide, hence the lock.
    public static func allUsers() -> [UserRecord] {
        enumeration.withLock { _ in
            setpwent()
            defer { endpwent() }
            var users: [UserRecord] = []
            var size = 16 * 1024
            while size <= maximumBuffer {
                var buffer = [CChar](repeating: 0, count: size)
                var record = passwd()
                var result: UnsafeMutablePointer<passwd>?
                let code = buffer.withUnsafeMutableBufferPointer { pointer -> Int32 in
                    guard let base = pointer.baseAddress else { return EINVAL }
                    return getpwent_r(&record, base, pointer.count, &result)
                }
                if code == ERANGE {
                    size *= 2
                    continue
                }
                guard code == 0, result != nil else { break }
                users.append(UserRecord(record))
            }
            return users
        }
    }

    private static let enumeration = Mutex(())

    /// Every group `user` belongs to according to the group database, `primary` included,
    /// as `initgroups` would set them.
    public static func groupList(user: String, primary: UInt32) -> [UInt32] {
        var capacity: Int32 = 32
        // Linux's NGROUPS_MAX is 65536; the bound only stops a misbehaving NSS module.
        while capacity <= 1 << 17 {
            var groups = [gid_t](repeating: 0, count: Int(capacity))
            var count = capacity
            let result = groups.withUnsafeMutableBufferPointer { buffer in
                getgrouplist(user, gid_t(primary), buffer.baseAddress, &count)
            }
            if result >= 0 { return groups.prefix(Int(count)).map { UInt32($0) } }
            capacity = max(count, capacity * 2)
        }
        return [primary]
    }

    /// Calls `body` with a scratch buffer, doubling it while the library answers ERANGE.
    private static func lookup<Record>(
        _ body: (UnsafeMutablePointer<CChar>, Int) -> (Int32, Record?)
    ) -> Result<Record?, SystemError> {
        let suggested = sysconf(Int32(_SC_GETPW_R_SIZE_MAX))
        var size = suggested > 0 ? min(suggested, maximumBuffer) : 16 * 1024
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let (code, record) = buffer.withUnsafeMutableBufferPointer { pointer -> (Int32, Record?) in
                guard let base = pointer.baseAddress else { return (EINVAL, nil) }
                return body(base, pointer.count)
            }
            if code == ERANGE, size < maximumBuffer {
                size *= 2
                continue
            }
            if code == 0 || code == ENOENT || code == ESRCH || code == EBADF || code == EPERM {
                return .success(record)
            }
            return .failure(SystemError(code: code))
        }
    }
}

extension GroupRecord {
    /// Copies the strings out while the C record's buffer is still alive.
    fileprivate init(_ record: Glibc.group) {
        name = record.gr_name.map { String(cString: $0) } ?? ""
        gid = UInt32(record.gr_gid)
        var members: [String] = []
        if var cursor = record.gr_mem {
            while let member = cursor.pointee {
                members.append(String(cString: member))
                cursor += 1
            }
        }
        self.members = members
    }
}

extension UserRecord {
    /// Copies the strings out while the C record's buffer is still alive.
    fileprivate init(_ record: passwd) {
        name = record.pw_name.map { String(cString: $0) } ?? ""
        uid = UInt32(record.pw_uid)
        gid = UInt32(record.pw_gid)
        home = record.pw_dir.map { String(cString: $0) } ?? "/"
        shell = record.pw_shell.map { String(cString: $0) } ?? "/bin/sh"
    }
}

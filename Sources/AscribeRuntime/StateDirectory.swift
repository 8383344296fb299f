import Glibc
import AscribeSystem

/// One entry of the state directory that belonged to someone else and was removed.
public struct StateDirectoryRemoval: Sendable, Equatable, CustomStringConvertible {
    /// Relative to the state directory (`output`, `output/backup/x.log`).
    public var name: String
    /// `symbolic link`, `directory`, `file`, `socket` or `special file`.
    public var kind: String
    public var owner: UInt32

    public var description: String { "\(name) (\(kind) of uid \(owner))" }
}

/// What the state directory rules did before the directory was used.
public struct StateDirectoryReport: Sendable {
    /// The mode the directory had before it was tightened to 0700; nil when it was fine.
    public var loosePermissions: UInt32?
    public var removed: [StateDirectoryRemoval] = []
    public let path: String

    /// One line per thing done, for stderr as it happens.
    public var notes: [String] {
        var lines: [String] = []
        if let loosePermissions {
            lines.append("the state directory \(path) had mode \(String(loosePermissions, radix: 8)); tightened to 700 "
                + "(only the daemon's user; the control socket adds the control group's search bit)")
        }
        for removal in removed {
            lines.append("removed \(path)/\(removal.name), a \(removal.kind) of uid \(removal.owner), not the daemon's user "
                + "(uid \(SystemCalls.effectiveUID)): planted while the state directory was open to others; recreated as needed")
        }
        return lines
    }
}

/// Why the state directory may not be used.
public enum StateDirectoryError: Error, Sendable, CustomStringConvertible {
    case unavailable(path: String, SystemError)
    /// The directory is not the daemon's own: whoever owns it could replace the log.
    case notOwned(path: String, problem: String)
    /// An entry the daemon does not recreate belongs to another user (the event store, or
    /// anything the daemon does not know): it is not removed, and nothing starts.
    case foreignEntry(path: String, name: String, owner: UInt32, isStore: Bool)
    /// A foreign entry the daemon would recreate could not be removed.
    case removalFailed(path: String, StateDirectoryRemoval, SystemError)

    public var description: String {
        let me = SystemCalls.effectiveUID
        switch self {
        case .unavailable(let path, let error):
            return "cannot use the state directory \(path): \(error)"
        case .notOwned(let path, let problem):
            return "refusing the state directory \(path): \(problem)"
        case .foreignEntry(let path, let name, let owner, let isStore):
            let why = isStore
                ? "whoever owns it could rewrite or replace the event log; check it (ascribe verify) and chown it to uid \(me), or move it away"
                : "it is not something the daemon makes, so it is not removed; remove it or chown it to uid \(me)"
            return "refusing the state directory \(path): \(path)/\(name) belongs to uid \(owner), not to the daemon's user (uid \(me)): \(why)"
        case .removalFailed(let path, let removal, let error):
            return "refusing the state directory \(path): \(path)/\(removal.name) (\(removal.kind) of uid \(removal.owner)) is not "
                + "the daemon's and could not be removed: \(error); remove it"
        }
    }
}

/// The state directory rules (docs/DAEMON.md), the same for the daemon and for `ascribe run`
/// without a daemon: the directory must be the scheduler's user's own; a mode looser than
/// 0710 becomes 0700; and anything in it (and in `output`, `output/<job>`) owned by anyone
/// else was planted while it was open, so it is removed when the scheduler makes it anyway
/// (the lock, the socket, run output, the non-root credentials runtime), and refuses the
/// start otherwise (the event store and anything unknown). Removal never follows a link.
public enum StateDirectory {
    /// The event store and SQLite's companions: the record itself, never removed.
    static let storeNames: Set<String> = ["events.db", "events.db-wal", "events.db-shm", "events.db-journal"]
    /// What the scheduler creates again when missing, so a foreign one is simply removed.
    static let recreatedNames: Set<String> = ["daemon.lock", "control.sock", "output", "run"]
    static let outputName = "output"

    public static func prepare(_ path: String) throws(StateDirectoryError) -> StateDirectoryReport {
        let handle: Int32
        do throws(SystemError) {
            try FileSystem.makeDirectories(path, mode: 0o700)
            handle = try SystemCalls.open(path, flags: O_RDONLY | O_DIRECTORY)
        } catch {
            throw .unavailable(path: path, error)
        }
        defer { SystemCalls.close(handle) }
        var report = StateDirectoryReport(path: path)
        let status: FileStatus
        do throws(SystemError) {
            status = try SystemCalls.status(handle)
        } catch {
            throw .unavailable(path: path, error)
        }
        let me = SystemCalls.effectiveUID
        guard status.owner == me else {
            throw .notOwned(path: path, problem: "it belongs to uid \(status.owner), not to the daemon's user "
                + "(uid \(me)), who could then replace the event log; chown it to the daemon's user or choose another --state")
        }
        if status.permissions & ~UInt32(0o710) != 0 {
            do throws(SystemError) {
                try SystemCalls.changeMode(handle, 0o700, context: path)
            } catch {
                throw .unavailable(path: path, error)
            }
            report.loosePermissions = status.permissions
        }
        try sweep(handle, prefix: "", path: path, report: &report)
        return report
    }

    /// Removes or refuses the foreign entries of one directory, then descends into the
    /// scheduler's own `output` and its job directories (tightening a loose one to 0700).
    private static func sweep(_ directory: Int32, prefix: String, path: String,
                              report: inout StateDirectoryReport) throws(StateDirectoryError) {
        let names: [String]
        do throws(SystemError) {
            names = try SystemCalls.entries(of: directory).map { String(decoding: $0, as: UTF8.self) }
        } catch {
            throw .unavailable(path: path + "/" + prefix, error)
        }
        let me = SystemCalls.effectiveUID
        for name in names.sorted() {
            let relative = prefix + name
            let status: FileStatus
            do throws(SystemError) {
                status = try SystemCalls.status(of: name, in: directory)
            } catch where error.code == ENOENT {
                continue
            } catch {
                throw .unavailable(path: path + "/" + relative, error)
            }
            if status.owner != me {
                if prefix.isEmpty, !recreatedNames.contains(name) {
                    throw .foreignEntry(path: path, name: name, owner: status.owner, isStore: storeNames.contains(name))
                }
                let removal = StateDirectoryRemoval(name: relative, kind: kindName(status.kind), owner: status.owner)
                do throws(SystemError) {
                    try remove(name, in: directory, isDirectory: status.kind == .directory)
                } catch {
                    throw .removalFailed(path: path, removal, error)
                }
                report.removed.append(removal)
                continue
            }
            let descend = status.kind == .directory && (prefix.isEmpty ? name == outputName : prefix == outputName + "/")
            guard descend else { continue }
            let child: Int32
            do throws(SystemError) {
                child = try SystemCalls.open(name, in: directory, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            } catch {
                throw .unavailable(path: path + "/" + relative, error)
            }
            defer { SystemCalls.close(child) }
            if status.permissions & 0o077 != 0 {
                do throws(SystemError) {
                    try SystemCalls.changeMode(child, 0o700, context: path + "/" + relative)
                } catch {
                    throw .unavailable(path: path + "/" + relative, error)
                }
            }
            try sweep(child, prefix: relative + "/", path: path, report: &report)
        }
    }

    private static func remove(_ name: String, in directory: Int32, isDirectory: Bool) throws(SystemError) {
        if isDirectory {
            let child = try FileDescriptor(owning: SystemCalls.open(name, in: directory, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW))
            try DirectoryTree.removeContents(of: child.rawValue, restoringPermission: SystemCalls.effectiveUID != 0)
        }
        try SystemCalls.remove(name, in: directory, isDirectory: isDirectory)
    }

    private static func kindName(_ kind: FileStatus.Kind) -> String {
        switch kind {
        case .regular: "file"
        case .directory: "directory"
        case .symbolicLink: "symbolic link"
        case .socket: "socket"
        case .other: "special file"
        }
    }
}

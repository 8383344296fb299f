#if canImport(Glibc)
import Glibc
#endif

/// Why the daemon could not take its state directory.
public enum DaemonLockError: Error, Sendable, CustomStringConvertible {
    /// Another process holds the lock; its pid as written in the file, when readable.
    case held(path: String, pid: Int32?)
    case unavailable(path: String, SystemError)
    /// The state directory is not the daemon's own: whoever owns it could replace the log.
    case unsafeStateDirectory(path: String, problem: String)

    public var description: String {
        switch self {
        case .held(let path, let pid):
            "another daemon (pid \(pid.map(String.init) ?? "unknown")) holds \(path)"
        case .unavailable(let path, let error):
            "cannot lock \(path): \(error)"
        case .unsafeStateDirectory(let path, let problem):
            "refusing the state directory \(path): \(problem)"
        }
    }
}

/// One daemon per state directory: an exclusive `flock` on `<state>/daemon.lock`, held for
/// the life of the process (the kernel drops it when the process dies, so a crash never leaves
/// a stale lock), with the holder's pid written inside for the message a second daemon prints.
public final class DaemonLock: Sendable {
    public let path: String
    /// What was tightened on the state directory (a looser mode), for the daemon to say.
    public let tightened: String?
    private let descriptor: Int32

    public init(stateDirectory: String) throws(DaemonLockError) {
        let path = stateDirectory + "/daemon.lock"
        self.path = path
        do throws(SystemError) {
            try Self.makeDirectories(stateDirectory)
        } catch {
            throw .unavailable(path: path, error)
        }
        tightened = try Self.secure(stateDirectory)
        do throws(SystemError) {
            descriptor = try SystemCalls.open(path, flags: O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode: 0o600)
        } catch {
            throw .unavailable(path: path, error)
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let lockError = errno
            let holder = (try? SystemCalls.readToEnd(descriptor)).flatMap {
                Int32(String(decoding: $0, as: UTF8.self).filter { !$0.isWhitespace })
            }
            SystemCalls.close(descriptor)
            if lockError == EWOULDBLOCK { throw .held(path: path, pid: holder) }
            throw .unavailable(path: path, SystemError(code: lockError, call: "flock", context: path))
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = try? SystemCalls.writeAll(descriptor, pid[...], context: path)
    }

    /// `mkdir -p`; directories it creates are private to the scheduler (0700).
    private static func makeDirectories(_ path: String) throws(SystemError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST { throw .current("mkdir", prefix) }
        }
    }

    /// The state directory must be a directory owned by the daemon's user. A mode looser than
    /// 0710 (the control group's search bit, which the control socket sets) becomes 0700, so
    /// nobody else can list it, or add, rename or delete files in it (and so replace the log).
    private static func secure(_ directory: String) throws(DaemonLockError) -> String? {
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(path: directory, followingLinks: true)
        } catch {
            throw .unavailable(path: directory, error)
        }
        guard status.kind == .directory else {
            throw .unsafeStateDirectory(path: directory, problem: "it is not a directory")
        }
        guard status.owner == geteuid() else {
            throw .unsafeStateDirectory(path: directory, problem: "it belongs to uid \(status.owner), not to the daemon's user "
                + "(uid \(geteuid())), who could then replace the event log; chown it to the daemon's user or choose another --state")
        }
        let allowed: UInt32 = 0o710
        guard status.permissions & ~allowed != 0 else { return nil }
        let tightenedMode: UInt32 = 0o700
        do throws(SystemError) {
            try SystemCalls.changeMode(path: directory, tightenedMode)
        } catch {
            throw .unavailable(path: directory, error)
        }
        return "the state directory \(directory) had mode \(String(status.permissions, radix: 8)); "
            + "tightened to \(String(tightenedMode, radix: 8)) (only the daemon's user; the control socket adds the control group's search bit)"
    }

    deinit { SystemCalls.close(descriptor) }
}

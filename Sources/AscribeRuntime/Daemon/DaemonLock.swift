import Glibc
import AscribeSystem

/// Why the daemon could not take its state directory.
public enum DaemonLockError: Error, Sendable, CustomStringConvertible {
    /// Another process holds the lock; its pid as written in the file, when readable.
    case held(path: String, pid: Int32?)
    case unavailable(path: String, SystemError)
    /// The state directory rules refused the directory (`StateDirectory`).
    case stateDirectory(StateDirectoryError)

    public var description: String {
        switch self {
        case .held(let path, let pid):
            "another daemon (pid \(pid.map(String.init) ?? "unknown")) holds \(path)"
        case .unavailable(let path, let error):
            "cannot lock \(path): \(error)"
        case .stateDirectory(let error):
            error.description
        }
    }
}

/// One daemon per state directory: an exclusive `flock` on `<state>/daemon.lock`, held for
/// the life of the process (the kernel drops it when the process dies, so a crash never leaves
/// a stale lock), with the holder's pid written inside for the message a second daemon prints.
public final class DaemonLock: Sendable {
    public let path: String
    /// What the state directory rules tightened and removed, for the daemon to say.
    public let stateDirectory: StateDirectoryReport
    private let descriptor: Int32

    public init(stateDirectory: String) throws(DaemonLockError) {
        let path = stateDirectory + "/daemon.lock"
        self.path = path
        do throws(StateDirectoryError) {
            self.stateDirectory = try StateDirectory.prepare(stateDirectory)
        } catch {
            throw .stateDirectory(error)
        }
        // After the rules removed a foreign lock file: this one is the daemon user's own file.
        do throws(SystemError) {
            descriptor = try SystemCalls.open(path, flags: O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode: 0o600)
            let status = try SystemCalls.status(descriptor)
            guard status.kind == .regular, status.owner == SystemCalls.effectiveUID else {
                SystemCalls.close(descriptor)
                throw SystemError(code: EPERM, call: "check", context: "\(path) is not a regular file of the daemon's user")
            }
        } catch {
            throw .unavailable(path: path, error)
        }
        do throws(SystemError) {
            try SystemCalls.lockWithoutWaiting(descriptor, context: path)
        } catch {
            let holder = (try? SystemCalls.readToEnd(descriptor)).flatMap {
                Int32(String(decoding: $0, as: UTF8.self).filter { !$0.isWhitespace })
            }
            SystemCalls.close(descriptor)
            if error.code == EWOULDBLOCK { throw .held(path: path, pid: holder) }
            throw .unavailable(path: path, error)
        }
        let pid = Array("\(SystemCalls.processID)\n".utf8)
        _ = try? SystemCalls.truncate(descriptor, context: path)
        _ = try? SystemCalls.writeAll(descriptor, pid[...], context: path)
    }

    deinit { SystemCalls.close(descriptor) }
}

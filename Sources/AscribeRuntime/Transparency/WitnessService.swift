import AscribeCore
import AscribeSystem
import Glibc

/// `ascribe witness serve`: the witness's state directory (its key, one record per log, a
/// lock so one process serves it) and its listening socket.
public final class WitnessService {
    public let witness: Witness
    public let port: Int
    private let listener: FileDescriptor
    /// Held while serving: a second witness on the same state could interleave check and write.
    private let lock: FileDescriptor

    /// Locks `stateDirectory` (made 0700 if missing), loads or makes its Ed25519 key
    /// (`witness.pem`, 0600), and listens on `listen` (`host:port`).
    public init(stateDirectory: String, name: String, logKeys: [Ed25519NoteVerifier], listen: String) throws(WitnessStartError) {
        do {
            let (host, port) = try WitnessHTTP.split(listen)
            try FileSystem.makeDirectories(stateDirectory, mode: 0o700)
            lock = try FileDescriptor.open(stateDirectory + "/witness.lock", flags: O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode: 0o600)
            try SystemCalls.lockWithoutWaiting(lock.rawValue, context: stateDirectory + "/witness.lock")
            let key = try Self.key(path: stateDirectory + "/witness.pem")
            witness = Witness(signer: try NoteSigner(name: name, key: key), logKeys: logKeys, stateDirectory: stateDirectory)
            listener = try SystemCalls.listenTCP(host: host, port: port, backlog: 16)
            self.port = try SystemCalls.localPort(listener)
        } catch {
            throw WitnessStartError(description: "\(error)")
        }
    }

    /// Answers requests one at a time until the process ends.
    public func serve(log: (String) -> Void) throws(SystemError) {
        try WitnessHTTP.serve(listener, witness: witness, now: { UInt64(max(0, SystemClock.now().secondsSinceEpoch)) }, log: log)
    }

    private static func signingKey(_ pem: [UInt8]) throws(FileReadError<Never>) -> SigningKey {
        do {
            return try SigningKey(pem: pem)
        } catch {
            throw .system(SystemError(code: EINVAL, call: "reading the witness key", context: error.description))
        }
    }

    /// The witness's key, made on first start (0600, written once, never replaced).
    private static func key(path: String) throws -> SigningKey {
        do throws(FileReadError<Never>) {
            let pem = try FileSystem.read(path, limit: 64 * 1024) { _ in }
            return try Self.signingKey(pem)
        } catch {
            guard case .system(let error) = error, error.code == ENOENT else { throw error }
        }
        let key = try SigningKey.generate(.ed25519)
        let file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode: 0o600)
        try SystemCalls.writeAll(file.rawValue, try key.pem()[...], context: path)
        try SystemCalls.synchronize(file.rawValue, context: path)
        return key
    }
}

public struct WitnessStartError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

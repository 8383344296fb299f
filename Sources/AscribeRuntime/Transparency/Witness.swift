import AscribeCore
import AscribeSystem
import Glibc

/// A C2SP tlog-witness (`ascribe witness serve`): cosigns a log's checkpoint only when it is
/// consistent with the last one it cosigned for that origin, and remembers it before answering.
/// Requests are handled one at a time by one process (the state directory is locked), so the
/// check and the write of the new size are atomic: no interleaving can roll a log back.
public final class Witness {
    public let signer: NoteSigner
    /// Log keys by origin (the key's name is the log's origin, as ascribe's checkpoint keys are named).
    private let logs: [String: [Ed25519NoteVerifier]]
    private let directory: String

    public init(signer: NoteSigner, logKeys: [Ed25519NoteVerifier], stateDirectory: String) {
        self.signer = signer
        logs = Dictionary(grouping: logKeys, by: \.name)
        directory = stateDirectory
    }

    /// The answer to one `add-checkpoint` body at `now` (seconds since the epoch).
    public func addCheckpoint(_ body: [UInt8], now: UInt64) -> WitnessResponse {
        let request: AddCheckpointRequest
        let signed: SignedCheckpoint
        do {
            request = try AddCheckpointRequest(parsing: body)
            signed = try SignedCheckpoint(parsing: request.note)
        } catch {
            return .text(400, "\(error)\n")
        }
        let checkpoint = signed.checkpoint
        guard let keys = logs[checkpoint.origin] else { return .text(404, "unknown log \(checkpoint.origin)\n") }
        do {
            _ = try signed.note.verifiedSignatures(by: keys)
        } catch {
            return .text(403, "\(error)\n")
        }
        guard request.oldSize <= checkpoint.size else { return .text(400, "old size \(request.oldSize) is larger than the checkpoint's\n") }
        let known: (size: UInt64, root: MerkleHash?)
        do {
            known = try latest(checkpoint.origin)
        } catch {
            return .text(500, "\(error)\n")
        }
        guard request.oldSize == known.size else {
            return WitnessResponse(status: 409, contentType: "text/x.tlog.size", body: Array("\(known.size)\n".utf8))
        }
        let consistent: Bool
        if let root = known.root {
            consistent = (try? TreeHashing().verifyConsistency(oldSize: known.size, newSize: checkpoint.size, oldRoot: root,
                                                                 newRoot: checkpoint.root, proof: request.proof)) ?? false
            if known.size == checkpoint.size && root != checkpoint.root { return .text(409, "same size, another root: a fork\n") }
        } else {
            consistent = request.proof.isEmpty
        }
        guard consistent else { return .text(422, "the consistency proof from \(known.size) does not verify\n") }
        do {
            try remember(checkpoint)
            let cosignature = try signer.cosign(checkpoint, time: now)
            return WitnessResponse(status: 200, contentType: "text/plain; charset=utf-8", body: Array(cosignature.line.utf8))
        } catch {
            return .text(500, "\(error)\n")
        }
    }

    /// The last size and root cosigned for `origin` (0 and nil for none).
    private func latest(_ origin: String) throws(SystemError) -> (size: UInt64, root: MerkleHash?) {
        let bytes: [UInt8]
        do throws(FileReadError<Never>) {
            bytes = try FileSystem.read(path(origin), limit: 4096) { _ in }
        } catch {
            switch error {
            case .system(let error) where error.code == ENOENT: return (0, nil)
            case .system(let error): throw error
            }
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        guard lines.count == 3, lines[0] == origin, let size = UInt64(lines[1]), let root = MerkleHash(base64: lines[2]) else {
            throw SystemError(code: EINVAL, call: "reading", context: "\(path(origin)) is not a witness record")
        }
        return (size, root)
    }

    /// Writes the new record and renames it over the old one, each step synced, before the
    /// cosignature leaves.
    private func remember(_ checkpoint: Checkpoint) throws(SystemError) {
        let final = path(checkpoint.origin)
        let temporary = final + ".new"
        let file = try FileDescriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode: 0o600)
        try SystemCalls.writeAll(file.rawValue, ArraySlice("\(checkpoint.origin)\n\(checkpoint.size)\n\(checkpoint.root.base64)\n".utf8),
                                 context: temporary)
        try SystemCalls.synchronize(file.rawValue, context: temporary)
        try SystemCalls.rename(path: temporary, to: final)
        let parent = try FileDescriptor.open(directory, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try SystemCalls.synchronize(parent.rawValue, context: directory)
    }

    /// One file per log, named by the SHA-256 of its origin (an origin may hold `/`).
    private func path(_ origin: String) -> String {
        directory + "/log-" + ((try? SHA256.digest(Array(origin.utf8)).hex) ?? "unhashable")
    }
}

/// An HTTP answer of the witness.
public struct WitnessResponse: Equatable, Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    static func text(_ status: Int, _ text: String) -> WitnessResponse {
        WitnessResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }
}

import AscribeCore
import AscribeSystem
import Glibc

/// How the daemon signs checkpoints of its log and where it sends them (PRODUCT.md section 9).
public struct CheckpointPublishing: Sendable {
    /// The checkpoint key (the key store's active key of purpose `checkpoint`, at start).
    public var signer: NoteSigner
    /// `--witness-file`: each signed checkpoint note is appended here (another disk, a mount
    /// of another host).
    public var witnessFile: String?
    /// Sign once this many events were written since the last checkpoint…
    public var everyEvents: UInt64 = 1000
    /// …or once this long has passed with new events…
    public var newEventsSeconds: Int64 = 60
    /// …or this long with none (the checkpoint then says the log is alive and unchanged).
    public var idleSeconds: Int64 = 3600

    public init(signer: NoteSigner, witnessFile: String? = nil) {
        self.signer = signer
        self.witnessFile = witnessFile
    }
}

extension CheckpointPublishing {
    /// The key store's active checkpoint key at `now` (made on first use), named
    /// `ascribe/<host>` like the checkpoints' origin. A rotation (`ascribe keys`) takes effect
    /// at the daemon's next start.
    public static func keyStoreSigner(directory: String, host: String, now: Instant) throws(CheckpointKeyError) -> NoteSigner {
        let name = EventStore.checkpointOrigin(host: host)
        let active: (record: KeyRecord, key: SigningKey)
        do throws(KeyStoreError) {
            var keys = try KeyStore.open(KeyStoreSettings(directory: directory, checkpointKeyName: name), create: true)
            _ = try keys.prepare(.checkpoint, now: now)
            active = try keys.signingKey(.checkpoint, at: now)
        } catch {
            throw .keys(error)
        }
        do throws(NoteSigningError) {
            return try NoteSigner(name: active.record.name ?? name, key: active.key)
        } catch {
            throw .signer(error)
        }
    }
}

public enum CheckpointKeyError: Error, Sendable, CustomStringConvertible {
    case keys(KeyStoreError)
    case signer(NoteSigningError)

    public var description: String {
        switch self {
        case .keys(let error): error.description
        case .signer(let error): error.description
        }
    }
}

/// The last checkpoint the daemon signed: its tree size and when.
struct CheckpointMark {
    var size: UInt64
    var time: Instant
}

extension Daemon {
    /// When a checkpoint falls due by time alone, for the loop's sleep; nil when checkpoints are off.
    var checkpointWake: Instant? {
        guard let publishing = configuration.checkpoints else { return nil }
        guard let mark = lastCheckpoint else { return clock.now() }
        // New events wake the loop anyway (slots, runs, heartbeats); past the 60 s mark only
        // the idle checkpoint is left to wait for.
        let withNewEvents = mark.time.adding(seconds: publishing.newEventsSeconds)
        return withNewEvents > clock.now() ? withNewEvents : mark.time.adding(seconds: publishing.idleSeconds)
    }

    /// Signs a checkpoint when one is due: none signed yet, `everyEvents` new events, new
    /// events and `newEventsSeconds` passed, or `idleSeconds` passed. Events are "new" when
    /// written after the last checkpoint's own `checkpoint.signed`.
    func signCheckpointIfDue(now: Instant) {
        guard let publishing = configuration.checkpoints, let store, storeOutage == nil else { return }
        guard let mark = lastCheckpoint ?? recordedCheckpoint(store) else {
            signCheckpoint(now: now)
            return
        }
        lastCheckpoint = mark
        guard let size = try? store.merkleTreeSize() else { return }
        let newEvents = size > mark.size + 1 ? size - mark.size - 1 : 0
        let elapsed = now.secondsSinceEpoch - mark.time.secondsSinceEpoch
        if newEvents >= publishing.everyEvents || (newEvents > 0 && elapsed >= publishing.newEventsSeconds)
            || elapsed >= publishing.idleSeconds || elapsed < 0 {
            signCheckpoint(now: now)
        }
    }

    /// At shutdown: a last checkpoint covering everything, `daemon.stopped` included.
    func signFinalCheckpoint(now: Instant) {
        guard configuration.checkpoints != nil, let store, storeOutage == nil,
              let size = try? store.merkleTreeSize(), size > (lastCheckpoint?.size ?? 0) + 1 || lastCheckpoint == nil else { return }
        signCheckpoint(now: now)
    }

    /// Signs, records `checkpoint.signed` (printed and forwarded to syslog like every event, by
    /// the store's `appended`) and appends
    /// the note to the witness file. A refusal (the tree does not extend the last signed
    /// checkpoint) is reported and nothing is signed.
    private func signCheckpoint(now: Instant) {
        guard let publishing = configuration.checkpoints, let store else { return }
        let signed: SignedCheckpoint
        do {
            (signed, _) = try store.signCheckpoint(signer: publishing.signer, host: configuration.host, actor: actor,
                                                       time: EventTime(now))
        } catch {
            output(.problem(error.description))
            lastCheckpoint = CheckpointMark(size: lastCheckpoint?.size ?? 0, time: now)
            return
        }
        lastCheckpoint = CheckpointMark(size: signed.checkpoint.size, time: now)
        if let path = publishing.witnessFile {
            do throws(SystemError) {
                let file = try FileDescriptor.open(path, flags: O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode: 0o644)
                try SystemCalls.writeAll(file.rawValue, ArraySlice(signed.note.rendered.utf8), context: path)
                try SystemCalls.synchronize(file.rawValue, context: path)
            } catch {
                output(.problem("could not append the checkpoint of \(signed.checkpoint.size) events to the witness file \(path): \(error)"))
            }
        }
    }

    private func recordedCheckpoint(_ store: EventStore) -> CheckpointMark? {
        guard let last = try? store.lastSignedCheckpoint() else { return nil }
        return CheckpointMark(size: last.size, time: last.event.time.instant)
    }
}

import AscribeCore
import AscribeSystem
import Dispatch
import Glibc

/// How the daemon signs checkpoints of its log and where it sends them (PRODUCT.md section 9).
public struct CheckpointPublishing: Sendable {
    /// The checkpoint key (the key store's active key of purpose `checkpoint`, at start).
    public var signer: NoteSigner
    /// `--witness-file`: each signed checkpoint note is appended here (another disk, a mount
    /// of another host).
    public var witnessFile: String?
    /// `--witness URL`: C2SP tlog-witnesses (`http://host:port[/prefix]`) each checkpoint is sent to.
    public var witnesses: [String] = []
    /// Sign once this many events were written since the last checkpoint…
    public var everyEvents: UInt64 = 1000
    /// …or once this long has passed with new events…
    public var newEventsSeconds: Int64 = 60
    /// …or this long with none (the checkpoint then says the log is alive and unchanged).
    public var idleSeconds: Int64 = 3600

    public init(signer: NoteSigner, witnessFile: String? = nil, witnesses: [String] = []) {
        self.signer = signer
        self.witnessFile = witnessFile
        self.witnesses = witnesses
    }
}

extension CheckpointPublishing {
    /// The key store's active checkpoint key at `now`, named `ascribe/<host>` like the
    /// checkpoints' origin, and the keys made for it on first use (to be recorded as
    /// `key.created`). A rotation (`ascribe keys`) takes effect at the daemon's next start.
    public static func keyStoreSigner(directory: String, host: String,
                                      now: Instant) throws(CheckpointKeyError) -> (signer: NoteSigner, made: [KeyRecord]) {
        let name = EventStore.checkpointOrigin(host: host)
        let active: (record: KeyRecord, key: SigningKey)
        let made: [KeyRecord]
        do throws(KeyStoreError) {
            var keys = try KeyStore.open(KeyStoreSettings(directory: directory, checkpointKeyName: name), create: true)
            made = try keys.prepare(.checkpoint, now: now)
            active = try keys.signingKey(.checkpoint, at: now)
        } catch {
            throw .keys(error)
        }
        do throws(NoteSigningError) {
            return (try NoteSigner(name: active.record.name ?? name, key: active.key), made)
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

/// What the daemon knows of its checkpoints: the last it signed, and the size each witness
/// last cosigned (learnt from its answers; 0 until then, and a 409 says the real one).
struct CheckpointState {
    var last: CheckpointMark?
    var witnessSizes: [String: UInt64] = [:]
}

/// Blocking HTTP to witnesses happens here, off the daemon's executor, one request at a time.
private let witnessQueue = DispatchQueue(label: "ascribe.witness-client")

extension Daemon {
    /// When a checkpoint falls due by time alone, for the loop's sleep; nil when checkpoints are off.
    var checkpointWake: Instant? {
        guard let publishing = configuration.checkpoints else { return nil }
        guard let mark = checkpointState.last else { return clock.now() }
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
        guard let mark = checkpointState.last ?? recordedCheckpoint(store) else {
            signCheckpoint(now: now)
            return
        }
        checkpointState.last = mark
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
              let size = try? store.merkleTreeSize(), size > (checkpointState.last?.size ?? 0) + 1 || checkpointState.last == nil else { return }
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
            (signed, _) = try store.signCheckpoint(signer: publishing.signer, host: configuration.host, actor: state.actor,
                                                       time: EventTime(now))
        } catch {
            output(.problem(error.description))
            checkpointState.last = CheckpointMark(size: checkpointState.last?.size ?? 0, time: now)
            return
        }
        checkpointState.last = CheckpointMark(size: signed.checkpoint.size, time: now)
        sendToWitnesses(signed)
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

    /// Sends `signed` to each witness with the consistency proof from the size it holds.
    private func sendToWitnesses(_ signed: SignedCheckpoint, retrying: Bool = false, only: [String]? = nil) {
        guard let publishing = configuration.checkpoints, let store else { return }
        for url in only ?? publishing.witnesses {
            let old = checkpointState.witnessSizes[url] ?? 0
            guard old <= signed.checkpoint.size,
                  let proof = try? store.consistencyProof(oldSize: old, newSize: signed.checkpoint.size) else { continue }
            let body = AddCheckpointRequest(oldSize: old, proof: proof, note: Array(signed.note.rendered.utf8)).rendered
            witnessQueue.async {
                let answer = Result { () throws(HTTPError) in try WitnessHTTP.addCheckpoint(url: url, body: body) }
                Task { await self.witnessAnswered(url: url, signed: signed, answer: answer, retrying: retrying) }
            }
        }
    }

    /// Records each cosignature as `checkpoint.cosigned`; after a 409 learns the witness's size
    /// and tries once more with the proof from it.
    private func witnessAnswered(url: String, signed: SignedCheckpoint, answer: Result<WitnessResponse, HTTPError>, retrying: Bool) {
        switch answer {
        case .failure(let error):
            output(.problem("witness \(url): \(error)"))
        case .success(let response) where response.status == 200:
            checkpointState.witnessSizes[url] = max(checkpointState.witnessSizes[url] ?? 0, signed.checkpoint.size)
            let lines = String(decoding: response.body, as: UTF8.self).split(separator: "\n").map(String.init)
            var drafts: [EventDraft] = []
            for line in lines {
                guard let cosignature = try? NoteSignature(line: line) else { continue }
                var draft = state.schedulerDraft(.checkpointCosigned, at: clock.now())
                draft.details = EventDetails([.witness: cosignature.name, .cosignature: line + "\n",
                                              .treeSize: String(signed.checkpoint.size), .rootHash: signed.checkpoint.root.base64])
                drafts.append(draft)
            }
            record(drafts)
        case .success(let response) where response.status == 409 && !retrying:
            let text = String(decoding: response.body, as: UTF8.self)
            if let size = UInt64(text.hasSuffix("\n") ? String(text.dropLast()) : text) {
                checkpointState.witnessSizes[url] = size
                sendToWitnesses(signed, retrying: true, only: [url])
            } else {
                output(.problem("witness \(url): 409 without a size"))
            }
        case .success(let response):
            output(.problem("witness \(url) refused the checkpoint of \(signed.checkpoint.size) events: \(response.status) "
                + String(decoding: response.body.prefix(300), as: UTF8.self)))
        }
    }

    private func recordedCheckpoint(_ store: any EventLog) -> CheckpointMark? {
        guard let last = try? store.lastSignedCheckpoint() else { return nil }
        return CheckpointMark(size: last.size, time: last.event.time.instant)
    }
}

/// Every key an event's `details` map holds, declared once: writers and readers name a key
/// through this enum, so a misspelt key does not compile. The raw value is the key as stored
/// (and hashed), so existing logs read unchanged. docs/EVENTS.md describes what each means.
public enum DetailKey: String, CaseIterable, Sendable {
    case activatedKid = "activated_kid"
    case activates
    case added
    case adoptedAt = "adopted_at"
    case adoptedRuns = "adopted_runs"
    case algorithm
    case aud
    case catchUp = "catch_up"
    case caughtUp = "caught_up"
    case changed
    case checkpoint
    case clock
    case connectionLimit = "connection_limit"
    case controlGroup = "control_group"
    case controlSocket = "control_socket"
    case cosignature
    case count
    case credentialsCleanup = "credentials_cleanup"
    case dev
    case directory
    case disabledAt = "disabled_at"
    case disabledBy = "disabled_by"
    case disabledReason = "disabled_reason"
    case disabledSeq = "disabled_seq"
    case downCause = "down_cause"
    case downFrom = "down_from"
    case downUntil = "down_until"
    case dstShiftedFrom = "dst_shifted_from"
    case effective
    case endedAt = "ended_at"
    case error
    case exp
    case failure
    case fileChange = "file_change"
    case firedSeq = "fired_seq"
    case first
    case force
    case forced
    case happenedAt = "happened_at"
    case jobs
    case key
    case kept
    case kid
    case last
    case lastEventSeq = "last_event_seq"
    case lastSignOfLife = "last_sign_of_life"
    case loginUidClaimed = "login_uid_claimed"
    case loginUserClaimed = "login_user_claimed"
    case loginuid
    case nextKid = "next_kid"
    case notCaughtUp = "not_caught_up"
    case notRecorded = "not_recorded"
    case outputCapped = "output_capped"
    case outputDrain = "output_drain"
    case outputFileError = "output_file_error"
    case outputWithheld = "output_withheld"
    case overrode
    case overrodeReason = "overrode_reason"
    case peerPid = "peer_pid"
    case peerUid = "peer_uid"
    case peerUser = "peer_user"
    case pid
    case pidStart = "pid_start"
    case principalSource = "principal_source"
    case processGroup = "process_group"
    case purpose
    case queuedBehind = "queued_behind"
    case recordedLate = "recorded_late"
    case recorderPid = "recorder_pid"
    case recorderStart = "recorder_start"
    case refusal
    case refusalsNotRecordedBefore = "refusals_not_recorded_before"
    case rejected
    case rootHash = "root_hash"
    case removed
    case request
    case requestedReason = "requested_reason"
    case retiredKid = "retired_kid"
    case retires
    case runningRunId = "running_run_id"
    case runningRuns = "running_runs"
    case runningRunsContinue = "running_runs_continue"
    case shutdownRequestedBy = "shutdown_requested_by"
    case skipReason = "skip_reason"
    case skippedSlots = "skipped_slots"
    case slotsWhileStopping = "slots_while_stopping"
    case spawnedAt = "spawned_at"
    case stateRemoved = "state_removed"
    case status
    case stopReason = "stop_reason"
    case stopRequested = "stop_requested"
    case stopSignal = "stop_signal"
    case stoppedAt = "stopped_at"
    case stoppedBy = "stopped_by"
    case stoppedByPid = "stopped_by_pid"
    case stoppedByProcess = "stopped_by_process"
    case stoppedByUid = "stopped_by_uid"
    case stoppedByUser = "stopped_by_user"
    case stoppedSeq = "stopped_seq"
    case storeError = "store_error"
    case storeUnwritableFrom = "store_unwritable_from"
    case storeUnwritableUntil = "store_unwritable_until"
    case survivingPids = "surviving_pids"
    case terminatedRuns = "terminated_runs"
    case token
    case tokenRefreshFailed = "token_refresh_failed"
    case treeSize = "tree_size"
    case trigger
    case unstartedQueuedRuns = "unstarted_queued_runs"
    case version
    case viaUser = "via_user"
    case witness
    case writer
    case writerUid = "writer_uid"
    case writers
}

/// An event's `details` as stored: text keys and text values (the canonical encoding hashes them
/// as they are). Build and read them through `DetailKey`.
public typealias EventDetails = [String: String]

extension Dictionary where Key == String, Value == String {
    /// Details from typed keys, e.g. `EventDetails([.trigger: Trigger.manual.rawValue])`.
    public init(_ pairs: KeyValuePairs<DetailKey, String>) {
        self.init(pairs.map { ($0.key.rawValue, $0.value) }) { $1 }
    }

    public subscript(_ key: DetailKey) -> String? {
        get { self[key.rawValue] }
        set { self[key.rawValue] = newValue }
    }
}

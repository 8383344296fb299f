import AscribeCore

/// The `key.*` events (PRODUCT.md §8): which key, what for, and from when; never key material.
/// The scheduler acts; `principal` is the person who asked (a rotation), nil for a daemon start.
public struct KeyEvents: Sendable {
    public var host: String
    public var development: Bool

    public init(host: String, development: Bool) {
        self.host = host
        self.development = development
    }

    /// `key.created`: a new key, its purpose and algorithm, and when it signs (`next` until a rotation).
    public func created(_ record: KeyRecord, principal: String?, reason: String?, at time: EventTime) -> EventDraft {
        var draft = EventDraft(time: time, host: host, type: .keyCreated, actor: HostName.schedulerActor(host: host),
                               principal: principal, reason: reason, development: development)
        draft.details = EventDetails([.kid: record.kid, .purpose: record.purpose.rawValue, .algorithm: record.algorithm.rawValue,
                                      .activates: record.activates.map { EventTime($0).rfc3339 } ?? KeyState.next.rawValue])
        return draft
    }

    /// `key.created` for keys the rotation had to make first, `key.rotated`, then `key.created`
    /// for the new next key.
    public func rotated(_ rotation: KeyRotation, principal: String?, reason: String?, at time: EventTime) -> [EventDraft] {
        var draft = EventDraft(time: time, host: host, type: .keyRotated, actor: HostName.schedulerActor(host: host),
                               principal: principal, reason: reason, development: development)
        draft.details = EventDetails([.purpose: rotation.purpose.rawValue, .retiredKid: rotation.retiring.kid,
                                      .activatedKid: rotation.activating.kid, .nextKid: rotation.created.kid,
                                      .effective: EventTime(rotation.effective).rfc3339])
        return rotation.prepared.map { created($0, principal: principal, reason: reason, at: time) }
            + [draft, created(rotation.created, principal: principal, reason: reason, at: time)]
    }
}

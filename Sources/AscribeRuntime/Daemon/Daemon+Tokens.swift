import AscribeCore

extension Daemon {
    /// `key.created` for each key the start made (DaemonConfiguration.keysMadeAtStart).
    func keyCreatedDrafts(at now: Instant) -> [EventDraft] {
        let events = KeyEvents(host: configuration.host, development: configuration.development)
        return configuration.keysMadeAtStart.map { events.created($0, principal: nil, reason: "first start with this key directory", at: EventTime(now)) }
    }
}

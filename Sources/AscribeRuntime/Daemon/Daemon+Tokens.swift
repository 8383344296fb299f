import AscribeCore

extension Daemon {
    /// `key.created` for each key the start made (DaemonConfiguration.keysMadeAtStart).
    func keyCreatedDrafts(at now: Instant) -> [EventDraft] {
        let events = KeyEvents(host: configuration.host, development: configuration.development)
        return configuration.keysMadeAtStart.map { events.created($0, principal: nil, reason: "first start with this key directory", at: EventTime(now)) }
    }
}

extension Daemon {
    /// `keys rotate` through the control socket: the rotation, recorded with the caller as
    /// principal, and from its effective time the daemon signs with the new key.
    func rotateKeys(_ purpose: KeyPurpose, reason: String, peer: ControlPeer, now: Instant) -> ControlReply {
        guard let settings = configuration.keys else {
            return .refused(.badRequest, message: "this daemon has no key directory: start it with --issuer (docs/TOKENS.md)")
        }
        let rotation: KeyRotation
        do throws(KeyStoreError) {
            var store = try KeyStore.open(settings, create: false)
            rotation = try store.rotate(purpose, now: now)
            if purpose == .token { configuration.tokens?.replaceStore(store) }
        } catch {
            return .refused(.badRequest, message: error.description)
        }
        var drafts = KeyEvents(host: configuration.host, development: configuration.development)
            .rotated(rotation, principal: peer.principal.name, reason: reason, at: EventTime(now))
        if let index = drafts.firstIndex(where: { $0.type == .keyRotated }) {
            drafts[index].details.merge(peer.details) { current, _ in current }
        }
        let events = record(drafts)
        return .done(message: "\(purpose.rawValue) key \(rotation.activating.kid) signs from \(EventTime(rotation.effective).rfc3339); "
                        + "\(rotation.retiring.kid) retires then", events: events.map(RenderedEvent.init))
    }
}

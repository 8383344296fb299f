import AscribeCore
/// What the client of a manual run through the socket may see of the run's output. A run's
/// output belongs to its identity (it may print a secret): root and the user the run executed
/// as see it; anyone else, such as a control-group member, gets the outcome only.
enum RunOutputVisibility: Equatable {
    case shown
    /// Output-bearing fields are left out; the words say why.
    case withheld(String)

    /// Decided by uid: `caller` is the client's uid (`SO_PEERCRED`), not its principal, since
    /// that is whose rights the client process has.
    static func decide(caller: UInt32, report: RunReport) -> RunOutputVisibility {
        let runAs: ResolvedAccount
        switch report.result {
        case .completed(let completion), .completedUnrecorded(let completion, _): runAs = completion.account
        // No process ran to its end: no output was captured, so there is nothing to withhold.
        case .notStarted, .claimedElsewhere, .launchFailed, .unaccounted: return .shown
        }
        if caller == 0 || caller == runAs.uid { return .shown }
        return .withheld("output withheld: only root and the run's user (\(runAs.user)) may see a run's output through the control socket")
    }

    /// `event` as this client may see it.
    func rendered(_ event: Event) -> RenderedEvent {
        guard case .withheld(let why) = self else { return RenderedEvent(event) }
        return RenderedEvent(event.withoutOutput(because: why))
    }
}

extension Event {
    /// This event without the run's output: `output_tail` and `output_sha256` (a hash lets a
    /// guess at a secret be confirmed) removed, and `output_withheld` saying why. For display
    /// only: its `hash` stays the stored event's, which this copy no longer matches.
    func withoutOutput(because why: String) -> Event {
        var content = self.content
        guard content.outputTail != nil || content.outputSHA256 != nil else { return self }
        content.outputTail = nil
        content.outputSHA256 = nil
        content.details[.outputWithheld] = why
        return Event(seq: seq, eventID: eventID, content: content, prevHash: prevHash, hash: hash)
    }
}

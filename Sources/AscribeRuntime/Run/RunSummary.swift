import AscribeCore

extension RunReport {
    /// The run ran, ended well, and its end is recorded.
    public var succeeded: Bool {
        if case .completed(let completion) = result { return completion.outcome.succeeded }
        return false
    }

    /// What became of the run, in one sentence for a person (`ascribe run`, locally or
    /// through the daemon).
    public func summary(job: JobName) -> String {
        switch result {
        case .notStarted(let error):
            return "\(job) was not started: its run.fired event could not be recorded: \(error.description)"
        case .claimedElsewhere:
            return "\(job) was not started here: another host of the fleet claimed its slot"
        case .launchFailed(let failure):
            return "\(job) could not launch: \(failure.description)"
        case .completedUnrecorded(let completion, let error):
            return "\(job) \(completion.outcome.description), but its terminal event could not be recorded: \(error.description)"
        case .unaccounted:
            return "\(job) started, but its end was not reported; its record stays open until the next daemon start marks it lost"
        case .completed(let completion):
            var summary = "\(job) as \(completion.account.user): \(completion.outcome.description) after \(Self.duration(completion.durationMilliseconds))"
            if let path = completion.output.path { summary += "; output \(completion.output.totalBytes) bytes in \(path)" }
            // Ended by the daemon's own shutdown: say so, as the terminal event does.
            if let requester = events.last(where: { $0.type.isRunTerminal })?.details[.shutdownRequestedBy] {
                summary += "; " + RunInterruption.daemonShutdown(requestedBy: requester).words
            }
            return summary
        }
    }

    static func duration(_ milliseconds: Int64) -> String {
        milliseconds < 1000 ? "\(milliseconds) ms" : "\(Double(milliseconds / 100) / 10) s"
    }
}

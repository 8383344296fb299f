import Synchronization

/// How the shutdown drain waits for runs and batches to end without polling: one
/// continuation, resumed once, either by the daemon when a run or a batch ends
/// (`runsOrBatchesEnded`) or when the time limit passes, whichever comes first.
final class RunEndSignal: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, Never>)
        case resumed
    }

    private let state = Mutex(State.idle)

    /// Resumes the wait, or makes the next wait return at once. Only the first call counts.
    func resume() {
        let waiting: CheckedContinuation<Void, Never>? = state.withLock { state in
            switch state {
            case .idle:
                state = .resumed
                return nil
            case .waiting(let continuation):
                state = .resumed
                return continuation
            case .resumed:
                return nil
            }
        }
        waiting?.resume()
    }

    /// Returns once `resume` is called, or at `deadline` (monotonic time), whichever is first.
    func wait(until deadline: ContinuousClock.Instant?) async {
        let timer = deadline.map { deadline in
            Task { [self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                resume()
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                guard case .idle = state else { return true }
                state = .waiting(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer?.cancel()
    }
}

extension Daemon {
    /// Waits until `done` holds, looked at again each time a run or a batch ends (no polling),
    /// or until `limit` passes; returns whether it holds.
    func wait(until done: (isolated Daemon) -> Bool, upTo limit: Duration?) async -> Bool {
        let deadline = limit.map { ContinuousClock.now + $0 }
        while !done(self) {
            if let deadline, ContinuousClock.now >= deadline { return false }
            let signal = RunEndSignal()
            endWaiters.append(signal)
            await signal.wait(until: deadline)
        }
        return true
    }

    /// Resumes the drain's waits: something they wait for may have happened.
    func runsOrBatchesEnded() {
        let waiters = endWaiters
        endWaiters = []
        for waiter in waiters { waiter.resume() }
    }
}

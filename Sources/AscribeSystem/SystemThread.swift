import Glibc
internal import CAscribeShim
import Synchronization

/// A thread of its own (`pthread_create`), for a loop that blocks in the kernel: it must not
/// hold a thread of Swift's cooperative pool, nor a Dispatch worker that lingers after it.
/// Whoever started it joins it, so its end is known, and no thread outlives what it served.
public final class SystemThread: Sendable {
    private let handle: pthread_t
    private let settled = Atomic<Bool>(false)

    private init(handle: pthread_t) {
        self.handle = handle
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes are kept, as the kernel
    /// shows it in `/proc/self/task/*/comm`).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemError) -> SystemThread {
        final class Start {
            let name: String
            let body: @Sendable () -> Void
            init(name: String, body: @escaping @Sendable () -> Void) {
                self.name = name
                self.body = body
            }
        }
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, { context in
            guard let context else { return nil }
            let start = Unmanaged<Start>.fromOpaque(context).takeRetainedValue()
            _ = ascribe_set_thread_name(start.name)
            start.body()
            return nil
        }, start)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw SystemError(code: result, call: "pthread_create", context: name)
        }
        return SystemThread(handle: handle)
    }

    /// Whether the caller is this thread.
    public var isCurrent: Bool { pthread_equal(handle, pthread_self()) != 0 }

    /// Waits for the thread to end. Once only; from the thread itself it only lets the thread
    /// go (a thread cannot wait for its own end).
    public func join() {
        guard !settled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if isCurrent {
            pthread_detach(handle)
        } else {
            pthread_join(handle, nil)
        }
    }

    /// A thread nobody joined is let go, so its resources return when it ends.
    deinit {
        if !settled.load(ordering: .acquiring) { pthread_detach(handle) }
    }
}

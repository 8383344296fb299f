import Glibc
import Synchronization
import AscribeSystem

/// Notices edited, added and removed job files, so the daemon reloads without a SIGHUP.
/// inotify when the kernel offers it (out of watches, say), else a poll of the directory's
/// entries every `pollInterval`. A save is often several events (write a temporary file,
/// rename it), so changes are reported once the directory has been quiet for `quietPeriod`.
/// A directory that vanishes is watched for again every `pollInterval`, and its return is a
/// change. Only `.job` names count: an editor's swap file is not a change.
final class JobDirectoryWatcher: Sendable {
    private let reactor: Reactor
    private let loop: ReactorBound<WatchLoop>
    private let stopped = Atomic<Bool>(false)

    /// Watches on `reactor`. `onChange` is called on the reactor's thread with the changed
    /// file names (or what happened to the directory), for the reload's reason.
    init(path: String, reactor: Reactor, quietPeriod: Duration = .milliseconds(500), pollInterval: Duration = .seconds(5),
         onChange: @escaping @Sendable (String) -> Void) {
        self.reactor = reactor
        loop = ReactorBound(WatchLoop(path: path, quietPeriod: quietPeriod, pollInterval: pollInterval, onChange: onChange),
                            on: reactor)
        reactor.execute(loop) { state, loop in state.start(on: loop) }
    }

    /// Stops watching; returns once the watcher's descriptor and timers are gone.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        reactor.perform(loop) { state, loop in state.stop(on: loop) }
    }

    deinit { stop() }
}

/// The watcher's state; it lives on the reactor's thread only.
private final class WatchLoop {
    let path: String
    let quietPeriod: Duration
    let pollInterval: Duration
    let onChange: @Sendable (String) -> Void

    /// The inotify registration; nil without inotify (the directory's entries are polled).
    private var inotify: ReactorToken?
    private var watching = false
    private var fingerprint: [String: [Int64]]?
    private var changed: Set<String> = []
    private var pollTimer: ReactorToken?
    private var quietTimer: ReactorToken?
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(path: String, quietPeriod: Duration, pollInterval: Duration, onChange: @escaping @Sendable (String) -> Void) {
        self.path = path
        self.quietPeriod = quietPeriod
        self.pollInterval = pollInterval
        self.onChange = onChange
    }

    func start(on loop: ReactorLoop) {
        if let descriptor = try? SystemCalls.makeInotify() {
            let inotify = FileDescriptor(owning: descriptor)
            watching = (try? SystemCalls.watchDirectory(path, with: inotify.rawValue)) != nil
            self.inotify = loop.register(inotify) { loop in self.readEvents(on: loop) }
        } else {
            fingerprint = Self.fingerprint(of: path)
        }
        if !watching { schedulePoll(at: .now, on: loop) }
    }

    func stop(on loop: ReactorLoop) {
        if let inotify { loop.retire(inotify) }
        inotify = nil
        for timer in [pollTimer, quietTimer].compactMap({ $0 }) { loop.cancel(timer) }
        pollTimer = nil
        quietTimer = nil
    }

    /// The next look at the directory (no inotify, or the directory gone).
    private func schedulePoll(at instant: ContinuousClock.Instant, on loop: ReactorLoop) {
        if let pollTimer { loop.cancel(pollTimer) }
        pollTimer = loop.schedule(at: instant) { loop in
            self.pollTimer = nil
            self.poll(on: loop)
        }
    }

    /// inotify events: a `.job` name created, written, renamed or removed, or the directory gone.
    private func readEvents(on loop: ReactorLoop) {
        guard let inotify, let descriptor = loop.descriptor(of: inotify) else { return }
        while case .bytes(let count)? = try? SystemCalls.read(descriptor, into: &buffer) {
            var offset = 0
            // struct inotify_event: int wd; uint32_t mask, cookie, len; char name[len].
            while offset + 16 <= count {
                let mask = Self.word(buffer, at: offset + 4)
                let length = Int(Self.word(buffer, at: offset + 12))
                let nameEnd = min(count, offset + 16 + length)
                let name = String(decoding: buffer[(offset + 16)..<nameEnd].prefix { $0 != 0 }, as: UTF8.self)
                if SystemCalls.inotifyMaskLostDirectory(mask) {
                    if watching {
                        watching = false
                        noteChange("\(path) is gone; every loaded definition stays in force", on: loop)
                        schedulePoll(at: .now + pollInterval, on: loop)
                    }
                } else if name.hasSuffix(".job") {
                    noteChange(name, on: loop)
                }
                offset += 16 + length
            }
        }
    }

    /// Without inotify: compare the directory's `.job` entries (size, mtime, inode). With
    /// inotify but the directory gone: watch for its return.
    private func poll(on loop: ReactorLoop) {
        if let inotify, let descriptor = loop.descriptor(of: inotify) {
            guard !watching else { return }
            if (try? SystemCalls.watchDirectory(path, with: descriptor)) != nil {
                watching = true
                noteChange("\(path) is back", on: loop)
            } else {
                schedulePoll(at: .now + pollInterval, on: loop)
            }
            return
        }
        schedulePoll(at: .now + pollInterval, on: loop)
        let current = Self.fingerprint(of: path)
        if current != fingerprint {
            let before = fingerprint ?? [:]
            let after = current ?? [:]
            let names = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }
            if names.isEmpty { noteChange(current == nil ? "\(path) is gone" : "\(path) is back", on: loop) }
            for name in names { noteChange(name, on: loop) }
            fingerprint = current
        }
    }

    /// Reports the changes once the directory has been quiet for `quietPeriod`.
    private func noteChange(_ what: String, on loop: ReactorLoop) {
        changed.insert(what)
        if let quietTimer { loop.cancel(quietTimer) }
        quietTimer = loop.schedule(at: .now + quietPeriod) { _ in
            self.quietTimer = nil
            let names = self.changed.sorted()
            self.changed = []
            self.onChange(names.isEmpty ? "a change in \(self.path)" : names.joined(separator: ", "))
        }
    }

    static func fingerprint(of path: String) -> [String: [Int64]]? {
        guard let directory = try? SystemCalls.open(path, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC) else { return nil }
        defer { SystemCalls.close(directory) }
        guard let names = try? SystemCalls.entries(of: directory).map({ String(decoding: $0, as: UTF8.self) }) else { return nil }
        var result: [String: [Int64]] = [:]
        for name in names where name.hasSuffix(".job") {
            let status = try? SystemCalls.status(of: name, in: directory)
            result[name] = status.map { [$0.size, $0.modified, Int64(bitPattern: $0.inode)] } ?? []
        }
        return result
    }

    static func word(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        let value = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
        return UInt32(littleEndian: value)
    }

}

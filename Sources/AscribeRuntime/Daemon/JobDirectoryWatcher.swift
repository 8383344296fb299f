import Glibc
import Dispatch
import Synchronization
import AscribeSystem

/// Notices edited, added and removed job files, so the daemon reloads without a SIGHUP.
/// inotify when the kernel offers it (out of watches, say), else a poll of the directory's
/// entries every `pollInterval`. A save is often several events (write a temporary file,
/// rename it), so changes are reported once the directory has been quiet for `quietPeriod`.
/// A directory that vanishes is watched for again every `pollInterval`, and its return is a
/// change. Only `.job` names count: an editor's swap file is not a change.
final class JobDirectoryWatcher: Sendable {
    private let stopping = StopFlag()
    private let wake: Int32
    private let finished = DispatchSemaphore(value: 0)

    /// `onChange` is called on the watcher's thread with the changed file names (or what
    /// happened to the directory), for the reload's reason.
    init(path: String, quietPeriod: Duration = .milliseconds(500), pollInterval: Duration = .seconds(5),
         onChange: @escaping @Sendable (String) -> Void) throws(SystemError) {
        wake = try SystemCalls.makeEventDescriptor()
        let wake = self.wake
        let stopping = self.stopping
        let finished = self.finished
        DispatchQueue(label: "ascribe.jobs-watcher").async {
            var loop = WatchLoop(path: path, wake: wake, quietPeriod: quietPeriod, pollInterval: pollInterval,
                                 stopping: stopping, onChange: onChange)
            loop.run()
            finished.signal()
        }
    }

    /// Stops watching; returns once the watcher's thread is done.
    func stop() {
        let already = stopping.raise()
        guard !already else { return }
        SystemCalls.signalEvent(wake)
        finished.wait()
        SystemCalls.close(wake)
    }

    deinit { stop() }
}

/// Set once, from any thread, to stop a loop.
final class StopFlag: Sendable {
    private let raised = Mutex(false)

    var isRaised: Bool { raised.withLock { $0 } }

    /// Raises the flag; true if it was already raised.
    func raise() -> Bool {
        raised.withLock { value in
            defer { value = true }
            return value
        }
    }
}

/// The watcher's state; it lives on the watcher's thread only.
private struct WatchLoop {
    let path: String
    let wake: Int32
    let quietPeriod: Duration
    let pollInterval: Duration
    let stopping: StopFlag
    let onChange: @Sendable (String) -> Void

    private var inotify: Int32 = -1
    private var watching = false
    private var fingerprint: [String: [Int64]]?
    private var changed: Set<String> = []
    private var lastChange: ContinuousClock.Instant?
    private var nextPoll = ContinuousClock.now

    init(path: String, wake: Int32, quietPeriod: Duration, pollInterval: Duration, stopping: StopFlag,
         onChange: @escaping @Sendable (String) -> Void) {
        self.path = path
        self.wake = wake
        self.quietPeriod = quietPeriod
        self.pollInterval = pollInterval
        self.stopping = stopping
        self.onChange = onChange
    }

    mutating func run() {
        inotify = (try? SystemCalls.makeInotify()) ?? -1
        watching = inotify >= 0 && (try? SystemCalls.watchDirectory(path, with: inotify)) != nil
        if inotify < 0 { fingerprint = Self.fingerprint(of: path) }
        defer { if inotify >= 0 { SystemCalls.close(inotify) } }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !stopping.isRaised {
            let now = ContinuousClock.now
            var deadline = (watching && inotify >= 0) ? now + .seconds(60) : nextPoll
            if let lastChange { deadline = min(deadline, lastChange + quietPeriod) }
            let waitMilliseconds = max(0, Self.milliseconds(deadline - now))
            let descriptors = inotify >= 0 ? [wake, inotify] : [wake]
            let ready = SystemCalls.pollReadable(descriptors, timeoutMilliseconds: Int32(clamping: waitMilliseconds))
            if ready.contains(0) { SystemCalls.drainEvent(wake) }
            if ready.contains(1) { readEvents(into: &buffer) }
            if ContinuousClock.now >= nextPoll { poll() }
            if let lastChange, ContinuousClock.now >= lastChange + quietPeriod {
                let names = changed.sorted()
                changed = []
                self.lastChange = nil
                onChange(names.isEmpty ? "a change in \(path)" : names.joined(separator: ", "))
            }
        }
    }

    /// inotify events: a `.job` name created, written, renamed or removed, or the directory gone.
    private mutating func readEvents(into buffer: inout [UInt8]) {
        while case .bytes(let count)? = try? SystemCalls.read(inotify, into: &buffer) {
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
                        noteChange("\(path) is gone; every loaded definition stays in force")
                        nextPoll = .now + pollInterval
                    }
                } else if name.hasSuffix(".job") {
                    noteChange(name)
                }
                offset += 16 + length
            }
        }
    }

    /// Without inotify: compare the directory's `.job` entries (size, mtime, inode). With
    /// inotify but the directory gone: watch for its return.
    private mutating func poll() {
        nextPoll = .now + pollInterval
        if inotify >= 0 {
            guard !watching else { return }
            if (try? SystemCalls.watchDirectory(path, with: inotify)) != nil {
                watching = true
                noteChange("\(path) is back")
            }
            return
        }
        let current = Self.fingerprint(of: path)
        if current != fingerprint {
            let before = fingerprint ?? [:]
            let after = current ?? [:]
            let names = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }
            if names.isEmpty { noteChange(current == nil ? "\(path) is gone" : "\(path) is back") }
            for name in names { noteChange(name) }
            fingerprint = current
        }
    }

    private mutating func noteChange(_ what: String) {
        changed.insert(what)
        lastChange = .now
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

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

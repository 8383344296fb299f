import Glibc
internal import CAscribeShim

/// How a child process ended, as `waitid` reported it.
public enum ChildStatus: Equatable, Sendable {
    case exited(code: Int32)
    case signaled(signal: Int32)
}

/// What one non-blocking `read` produced.
public enum ReadResult: Equatable {
    case bytes(Int)
    case endOfFile
    case wouldBlock
}

/// Ascribe's system calls, each wrapped once: errno becomes a `SystemError` naming the call
/// and what it worked on, EINTR is retried (`SystemError.valueOrErrno`), and no pointer or C
/// type leaves a wrapper. Extended by topic: `Sockets.swift`, `Inotify.swift`, `Signals.swift`,
/// `ProcessInfo.swift`.
public enum SystemCalls {
    // MARK: Descriptors

    /// A close-on-exec pipe.
    public static func makePipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        let result = ends.withUnsafeMutableBufferPointer { ascribe_pipe2($0.baseAddress, O_CLOEXEC) }
        guard result == 0 else { throw .current("pipe2") }
        return (ends[0], ends[1])
    }

    public static func setNonBlocking(_ descriptor: Int32) throws(SystemError) {
        let flags = fcntl(descriptor, F_GETFL)
        guard flags >= 0, fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) == 0 else { throw .current("fcntl(O_NONBLOCK)") }
    }

    /// Grows a pipe so `bytes` fit without a reader; the kernel rounds up to whole pages.
    public static func setPipeCapacity(_ descriptor: Int32, atLeast bytes: Int) throws(SystemError) {
        guard ascribe_set_pipe_size(descriptor, Int32(clamping: bytes)) >= 0 else { throw .current("fcntl(F_SETPIPE_SZ)") }
    }

    /// A close-on-exec duplicate numbered at least `lowest`.
    public static func duplicate(_ descriptor: Int32, atLeast lowest: Int32) throws(SystemError) -> Int32 {
        let copy = fcntl(descriptor, F_DUPFD_CLOEXEC, lowest)
        guard copy >= 0 else { throw .current("fcntl(F_DUPFD_CLOEXEC)") }
        return copy
    }

    /// Closes and forgets: after `close` the descriptor is gone even when it reports an error.
    public static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    /// One read into the front of `buffer`.
    public static func read(_ descriptor: Int32, into buffer: inout [UInt8]) throws(SystemError) -> ReadResult {
        switch SystemError.valueOrErrno({ buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) } }) {
        case .success(0): return .endOfFile
        case .success(let count): return .bytes(count)
        case .failure(let error) where error.code == EAGAIN: return .wouldBlock
        case .failure(let error): throw SystemError(code: error.code, call: "read")
        }
    }

    /// Reads a blocking descriptor (or a regular file) to its end, or to `limit` bytes,
    /// whichever comes first. A failure carries only the errno, as the callers name the file.
    public static func readToEnd(_ descriptor: Int32, limit: Int = .max) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = try SystemError.value("") { chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, wanted) } }
            if count == 0 { break }
            bytes.append(contentsOf: chunk.prefix(count))
        }
        return bytes
    }

    public static func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>, context: String = "") throws(SystemError) {
        var remaining = bytes
        while !remaining.isEmpty {
            let count = try SystemError.value("write", context) {
                remaining.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            }
            remaining = remaining.dropFirst(count)
        }
    }

    // MARK: Files and directories

    public static func open(_ path: String, flags: Int32, mode: UInt32 = 0) throws(SystemError) -> Int32 {
        try SystemError.value("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode_t(mode)) }
    }

    public static func open(_ name: String, in directory: Int32, flags: Int32, mode: UInt32 = 0) throws(SystemError) -> Int32 {
        try SystemError.value("openat", name) { openat(directory, name, flags | O_CLOEXEC, mode_t(mode)) }
    }

    public static func status(_ descriptor: Int32) throws(SystemError) -> FileStatus {
        do throws(SystemError) {
            return try FileStatus(descriptor: descriptor)
        } catch {
            throw SystemError(code: error.code, call: "fstat")
        }
    }

    public static func status(path: String) throws(SystemError) -> FileStatus {
        do throws(SystemError) {
            return try FileStatus(path: path, followingLinks: true)
        } catch {
            throw SystemError(code: error.code, call: "stat", context: path)
        }
    }

    /// `lstat` of an entry of an open directory.
    public static func status(of name: String, in directory: Int32) throws(SystemError) -> FileStatus {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw .current("fstatat", name) }
        return FileStatus(info)
    }

    public static func makeDirectory(_ path: String, mode: UInt32) throws(SystemError) {
        guard mkdir(path, mode_t(mode)) == 0 else { throw .current("mkdir", path) }
    }

    /// `mkdtemp`: a new directory, mode 0700, named `prefix` plus six random characters.
    public static func makeUniqueDirectory(prefix: String) throws(SystemError) -> String {
        var template = Array((prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        guard made != nil else { throw .current("mkdtemp", prefix + "XXXXXX") }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func changeOwner(_ descriptor: Int32, uid: UInt32, gid: UInt32, context: String) throws(SystemError) {
        guard fchown(descriptor, uid_t(uid), gid_t(gid)) == 0 else { throw .current("fchown", context) }
    }

    public static func changeMode(_ descriptor: Int32, _ mode: UInt32, context: String) throws(SystemError) {
        guard fchmod(descriptor, mode_t(mode)) == 0 else { throw .current("fchmod", context) }
    }

    /// `fchmodat` follows links; callers check the entry first.
    public static func changeMode(of name: String, in directory: Int32, _ mode: UInt32) throws(SystemError) {
        guard fchmodat(directory, name, mode_t(mode), 0) == 0 else { throw .current("fchmodat", name) }
    }

    public static func remove(_ name: String, in directory: Int32, isDirectory: Bool) throws(SystemError) {
        guard unlinkat(directory, name, isDirectory ? AT_REMOVEDIR : 0) == 0 else { throw .current("unlinkat", name) }
    }

    /// Moves an entry of one open directory to another without replacing anything there
    /// (EEXIST instead); neither name is followed if it is a symbolic link.
    public static func renameWithoutReplacing(_ name: String, in directory: Int32, to newName: String, in target: Int32) throws(SystemError) {
        guard ascribe_rename_noreplace(directory, name, target, newName) == 0 else { throw .current("renameat2", "\(name) to \(newName)") }
    }

    /// Renames an entry of an open directory within it, replacing what `newName` was.
    public static func rename(_ name: String, to newName: String, in directory: Int32) throws(SystemError) {
        guard renameat(directory, name, directory, newName) == 0 else { throw .current("renameat", "\(name) to \(newName)") }
    }

    public static func changeMode(path: String, _ mode: UInt32) throws(SystemError) {
        guard chmod(path, mode_t(mode)) == 0 else { throw .current("chmod", path) }
    }

    public static func changeOwner(path: String, uid: UInt32, gid: UInt32) throws(SystemError) {
        guard lchown(path, uid, gid) == 0 else { throw .current("chown", path) }
    }

    /// Removes a file; a missing one is not an error.
    public static func unlink(path: String) throws(SystemError) {
        guard Glibc.unlink(path) == 0 || errno == ENOENT else { throw .current("unlink", path) }
    }

    /// `rename`: `newPath` is replaced if it exists.
    public static func rename(path: String, to newPath: String) throws(SystemError) {
        guard Glibc.rename(path, newPath) == 0 else { throw .current("rename", "\(path) to \(newPath)") }
    }

    public static func synchronize(_ descriptor: Int32, context: String) throws(SystemError) {
        guard fsync(descriptor) == 0 else { throw .current("fsync", context) }
    }

    /// `close` that reports its error, for a file just written (a late write-back failure can
    /// surface only here); the descriptor is gone either way.
    public static func closeAfterWriting(_ descriptor: Int32, context: String) throws(SystemError) {
        guard Glibc.close(descriptor) == 0 else { throw .current("close", context) }
    }

    public static func removeDirectory(_ path: String) throws(SystemError) {
        guard rmdir(path) == 0 else { throw .current("rmdir", path) }
    }

    /// Entry names of an open directory, without `.` and `..`; `directory` stays open. Raw
    /// bytes: a name that is not UTF-8 must still be reportable, not silently repaired into a
    /// different name.
    public static func entries(of directory: Int32) throws(SystemError) -> [[UInt8]] {
        let copy = dup(directory)
        guard copy >= 0 else { throw .current("dup") }
        guard let stream = fdopendir(copy) else {
            let error = SystemError.current("fdopendir")
            close(copy)
            throw error
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw .current("readdir") }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name != [0x2E], name != [0x2E, 0x2E] { names.append(name) }
        }
    }

    /// The running executable's path, from `/proc/self/exe` (never from the environment).
    public static func executablePath() throws(SystemError) -> String {
        try readLink("/proc/self/exe")
    }

    /// The target of the symbolic link at `path`, as it is written (not resolved).
    public static func readLink(_ path: String) throws(SystemError) -> String {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBytes { raw in
            raw.baseAddress.map { readlink(path, $0.assumingMemoryBound(to: CChar.self), raw.count - 1) } ?? -1
        }
        guard count > 0 else { throw .current("readlink", path) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    public static func currentDirectory() throws(SystemError) -> String {
        guard let path = getcwd(nil, 0) else { throw .current("getcwd") }
        defer { free(path) }
        return String(cString: path)
    }

    /// `flock(LOCK_EX | LOCK_NB)`: the lock now, or EWOULDBLOCK while another open file holds it.
    public static func lockWithoutWaiting(_ descriptor: Int32, context: String) throws(SystemError) {
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { throw .current("flock", context) }
    }

    public static func truncate(_ descriptor: Int32, context: String) throws(SystemError) {
        guard ftruncate(descriptor, 0) == 0 else { throw .current("ftruncate", context) }
    }

    public static func isTerminal(_ descriptor: Int32) -> Bool {
        isatty(descriptor) == 1
    }

    public static let standardInput: Int32 = STDIN_FILENO
    public static let standardOutput: Int32 = STDOUT_FILENO
    public static let standardError: Int32 = STDERR_FILENO

    /// Writes `text` whole to standard output or standard error, for the command line's messages.
    /// A failed write is dropped: there is nowhere left to report it, and a reader that went
    /// away ends the process by SIGPIPE unless the caller ignores it.
    public static func write(_ text: String, to descriptor: Int32) {
        try? writeAll(descriptor, ArraySlice(text.utf8))
    }

    public static var effectiveUID: UInt32 { UInt32(geteuid()) }
    public static var effectiveGID: UInt32 { UInt32(getegid()) }

    // MARK: Processes

    /// A descriptor that refers to `pid` for good: it cannot be confused with a reused pid.
    public static func openProcess(_ pid: Int32) throws(SystemError) -> Int32 {
        let descriptor = ascribe_pidfd_open(pid_t(pid))
        guard descriptor >= 0 else { throw .current("pidfd_open", "pid \(pid)") }
        return descriptor
    }

    /// Reaps the process behind a pidfd; nil when `blocking` is false and it is still running.
    public static func reap(processDescriptor descriptor: Int32, blocking: Bool) throws(SystemError) -> ChildStatus? {
        try wait(blocking: blocking, peek: false, context: "pidfd") { ascribe_wait_pidfd(descriptor, $0, $1) }?.status
    }

    /// Whether the process behind a pidfd has ended, leaving it unreaped.
    public static func hasEnded(processDescriptor descriptor: Int32) throws(SystemError) -> Bool {
        try wait(blocking: false, peek: true, context: "pidfd") { ascribe_wait_pidfd(descriptor, $0, $1) } != nil
    }

    public static func reap(pid: Int32, blocking: Bool = false) throws(SystemError) -> ChildStatus? {
        try wait(blocking: blocking, peek: false, context: "pid \(pid)") { ascribe_wait_pid(pid_t(pid), $0, $1) }?.status
    }

    /// The pid of some child that has ended, left unreaped; nil when none has.
    public static func peekEndedChild() throws(SystemError) -> Int32? {
        do throws(SystemError) {
            return try wait(blocking: false, peek: true, context: "any child") { ascribe_wait_any($0, $1) }?.pid
        } catch where error.code == ECHILD {
            return nil
        }
    }

    private static func wait(
        blocking: Bool, peek: Bool, context: String,
        _ call: (Int32, UnsafeMutablePointer<ascribe_child_state>) -> Int32
    ) throws(SystemError) -> (pid: Int32, status: ChildStatus)? {
        let options = WEXITED | (blocking ? 0 : WNOHANG) | (peek ? WNOWAIT : 0)
        var state = ascribe_child_state()
        _ = try SystemError.value("waitid", context) { call(options, &state) }
        switch Int(state.kind) {
        case Int(ASCRIBE_CHILD_EXITED): return (state.pid, .exited(code: state.status))
        case Int(ASCRIBE_CHILD_SIGNALED): return (state.pid, .signaled(signal: state.status))
        default: return nil
        }
    }

    /// Signals every process in a group; false when the group no longer exists.
    @discardableResult
    public static func signalGroup(_ group: Int32, _ signal: Int32) throws(SystemError) -> Bool {
        if kill(-group, signal) == 0 { return true }
        if errno == ESRCH { return false }
        throw .current("kill", "process group \(group)")
    }

    public static func signalProcess(_ pid: Int32, _ signal: Int32) {
        _ = kill(pid, signal)
    }

    public static func setChildSubreaper(_ enabled: Bool) throws(SystemError) {
        guard ascribe_set_child_subreaper(enabled ? 1 : 0) == 0 else { throw .current("prctl(PR_SET_CHILD_SUBREAPER)") }
    }

    // MARK: Readiness

    /// `poll` for readability; returns the indices of `descriptors` that are ready (readable,
    /// hung up or in error). An interrupted or failed poll returns nothing ready.
    public static func pollReadable(_ descriptors: [Int32], timeoutMilliseconds: Int32) -> [Int] {
        var requests = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        let count = requests.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds) }
        guard count > 0 else { return [] }
        return requests.indices.filter { requests[$0].revents != 0 }
    }

    /// A non-blocking, close-on-exec eventfd used to wake a poller.
    public static func makeEventDescriptor() throws(SystemError) -> Int32 {
        let descriptor = ascribe_eventfd()
        guard descriptor >= 0 else { throw .current("eventfd") }
        return descriptor
    }

    public static func signalEvent(_ descriptor: Int32) {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }

    public static func drainEvent(_ descriptor: Int32) {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { Glibc.read(descriptor, $0.baseAddress, $0.count) }
    }
}

/// An epoll instance over descriptors tagged with the caller's tokens.
public final class EventPoll {
    private let descriptor: Int32
    private var tokens: [UInt64]

    /// A new epoll descriptor, for `init(descriptor:)`.
    public static func makeDescriptor() throws(SystemError) -> Int32 {
        let descriptor = ascribe_epoll_create()
        guard descriptor >= 0 else { throw .current("epoll_create1") }
        return descriptor
    }

    /// Takes ownership of `descriptor`.
    public init(descriptor: Int32, capacity: Int = 256) {
        self.descriptor = descriptor
        tokens = Array(repeating: 0, count: capacity)
    }

    /// A new epoll instance of its own.
    public convenience init() throws(SystemError) {
        self.init(descriptor: try Self.makeDescriptor())
    }

    deinit { SystemCalls.close(descriptor) }

    /// Watches `fd` for input.
    public func add(_ fd: Int32, token: UInt64) throws(SystemError) {
        guard ascribe_epoll_add(descriptor, fd, token) == 0 else { throw .current("epoll_ctl", "fd \(fd)") }
    }

    /// Stops watching `fd`, which stays open: its owner closes it next (see `retire`).
    public func remove(_ fd: Int32) {
        _ = ascribe_epoll_remove(descriptor, fd)
    }

    /// Stops watching `fd` and closes it. Closing alone is not enough: a registration belongs
    /// to the open file, and a child being spawned on another thread briefly holds a copy of
    /// every descriptor, so a closed pipe could stay registered, and, being at EOF, ready:
    /// the loop would spin until the copy went away.
    public func retire(_ fd: Int32) {
        _ = ascribe_epoll_remove(descriptor, fd)
        SystemCalls.close(fd)
    }

    /// Tokens of ready descriptors; empty on timeout or interruption.
    public func wait(timeoutMilliseconds: Int32) -> [UInt64] {
        let count = tokens.withUnsafeMutableBufferPointer { buffer in
            ascribe_epoll_wait(descriptor, buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds)
        }
        guard count > 0 else { return [] }
        return Array(tokens[..<Int(count)])
    }
}

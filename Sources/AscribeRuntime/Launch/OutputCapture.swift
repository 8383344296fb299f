import Glibc
import AscribeSystem

/// An incremental digest of a run's output. The launcher does not implement SHA-256 itself:
/// the scheduler supplies one backed by the OS's libcrypto (the event store's `SHA256Hasher`).
public protocol OutputDigest {
    mutating func update(_ bytes: ArraySlice<UInt8>)
    /// Lowercase hex of the digest of everything passed to `update`.
    mutating func finalize() -> String
}

/// Which of the run's output pipes some bytes came from.
enum OutputStream {
    case standardOutput
    case standardError
}

/// Where a run's output goes as it is read: the capture file up to the cap, and, for every
/// byte, the counts, the digest and the tail. The file is created at the first byte, on the
/// supervising thread: most scheduled runs write nothing, and creating a file costs more than
/// a quarter of a short run's whole launch on a journaling file system.
struct OutputCapture {
    private let path: String
    private var file: Int32?
    private let cap: Int
    private var captured = 0
    private var stdoutBytes = 0
    private var stderrBytes = 0
    private var fileError: SystemError?
    private var tail = OutputTail()
    private var digest: any OutputDigest

    init(path: String, cap: Int, digest: any OutputDigest) {
        self.path = path
        self.cap = cap
        self.digest = digest
    }

    mutating func append(_ bytes: ArraySlice<UInt8>, from stream: OutputStream) {
        switch stream {
        case .standardOutput: stdoutBytes += bytes.count
        case .standardError: stderrBytes += bytes.count
        }
        digest.update(bytes)
        tail.append(bytes)
        let room = max(0, cap - captured)
        guard room > 0, fileError == nil else { return }
        let kept = bytes.prefix(room)
        do throws(SystemError) {
            let descriptor: Int32
            if let file {
                descriptor = file
            } else {
                descriptor = try Self.create(path)
                file = descriptor
            }
            try SystemCalls.writeAll(descriptor, kept, context: path)
            captured += kept.count
        } catch {
            fileError = error
        }
    }

    /// New, never an existing file: one run's record must not overwrite another's. Made with
    /// `openat` in its directory, itself opened without following a link and checked to be
    /// the scheduler's own and closed to others, so no planted link sends the bytes elsewhere.
    private static func create(_ path: String) throws(SystemError) -> Int32 {
        let (parent, name) = FileSystem.split(path)
        let directory = try FileDescriptor.open(parent, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        try FileSystem.checkPrivateDirectory(try SystemCalls.status(directory.rawValue), path: parent)
        return try SystemCalls.open(name, in: directory.rawValue, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, mode: 0o600)
    }

    /// Closes the capture file and summarises.
    mutating func finish(drainCutShort: Bool) -> OutputSummary {
        file.map(SystemCalls.close)
        return OutputSummary(path: file == nil ? nil : path, stdoutBytes: stdoutBytes, stderrBytes: stderrBytes, capturedBytes: captured,
                             capped: stdoutBytes + stderrBytes > cap, tail: tail.text, sha256: digest.finalize(),
                             drainCutShort: drainCutShort, fileError: fileError)
    }
}

/// The end of the output, for the event: the last `lineLimit` lines within the last
/// `byteLimit` bytes.
struct OutputTail {
    static let byteLimit = 4096
    static let lineLimit = 20

    private var bytes: [UInt8] = []

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        bytes += chunk.suffix(Self.byteLimit)
        // Trim in batches so a stream of small reads does not shift the buffer every time.
        if bytes.count > 2 * Self.byteLimit { bytes.removeFirst(bytes.count - Self.byteLimit) }
    }

    var text: String {
        var kept = bytes.suffix(Self.byteLimit)
        // A cut inside a UTF-8 sequence would decode as U+FFFD: start at the next character.
        while let first = kept.first, first & 0xC0 == 0x80 { kept = kept.dropFirst() }
        let newline = UInt8(ascii: "\n")
        // The last lineLimit lines: find the newline that ends the line before them.
        var newlines = 0
        var index = kept.endIndex
        if kept.last == newline { index -= 1 }
        while index > kept.startIndex {
            index -= 1
            if kept[index] == newline {
                newlines += 1
                if newlines == Self.lineLimit {
                    kept = kept[(index + 1)...]
                    break
                }
            }
        }
        return String(decoding: kept, as: UTF8.self)
    }
}

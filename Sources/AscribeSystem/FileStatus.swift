import Glibc

/// What `stat` says about a file, copied out of the C struct so nothing C-shaped leaves here.
public struct FileStatus: Equatable {
    public enum Kind: Equatable {
        case regular, directory, symbolicLink, socket, other
    }

    public var kind: Kind
    /// Permission bits, including set-id and sticky (`0o7777`).
    public var permissions: UInt32
    public var owner: UInt32
    public var group: UInt32
    public var device: UInt64
    public var inode: UInt64
    public var size: Int64
    /// Last modification, nanoseconds since the epoch.
    public var modified: Int64

    public var isWorldWritable: Bool { permissions & 0o002 != 0 }
    public var isSticky: Bool { permissions & 0o1000 != 0 }
    public var isExecutableBySomeone: Bool { permissions & 0o111 != 0 }

    /// `stat` (following links) or `lstat`.
    public init(path: String, followingLinks: Bool) throws(SystemError) {
        var info = stat()
        let result = followingLinks ? stat(path, &info) : lstat(path, &info)
        guard result == 0 else { throw SystemError.current() }
        self.init(info)
    }

    public init(descriptor: Int32) throws(SystemError) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemError.current() }
        self.init(info)
    }

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        case S_IFSOCK: kind = .socket
        default: kind = .other
        }
        permissions = UInt32(info.st_mode & 0o7777)
        owner = UInt32(info.st_uid)
        group = UInt32(info.st_gid)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }

    /// `0644`-style, for messages.
    public var octalPermissions: String {
        let text = String(permissions & 0o777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }
}

/// Small, careful wrappers over the directory and file calls the loaders need.
public enum FileSystem {
    /// `mkdir -p`: each missing directory on `path` is made with exactly `mode` (chmod after
    /// mkdir, so the umask cannot change it); directories that exist are left as they are.
    /// A failure names the call (`mkdir` or `chmod`) and the directory.
    public static func makeDirectories(_ path: String, mode: UInt32) throws(SystemError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            do throws(SystemError) {
                try SystemCalls.makeDirectory(prefix, mode: mode)
            } catch where error.code == EEXIST {
                continue
            }
            try SystemCalls.changeMode(path: prefix, mode)
        }
    }

    /// Entry names of the directory at `path` (`SystemCalls.entries(of:)`); a failure carries
    /// only the errno, as the callers name the directory.
    public static func entries(of path: String) throws(SystemError) -> [[UInt8]] {
        do throws(SystemError) {
            let directory = try FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY)
            return try SystemCalls.entries(of: directory.rawValue)
        } catch {
            throw SystemError(code: error.code)
        }
    }

    /// `mkdir` (0700) unless it exists, then the check below on what is there now (`lstat`).
    public static func makePrivateDirectory(_ path: String) throws(SystemError) {
        if mkdir(path, 0o700) != 0, errno != EEXIST { throw .current("mkdir", path) }
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(path: path, followingLinks: false)
        } catch {
            throw SystemError(code: error.code, call: "lstat", context: path)
        }
        try checkPrivateDirectory(status, path: path)
    }

    /// A directory the scheduler writes into must be a real directory (a link could lead
    /// anywhere), its own user's, and writable by nobody else (who could plant a link in it).
    public static func checkPrivateDirectory(_ status: FileStatus, path: String) throws(SystemError) {
        switch status.kind {
        case .directory: break
        case .symbolicLink: throw SystemError(code: ELOOP, call: "refusing", context: "\(path), a symbolic link")
        default: throw SystemError(code: ENOTDIR, call: "refusing", context: path)
        }
        let me = UInt32(geteuid())
        guard status.owner == me else {
            throw SystemError(code: EPERM, call: "refusing", context: "\(path), owned by uid \(status.owner), not uid \(me)")
        }
        guard status.permissions & 0o022 == 0 else {
            throw SystemError(code: EPERM, call: "refusing", context: "\(path), mode \(status.octalPermissions): others may write in it")
        }
    }

    /// Replaces the file at `path` in one step, so a reader sees the old or the new bytes,
    /// never half. The bytes go to a new file with an unpredictable name, made with `O_EXCL |
    /// O_NOFOLLOW` in the target's directory (opened once; the rest is relative to it), then
    /// renamed over the target: nothing planted at a guessable name (a link, a hard link to
    /// another file) is ever opened. `exactMode` is set whatever the umask; nil leaves 0666
    /// to the umask, as a shell's redirection would.
    public static func replace(_ path: String, with bytes: [UInt8], exactMode: UInt32?) throws(SystemError) {
        let (parent, name) = split(path)
        let directory = try FileDescriptor.open(parent, flags: O_RDONLY | O_DIRECTORY)
        let temporary = "." + String(name.prefix(160)) + "." + randomHex128() + ".tmp"
        let descriptor = try FileDescriptor.open(temporary, in: directory, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY,
                                                 mode: exactMode ?? 0o666)
        do throws(SystemError) {
            if let exactMode { try SystemCalls.changeMode(descriptor.rawValue, exactMode, context: temporary) }
            try SystemCalls.writeAll(descriptor.rawValue, bytes[...], context: path)
            try SystemCalls.rename(temporary, to: name, in: directory.rawValue)
        } catch {
            try? SystemCalls.remove(temporary, in: directory.rawValue, isDirectory: false)
            throw error
        }
    }

    /// Writes into an existing file that is not a regular one (a device, a FIFO), in place:
    /// such a file is never replaced. Opened without creating or truncating anything, and
    /// refused when what it opens is a regular file after all (a link to one).
    public static func writeInPlace(_ path: String, _ bytes: [UInt8]) throws(SystemError) {
        let descriptor = try FileDescriptor.open(path, flags: O_WRONLY | O_NOCTTY)
        guard try SystemCalls.status(descriptor.rawValue).kind != .regular else {
            throw SystemError(code: ELOOP, call: "refusing", context: "\(path), a symbolic link to a regular file (name that file itself)")
        }
        try SystemCalls.writeAll(descriptor.rawValue, bytes[...], context: path)
    }

    /// 128 bits from the system's random source as 32 lowercase hex digits: a name nobody
    /// can guess ahead.
    private static func randomHex128() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let text = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
    }

    /// The directory part and the last name of a path.
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        return (slash == path.startIndex ? "/" : String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// The canonical absolute path, every symbolic link resolved.
    public static func resolvedPath(_ path: String) throws(SystemError) -> String {
        guard let resolved = realpath(path, nil) else { throw SystemError.current() }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Opens a file for reading without following a final symbolic link and without blocking
    /// on a FIFO, checks it with `check` on the open descriptor (so the file checked is the
    /// file read), and reads at most `limit` bytes.
    public static func read<Failure: Error>(
        _ path: String, limit: Int, check: (FileStatus) throws(Failure) -> Void
    ) throws(FileReadError<Failure>) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        guard descriptor >= 0 else { throw .system(.current()) }
        defer { close(descriptor) }
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(descriptor: descriptor)
        } catch {
            throw .system(error)
        }
        do throws(Failure) {
            try check(status)
        } catch {
            throw .refused(error)
        }
        do throws(SystemError) {
            return try SystemCalls.readToEnd(descriptor, limit: limit)
        } catch {
            throw .system(error)
        }
    }
}

/// Why `FileSystem.read` did not return bytes: the system refused, or the caller's check did.
public enum FileReadError<Refusal: Error>: Error {
    case system(SystemError)
    case refused(Refusal)
}

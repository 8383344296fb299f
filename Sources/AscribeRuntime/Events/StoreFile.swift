import Glibc
import AscribeSystem

/// Creates and checks the store's directory and file before SQLite opens them, so the log is
/// never, even for a moment, readable by anyone but its owner. The process umask is left
/// alone (it is process-wide); modes are given at creation and then set exactly with chmod.
enum StoreFile {
    static let fileMode: UInt32 = 0o600
    static let directoryMode: UInt32 = 0o700

    /// For writing: creates missing parent directories (0700) and the file (0600), tightens an
    /// existing file to 0600, and refuses links, non-files and other users' files.
    /// Returns the file's identity, which every later write compares with the path's.
    static func prepareForWriting(path: String) throws(EventStoreError) -> StoreFileIdentity {
        try createParentDirectories(of: path)
        let descriptor: FileDescriptor
        do throws(SystemError) {
            descriptor = try FileDescriptor.open(path, flags: O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, mode: fileMode)
        } catch {
            if error.code == ELOOP { throw .unsafeFile(path: path, problem: "it is a symbolic link") }
            throw .fileSystem(path: path, operation: "open", errno: error.code)
        }
        try tighten(descriptor: descriptor.rawValue, path: path)
        let identity = StoreFileIdentity(try status(of: descriptor.rawValue, path: path))
        // SQLite gives its -wal and -shm files the database's mode when it creates them; files
        // left by an earlier, looser setup are tightened too.
        for suffix in ["-wal", "-shm"] {
            let companion: FileDescriptor
            do throws(SystemError) {
                companion = try FileDescriptor.open(path + suffix, flags: O_RDWR | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)
            } catch where error.code == ENOENT {
                continue
            } catch {
                throw .fileSystem(path: path + suffix, operation: "open", errno: error.code)
            }
            try tighten(descriptor: companion.rawValue, path: path + suffix)
        }
        return identity
    }

    /// A store replaced (renamed over) or deleted under a writer must stop it: writing on into
    /// the file it opened would record events nobody can find. One `lstat` per write batch.
    static func checkStillAtPath(_ path: String, _ identity: StoreFileIdentity) throws(EventStoreError) {
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(path: path, followingLinks: false)
        } catch {
            if error.code == ENOENT { throw .storeReplaced(path: path, problem: "it was deleted") }
            throw .fileSystem(path: path, operation: "lstat", errno: error.code)
        }
        guard StoreFileIdentity(status) == identity else {
            throw .storeReplaced(path: path, problem: "another file was put in its place")
        }
    }

    /// For reading: the store must exist and be a regular file (not a link).
    static func checkForReading(path: String) throws(EventStoreError) {
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(path: path, followingLinks: false)
        } catch {
            if error.code == ENOENT { throw .storeMissing(path: path) }
            throw .fileSystem(path: path, operation: "lstat", errno: error.code)
        }
        guard status.kind == .regular else { throw .unsafeFile(path: path, problem: "it is not a regular file") }
    }

    /// The file mode (permission bits) of `path`, for callers and tests that check it.
    static func permissions(of path: String) throws(EventStoreError) -> UInt32 {
        do throws(SystemError) {
            return try FileStatus(path: path, followingLinks: false).permissions
        } catch {
            throw .fileSystem(path: path, operation: "lstat", errno: error.code)
        }
    }

    private static func tighten(descriptor: Int32, path: String) throws(EventStoreError) {
        var status = try self.status(of: descriptor, path: path)
        guard status.kind == .regular else { throw .unsafeFile(path: path, problem: "it is not a regular file") }
        guard status.owner == SystemCalls.effectiveUID else {
            throw .unsafeFile(path: path, problem: "it belongs to uid \(status.owner), not to the user writing it (uid \(SystemCalls.effectiveUID))")
        }
        if status.permissions != fileMode {
            do throws(SystemError) {
                try SystemCalls.changeMode(descriptor, fileMode, context: path)
            } catch {
                throw .fileSystem(path: path, operation: "chmod 0600", errno: error.code)
            }
            status = try self.status(of: descriptor, path: path)
        }
        guard status.permissions == fileMode else {
            throw .unsafeFile(path: path, problem: "its mode is \(status.octalPermissions) and would not become 0600")
        }
    }

    private static func status(of descriptor: Int32, path: String) throws(EventStoreError) -> FileStatus {
        do throws(SystemError) {
            return try FileStatus(descriptor: descriptor)
        } catch {
            throw .fileSystem(path: path, operation: "fstat", errno: error.code)
        }
    }

    /// `mkdir -p` for the directory holding `path`; only directories it creates get 0700.
    private static func createParentDirectories(of path: String) throws(EventStoreError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        do throws(SystemError) {
            try FileSystem.makeDirectories(String(path[..<slash]), mode: directoryMode)
        } catch {
            throw .fileSystem(path: error.context, operation: error.call == "chmod" ? "chmod 0700" : error.call, errno: error.code)
        }
    }
}

/// Which file a store is: device and inode, the same for every name of one file.
struct StoreFileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64

    init(_ status: FileStatus) {
        device = status.device
        inode = status.inode
    }
}

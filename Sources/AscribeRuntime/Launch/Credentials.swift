import AscribeCore
import Glibc
import AscribeSystem

/// A run's private copy of its credentials (PRODUCT.md section 4): a fresh directory, mode
/// 0500 and owned by the run's user, holding 0400 copies of exactly the listed files.
enum CredentialStaging {
    /// Permissions of the runtime base directory: others may traverse it to reach their own
    /// run's directory, but not list it or create anything in it.
    static let baseMode: UInt32 = 0o711

    /// Checks every store file, then copies them into a new directory under `base`. Each file
    /// is checked on the descriptor it is copied from, so the file checked is the file copied.
    /// Returns the directory's path; on failure nothing is left behind.
    static func stage(
        _ credentials: [LaunchRequest.Credential], generated: [LaunchRequest.GeneratedCredential] = [],
        under base: String, runID: String,
        for account: ResolvedAccount, storeOwner: UInt32
    ) throws(LaunchFailure) -> String {
        var sources: [(credential: LaunchRequest.Credential, descriptor: Int32)] = []
        defer { sources.forEach { SystemCalls.close($0.descriptor) } }
        for credential in credentials {
            sources.append((credential, try openChecked(credential, storeOwner: storeOwner, for: account)))
        }
        let directory: String
        do throws(SystemError) {
            try prepareBase(base)
            directory = try SystemCalls.makeUniqueDirectory(prefix: base + "/" + safeName(runID) + ".")
        } catch {
            throw .credentialStagingFailed(path: base, error: error)
        }
        do throws(SystemError) {
            let handle = try FileDescriptor.open(directory, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            for (credential, source) in sources {
                try copy(from: source, named: credential.name, into: handle.rawValue, owner: account)
            }
            for file in generated {
                try write(file.bytes, named: file.name, into: handle.rawValue, owner: account)
            }
            // Handed over only once complete, so the run's user never sees a half-filled directory.
            try SystemCalls.changeMode(handle.rawValue, 0o500, context: directory)
            try SystemCalls.changeOwner(handle.rawValue, uid: account.uid, gid: account.gid, context: directory)
        } catch {
            _ = remove(directory)
            throw .credentialStagingFailed(path: directory, error: error)
        }
        return directory
    }

    /// Removes a run's credentials directory and whatever the run put in it. The run owns the
    /// directory and may have changed its mode or added entries, so removal restores write
    /// permission first and walks it with `*at` calls that never follow a symbolic link, however
    /// deep the run nested it (`DirectoryTree`).
    /// Idempotent: a directory that is already gone counts as removed.
    static func remove(_ directory: String) -> CredentialsCleanup {
        do throws(SystemError) {
            let handle: Int32
            do throws(SystemError) {
                handle = try openForRemoval(directory)
            } catch where error.code == ENOENT {
                return .removed(path: directory)
            }
            defer { SystemCalls.close(handle) }
            try SystemCalls.changeMode(handle, 0o700, context: directory)
            try DirectoryTree.removeContents(of: handle, restoringPermission: SystemCalls.effectiveUID != 0)
            try SystemCalls.removeDirectory(directory)
            return .removed(path: directory)
        } catch {
            return .failed(path: directory, error: error)
        }
    }

    /// Root opens any directory; a scheduler that is not root may first have to give itself
    /// back the permission the run took away. By path, which is safe: as root the base is
    /// root's and closed to the run; otherwise the run is the scheduler's own user anyway.
    private static func openForRemoval(_ directory: String) throws(SystemError) -> Int32 {
        do throws(SystemError) {
            return try SystemCalls.open(directory, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        } catch where error.code == EACCES {
            try SystemCalls.changeMode(of: directory, in: AT_FDCWD, 0o700)
            return try SystemCalls.open(directory, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        }
    }

    /// Every check `stage` makes of one store file, copying nothing: for `check`. Without an
    /// account (itself refused) the writer rule is left out.
    static func check(_ credential: LaunchRequest.Credential, storeOwner: UInt32,
                      for account: ResolvedAccount?) throws(LaunchFailure) {
        SystemCalls.close(try openChecked(credential, storeOwner: storeOwner, for: account))
    }

    /// Opens a store file without following a final link and checks it is a regular file,
    /// owned by `storeOwner`, unreadable by group and others, and changeable by no non-root
    /// user other than the run's own (PRODUCT.md principle 8: whoever can swap a secret
    /// chooses what the run trusts).
    private static func openChecked(_ credential: LaunchRequest.Credential, storeOwner: UInt32,
                                    for account: ResolvedAccount?) throws(LaunchFailure) -> Int32 {
        let name = credential.name, path = credential.source
        let descriptor: Int32
        do throws(SystemError) {
            descriptor = try SystemCalls.open(path, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
        } catch {
            switch error.code {
            case ENOENT, ENOTDIR: throw .credentialMissing(name: name, path: path)
            case ELOOP: throw .credentialNotRegularFile(name: name, path: path)
            default: throw .credentialUnreadable(name: name, path: path, error: error)
            }
        }
        do throws(LaunchFailure) {
            let status: FileStatus
            do throws(SystemError) {
                status = try SystemCalls.status(descriptor)
            } catch {
                throw LaunchFailure.credentialUnreadable(name: name, path: path, error: error)
            }
            guard status.kind == .regular else { throw LaunchFailure.credentialNotRegularFile(name: name, path: path) }
            guard status.owner == storeOwner else {
                throw LaunchFailure.credentialWrongOwner(name: name, path: path, owner: status.owner, expectedOwner: storeOwner)
            }
            guard status.permissions & 0o044 == 0 else {
                throw LaunchFailure.credentialReadableByOthers(name: name, path: path, mode: status.permissions)
            }
            if let account { try checkWriters(credential, opened: status, for: account) }
            return descriptor
        } catch {
            SystemCalls.close(descriptor)
            throw error
        }
    }

    /// The writer rule over the store file's path; the file walked must be the file opened.
    static func checkWriters(_ credential: LaunchRequest.Credential, opened status: FileStatus,
                             for account: ResolvedAccount) throws(LaunchFailure) {
        var scan = FileWriterScan()
        let walked: FileWriterScan.Result
        do throws(SystemError) {
            walked = try scan.writers(of: credential.source)
        } catch {
            throw LaunchFailure.credentialUnreadable(name: credential.name, path: credential.source, error: error)
        }
        guard walked.status.device == status.device, walked.status.inode == status.inode else {
            throw LaunchFailure.credentialUnreadable(name: credential.name, path: credential.source,
                                                     error: SystemError(code: ESTALE, call: "open", context: credential.source))
        }
        let target = RunTarget(label: "the run's user is \(account.user)",
                               user: .account(WriterAccount(uid: account.uid, name: account.user)))
        if case .failure(let rejection) = WriterRule.check(walked.writers, runsAs: target,
                                                           subject: .credential(name: credential.name, path: credential.source)) {
            throw LaunchFailure.credentialChangeableByOthers(rejection)
        }
    }

    /// A file the scheduler made for the run: 0400, the run's user's, like a copied credential.
    private static func write(_ bytes: [UInt8], named name: String, into directory: Int32, owner: ResolvedAccount) throws(SystemError) {
        let target = try FileDescriptor(owning: SystemCalls.open(name, in: directory, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o400))
        try SystemCalls.writeAll(target.rawValue, bytes[...], context: name)
        try SystemCalls.changeMode(target.rawValue, 0o400, context: name)
        try SystemCalls.changeOwner(target.rawValue, uid: owner.uid, gid: owner.gid, context: name)
    }

    /// Replaces `name` in a run's credentials directory in one step (a new file renamed over
    /// the old), so the run reads the old token or the new one, never half of either. The
    /// directory is the run's (mode 0500), so it is opened to its owner for the rename and
    /// closed again.
    static func replace(_ bytes: [UInt8], named name: String, in directory: String, owner: ResolvedAccount) throws(SystemError) {
        let handle = try FileDescriptor.open(directory, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
        let status = try SystemCalls.status(handle.rawValue)
        guard status.owner == owner.uid else {
            throw SystemError(code: EPERM, call: "refusing", context: "\(directory) no longer belongs to the run's user")
        }
        let temporary = "." + name + "." + RandomIdentifier.hex128() + ".tmp"
        try SystemCalls.changeMode(handle.rawValue, 0o700, context: directory)
        defer { try? SystemCalls.changeMode(handle.rawValue, 0o500, context: directory) }
        do throws(SystemError) {
            try write(bytes, named: temporary, into: handle.rawValue, owner: owner)
            try SystemCalls.rename(temporary, to: name, in: handle.rawValue)
        } catch {
            try? SystemCalls.remove(temporary, in: handle.rawValue, isDirectory: false)
            throw error
        }
    }

    private static func copy(from source: Int32, named name: String, into directory: Int32, owner: ResolvedAccount) throws(SystemError) {
        let target = try FileDescriptor(owning: SystemCalls.open(name, in: directory, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o400))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        copying: while true {
            switch try SystemCalls.read(source, into: &buffer) {
            case .bytes(let count): try SystemCalls.writeAll(target.rawValue, buffer[..<count], context: name)
            case .endOfFile, .wouldBlock: break copying
            }
        }
        try SystemCalls.changeMode(target.rawValue, 0o400, context: name)
        try SystemCalls.changeOwner(target.rawValue, uid: owner.uid, gid: owner.gid, context: name)
    }

    /// Creates the base (and missing parents) mode 0711, and refuses a base that another user
    /// could write to: they could plant or swap a run's directory.
    private static func prepareBase(_ base: String) throws(SystemError) {
        var path = ""
        for component in base.split(separator: "/") {
            path += "/" + component
            do throws(SystemError) {
                try SystemCalls.makeDirectory(path, mode: baseMode)
            } catch where error.code == EEXIST {
                continue
            }
            // mkdir's mode passed through the umask; set the exact mode.
            let created = try FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            try SystemCalls.changeMode(created.rawValue, baseMode, context: path)
        }
        let status = try SystemCalls.status(path: base)
        guard status.kind == .directory, status.owner == SystemCalls.effectiveUID, status.permissions & 0o022 == 0 else {
            throw SystemError(code: EPERM, call: "check", context: "\(base) must be a directory owned by the scheduler's user and writable by no one else")
        }
    }

    /// The run id as a file name: anything but `[A-Za-z0-9._-]` becomes `_`.
    private static func safeName(_ runID: String) -> String {
        let bytes = runID.utf8.prefix(64).map { byte -> UInt8 in
            let allowed = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x2E || byte == 0x2D || byte == 0x5F
            return allowed ? byte : 0x5F
        }
        let name = String(decoding: bytes, as: UTF8.self)
        return name.hasPrefix(".") ? "_" + name : name
    }
}

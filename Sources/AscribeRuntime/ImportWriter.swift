import AscribeCore
import Glibc
import AscribeSystem

/// Why the output directory cannot take the import at all.
public enum ImportDirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    case notADirectory(path: String)
    case unusable(path: String, reason: String)

    public var description: String {
        switch self {
        case .notADirectory(let path): "\(path) exists and is not a directory"
        case .unusable(let path, let reason): "cannot use output directory \(path): \(reason)"
        }
    }
}

/// What became of one job file.
public enum ImportWriteOutcome: Equatable, Sendable {
    case written(path: String)
    case failed(path: String, reason: String)
}

/// Writes imported job files into a jobs directory the way `JobDirectory` will accept them:
/// directory 0755, files 0644 whatever the umask (never world-writable), and an existing file
/// is never replaced unless asked to.
public enum ImportWriter {
    /// The job names (`<name>.job` stems) already in `directory`; empty when it does not exist.
    public static func existingJobNames(in directory: String) throws(ImportDirectoryError) -> Set<String> {
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(path: directory, followingLinks: true)
        } catch {
            if error.code == ENOENT { return [] }
            throw .unusable(path: directory, reason: error.description)
        }
        guard status.kind == .directory else { throw .notADirectory(path: directory) }
        do throws(SystemError) {
            let names = try FileSystem.entries(of: directory).compactMap { String(validating: $0, as: UTF8.self) }
            return Set(names.filter { $0.hasSuffix(".job") }.map { String($0.dropLast(4)) })
        } catch {
            throw .unusable(path: directory, reason: error.description)
        }
    }

    /// Creates `directory` (and missing parents) if there is a job to write, then writes each job as
    /// `<name>.job`. With `replacing`, an existing file is replaced atomically (write a hidden
    /// temporary file, then rename); without, a file that exists is reported, never touched.
    public static func write(_ jobs: [ImportedJob], into directory: String, replacing: Bool) throws(ImportDirectoryError) -> [ImportWriteOutcome] {
        guard !jobs.isEmpty else { return [] }
        try createDirectory(directory)
        return jobs.map { job in
            let path = JobDirectory.joined(directory, "\(job.name).job")
            do throws(SystemError) {
                if replacing {
                    let temporary = JobDirectory.joined(directory, ".\(job.name).job.import-\(SystemCalls.processID)")
                    try writeNew(temporary, job.fileText)
                    do throws(SystemError) {
                        try SystemCalls.rename(path: temporary, to: path)
                    } catch {
                        try? SystemCalls.unlink(path: temporary)
                        throw SystemError(code: error.code)
                    }
                } else {
                    try writeNew(path, job.fileText)
                }
                return .written(path: path)
            } catch {
                let reason = error.code == EEXIST ? "already exists (use --force to replace it)" : error.description
                return .failed(path: path, reason: reason)
            }
        }
    }

    private static func createDirectory(_ directory: String) throws(ImportDirectoryError) {
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            do throws(SystemError) {
                try SystemCalls.makeDirectory(prefix, mode: 0o755)
                try? SystemCalls.changeMode(path: prefix, 0o755)
            } catch where error.code == EEXIST {
            } catch {
                throw .unusable(path: directory, reason: "\(prefix): \(SystemError(code: error.code))")
            }
        }
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(path: directory, followingLinks: true)
        } catch {
            throw .unusable(path: directory, reason: error.description)
        }
        guard status.kind == .directory else { throw .notADirectory(path: directory) }
    }

    /// Creates `path` (failing if it exists, never following a link), mode 0644, with `text`.
    private static func writeNew(_ path: String, _ text: String) throws(SystemError) {
        let descriptor: Int32
        do throws(SystemError) {
            descriptor = try SystemCalls.open(path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o644)
        } catch {
            throw SystemError(code: error.code)
        }
        var failure: SystemError?
        do throws(SystemError) {
            try SystemCalls.changeMode(descriptor, 0o644, context: path)
            try SystemCalls.writeAll(descriptor, Array(text.utf8)[...], context: path)
            try SystemCalls.synchronize(descriptor, context: path)
        } catch {
            failure = SystemError(code: error.code)
        }
        do throws(SystemError) {
            try SystemCalls.closeAfterWriting(descriptor, context: path)
        } catch {
            failure = failure ?? SystemError(code: error.code)
        }
        if let failure {
            try? SystemCalls.unlink(path: path)
            throw failure
        }
    }
}

import AscribeCore
import Glibc
import AscribeSystem

/// Why a job directory could not be read at all. Problems with single files are diagnostics
/// instead: one bad file never keeps the others from loading.
public enum JobDirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(path: String)
    case notADirectory(path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path): "job directory \(path) does not exist"
        case .notADirectory(let path): "\(path) is not a directory; give the directory that holds the *.job files"
        case .unreadable(let path, let reason): "cannot read job directory \(path): \(reason)"
        }
    }
}

/// The jobs that loaded and everything wrong with the rest: one bad file is reported without
/// hiding the good ones.
public struct JobDirectoryLoad: Hashable, Sendable {
    /// The jobs that loaded, sorted by name.
    public var jobs: [JobDefinition]
    /// Per file in file-name order (each file's by line), then the cross-file findings.
    public var diagnostics: [JobFileDiagnostic]
    /// How many `*.job` entries were looked at, loaded or not.
    public var filesExamined: Int
    /// SHA-256 (hex) of each loaded job's file bytes: the `config_hash` its events carry, so a
    /// record leads to the exact definition that ran.
    public var definitionHashes: [JobName: String]
    /// Each loaded job's file bytes, for the daemon's definition archive.
    public var definitionBytes: [JobName: [UInt8]]
    /// Who can change each loaded job's file (PRODUCT.md principle 8), for its events: the
    /// accounts only, since the grants behind them were judged when the file loaded.
    public var writers: [JobName: WriterAccounts]

    public init(jobs: [JobDefinition], diagnostics: [JobFileDiagnostic], filesExamined: Int,
                definitionHashes: [JobName: String] = [:], definitionBytes: [JobName: [UInt8]] = [:],
                writers: [JobName: WriterAccounts] = [:]) {
        self.jobs = jobs
        self.diagnostics = diagnostics
        self.filesExamined = filesExamined
        self.definitionHashes = definitionHashes
        self.definitionBytes = definitionBytes
        self.writers = writers
    }
}

/// Loads `jobs.d/`: every `*.job` file in it, refusing files that anyone could have edited
/// or that live elsewhere, since a job must be attributable to whoever controls the directory.
public enum JobDirectory {
    /// Loads every `<name>.job` entry of `path` (not hidden; editor backups such as `x.job~`
    /// and `.x.job.swp` do not end in `.job`). Other entries are ignored; a `.job` entry that
    /// is not a regular file is an error, since a job someone believes exists would not run.
    /// A file that a non-root user can change loads only if the job would run as that user
    /// (`runner` says whom jobs run as; see `WriterRule`).
    public static func load(path: String, zones: (String) -> ZoneRules?,
                            zoneAdvice: (String) -> ZoneNameAdvice = { _ in .noSuggestion },
                            runner: JobRunner = .current) throws(JobDirectoryError) -> JobDirectoryLoad {
        let directory: FileStatus
        let names: [[UInt8]]
        let root: String
        do throws(SystemError) {
            directory = try FileStatus(path: path, followingLinks: true)
        } catch {
            throw error.code == ENOENT ? .missing(path: path) : .unreadable(path: path, reason: error.description)
        }
        guard directory.kind == .directory else { throw .notADirectory(path: path) }
        do throws(SystemError) {
            names = try FileSystem.entries(of: path)
            root = try FileSystem.resolvedPath(path)
        } catch {
            throw .unreadable(path: path, reason: error.description)
        }

        let candidates = names.filter(isJobFileName).sorted { $0.lexicographicallyPrecedes($1) }
        var jobs: [JobDefinition] = []
        var diagnostics: [JobFileDiagnostic] = []
        var hashes: [JobName: String] = [:]
        var texts: [JobName: [UInt8]] = [:]
        var writers: [JobName: WriterAccounts] = [:]
        var scan = FileWriterScan()
        // A team's jobs repeat its owner: they share one copy of its strings, which a daemon
        // holds for as long as the jobs are loaded (about 130 bytes a job).
        var owners = Set<Owner>()
        for rawName in candidates {
            let (outcome, file) = loadFile(rawName, in: path, root: root, directory: directory, zones: zones,
                                           zoneAdvice: zoneAdvice, runner: runner, scan: &scan)
            diagnostics += outcome.diagnostics
            if var definition = outcome.definition {
                let (isNew, owner) = owners.insert(definition.owner)
                if !isNew { definition.owner = owner }
                jobs.append(definition)
                hashes[definition.name] = file?.hash
                texts[definition.name] = file?.bytes
                writers[definition.name] = file?.writers.accounts
            }
        }
        jobs.sort { $0.name < $1.name }
        diagnostics += JobSetFindings.check(jobs)
        return JobDirectoryLoad(jobs: jobs, diagnostics: diagnostics, filesExamined: candidates.count,
                                definitionHashes: hashes, definitionBytes: texts, writers: writers)
    }

    private static func isJobFileName(_ name: [UInt8]) -> Bool {
        name.count > 4 && name.first != 0x2E && name.suffix(4).elementsEqual(".job".utf8)
    }

    /// Why a file is not read even though it opened.
    private enum Refusal: Error {
        case notRegular
        case worldWritable
        /// Not the file whose writers were just worked out: it was replaced in between.
        case replaced
    }

    /// What a loaded file leaves besides its definition.
    private typealias LoadedFile = (hash: String, bytes: [UInt8], writers: FileWriters)

    private static func loadFile(
        _ rawName: [UInt8], in path: String, root: String, directory: FileStatus, zones: (String) -> ZoneRules?,
        zoneAdvice: (String) -> ZoneNameAdvice,
        runner: JobRunner, scan: inout FileWriterScan
    ) -> (JobFileParseResult, LoadedFile?) {
        guard let name = String(validating: rawName, as: UTF8.self) else {
            let shown = String(decoding: rawName, as: UTF8.self)
            return refused(joined(path, shown), "file name is not valid UTF-8; rename the file")
        }
        let filePath = joined(path, name)
        var readPath = filePath
        var container = directory
        var containerPath = path
        do throws(SystemError) {
            let entry = try FileStatus(path: filePath, followingLinks: false)
            switch entry.kind {
            case .regular:
                break
            case .symbolicLink:
                let target = try FileSystem.resolvedPath(filePath)
                guard target.hasPrefix(root == "/" ? "/" : root + "/") else {
                    return refused(filePath, "symbolic link points outside the job directory, to \(target); a job file must live in the directory it is loaded from")
                }
                readPath = target
                let parent = String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)])
                if parent != root {
                    containerPath = parent
                    container = try FileStatus(path: parent, followingLinks: true)
                }
            case .directory, .socket, .other:
                return refused(filePath, "not a regular file; a job file must be a plain file")
            }
        } catch {
            return refused(filePath, "cannot read job file: \(error)")
        }
        if container.isWorldWritable, !container.isSticky {
            return refused(filePath, "job directory is writable by every user; anyone could replace this job, so it is not attributable (chmod o-w \(containerPath))")
        }
        let walked: FileWriterScan.Result
        do throws(SystemError) {
            walked = try scan.writers(of: filePath)
        } catch {
            return refused(filePath, "cannot tell who can change this job file: \(error)")
        }
        do throws(FileReadError<Refusal>) {
            let bytes = try FileSystem.read(readPath, limit: JobFile.maximumFileBytes + 1) { status throws(Refusal) in
                guard status.kind == .regular else { throw .notRegular }
                guard !status.isWorldWritable else { throw .worldWritable }
                guard status.device == walked.status.device, status.inode == walked.status.inode else { throw .replaced }
            }
            var parsed = JobFile.parse(bytes, path: filePath, zones: zones, zoneAdvice: zoneAdvice)
            if let definition = parsed.definition,
               case .failure(let rejection) = WriterRule.check(walked.writers, runsAs: scan.target(definition.runAs, runner: runner),
                                                               subject: .jobFile) {
                parsed.definition = nil
                parsed.diagnostics.append(JobFileDiagnostic(
                    path: filePath, line: definition.source.line(of: .runAs) ?? 1,
                    column: definition.source.column(of: .runAs) ?? 1, severity: .error,
                    key: definition.runAs == nil ? nil : .runAs, message: rejection.description))
                parsed.diagnostics.sort { ($0.line, $0.column) < ($1.line, $1.column) }
            }
            return (parsed, (try? SHA256.digest(bytes).hex).map { ($0, bytes, walked.writers) })
        } catch {
            switch error {
            case .refused(.worldWritable):
                return refused(filePath, "job file is writable by every user; a job anyone can edit is not attributable (chmod o-w)")
            case .refused(.replaced):
                return refused(filePath, "job file was replaced while it was read; it is read again on the next reload")
            case .refused(.notRegular):
                return refused(filePath, "not a regular file; a job file must be a plain file")
            case .system(let failure):
                return refused(filePath, "cannot read job file: \(failure)")
            }
        }
    }

    private static func refused(_ path: String, _ message: String) -> (JobFileParseResult, LoadedFile?) {
        (JobFileParseResult(definition: nil, diagnostics: [
            JobFileDiagnostic(path: path, line: 1, column: 1, severity: .error, key: nil, message: message),
        ]), nil)
    }

    static func joined(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

/// How bad a finding is: errors keep a job from loading, warnings do not (unless the caller
/// is strict, as `ascribe check --strict` is).
public enum Severity: String, Hashable, Sendable, CustomStringConvertible {
    case error
    case warning

    public var description: String { rawValue }
}

/// One finding about a job file, located the way compilers locate theirs so editors and CI
/// annotations can jump straight to it.
public struct JobFileDiagnostic: Hashable, Sendable, CustomStringConvertible {
    public var path: String
    /// 1-based.
    public var line: Int
    /// 1-based, counted in characters (a tab is one column).
    public var column: Int
    public var severity: Severity
    /// The key the finding is about, when there is one.
    public var key: JobKey?
    public var message: String

    public init(path: String, line: Int, column: Int, severity: Severity, key: JobKey?, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.severity = severity
        self.key = key
        self.message = message
    }

    /// `path:line:column: error: message`.
    public var description: String { "\(path):\(line):\(column): \(severity): \(message)" }
}

/// One result for both outcomes, so a caller can show the warnings of a job that loaded and
/// every error of one that did not.
public struct JobFileParseResult: Hashable, Sendable {
    /// Nil exactly when `diagnostics` holds at least one error.
    public var definition: JobDefinition?
    /// Sorted by line, then column.
    public var diagnostics: [JobFileDiagnostic]

    public init(definition: JobDefinition?, diagnostics: [JobFileDiagnostic]) {
        self.definition = definition
        self.diagnostics = diagnostics
    }

    public var errors: [JobFileDiagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [JobFileDiagnostic] { diagnostics.filter { $0.severity == .warning } }
}

/// The job file format (PRODUCT.md section 2): one job per `<name>.job` file of `key = value`
/// lines. Pure: the caller reads the bytes and supplies time zones.
public enum JobFile {
    /// A job file is a handful of lines; anything bigger is a mistake, not a job.
    public static let maximumFileBytes = 1 << 20
    /// Longest accepted line, in bytes without its terminator.
    public static let maximumLineBytes = 16 << 10
    /// Diagnostics reported per file before the rest are summarised in one more.
    public static let maximumDiagnostics = 100

    /// Parses one file. `path` names the file in diagnostics and gives the job its name (the
    /// stem of the last path component, `.job` removed). Every problem in the file is
    /// reported, not just the first (up to `maximumDiagnostics`, then a summary). Missing
    /// required keys are reported at line 1, column 1, where a reader starts. `zoneAdvice`
    /// explains a `timezone` that `zones` does not know (a near name, a missing database).
    public static func parse(_ bytes: [UInt8], path: String, zones: (String) -> ZoneRules?,
                             zoneAdvice: (String) -> ZoneNameAdvice = { _ in .noSuggestion }) -> JobFileParseResult {
        guard bytes.count <= maximumFileBytes else {
            let diagnostic = JobFileDiagnostic(
                path: path, line: 1, column: 1, severity: .error, key: nil,
                message: "file is \(bytes.count) bytes; a job file may be at most 1 MiB")
            return JobFileParseResult(definition: nil, diagnostics: [diagnostic])
        }
        var parser = JobFileParser(path: path)
        return parser.parse(bytes, zones: zones, zoneAdvice: zoneAdvice)
    }

    /// The job name a file at `path` defines: its last component without `.job`.
    public static func stem(of path: String) -> String {
        let component = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        return component.hasSuffix(".job") ? String(component.dropLast(4)) : component
    }
}

/// Findings that only show across files: things each job gets right on its own but that
/// break a principle together.
public enum JobSetFindings {
    /// Two or more jobs sharing an identity (PRODUCT.md 1.1): a warning on each such job's
    /// `identity` line naming the others, since their events become indistinguishable.
    public static func check(_ jobs: [JobDefinition]) -> [JobFileDiagnostic] {
        var byIdentity: [IdentityName: [JobDefinition]] = [:]
        for job in jobs { byIdentity[job.identity, default: []].append(job) }
        var findings: [JobFileDiagnostic] = []
        for (identity, sharing) in byIdentity where sharing.count > 1 {
            for job in sharing {
                let others = sharing.filter { $0.source.path != job.source.path }.map(\.name.rawValue).sorted()
                guard !others.isEmpty else { continue }
                findings.append(JobFileDiagnostic(
                    path: job.source.path, line: job.source.line(of: .identity) ?? 1,
                    column: job.source.column(of: .identity) ?? 1, severity: .warning, key: .identity,
                    message: "identity `\(identity)` is shared with \(others.joined(separator: ", ")); give each automation its own identity so every event names exactly one"))
            }
        }
        return findings.sorted { ($0.path, $0.line, $0.message) < ($1.path, $1.line, $1.message) }
    }
}

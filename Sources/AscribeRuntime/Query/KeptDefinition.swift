import AscribeCore

/// The definition the daemon keeps in force for a job whose file does not load: the last good
/// one, by the hash the log's `config.loaded` events name, read back from the definition
/// archive (docs/DAEMON.md, "Definitions in force"). What `why` and `identities` show for a
/// job whose file an edit broke.
public struct KeptDefinition: Sendable {
    public var definition: JobDefinition
    /// The full SHA-256 of the kept definition.
    public var hash: String
    /// Since when the daemon's log lists the file as rejected; nil when no daemon has read the
    /// broken file yet (it still runs the definition, without having noticed the edit).
    public var rejectedSince: EventTime?

    /// For each of `names` (jobs whose file does not load now), the definition in force per
    /// the log, when the archive holds it. A job the log never had loaded is left out.
    public static func find(_ names: [JobName], store: EventStore,
                            zones: (String) -> ZoneRules?) throws(EventStoreError) -> [JobName: KeptDefinition] {
        guard !names.isEmpty else { return [:] }
        let loads = try store.events(matching: EventFilter(type: .configLoaded, order: .oldestFirst))
        let hashes = ConfigHistory.hashes(afterReplaying: loads)
        let since = ConfigHistory.rejectedSince(afterReplaying: loads)
        var found: [JobName: KeptDefinition] = [:]
        for name in names {
            guard let prefix = hashes[name],
                  let archived = store.definition(of: name, hashPrefix: prefix, zones: zones) else { continue }
            found[name] = KeptDefinition(definition: archived.definition, hash: archived.hash, rejectedSince: since[name])
        }
        return found
    }

    /// The jobs of `load` whose file has errors, by the name the file's stem gives.
    public static func rejectedJobs(in load: JobDirectoryLoad) -> [JobName: [JobFileDiagnostic]] {
        var rejected: [JobName: [JobFileDiagnostic]] = [:]
        for diagnostic in load.diagnostics where diagnostic.severity == .error {
            guard let name = try? JobName(JobFile.stem(of: diagnostic.path)) else { continue }
            rejected[name, default: []].append(diagnostic)
        }
        return rejected
    }

    /// "the job file F is rejected since T (F:L: message); the daemon keeps its last good
    /// definition in force (hash H)".
    public func words(problems: [JobFileDiagnostic], in zone: ZoneRules) -> String {
        let first = problems.first.map { "\($0.path):\($0.line): \($0.message)" } ?? "errors"
        let since = rejectedSince.map { " since \(zone.rfc3339($0.instant))" } ?? " (no daemon has read it since it broke)"
        return "the job file \(definition.source.path) is rejected\(since) (\(first)); "
            + "the daemon keeps its last good definition in force (\(JobHashList.abbreviated(hash)))"
    }
}

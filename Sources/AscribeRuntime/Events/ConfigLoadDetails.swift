import AscribeCore

/// `name=hash,…`: the job lists of `config.loaded` (`jobs` at a start, `added`, `changed`,
/// `removed` on a reload, `kept`). The hash is the definition's 12-digit prefix, `-` for a job
/// without one. Encoded and decoded only here.
public struct JobHashList: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var name: String
        /// nil for `-`.
        public var hash: String?
    }

    public var entries: [Entry]

    public init(_ entries: [(name: String, hash: String?)]) {
        self.entries = entries.map { Entry(name: $0.name, hash: $0.hash) }
    }

    /// How many hex digits of a definition hash a list keeps (and words about a hash show).
    public static let hashDigits = 12

    /// A definition hash as the lists record it.
    public static func abbreviated(_ hash: String) -> String { String(hash.prefix(hashDigits)) }

    /// A list of full definition hashes, each abbreviated as `config.loaded` records it.
    public init(abbreviating entries: [(name: String, hash: String?)]) {
        self.init(entries.map { ($0.name, $0.hash.map(Self.abbreviated)) })
    }

    /// Entries without `=` (a reload's `jobs`, which is a count) are not list entries and are dropped.
    public init(decoding text: String?) {
        entries = (text ?? "").split(separator: ",").compactMap { entry in
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            return Entry(name: String(parts[0]), hash: parts[1] == "-" ? nil : String(parts[1]))
        }
    }

    public var encoded: String {
        entries.map { "\($0.name)=\($0.hash ?? "-")" }.joined(separator: ",")
    }

    public var names: [String] { entries.map(\.name) }

    /// The entries that name a valid job and a hash.
    public var hashes: [(JobName, String)] {
        entries.compactMap { entry in
            guard let hash = entry.hash, !hash.isEmpty, let name = try? JobName(entry.name) else { return nil }
            return (name, hash)
        }
    }
}

/// `a,b`: a plain list of job names (`config.loaded` `rejected`).
public enum JobNameList {
    public static func encode(_ names: [String]) -> String { names.joined(separator: ",") }

    public static func decode(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map(String.init)
    }
}

/// A `config.loaded`'s lists, decoded once for every reader (the daemon's kept definitions,
/// `why`, `identities`, metrics).
public struct ConfigLoadDetails: Sendable {
    /// At a start, every loaded job; empty on a reload (whose `jobs` is a count).
    public var jobs: JobHashList
    /// Present on a reload only: what moved.
    public var reload: (added: JobHashList, changed: JobHashList, removed: JobHashList)?
    /// Jobs whose file the load rejected.
    public var rejected: [String]
    /// Of those, the ones whose last good definition stays in force.
    public var kept: JobHashList

    public init(_ details: EventDetails) {
        jobs = JobHashList(decoding: details[.jobs])
        reload = details[.added].map { added in
            (JobHashList(decoding: added), JobHashList(decoding: details[.changed]), JobHashList(decoding: details[.removed]))
        }
        rejected = JobNameList.decode(details[.rejected])
        kept = JobHashList(decoding: details[.kept])
    }

    /// Whether `job` is among the loaded (`jobs`) or `added` entries.
    public func lists(_ job: String) -> Bool {
        jobs.names.contains(job) || reload?.added.names.contains(job) == true
    }
}

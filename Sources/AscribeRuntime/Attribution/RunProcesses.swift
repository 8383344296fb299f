import AscribeSystem

/// The processes a run left behind, found by the attribution variable the launcher gives every
/// run (`ASCRIBE_RUN_ID`), which its children inherit. Used when a daemon starts after a
/// crash: `run.fired` is written before the spawn, so it holds no pid, but the kernel still
/// knows which processes carry the run's id.
enum RunProcesses {
    /// Root reads every process's environment; anyone else only their own processes'.
    static var canSeeEveryProcess: Bool { SystemCalls.effectiveUID == 0 }

    /// The largest environment read per process; attribution variables sit near the start.
    static let environmentLimit = 256 * 1024

    /// For each of `runIDs`, the pids (ascending) whose environment carries it. Processes whose
    /// environment this process may not read (another user's, without root) are not seen.
    static func find(_ runIDs: Set<String>) -> [String: [Int32]] {
        guard !runIDs.isEmpty, let entries = try? FileSystem.entries(of: "/proc") else { return [:] }
        let noCheck: (FileStatus) throws(Never) -> Void = { _ in }
        let prefix = Array("ASCRIBE_RUN_ID=".utf8)
        var found: [String: [Int32]] = [:]
        for entry in entries {
            guard let pid = Int32(String(decoding: entry, as: UTF8.self)), pid > 0,
                  let environment = try? FileSystem.read("/proc/\(pid)/environ", limit: environmentLimit, check: noCheck)
            else { continue }
            for variable in environment.split(separator: 0, omittingEmptySubsequences: true)
            where variable.starts(with: prefix) {
                let runID = String(decoding: variable.dropFirst(prefix.count), as: UTF8.self)
                if runIDs.contains(runID) { found[runID, default: []].append(pid) }
            }
        }
        return found.mapValues { $0.sorted() }
    }
}

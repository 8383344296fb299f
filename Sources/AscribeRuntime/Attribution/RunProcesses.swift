#if canImport(Glibc)
import Glibc
#endif

/// The processes a run left behind, found by the attribution variable the launcher gives every
/// run (`ASCRIBE_RUN_ID`), which its children inherit. Used when a daemon starts after a
/// crash: `run.fired` is written before the spawn, so it holds no pid, but the kernel still
/// knows which processes carry the run's id.
enum RunProcesses {
    /// Root reads every process's environment; anyone else only their own processes'.
    static var canSeeEveryProcess: Bool { geteuid() == 0 }

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

extension RunProcesses {
    /// The process group of `pid` (field 5 of `/proc/<pid>/stat`); nil once it is gone.
    static func processGroup(of pid: Int32) -> Int32? {
        let noCheck: (FileStatus) throws(Never) -> Void = { _ in }
        guard let bytes = try? FileSystem.read("/proc/\(pid)/stat", limit: 4096, check: noCheck),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // The fields after the command name's last ')' start with field 3 (state); field 5 is the third.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count >= 3 else { return nil }
        return Int32(String(decoding: fields[2], as: UTF8.self))
    }
}

import AscribeCore
import AscribeRuntime
import Foundation
import Testing

/// A zone from the system database, or a failed requirement that names the missing package:
/// without tzdata, tests that need real zones fail with this line instead of trapping later.
@discardableResult
package func requireSystemZone(_ identifier: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ZoneRules {
    try #require(ZoneDatabase().rules(for: identifier),
                 "the zone database has no \(identifier): install tzdata (apt-get install tzdata)",
                 sourceLocation: sourceLocation)
}

extension Process {
    /// Makes the child die (SIGKILL) when the thread that started it ends, which includes the
    /// test process crashing: a trap runs no `defer`, so a daemon started by a test would
    /// otherwise outlive it. `setpriv --pdeathsig` sets PR_SET_PDEATHSIG and then execs the
    /// program, so the pid stays the program's. Call after `executableURL` and `arguments`.
    package func diesWithTestProcess() {
        let setpriv = "/usr/bin/setpriv"
        guard FileManager.default.isExecutableFile(atPath: setpriv), let program = executableURL?.path else { return }
        executableURL = URL(fileURLWithPath: setpriv)
        arguments = ["--pdeathsig", "KILL", "--", program] + (arguments ?? [])
    }
}

/// Scratch directories of test processes that are gone (a crash skips their `remove()`):
/// named `<prefix><pid>-…`, removed by the next test process that makes one.
package enum ScratchSweep {
    package static func directory(prefix: String) -> String {
        sweep(prefix: prefix)
        return NSTemporaryDirectory() + prefix + "\(getpid())-" + UUID().uuidString
    }

    private static func sweep(prefix: String) {
        let temporary = NSTemporaryDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0,
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: temporary + name)
        }
    }
}

import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport

/// The harnesses that start processes kill them on every path, including the test process
/// dying, and scratch directories of dead test processes do not pile up.
@Suite struct TestHarnessTests {
    /// A test that leaves by an error skips `stop()`: dropping the `DaemonProcess` kills it.
    @Test func aDaemonIsGoneWhenItsHarnessIs() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("idle", schedule: "0 0 1 1 *", command: "/bin/true")
        var pid: Int32 = 0
        do {
            let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
            pid = daemon.pid
            #expect(try daemon.waitUntilAnswering())
        }
        #expect(pid > 0)
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "daemon \(pid) outlived its harness")
    }

    /// What a crash does to `defer`s it also does to the thread that started a child: the
    /// child set up by `diesWithTestProcess` is killed when its starter goes away. The starter
    /// waits until the child is `sleep` (setpriv has set the signal and exec'd), as a test
    /// process would have long before it crashed.
    @Test(.requires(FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs setpriv (util-linux)"))
    func aChildDiesWithTheThreadThatStartedIt() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["600"]
        child.diesWithTestProcess()
        defer { if child.isRunning { child.terminate() } }
        let done = DispatchSemaphore(value: 0)
        let starter = Thread {
            defer { done.signal() }
            do { try child.run() } catch { return }
            let exe = "/proc/\(child.processIdentifier)/exe"
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline,
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: exe))?.hasSuffix("/sleep") != true {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        starter.start()
        done.wait()
        let pid = child.processIdentifier
        #expect(pid > 0)
        // Killed once the starter thread has ended: the pid is a zombie, or already reaped.
        let deadline = Date().addingTimeInterval(20)
        func alive() -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            return !stat[close...].hasPrefix(") Z")
        }
        while Date() < deadline, alive() { Thread.sleep(forTimeInterval: 0.01) }
        #expect(!alive(), "sleep \(pid) outlived the thread that started it")
    }

    /// A crashed test process leaves its scratch directory; the next one removes it.
    @Test func scratchDirectoriesOfDeadProcessesAreSwept() throws {
        // A pid that cannot be alive: above the kernel's pid_max ceiling (4194304).
        let stale = NSTemporaryDirectory() + "ascribe-sweep-4194305-leftover"
        try FileManager.default.createDirectory(atPath: stale + "/state", withIntermediateDirectories: true)
        let mine = ScratchSweep.directory(prefix: "ascribe-sweep-")
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(mine.hasPrefix(NSTemporaryDirectory() + "ascribe-sweep-\(getpid())-"))
    }
}

/// A machine without SQLite's or OpenSSL's headers: the first error names the package.
/// Compiled with `-nostdinc`, which hides every system header as a missing package would.
@Suite struct BuildRequirementTests {
    @Test(.requires(Tool.path("clang") != nil, "needs clang (the Swift toolchain's, on the PATH)"),
          arguments: [("Sources/CSQLite/CSQLite.h", "apt-get install libsqlite3-dev"),
                      ("Sources/COpenSSLCrypto/COpenSSLCrypto.h", "apt-get install libssl-dev")])
    func aMissingHeaderNamesItsPackage(header: String, advice: String) throws {
        let missing = try Tool.run("clang", ["-fsyntax-only", "-x", "c", "-nostdinc", header])
        #expect(missing.status != 0)
        #expect(missing.output.components(separatedBy: "error:").count == 2, "one error, not a cascade: \(missing.output)")
        #expect(missing.output.contains(advice), "\(missing.output)")
        let present = try Tool.run("clang", ["-fsyntax-only", "-x", "c", header])
        #expect(present.status == 0, "\(present.output)")
    }
}

/// `.requires`: a skip by name where the requirement is unmet, a failure naming it in CI.
@Suite struct RequirementTraitTests {
    @Test func anUnmetRequirementSkipsOutsideCI() async throws {
        #expect(try await ConditionTrait.requires(false, "no tool", inContinuousIntegration: false).evaluate() == false)
    }

    @Test func anUnmetRequirementFailsInCI() async throws {
        await #expect {
            try await ConditionTrait.requires(false, "no tool", inContinuousIntegration: true).evaluate()
        } throws: { error in
            (error as? UnmetRequirement)?.description == "CI must run this test (ASCRIBE_CI=1), but: no tool"
        }
    }

    @Test(arguments: [false, true])
    func aMetRequirementRuns(inContinuousIntegration: Bool) async throws {
        #expect(try await ConditionTrait.requires(true, "no tool", inContinuousIntegration: inContinuousIntegration).evaluate())
    }

    /// `.ci/run` sets the variable the trait reads.
    @Test func continuousIntegrationSetsTheVariable() throws {
        let script = try String(contentsOf: AscribeBinary.repository.appendingPathComponent(".ci/run"), encoding: .utf8)
        #expect(script.contains("\nexport ASCRIBE_CI=1\nswift test "))
    }
}

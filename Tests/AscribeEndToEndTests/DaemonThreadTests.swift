import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport

/// The daemon runs one reactor for everything: batches of runs do not each add a thread.
@Suite struct DaemonThreadTests {
    /// Threads of `pid` asleep in `epoll_wait` (the reactor, libdispatch's own event thread,
    /// and formerly one per control server and per supervised batch). The most seen in
    /// `samples` looks, so a thread that is briefly awake is still counted.
    static func epollWaiters(_ pid: Int32, samples: Int = 20) -> Int {
        var most = 0
        for _ in 0..<samples {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            let waiting = tasks.filter {
                (try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/wchan", encoding: .utf8)) == "do_epoll_wait"
            }
            most = max(most, waiting.count)
            Thread.sleep(forTimeInterval: 0.01)
        }
        return most
    }

    @Test func aSecondBatchDoesNotStartASecondSupervisorThread() throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        // Each run leaves a mark (as nobody, so the directory is open to it) and waits for the gate.
        let marks = harness.root + "/marks"
        try FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: marks)
        let names = ["batch-a", "batch-b", "batch-c"]
        for name in names {
            try harness.job(name, schedule: "0 0 1 1 *",
                            command: "/bin/sh -c 'touch \(marks)/\(name); while [ ! -e \(harness.root)/gate ]; do sleep 0.02; done'")
        }
        let daemon = try DaemonProcess(jobs: harness.jobs, state: harness.state, stderrPath: harness.root + "/stderr")
        var clients: [Process] = []
        defer {
            harness.openGate()
            for client in clients { client.waitUntilExit() }
            _ = daemon.stop()
        }
        try #require(try daemon.waitUntilAnswering(), "the daemon did not answer: \(daemon.stderr)")
        let idle = Self.epollWaiters(daemon.pid)
        // Three manual runs through the daemon: three batches at once.
        for name in names {
            let client = Process()
            client.executableURL = URL(fileURLWithPath: AscribeBinary.path)
            client.arguments = ["run", name, "--state", harness.state, "--jobs", harness.jobs, "--reason", "thread count"]
            client.standardOutput = FileHandle.nullDevice
            client.standardError = FileHandle.nullDevice
            client.diesWithTestProcess()
            try client.run()
            clients.append(client)
        }
        let deadline = Date().addingTimeInterval(60)
        while names.contains(where: { !FileManager.default.fileExists(atPath: "\(marks)/\($0)") }), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        try #require(names.allSatisfy { FileManager.default.fileExists(atPath: "\(marks)/\($0)") }, "the runs did not start")
        let busy = Self.epollWaiters(daemon.pid)
        #expect(busy <= idle, "\(busy) threads wait in epoll during three batches, \(idle) when idle")
    }
}

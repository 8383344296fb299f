import Testing
import Foundation
import Synchronization
import AscribeSystem
@testable import AscribeRuntime
import AscribeTestSupport

/// What handlers saw, in order, collected across threads; tests wait for a count of entries.
private final class Seen: Sendable {
    private let entries = Mutex<[String]>([])
    private let arrived = DispatchSemaphore(value: 0)

    func add(_ entry: String) {
        entries.withLock { $0.append(entry) }
        arrived.signal()
    }

    /// Waits for `count` entries; the limit only keeps a broken reactor from hanging the run.
    func wait(for count: Int) -> [String] {
        for _ in 0..<count where arrived.wait(timeout: .now() + 60) == .timedOut { break }
        return entries.withLock { $0 }
    }

    var all: [String] { entries.withLock { $0 } }
}

/// The calling thread's name, as the kernel shows it.
private func threadName() -> String {
    ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A pipe whose non-blocking read end goes to the reactor; the test keeps the write end.
private final class TestPipe: Sendable {
    let read: Int32
    private let writer: FileDescriptor

    init(_ bytes: String = "") throws {
        let (read, write) = try SystemCalls.makePipe()
        writer = FileDescriptor(owning: write)
        try SystemCalls.setNonBlocking(read)
        self.read = read
        try self.write(bytes)
    }

    func write(_ bytes: String) throws {
        if !bytes.isEmpty { try SystemCalls.writeAll(writer.rawValue, ArraySlice(bytes.utf8)) }
    }

    /// Whether the read end is closed: poll reports an error on the write end.
    var readEndClosed: Bool { !SystemCalls.pollReadable([writer.rawValue], timeoutMilliseconds: 0).isEmpty }
}

@Suite struct ReactorTests {
    @Test func aReadableDescriptorRunsItsHandlerOnTheReactorsThread() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        let pipe = try TestPipe()
        let seen = Seen()
        let readEnd = pipe.read
        reactor.execute { loop in
            loop.register(FileDescriptor(owning: readEnd)) { _ in
                var buffer = [UInt8](repeating: 0, count: 64)
                if case .bytes(let count)? = try? SystemCalls.read(readEnd, into: &buffer) {
                    seen.add("\(threadName()): \(String(decoding: buffer[..<count], as: UTF8.self))")
                }
            }
        }
        try pipe.write("ping")
        #expect(seen.wait(for: 1) == ["\(Reactor.threadName): ping"])
        try pipe.write("pong")
        #expect(seen.wait(for: 1) == ["\(Reactor.threadName): ping", "\(Reactor.threadName): pong"])
    }

    @Test func workFromOtherThreadsWakesTheLoopAndRunsInOrder() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        let seen = Seen()
        let thread = Thread {
            for number in 1...3 { reactor.execute { _ in seen.add("\(number) on \(threadName())") } }
        }
        thread.start()
        #expect(seen.wait(for: 3) == (1...3).map { "\($0) on \(Reactor.threadName)" })
        #expect(reactor.perform { _ in seen.add("performed") })
        #expect(seen.all.last == "performed")
    }

    @Test func aDescriptorRetiredDuringATurnIsNotHandledAgainAndIsClosed() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        // Both are readable before they are registered, so one epoll_wait reports both; the
        // first handler retires both, and the second must not run.
        let first = try TestPipe("x")
        let second = try TestPipe("y")
        let seen = Seen()
        let (firstRead, secondRead) = (first.read, second.read)
        reactor.execute { loop in
            var tokens: [ReactorToken] = []
            for (descriptor, name) in [(firstRead, "first"), (secondRead, "second")] {
                tokens.append(loop.register(FileDescriptor(owning: descriptor)) { loop in
                    seen.add(name)
                    for token in tokens { loop.retire(token) }
                })
            }
        }
        #expect(seen.wait(for: 1).count == 1)
        // A turn later nothing more has run, and both read ends are closed.
        #expect(reactor.perform { _ in })
        #expect(seen.all.count == 1)
        #expect(first.readEndClosed)
        #expect(second.readEndClosed)
    }

    @Test func timersFireInDeadlineOrderAndACancelledOneNever() throws {
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        let seen = Seen()
        reactor.execute { loop in
            let now = ContinuousClock.now
            loop.schedule(at: now + .milliseconds(30)) { _ in seen.add("third") }
            loop.schedule(at: now + .milliseconds(10)) { _ in seen.add("first") }
            let cancelled = loop.schedule(at: now + .milliseconds(5)) { _ in seen.add("cancelled") }
            loop.schedule(at: now + .milliseconds(20)) { _ in seen.add("second") }
            loop.cancel(cancelled)
        }
        #expect(seen.wait(for: 3) == ["first", "second", "third"])
    }

    @Test func shutdownRunsHooksClosesRegisteredDescriptorsAndEndsTheThread() throws {
        let reactor = try Reactor()
        let idle = try TestPipe()
        let seen = Seen()
        let readEnd = idle.read
        let taskPath = Mutex("")
        #expect(reactor.perform { loop in
            taskPath.withLock { $0 = (try? SystemCalls.readLink("/proc/thread-self")) ?? "" }
            loop.register(FileDescriptor(owning: readEnd)) { _ in seen.add("handler") }
            loop.schedule(at: .now + .seconds(3600)) { _ in seen.add("timer") }
            loop.onShutdown { _ in seen.add("hook") }
            let removed = loop.onShutdown { _ in seen.add("removed hook") }
            loop.cancel(removed)
        })
        // The reactor's thread, as /proc lists it: pid/task/tid.
        let thread = "/proc/" + taskPath.withLock { $0 }
        #expect(thread.contains("/task/"))
        #expect(FileManager.default.fileExists(atPath: thread))
        reactor.shutdown()
        #expect(seen.all == ["hook"])
        #expect(idle.readEndClosed)
        #expect(!FileManager.default.fileExists(atPath: thread), "the reactor's thread outlived its shutdown")
        #expect(!reactor.execute { _ in seen.add("after") })
        reactor.shutdown()
        #expect(seen.all == ["hook"])
    }

    @Test func aBoxOpensOnlyOnItsReactor() throws {
        final class Counter {
            var value = 0
        }
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        let box = ReactorBound(Counter(), on: reactor)
        for _ in 0..<3 { reactor.execute(box) { counter, _ in counter.value += 1 } }
        let seen = Seen()
        #expect(reactor.perform(box) { counter, _ in seen.add(String(counter.value)) })
        #expect(seen.all == ["3"])
    }
}

@Suite struct SharedSupervisionTests {
    @Test func batchesShareOneReactorAndItsShutdownEndsTheirStreams() async throws {
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let launcher = makeLauncher(scratch)
        let reactor = try Reactor()
        defer { reactor.shutdown() }
        let first = try RunSupervisor(reactor: reactor)
        let second = try RunSupervisor(reactor: reactor)
        first.supervise(try launcher.start(try launcher.prepare(makeRequest(scratch, ["/bin/sh", "-c", "exit 3"], runID: "quick"))))
        // Far longer than the test under any load (it once outlived 30 s on a loaded CI machine);
        // killed below.
        let long = try launcher.start(try launcher.prepare(makeRequest(scratch, ["/bin/sleep", "3600"], runID: "long")))
        let group = long.pid
        // Nothing supervises it after the shutdown: kill and reap it here, or it would stay a
        // zombie child of the test process.
        defer {
            _ = try? SystemCalls.signalGroup(group, SIGKILL)
            _ = try? SystemCalls.reap(pid: group, blocking: true)
        }
        second.supervise(long)
        first.finish()
        second.finish()
        var quick: [LaunchCompletion] = []
        for await completion in first.completions { quick.append(completion) }
        #expect(quick.map(\.outcome) == [.exited(code: 3)])
        // The reactor stops with a run still going: its batch's stream ends without it.
        reactor.shutdown()
        var unfinished: [LaunchCompletion] = []
        for await completion in second.completions { unfinished.append(completion) }
        #expect(unfinished.isEmpty)
    }
}

import Foundation
import Glibc
import Testing
@testable import AscribeRuntime
import AscribeSystem
import AscribeTestSupport

/// What a run gets (PRODUCT.md section 4), checked on real processes.
@Suite struct LauncherTests {
    @Test(.requires(isRoot, "changing to user nobody needs root; CI runs as root"))
    func runAsNobodyHasExactlyThatIdentityAndACleanSignalState() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch)
            let prepared = try launcher.prepare(makeRequest(scratch, ["/bin/cat", "/proc/self/status"]))
            // A caller with signals blocked and ignored, as Swift's pool threads and servers are:
            // without SETSIGMASK/SETSIGDEF the job would inherit both.
            var blocked = sigset_t(), previous = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &blocked, &previous)
            let previousPipe = signal(SIGPIPE, SIG_IGN)
            let running: RunningLaunch
            do {
                defer {
                    pthread_sigmask(SIG_SETMASK, &previous, nil)
                    signal(SIGPIPE, previousPipe)
                }
                running = try launcher.start(prepared)
            }
            let completion = launcher.wait(running)
            #expect(completion.outcome == .exited(code: 0))
            let status = try capturedText(completion)
            #expect(statusField(status, "Uid") == "65534\t65534\t65534\t65534")
            #expect(statusField(status, "Gid") == "65534\t65534\t65534\t65534")
            #expect(statusField(status, "Groups") == "")
            #expect(statusField(status, "NoNewPrivs") == "1")
            #expect(statusField(status, "SigBlk") == "0000000000000000")
            #expect(statusField(status, "SigIgn") == "0000000000000000")
            #expect(statusField(status, "Umask") == "0027")
            #expect(statusField(status, "CapEff") == "0000000000000000")
            #expect(completion.account == ResolvedAccount(user: "nobody", uid: 65534, gid: 65534, supplementaryGroups: [],
                                                          home: "/nonexistent", shell: "/usr/sbin/nologin"))
        }
    }

    @Test(.requires(isRoot, "setting the audit login uid needs root; CI runs as root"))
    func loginUIDIsTheRunsUserOrAWarningSaysWhy() throws {
        try withScratch { scratch in
            let completion = try launchAndWait(makeLauncher(scratch), makeRequest(scratch, ["/bin/cat", "/proc/self/loginuid"]))
            let loginUID = try capturedText(completion)
            #expect(loginUID == "65534" || completion.loginUIDWarning != nil, "loginuid \(loginUID), no warning")
            #expect(loginUID != "65534" || completion.loginUIDWarning == nil)
        }
    }

    @Test func environmentIsExactlyTheDocumentedSet() throws {
        try withScratch { scratch in
            let request = makeRequest(scratch, ["/usr/bin/env"], environment: [
                LaunchRequest.Variable(name: "REGION", value: "eu-west-1"),
                LaunchRequest.Variable(name: "EMPTY", value: ""),
            ], runID: "0193c5d2-7b1e-7cc0-9f3a-2b4e6d8f0a1c")
            let completion = try launchAndWait(makeLauncher(scratch), request)
            #expect(completion.outcome == .exited(code: 0))
            let account = completion.account
            let expected: Set<String> = [
                "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=\(account.home)", "USER=\(account.user)",
                "LOGNAME=\(account.user)", "SHELL=\(account.shell)", "REGION=eu-west-1", "EMPTY=",
                "ASCRIBE_JOB=stale-lock-reaper", "ASCRIBE_IDENTITY=stale-lock-reaper",
                "ASCRIBE_RUN_ID=0193c5d2-7b1e-7cc0-9f3a-2b4e6d8f0a1c", "ASCRIBE_SCHEDULED_FOR=2026-11-23T18:00:00+00:00",
                "TRACEPARENT=00-0193c5d27b1e7cc09f3a2b4e6d8f0a1c-\(AttributionEnvironment.traceparent(runID: "0193c5d2-7b1e-7cc0-9f3a-2b4e6d8f0a1c").split(separator: "-")[2])-01",
            ]
            let lines = try capturedText(completion).split(separator: "\n").map(String.init)
            #expect(Set(lines) == expected)
            #expect(lines.count == expected.count)
        }
    }

    @Test func aLargeEnvironmentArrivesWhole() throws {
        try withScratch { scratch in
            let big = String(repeating: "0123456789", count: 10_000)
            let request = makeRequest(scratch, ["/bin/sh", "-c", #"printf %s "$BIG" | wc -c; printf %s "$BIG" | cksum"#],
                                      environment: [LaunchRequest.Variable(name: "BIG", value: big)])
            let completion = try launchAndWait(makeLauncher(scratch), request)
            let lines = try capturedText(completion).split(separator: "\n")
            #expect(lines.first == "100000")
            let expected = try launchAndWait(makeLauncher(scratch), makeRequest(
                scratch, ["/bin/sh", "-c", "printf '\(String(repeating: "0123456789", count: 10_000))' | cksum"]))
            #expect(lines.last.map(String.init) == (try capturedText(expected)).split(separator: "\n").first.map(String.init))
        }
    }

    @Test func traceparentIsWellFormedAndStable() {
        let fromUUID = AttributionEnvironment.traceparent(runID: "0193C5D2-7B1E-7CC0-9F3A-2B4E6D8F0A1C")
        #expect(fromUUID.hasPrefix("00-0193c5d27b1e7cc09f3a2b4e6d8f0a1c-"))
        let other = AttributionEnvironment.traceparent(runID: "run-42")
        #expect(other == AttributionEnvironment.traceparent(runID: "run-42"))
        #expect(other != AttributionEnvironment.traceparent(runID: "run-43"))
        for value in [fromUUID, other, AttributionEnvironment.traceparent(runID: "00000000-0000-0000-0000-000000000000")] {
            let parts = value.split(separator: "-")
            #expect(parts.count == 4 && parts[0] == "00" && parts[3] == "01")
            #expect(parts[1].count == 32 && parts[2].count == 16)
            #expect(parts[1].utf8.allSatisfy { "0123456789abcdef".utf8.contains($0) } && parts[1].contains { $0 != "0" })
            #expect(parts[2].contains { $0 != "0" })
        }
    }

    @Test func noDescriptorLeaksStdinIsDevNullAndTheRunLeadsItsOwnSession() throws {
        try withScratch { scratch in
            // Descriptors without close-on-exec, as careless code in a daemon leaves them.
            let strays = [open("/dev/null", O_RDONLY), open("/dev/null", O_WRONLY), open(scratch, O_RDONLY)]
            defer { strays.forEach { close($0) } }
            #expect(strays.allSatisfy { $0 >= 0 })
            let launcher = makeLauncher(scratch)
            let running = try launcher.start(try launcher.prepare(makeRequest(scratch, ["/bin/sleep", "30"])))
            let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(running.pid)/fd")
            let stdin = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(running.pid)/fd/0")
            let fields = statFields(running.pid) ?? []
            kill(running.pid, SIGKILL)
            let completion = launcher.wait(running)
            #expect(descriptors.sorted() == ["0", "1", "2"])
            #expect(stdin == "/dev/null")
            #expect(fields.count > 3 && fields[2] == String(running.pid) && fields[3] == String(running.pid), "pgrp/session: \(fields.prefix(4))")
            #expect(completion.outcome == .signaled(signal: SIGKILL))
        }
    }

    @Test func workingDirectoryIsEntered() throws {
        try withScratch { scratch in
            let completion = try launchAndWait(makeLauncher(scratch), makeRequest(scratch, ["/bin/pwd"], workingDirectory: "/tmp"))
            #expect(try capturedText(completion) == "/tmp\n")
        }
    }

    @Test(.requires(isRoot, "staging credentials for nobody and reading them as another user need root; CI runs as root"))
    func credentialsAreExactlyTheListedOnesAndPrivateToTheRun() throws {
        try withScratch { scratch in
            let password = try storeCredential(scratch, "db-password", "hunter2\n")
            let token = try storeCredential(scratch, "api-token", "t0k3n")
            _ = try storeCredential(scratch, "not-listed", "other job's secret")
            let launcher = makeLauncher(scratch)
            let script = #"cd "$CREDENTIALS_DIRECTORY" && stat -c "%n %a %u %g" . * && cat db-password"#
            let completion = try launchAndWait(launcher, makeRequest(scratch, ["/bin/sh", "-c", script], credentials: [password, token]))
            #expect(completion.outcome == .exited(code: 0))
            #expect(try capturedText(completion) == """
                . 500 65534 65534
                api-token 400 65534 65534
                db-password 400 65534 65534
                hunter2

                """)
            guard case .removed(let directory) = completion.credentials else {
                Issue.record("credentials not removed: \(completion.credentials)")
                return
            }
            #expect(!FileManager.default.fileExists(atPath: directory))

            // While a run holds its credentials, another user can reach the base but not the secrets.
            let holder = try launcher.start(try launcher.prepare(makeRequest(scratch, ["/bin/sleep", "30"], credentials: [password])))
            let held = try #require(holder.credentialsDirectory)
            let intruder = try launchAndWait(launcher, makeRequest(
                scratch, ["/bin/sh", "-c", "ls \(held); cat \(held)/db-password"], runAs: RunAsTarget(user: "daemon")))
            kill(holder.pid, SIGKILL)
            let holderCompletion = launcher.wait(holder)
            #expect(intruder.outcome != .exited(code: 0))
            #expect(intruder.output.tail.contains("Permission denied"))
            #expect(!intruder.output.tail.contains("hunter2"))
            #expect(holderCompletion.credentials == .removed(path: held))
            #expect(!FileManager.default.fileExists(atPath: held))
        }
    }

    @Test func credentialsAreRemovedWhenTheJobKillsItself() throws {
        try withScratch { scratch in
            let credential = try storeCredential(scratch, "db-password", "hunter2")
            let request = makeRequest(scratch, ["/bin/sh", "-c", #"test -s "$CREDENTIALS_DIRECTORY/db-password" && kill -9 $$"#],
                                      credentials: [credential])
            let completion = try launchAndWait(makeLauncher(scratch), request)
            #expect(completion.outcome == .signaled(signal: SIGKILL))
            guard case .removed(let directory) = completion.credentials else {
                Issue.record("credentials not removed: \(completion.credentials)")
                return
            }
            #expect(!FileManager.default.fileExists(atPath: directory))
        }
    }

    @Test func credentialsAreRemovedAfterATimeoutEvenIfTheJobLockedItsDirectory() throws {
        try withScratch { scratch in
            let credential = try storeCredential(scratch, "db-password", "hunter2")
            // The run owns its directory: it may chmod it and leave entries behind.
            let script = #"cd "$CREDENTIALS_DIRECTORY" && chmod 700 . && mkdir -p junk/deeper && chmod 000 junk . && sleep 30"#
            let request = makeRequest(scratch, ["/bin/sh", "-c", script], credentials: [credential], timeout: .seconds(1))
            let completion = try launchAndWait(makeLauncher(scratch), request)
            #expect(completion.outcome == .timedOut(signalUsed: .terminate))
            guard case .removed(let directory) = completion.credentials else {
                Issue.record("credentials not removed: \(completion.credentials)")
                return
            }
            #expect(!FileManager.default.fileExists(atPath: directory))
        }
    }

    @Test func timeoutKillsTheWholeProcessGroup() throws {
        try withScratch { scratch in
            let request = makeRequest(scratch, ["/bin/sh", "-c", "sleep 300 & sleep 300"], timeout: .seconds(1), killGrace: .seconds(1))
            let completion = try launchAndWait(makeLauncher(scratch), request)
            #expect(completion.outcome == .timedOut(signalUsed: .terminate))
            #expect(completion.durationMilliseconds >= 1000 && completion.durationMilliseconds < 5000)
            #expect(eventually(within: 5) { processGroupIsGone(completion.pid) }, "a sleep 300 of group \(completion.pid) survived")
        }
    }

    @Test func aJobIgnoringSIGTERMIsKilledAfterTheGrace() throws {
        try withScratch { scratch in
            let request = makeRequest(scratch, ["/bin/sh", "-c", "trap '' TERM; sleep 30"], timeout: .seconds(1), killGrace: .seconds(1))
            let completion = try launchAndWait(makeLauncher(scratch), request)
            #expect(completion.outcome == .timedOut(signalUsed: .kill))
            #expect(completion.durationMilliseconds >= 2000 && completion.durationMilliseconds < 6000)
            #expect(eventually(within: 5) { processGroupIsGone(completion.pid) })
        }
    }

    @Test func manyRunsAtOnceCompleteThroughOneSupervisorThread() async throws {
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let launcher = makeLauncher(scratch)
        let supervisor = try RunSupervisor()
        let threadsBefore = Int(statusField(try String(contentsOfFile: "/proc/self/status", encoding: .utf8), "Threads") ?? "") ?? 0
        var started = Set<String>()
        for index in 0..<200 {
            let running = try launcher.start(try launcher.prepare(makeRequest(scratch, ["/bin/true"], runID: "burst-\(index)")))
            started.insert(running.runID)
            supervisor.supervise(running)
        }
        let threadsDuring = Int(statusField(try String(contentsOfFile: "/proc/self/status", encoding: .utf8), "Threads") ?? "") ?? 0
        supervisor.finish()
        var completed: [LaunchCompletion] = []
        for await completion in supervisor.completions { completed.append(completion) }
        #expect(completed.count == 200)
        #expect(Set(completed.map(\.runID)) == started)
        #expect(completed.allSatisfy { $0.outcome == .exited(code: 0) && $0.output.totalBytes == 0 && $0.output.path == nil })
        #expect(threadsDuring - threadsBefore < 20, "threads went from \(threadsBefore) to \(threadsDuring)")
    }

    @Test func supervisorEnforcesTimeoutsAndCapturesOutputLikeTheBlockingWait() async throws {
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let launcher = makeLauncher(scratch)
        let supervisor = try RunSupervisor()
        supervisor.supervise(try launcher.start(try launcher.prepare(
            makeRequest(scratch, ["/bin/sh", "-c", "echo slow; sleep 30"], timeout: .milliseconds(500), runID: "slow"))))
        supervisor.supervise(try launcher.start(try launcher.prepare(
            makeRequest(scratch, ["/bin/sh", "-c", "echo fast; exit 7"], runID: "fast"))))
        supervisor.finish()
        var completed: [String: LaunchCompletion] = [:]
        for await completion in supervisor.completions { completed[completion.runID] = completion }
        #expect(completed["fast"]?.outcome == .exited(code: 7))
        #expect(completed["fast"]?.output.tail == "fast\n")
        #expect(completed["slow"]?.outcome == .timedOut(signalUsed: .terminate))
        #expect(completed["slow"]?.output.tail == "slow\n")
    }

    @Test func batchStartGivesEachRunItsOwnOutcomeInOrder() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch)
            let credential = try storeCredential(scratch, "token", "t")
            // A helper that disappears between prepare and start fails at the spawn itself.
            let vanishing = scratch + "/ascribe-exec"
            try FileManager.default.copyItem(atPath: try ExecHelper.defaultPath(), toPath: vanishing)
            let orphaned = try makeLauncher(scratch, helperPath: vanishing)
                .prepare(makeRequest(scratch, ["/bin/true"], credentials: [credential], runID: "helper-gone"))
            try FileManager.default.removeItem(atPath: vanishing)
            let requests = [
                makeRequest(scratch, ["/bin/sh", "-c", "exit 0"], runID: "first"),
                makeRequest(scratch, ["/bin/true"], workingDirectory: "/ascribe-no-such-directory", credentials: [credential], runID: "bad-directory"),
                makeRequest(scratch, ["/bin/sh", "-c", "exit 2"], credentials: [credential], runID: "third"),
            ] + (0..<40).map { makeRequest(scratch, ["/bin/true"], runID: "more-\($0)") }
            var prepared = try requests.map { try launcher.prepare($0) }
            prepared.insert(orphaned, at: 3)
            let results = launcher.start(prepared)
            #expect(results.count == prepared.count)
            guard case .failure(.workingDirectory("/ascribe-no-such-directory", _)) = results[1],
                  case .failure(.helperMissing(vanishing)) = results[3] else {
                Issue.record("failures out of place: \(results[1]), \(results[3])")
                return
            }
            let completions = results.compactMap { try? $0.get() }.map(launcher.wait)
            #expect(completions.map(\.runID) == ["first", "third"] + (0..<40).map { "more-\($0)" })
            #expect(completions[0].outcome == .exited(code: 0) && completions[1].outcome == .exited(code: 2))
            #expect(completions.dropFirst(2).allSatisfy { $0.outcome == .exited(code: 0) })
            #expect(completions[1].credentials.removed)
            // The two that failed had their credentials removed at once.
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch + "/run/credentials")) ?? ["?"]).isEmpty)
        }
    }

    @Test func aRetiredDescriptorIsNoLongerReportedWhileACopyOfItLivesOn() throws {
        // As when a child being spawned on another thread holds copies of every descriptor.
        let poll = EventPoll(descriptor: try EventPoll.makeDescriptor())
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[1]) }
        try poll.add(ends[0], token: 7)
        let copy = dup(ends[0])
        defer { close(copy) }
        #expect(write(ends[1], "x", 1) == 1)
        #expect(poll.wait(timeoutMilliseconds: 0) == [7])
        poll.retire(ends[0])
        #expect(poll.wait(timeoutMilliseconds: 0) == [], "a closed descriptor still registered would be reported forever")
    }

    @Test func aSubreaperSupervisorReapsOrphansItsRunsLeaveBehind() async {
        await #expect(processExitsWith: .success) {
            exit(await orphanReapingScenario() ? EXIT_SUCCESS : EXIT_FAILURE)
        }
    }
}

/// In its own process (it makes that process a subreaper): a run leaves a background process
/// behind; it must be re-parented to this process and, once it ends, reaped by the supervisor.
private func orphanReapingScenario() async -> Bool {
    guard let scratch = try? makeScratchDirectory(), let supervisor = try? RunSupervisor(reapOrphans: true) else { return false }
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let launcher = makeLauncher(scratch)
    let request = makeRequest(scratch, ["/bin/sh", "-c", "sleep 0.6 </dev/null >/dev/null 2>&1 & echo $!"])
    guard let prepared = try? launcher.prepare(request), let running = try? launcher.start(prepared) else { return false }
    supervisor.supervise(running)
    var iterator = supervisor.completions.makeAsyncIterator()
    guard let completion = await iterator.next(), completion.outcome == .exited(code: 0),
          let orphan = Int32(completion.output.tail.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
    let adopted = statFields(orphan).map { $0[1] == String(getpid()) } ?? false
    let reaped = eventually(within: 5) { !FileManager.default.fileExists(atPath: "/proc/\(orphan)") }
    supervisor.finish()
    return adopted && reaped
}

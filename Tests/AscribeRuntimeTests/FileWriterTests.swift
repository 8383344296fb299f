import Foundation
import Glibc
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeSystem
import AscribeCoreTestSupport
import AscribeTestSupport

/// A throwaway user (no home, no login shell) and group, removed by `remove()`.
struct ThrowawayAccount {
    let user: String
    let group: String
    let uid: UInt32
    let gid: UInt32

    /// `inGroup`: whether the user is a (supplementary) member of the new group.
    static func make(inGroup: Bool = true) throws -> ThrowawayAccount {
        let suffix = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        let user = "ascw-\(suffix)", group = "ascg-\(suffix)"
        // useradd and groupadd lock /etc/passwd; another test may hold it for a moment.
        func retried(_ command: String) -> Bool {
            (0..<10).contains { _ in AscribeBinary.shell(command) == 0 || { usleep(100_000); return false }() }
        }
        guard retried("groupadd \(group)") else { throw SystemError(code: EAGAIN, call: "groupadd", context: group) }
        guard retried("useradd -M -N -s /usr/sbin/nologin \(inGroup ? "-G \(group) " : "")\(user)") else {
            _ = retried("groupdel \(group)")
            throw SystemError(code: EAGAIN, call: "useradd", context: user)
        }
        guard case .found(let uid) = AccountDatabase.user(named: user), case .found(let gid) = AccountDatabase.group(named: group) else {
            ThrowawayAccount(user: user, group: group, uid: 0, gid: 0).remove()
            throw SystemError(code: ENOENT, call: "getpwnam", context: user)
        }
        return ThrowawayAccount(user: user, group: group, uid: uid, gid: gid)
    }

    func remove() {
        _ = AscribeBinary.shell("userdel \(user) 2>/dev/null; groupdel \(group) 2>/dev/null")
    }
}

private func writeJob(_ path: String, runAs: String, owner: String = "storage-team <storage-oncall@example.com>",
                      command: String = "/bin/true", identity: String? = nil) throws {
    let identity = identity ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + "-runner"
    let text = ["schedule = */15 * * * *", "identity = \(identity)", "owner = \(owner)",
                "command = \(command)", "run-as = \(runAs)"].joined(separator: "\n") + "\n"
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    #expect(chmod(path, 0o644) == 0)
}

/// Job files and credentials that a non-root user can change, with real users and groups:
/// needs root (CI runs as root).
@Suite(.serialized, .requires(isRoot, "needs root: creates users and groups and chowns files (CI runs as root)"))
struct WriterRuleOnDiskTests {
    private static func loadErrors(_ directory: String) throws -> (JobDirectoryLoad, [String]) {
        let load = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
        return (load, load.diagnostics.filter { $0.severity == .error }.map(\.description))
    }

    @Test func aJobsDirectoryOwnedByAUserCannotRunAsRoot() throws {
        let account = try ThrowawayAccount.make()
        defer { account.remove() }
        try withScratch { scratch in
            let jobs = scratch + "/jobs.d"
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: false)
            #expect(chmod(jobs, 0o755) == 0 && chown(jobs, account.uid, account.gid) == 0)
            try writeJob(jobs + "/reaper.job", runAs: "root")
            let (load, errors) = try Self.loadErrors(jobs)
            #expect(load.jobs.isEmpty)
            #expect(errors == ["\(jobs)/reaper.job:5:10: error: run-as root, but \(account.user) (owner of \(jobs), mode 0755) can change this job; a job file that a non-root user can change may only run as that user"])

            // The same file running as that user loads, and names its writers.
            try writeJob(jobs + "/reaper.job", runAs: account.user)
            let (allowed, none) = try Self.loadErrors(jobs)
            #expect(none.isEmpty && allowed.jobs.map(\.name.rawValue) == ["reaper"])
            // As a group the user is not in, it does not.
            try writeJob(jobs + "/reaper.job", runAs: "\(account.user):root")
            #expect(try Self.loadErrors(jobs).1.first?.contains("is not a member of group root") == true)
        }
    }

    @Test func aSchedulerThatIsNotRootRunsOnlyFilesItsOwnUserOrRootCanChange() throws {
        let account = try ThrowawayAccount.make()
        defer { account.remove() }
        try withScratch { scratch in
            let jobs = scratch + "/jobs.d"
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: false)
            #expect(chown(jobs, account.uid, account.gid) == 0)
            try writeJob(jobs + "/reaper.job", runAs: "root")
            // Its own user's files run (as that user, whatever the run-as says: --dev).
            let own = try JobDirectory.load(path: jobs, zones: JobFileFixture.zones, runner: .user(uid: account.uid))
            #expect(own.jobs.count == 1 && own.diagnostics.allSatisfy { $0.severity == .warning })
            let other = try JobDirectory.load(path: jobs, zones: JobFileFixture.zones, runner: .user(uid: 65534))
            #expect(other.jobs.isEmpty)
            #expect(other.diagnostics.last?.description == "\(jobs)/reaper.job:5:10: error: it runs as the scheduler's user nobody, but \(account.user) (owner of \(jobs), mode 0755) can change this job; a job file that a non-root user can change may only run as that user")
            // Root's files run under any scheduler.
            #expect(chown(jobs, 0, 0) == 0)
            #expect(try JobDirectory.load(path: jobs, zones: JobFileFixture.zones, runner: .user(uid: 65534)).jobs.count == 1)
        }
    }

    @Test func aGroupWritableDirectoryCountsEveryMember() throws {
        let account = try ThrowawayAccount.make()
        defer { account.remove() }
        try withScratch { scratch in
            let jobs = scratch + "/jobs.d"
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: false)
            #expect(chown(jobs, 0, account.gid) == 0 && chmod(jobs, 0o775) == 0)
            try writeJob(jobs + "/reaper.job", runAs: "root")
            let (load, errors) = try Self.loadErrors(jobs)
            #expect(load.jobs.isEmpty)
            #expect(errors == ["\(jobs)/reaper.job:5:10: error: run-as root, but the members of group \(account.group) (\(account.user); \(jobs) is group-writable) can change this job; a job file that a non-root user can change may only run as that user"])
            try writeJob(jobs + "/reaper.job", runAs: account.user)
            #expect(try Self.loadErrors(jobs).0.jobs.count == 1)
        }
    }

    @Test func aPrimaryGroupMakesAMemberToo() throws {
        let account = try ThrowawayAccount.make(inGroup: false)
        defer { account.remove() }
        #expect(AscribeBinary.shell("usermod -g \(account.group) \(account.user)") == 0)
        try withScratch { scratch in
            let jobs = scratch + "/jobs.d"
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: false)
            #expect(chown(jobs, 0, account.gid) == 0 && chmod(jobs, 0o775) == 0)
            try writeJob(jobs + "/reaper.job", runAs: "nobody")
            #expect(try Self.loadErrors(jobs).1.first?.contains("the members of group \(account.group) (\(account.user);") == true)
        }
    }

    @Test func aStickyDirectoryGuardsRootsFilesButNotTheUsersOwn() throws {
        let account = try ThrowawayAccount.make()
        defer { account.remove() }
        try withScratch { scratch in
            let jobs = scratch + "/jobs.d"
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: false)
            #expect(chmod(jobs, 0o1777) == 0)
            try writeJob(jobs + "/rooted.job", runAs: "root")
            try writeJob(jobs + "/planted.job", runAs: "root")
            #expect(chown(jobs + "/planted.job", account.uid, account.gid) == 0)
            let (load, errors) = try Self.loadErrors(jobs)
            #expect(load.jobs.map(\.name.rawValue) == ["rooted"])
            #expect(errors == ["\(jobs)/planted.job:5:10: error: run-as root, but \(account.user) (owner of \(jobs)/planted.job, mode 0644) can change this job; a job file that a non-root user can change may only run as that user"])
            // A link the user owns in the sticky directory is theirs to repoint.
            try FileManager.default.removeItem(atPath: jobs + "/planted.job")
            #expect(symlink("rooted.job", jobs + "/linked.job") == 0 && lchown(jobs + "/linked.job", account.uid, account.gid) == 0)
            let linked = try Self.loadErrors(jobs)
            #expect(linked.0.jobs.map(\.name.rawValue) == ["rooted"])
            #expect(linked.1.first?.contains("\(account.user) (owner of \(jobs)/linked.job") == true)
        }
    }

    @Test func aDirectoryAboveTheJobsDirectoryCountsToo() throws {
        let account = try ThrowawayAccount.make()
        defer { account.remove() }
        try withScratch { scratch in
            let jobs = scratch + "/srv/jobs.d"
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: true)
            #expect(chown(scratch + "/srv", account.uid, account.gid) == 0)
            try writeJob(jobs + "/reaper.job", runAs: "root")
            #expect(try Self.loadErrors(jobs).1.first?.contains("but \(account.user) (owner of \(scratch)/srv, mode 0755)") == true)
            // Reached through a link owned by root, the real path still counts.
            #expect(symlink(jobs, scratch + "/linked") == 0)
            #expect(try Self.loadErrors(scratch + "/linked").1.first?.contains("but \(account.user) (owner of \(scratch)/srv, mode 0755)") == true)
        }
    }

    @Test func checkReportsTheRejectionsAsErrorsAndWarnsAboutTheRest() throws {
        let account = try ThrowawayAccount.make()
        defer { account.remove() }
        try withScratch { scratch in
            let jobs = scratch + "/jobs.d"
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: false)
            try writeJob(jobs + "/planted.job", runAs: "root")
            #expect(chmod(jobs + "/planted.job", 0o664) == 0 && chown(jobs + "/planted.job", account.uid, account.gid) == 0)
            // Loads, but: a gid-0 group, a run-as in the control group, a program the user can
            // change run as root, owner = root.
            try writeJob(jobs + "/group-zero.job", runAs: "nobody:root")
            try writeJob(jobs + "/member.job", runAs: account.user)
            try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: scratch + "/tool"))
            #expect(chmod(scratch + "/tool", 0o755) == 0 && chown(scratch + "/tool", account.uid, account.gid) == 0)
            try writeJob(jobs + "/tooled.job", runAs: "root", owner: "root <root@example.com>", command: scratch + "/tool")
            let result = try AscribeBinary.run(["check", jobs, "--control-group", account.group, "--credentials", scratch + "/store"])
            #expect(result.status == 1)
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("\(jobs)/planted.job:5:10: error: run-as root, but \(account.user) (owner of \(jobs)/planted.job, mode 0664) and the members of group \(account.group) (\(account.user); \(jobs)/planted.job is group-writable) can change this job; a job file that a non-root user can change may only run as that user"))
            #expect(lines.contains("\(jobs)/group-zero.job:5:10: warning: run-as: the run's group \"root\" is gid 0; the job could change whatever root's group may write; give it a group of its own"))
            #expect(lines.contains("\(jobs)/member.job:5:10: warning: run-as: user \"\(account.user)\" is a member of the control group \(account.group); every run could disable jobs and start runs through the daemon's socket"))
            #expect(lines.contains("\(jobs)/tooled.job:4:11: warning: command: the job runs as root, but \(account.user) (owner of \(scratch)/tool, mode 0755) can change its program \(scratch)/tool; whoever can change it can run anything as root"))
            #expect(lines.contains("\(jobs)/tooled.job:3:9: warning: owner \"root\" names no person or team; name who answers for this job, like `storage-team <storage-oncall@example.com>`"))
            #expect(lines.last == "4 job files in \(jobs): 3 loaded, 1 rejected; 1 error, 6 warnings")
        }
    }

    @Test func aCredentialAUserCanChangeGoesOnlyToThatUsersRuns() throws {
        let account = try ThrowawayAccount.make()
        defer { account.remove() }
        try withScratch { scratch in
            let credential = try storeCredential(scratch, "db-password", "hunter2")
            let identityDirectory = scratch + "/store/stale-lock-reaper"
            #expect(chown(identityDirectory, account.uid, account.gid) == 0)
            let launcher = makeLauncher(scratch)
            do throws(LaunchFailure) {
                _ = try launcher.prepare(makeRequest(scratch, ["/bin/true"], runAs: RunAsTarget(user: "nobody"), credentials: [credential]))
                Issue.record("a credential the user can swap was handed to nobody's run")
            } catch {
                #expect(error.reasonCode == "credential-changeable-by-others")
                #expect(error.description == "the run's user is nobody, but \(account.user) (owner of \(identityDirectory), mode 0700) can change credential `db-password` (\(credential.source)); a credential that a non-root user can change may only be given to that user's runs")
            }
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch + "/run/credentials")) ?? []).isEmpty)
            // The user's own run may have it.
            let prepared = try launcher.prepare(makeRequest(scratch, ["/bin/true"], runAs: RunAsTarget(user: account.user), credentials: [credential]))
            #expect(prepared.credentialsDirectory != nil)
            if let directory = prepared.credentialsDirectory { _ = CredentialStaging.remove(directory) }

            // check says so too, as an error.
            let jobs = scratch + "/jobs.d"
            try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: false)
            try writeJob(jobs + "/reaper.job", runAs: "nobody", identity: "stale-lock-reaper")
            let text = try String(contentsOfFile: jobs + "/reaper.job", encoding: .utf8) + "credentials = db-password\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: jobs + "/reaper.job"))
            let result = try AscribeBinary.run(["check", jobs, "--control-group", "none", "--credentials", scratch + "/store"])
            #expect(result.status == 1)
            #expect(result.stdout.contains("\(jobs)/reaper.job:6:15: error: credentials: the run's user is nobody, but \(account.user) (owner of \(identityDirectory), mode 0700) can change credential `db-password` (\(credential.source)); a credential that a non-root user can change may only be given to that user's runs"))
        }
    }

    @Test func theDaemonRejectsAPlantedFileByItselfAndNamesTheWriterOfWhatRuns() async throws {
        let account = try ThrowawayAccount.make()
        defer { account.remove() }
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("reaper", schedule: "*/15 * * * *", command: "/bin/true")
        let clock = FakeDaemonClock(now: DaemonHarness.startOfHour())
        let (daemon, task) = await harness.start(clock: clock) { $0.watchJobsDirectory = true }

        // Each file is made whole elsewhere and moved in, so the watcher sees it only as the user's.
        let staging = harness.root + "/staging"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
        for (name, runAs) in [("planted", "root"), ("mine", account.user)] {
            try writeJob(staging + "/\(name).job", runAs: runAs)
            #expect(chown(staging + "/\(name).job", account.uid, account.gid) == 0)
            #expect(rename(staging + "/\(name).job", harness.jobs + "/\(name).job") == 0)
        }
        // The daemon notices by itself (no SIGHUP, no reload request).
        _ = try await JobDirectoryWatchTests.waitForEvents(harness) { events in
            events.contains { $0.type == .configRejected } && events.contains { $0.details["added"]?.contains("mine=") == true }
        }
        await clock.advance(by: 900, settling: daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        let rejected = try #require(events.first { $0.type == .configRejected })
        #expect(rejected.configSource == harness.jobs + "/planted.job:5")
        #expect(rejected.reason == "run-as root, but \(account.user) (owner of \(harness.jobs)/planted.job, mode 0644) can change this job; a job file that a non-root user can change may only run as that user")
        let loads = events.filter { $0.type == .configLoaded }
        #expect(loads.first?.details["writers"] == "reaper=root(0)")
        #expect(loads.last?.details["writers"] == "mine=\(account.user)(\(account.uid)),reaper=root(0)")
        #expect(loads.last?.reason?.contains("on file change") == true)
        let fired = events.filter { $0.type == .runFired }
        #expect(!fired.contains { $0.job == "planted" })
        let mine = try #require(fired.first { $0.job == "mine" })
        #expect(mine.details["writer_uid"] == String(account.uid) && mine.details["writer"] == account.user)
        #expect(mine.details["writers"] == "\(account.user)(\(account.uid))")
        let reaper = try #require(fired.first { $0.job == "reaper" })
        #expect(reaper.details["writer_uid"] == "0" && reaper.details["writer"] == "root" && reaper.details["writers"] == nil)
    }
}

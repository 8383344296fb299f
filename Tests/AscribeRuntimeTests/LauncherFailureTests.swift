import Foundation
import Glibc
import Testing
@testable import AscribeRuntime
import AscribeSystem
import AscribeTestSupport

/// Every way a launch can fail is a distinct `LaunchFailure`, produced here for real.
@Suite struct LauncherFailureTests {
    /// Runs prepare then start; returns the failure, or records an issue if the run started.
    private func failure(_ launcher: Launcher, _ request: LaunchRequest) -> LaunchFailure? {
        do {
            let running = try launcher.start(try launcher.prepare(request))
            Issue.record("launched, outcome \(launcher.wait(running).outcome)")
            return nil
        } catch {
            return error
        }
    }

    @Test func missingCommand() throws {
        try withScratch { scratch in
            let request = makeRequest(scratch, ["/usr/bin/ascribe-no-such-program"])
            #expect(failure(makeLauncher(scratch), request) == .commandNotFound(path: "/usr/bin/ascribe-no-such-program"))
            #expect(LaunchRequest.resolveProgram("ascribe-no-such-program") == nil)
            #expect(LaunchRequest.resolveProgram("sh") == "/usr/bin/sh")
        }
    }

    @Test func fileThatIsNotExecutable() throws {
        try withScratch { scratch in
            let script = scratch + "/script.sh"
            try Data("#!/bin/sh\necho hi\n".utf8).write(to: URL(fileURLWithPath: script))
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: script)
            guard case .notExecutable(let path, let reason)? = failure(makeLauncher(scratch), makeRequest(scratch, [script])) else {
                Issue.record("expected notExecutable")
                return
            }
            #expect(path == script && reason.contains("mode 0644"))
            #expect(failure(makeLauncher(scratch), makeRequest(scratch, [scratch])) == .notExecutable(path: scratch, reason: "it is a directory"))
        }
    }

    @Test(.requires(isRoot, "needs root to own a program nobody cannot execute"))
    func programOnlyItsOwnerMayExecute() throws {
        try withScratch { scratch in
            let script = scratch + "/owner-only.sh"
            try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: script))
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: script)
            guard case .notExecutable(script, _)? = failure(makeLauncher(scratch), makeRequest(scratch, [script])) else {
                Issue.record("expected notExecutable for nobody")
                return
            }
        }
    }

    @Test func unknownUserAndGroup() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch)
            #expect(failure(launcher, makeRequest(scratch, ["/bin/true"], runAs: RunAsTarget(user: "ascribe-no-such-user")))
                == .unknownUser("ascribe-no-such-user"))
            let user = isRoot ? "nobody" : ownUserName()
            #expect(failure(launcher, makeRequest(scratch, ["/bin/true"], runAs: RunAsTarget(user: user, group: "ascribe-no-such-group")))
                == .unknownGroup("ascribe-no-such-group"))
        }
    }

    @Test func rootRequiresRunAs() throws {
        try withScratch { scratch in
            let asRoot = makeLauncher(scratch, schedulerUID: 0)
            #expect(failure(asRoot, makeRequest(scratch, ["/bin/true"], runAs: nil)) == .runAsRequired)
        }
    }

    @Test(.requires(isRoot, "the real root path, not only the rule"))
    func rootRequiresRunAsForReal() throws {
        try withScratch { scratch in
            #expect(failure(makeLauncher(scratch), makeRequest(scratch, ["/bin/true"], runAs: nil)) == .runAsRequired)
        }
    }

    @Test func aSchedulerThatIsNotRootRunsOnlyAsItself() throws {
        try withScratch { scratch in
            // The rule, decided before anything runs, for a scheduler running as uid 4242.
            let notRoot = makeLauncher(scratch, schedulerUID: 4242)
            let refused = failure(notRoot, makeRequest(scratch, ["/bin/true"], runAs: RunAsTarget(user: "nobody")))
            #expect(refused == .notPermitted(requestedUser: "nobody", schedulerUser: "4242"))
            #expect(refused?.description.contains("the scheduler is not root") == true)

            let development = makeLauncher(scratch, developmentMode: true, schedulerUID: 4242)
            let prepared = try development.prepare(makeRequest(scratch, ["/bin/true"], runAs: RunAsTarget(user: "nobody")))
            #expect(prepared.account.uid == 4242)
            #expect(prepared.developmentRun)
            #expect(prepared.ignoredRunAs == RunAsTarget(user: "nobody"))
            #expect(prepared.helperArguments[1...5] == ["-", "-", "-", "/", "-"])
        }
    }

    @Test(.enabled(if: !isRoot, "as root the launcher may change user; this checks the unprivileged path"))
    func unprivilegedSchedulerRefusesAnotherUserForReal() throws {
        try withScratch { scratch in
            let expected = LaunchFailure.notPermitted(requestedUser: "root", schedulerUser: ownUserName())
            #expect(failure(makeLauncher(scratch), makeRequest(scratch, ["/bin/true"], runAs: RunAsTarget(user: "root"))) == expected)
        }
    }

    @Test func credentialProblemsAreRefusedBeforeAnythingRuns() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch)
            let store = scratch + "/store/stale-lock-reaper"
            let missing = LaunchRequest.Credential(name: "absent", source: store + "/absent")
            _ = try storeCredential(scratch, "placeholder", "x")
            #expect(failure(launcher, makeRequest(scratch, ["/bin/true"], credentials: [missing]))
                == .credentialMissing(name: "absent", path: store + "/absent"))

            let loose = try storeCredential(scratch, "loose", "secret", mode: 0o644)
            #expect(failure(launcher, makeRequest(scratch, ["/bin/true"], credentials: [loose]))
                == .credentialReadableByOthers(name: "loose", path: loose.source, mode: 0o644))

            let groupReadable = try storeCredential(scratch, "group-readable", "secret", mode: 0o640)
            #expect(failure(launcher, makeRequest(scratch, ["/bin/true"], credentials: [groupReadable]))
                == .credentialReadableByOthers(name: "group-readable", path: groupReadable.source, mode: 0o640))

            let target = try storeCredential(scratch, "target", "secret")
            try FileManager.default.createSymbolicLink(atPath: store + "/linked", withDestinationPath: target.source)
            let linked = LaunchRequest.Credential(name: "linked", source: store + "/linked")
            #expect(failure(launcher, makeRequest(scratch, ["/bin/true"], credentials: [linked]))
                == .credentialNotRegularFile(name: "linked", path: linked.source))

            try FileManager.default.createDirectory(atPath: store + "/folder", withIntermediateDirectories: false)
            let folder = LaunchRequest.Credential(name: "folder", source: store + "/folder")
            #expect(failure(launcher, makeRequest(scratch, ["/bin/true"], credentials: [folder]))
                == .credentialNotRegularFile(name: "folder", path: folder.source))

            // Nothing was staged for any of them.
            let staged = (try? FileManager.default.contentsOfDirectory(atPath: scratch + "/run/credentials")) ?? []
            #expect(staged.isEmpty)
        }
    }

    @Test(.requires(isRoot, "chown to another user needs root"))
    func credentialNotOwnedByRootIsRefused() throws {
        try withScratch { scratch in
            let credential = try storeCredential(scratch, "db-password", "hunter2")
            #expect(chown(credential.source, 65534, 65534) == 0)
            #expect(failure(makeLauncher(scratch), makeRequest(scratch, ["/bin/true"], credentials: [credential]))
                == .credentialWrongOwner(name: "db-password", path: credential.source, owner: 65534, expectedOwner: 0))
        }
    }

    @Test func badWorkingDirectoryIsReportedByTheHelper() throws {
        try withScratch { scratch in
            let credential = try storeCredential(scratch, "db-password", "hunter2")
            let request = makeRequest(scratch, ["/bin/true"], workingDirectory: "/ascribe-no-such-directory", credentials: [credential])
            guard case .workingDirectory("/ascribe-no-such-directory", let error)? = failure(makeLauncher(scratch), request) else {
                Issue.record("expected a working-directory failure")
                return
            }
            #expect(error.code == ENOENT)
            // The failure came after staging: the credentials and the output file are gone again.
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch + "/run/credentials")) ?? ["?"]).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: request.outputPath))
        }
    }

    @Test(.requires(isRoot, "needs root to make a directory nobody cannot enter"))
    func workingDirectoryTheRunsUserCannotEnter() throws {
        try withScratch { scratch in
            let private_ = scratch + "/private"
            try FileManager.default.createDirectory(atPath: private_, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            guard case .workingDirectory(private_, let error)? = failure(makeLauncher(scratch), makeRequest(scratch, ["/bin/true"], workingDirectory: private_)) else {
                Issue.record("expected a working-directory failure")
                return
            }
            #expect(error.code == EACCES)
        }
    }

    @Test func missingHelper() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch, helperPath: scratch + "/ascribe-exec")
            #expect(failure(launcher, makeRequest(scratch, ["/bin/true"])) == .helperMissing(path: scratch + "/ascribe-exec"))
        }
    }

    @Test func anUnusableOutputLocationIsRefusedBeforeAnythingRuns() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch)
            let credential = try storeCredential(scratch, "db-password", "hunter2")
            var request = makeRequest(scratch, ["/bin/true"], credentials: [credential])
            request.outputPath = scratch + "/no-such-directory/output.log"
            #expect(failure(launcher, request) == .outputFileUnavailable(path: request.outputPath, error: SystemError(code: ENOENT)))
            // A record is never overwritten: an existing file at the path is refused too.
            request.outputPath = scratch + "/taken.log"
            try Data("another run's output".utf8).write(to: URL(fileURLWithPath: request.outputPath))
            #expect(failure(launcher, request) == .outputFileUnavailable(path: request.outputPath, error: SystemError(code: EEXIST)))
            #expect(try String(contentsOfFile: request.outputPath, encoding: .utf8) == "another run's output")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch + "/run/credentials")) ?? []).isEmpty)
        }
    }

    @Test func cancelRemovesAPreparedRunsCredentials() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch)
            let prepared = try launcher.prepare(makeRequest(scratch, ["/bin/true"], credentials: [try storeCredential(scratch, "token", "t")]))
            let directory = try #require(prepared.credentialsDirectory)
            #expect(FileManager.default.fileExists(atPath: directory + "/token"))
            #expect(launcher.cancel(prepared) == .removed(path: directory))
            #expect(!FileManager.default.fileExists(atPath: directory))
        }
    }

    @Test func invalidRequestsAreRefused() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch)
            var bare = makeRequest(scratch, ["ascribe-no-such-program"])
            bare.executable = "ascribe-no-such-program"
            #expect(failure(launcher, bare) == .programNotInSearchPath(name: "ascribe-no-such-program"))
            var relative = makeRequest(scratch, ["./true"])
            relative.executable = "./true"
            guard case .invalidRequest? = failure(launcher, relative) else { Issue.record("relative executable"); return }
            let spoofed = makeRequest(scratch, ["/bin/true"], environment: [LaunchRequest.Variable(name: "ASCRIBE_JOB", value: "other")])
            guard case .invalidRequest(let reason)? = failure(launcher, spoofed) else { Issue.record("spoofed attribution"); return }
            #expect(reason.contains("ASCRIBE_JOB"))
            let sneaky = makeRequest(scratch, ["/bin/echo", "a\0b"])
            guard case .invalidRequest? = failure(launcher, sneaky) else { Issue.record("NUL byte"); return }
        }
    }

    @Test func helperReportsMapToTypedFailures() {
        func mapped(_ text: String) -> LaunchFailure? {
            ExecHelper.Report(parsing: Array(text.utf8)).failure.map {
                ExecHelper.failure(step: $0.name, code: $0.code, executable: "/bin/job", workingDirectory: "/work")
            }
        }
        #expect(mapped("fail setgroups 1\n") == .privilegeDropFailed(step: "setgroups", error: SystemError(code: EPERM, call: "setgroups")))
        #expect(mapped("fail setresuid 11\n") == .privilegeDropFailed(step: "setresuid", error: SystemError(code: EAGAIN, call: "setresuid")))
        #expect(mapped("fail regain-root 1\n")?.description.contains("could still become root") == true)
        #expect(mapped("fail chdir 2\n") == .workingDirectory(path: "/work", error: SystemError(code: ENOENT, call: "chdir")))
        #expect(mapped("fail exec 2\n") == .commandNotFound(path: "/bin/job"))
        #expect(mapped("fail exec 8\n") == .notExecutable(path: "/bin/job", reason: String(cString: strerror(ENOEXEC))))
        #expect(mapped("warn loginuid 1\nfail close-range 38\n") == .helperFailed(step: "close-range", error: SystemError(code: ENOSYS, call: "close-range")))
        #expect(mapped("garbage") == .helperFailed(step: "report", error: SystemError(code: EPROTO, call: "report")))
        let warned = ExecHelper.Report(parsing: Array("warn loginuid 1\n".utf8))
        #expect(warned.failure == nil && warned.loginUIDWarning != nil)
        #expect(ExecHelper.Report(parsing: []) == ExecHelper.Report(parsing: []))
        #expect(ExecHelper.Report(parsing: []).failure == nil)
    }

    @Test(.requires(isRoot, "runs the helper as nobody, which needs root to arrange"))
    func theHelperRefusesToRunAJobWhenItCannotDropPrivilege() throws {
        try withScratch { scratch in
            let helper = try ExecHelper.defaultPath()
            // As nobody, the helper is asked to become root: setgroups must fail, and it must stop.
            let script = "exec 3>&1 4</dev/null; exec \(helper) 0 0 - / - -- /usr/bin/id id"
            let completion = try launchAndWait(makeLauncher(scratch), makeRequest(scratch, ["/bin/sh", "-c", script]))
            #expect(completion.outcome == .exited(code: 127))
            #expect(try capturedText(completion) == "fail setgroups \(EPERM)\n")
        }
    }

    @Test func descriptionsSayWhatWentWrong() {
        #expect(LaunchFailure.runAsRequired.description.contains("must name a run-as user"))
        #expect(LaunchFailure.credentialWrongOwner(name: "k", path: "/s/k", owner: 1000, expectedOwner: 0).description
            == "credential `k` is owned by uid 1000, not root (/s/k); whoever owns it could replace the secret")
        #expect(LaunchFailure.credentialReadableByOthers(name: "k", path: "/s/k", mode: 0o644).description
            == "credential `k` is readable by group or others (mode 0644); chmod 600 /s/k")
        #expect(Set([LaunchFailure.runAsRequired, .commandNotFound(path: "/x"), .unknownUser("u"), .unknownGroup("g"),
                     .helperMissing(path: "/h")].map(\.reasonCode)).count == 5)
    }
}

/// The test's own user name, or its uid when it has no passwd entry.
private func ownUserName() -> String {
    let uid = geteuid()
    guard case .success(let record?) = AccountDatabase.userRecord(uid: uid) else { return String(uid) }
    return record.name
}

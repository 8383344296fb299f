import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeSystem
import AscribeCoreTestSupport
import AscribeTestSupport

/// Runs `body` with a fresh directory (mode 0755) that is removed afterwards.
private func withScratchDirectory(_ body: (String) throws -> Void) throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
                                            attributes: [.posixPermissions: 0o755])
    defer { try? FileManager.default.removeItem(atPath: path) }
    try body(path)
}

private func write(_ text: String, to path: String, mode: Int = 0o644) throws {
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
}

private func job(identity: String) -> String {
    JobFileFixture.file(replacing: "identity", with: "identity = \(identity)")
}

/// The repository's root, found from this file so the test works from any directory.
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

@Suite struct JobDirectoryTests {
    @Test func oneBadFileDoesNotStopTheOthers() throws {
        try withScratchDirectory { directory in
            try write(job(identity: "alpha-reaper"), to: "\(directory)/alpha.job")
            try write(JobFileFixture.file(replacing: "owner"), to: "\(directory)/bravo.job")
            try write(job(identity: "charlie-reaper"), to: "\(directory)/charlie.job")
            let load = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
            #expect(load.jobs.map(\.name.rawValue) == ["alpha", "charlie"])
            #expect(load.diagnostics.map(\.description) == [
                "\(directory)/bravo.job:1:1: error: missing required key `owner`, e.g. `owner = storage-team <storage-oncall@example.com>`",
            ])
            #expect(load.filesExamined == 3)
        }
    }

    /// Jobs with one owner share one copy of its text and contact (what the daemon keeps per
    /// job), and still read as written.
    @Test func jobsOfOneOwnerShareItsStrings() throws {
        func storage(_ text: String?) -> UnsafeRawPointer? {
            text?.utf8.withContiguousStorageIfAvailable { UnsafeRawPointer($0.baseAddress) } ?? nil
        }
        try withScratchDirectory { directory in
            try write(job(identity: "alpha-reaper"), to: "\(directory)/alpha.job")
            try write(job(identity: "bravo-reaper"), to: "\(directory)/bravo.job")
            let load = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
            let owners = load.jobs.map(\.owner)
            #expect(owners.count == 2 && owners[0] == owners[1])
            #expect(owners[0].text.utf8.count > 15 && (owners[0].contact?.utf8.count ?? 0) > 15)
            #expect(storage(owners[0].text) == storage(owners[1].text))
            #expect(storage(owners[0].contact) == storage(owners[1].contact))
        }
    }

    @Test func onlyVisibleJobFilesCount() throws {
        try withScratchDirectory { directory in
            try write(job(identity: "alpha-reaper"), to: "\(directory)/alpha.job")
            for ignored in ["README", "alpha.job~", ".alpha.job.swp", ".hidden.job", "alpha.JOB", "notes.txt", "#alpha.job#"] {
                try write("not a job", to: "\(directory)/\(ignored)")
            }
            let load = try JobDirectory.load(path: directory + "/", zones: JobFileFixture.zones)
            #expect(load.jobs.map(\.name.rawValue) == ["alpha"])
            #expect(load.diagnostics.isEmpty)
            #expect(load.filesExamined == 1)
            #expect(load.jobs.first?.source.path == "\(directory)/alpha.job")
        }
    }

    @Test func worldWritableFilesAreRefused() throws {
        try withScratchDirectory { directory in
            try write(job(identity: "alpha-reaper"), to: "\(directory)/alpha.job", mode: 0o666)
            try write(job(identity: "bravo-reaper"), to: "\(directory)/bravo.job", mode: 0o664)
            let load = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
            #expect(load.jobs.map(\.name.rawValue) == ["bravo"])
            #expect(load.diagnostics.map(\.description) == [
                "\(directory)/alpha.job:1:1: error: job file is writable by every user; a job anyone can edit is not attributable (chmod o-w)",
            ])
        }
    }

    @Test func aWorldWritableDirectoryNeedsTheStickyBit() throws {
        try withScratchDirectory { directory in
            try write(job(identity: "alpha-reaper"), to: "\(directory)/alpha.job")
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory)
            let open = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
            #expect(open.jobs.isEmpty)
            #expect(open.diagnostics.map(\.description) == [
                "\(directory)/alpha.job:1:1: error: job directory is writable by every user; anyone could replace this job, so it is not attributable (chmod o-w \(directory))",
            ])
            try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: directory)
            let sticky = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
            #expect(sticky.jobs.map(\.name.rawValue) == ["alpha"])
            #expect(sticky.diagnostics.isEmpty)
        }
    }

    @Test func symbolicLinksMustStayInsideTheDirectory() throws {
        try withScratchDirectory { outside in
            try withScratchDirectory { directory in
                try write(job(identity: "elsewhere-reaper"), to: "\(outside)/elsewhere.job")
                try write(job(identity: "alpha-reaper"), to: "\(directory)/alpha.job")
                try FileManager.default.createSymbolicLink(atPath: "\(directory)/escape.job", withDestinationPath: "\(outside)/elsewhere.job")
                try FileManager.default.createSymbolicLink(atPath: "\(directory)/dangling.job", withDestinationPath: "\(directory)/gone")
                try FileManager.default.createDirectory(atPath: "\(directory)/library", withIntermediateDirectories: false)
                try write(job(identity: "inside-reaper"), to: "\(directory)/library/inside")
                try FileManager.default.createSymbolicLink(atPath: "\(directory)/inside.job", withDestinationPath: "library/inside")
                let load = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
                #expect(load.jobs.map(\.name.rawValue) == ["alpha", "inside"])
                let target = try FileSystem.resolvedPath("\(outside)/elsewhere.job")
                #expect(load.diagnostics.map(\.description) == [
                    "\(directory)/dangling.job:1:1: error: cannot read job file: No such file or directory",
                    "\(directory)/escape.job:1:1: error: symbolic link points outside the job directory, to \(target); a job file must live in the directory it is loaded from",
                ])
                #expect(load.filesExamined == 4)
            }
        }
    }

    @Test func aDirectoryNamedLikeAJobIsAnError() throws {
        try withScratchDirectory { directory in
            try FileManager.default.createDirectory(atPath: "\(directory)/folder.job", withIntermediateDirectories: false)
            let load = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
            #expect(load.diagnostics.map(\.description) == [
                "\(directory)/folder.job:1:1: error: not a regular file; a job file must be a plain file",
            ])
        }
    }

    @Test func theDirectoryItselfMustExistAndBeADirectory() throws {
        try withScratchDirectory { directory in
            #expect(throws: JobDirectoryError.missing(path: "\(directory)/absent")) {
                try JobDirectory.load(path: "\(directory)/absent", zones: JobFileFixture.zones)
            }
            try write("x", to: "\(directory)/plain")
            #expect(throws: JobDirectoryError.notADirectory(path: "\(directory)/plain")) {
                try JobDirectory.load(path: "\(directory)/plain", zones: JobFileFixture.zones)
            }
            #expect(JobDirectoryError.missing(path: "/etc/ascribe/jobs.d").description == "job directory /etc/ascribe/jobs.d does not exist")
        }
    }

    @Test func sharedIdentitiesAreFoundAcrossFiles() throws {
        try withScratchDirectory { directory in
            try write(job(identity: "db-maintainer"), to: "\(directory)/vacuum.job")
            try write(job(identity: "db-maintainer"), to: "\(directory)/reindex.job")
            try write(JobFileFixture.file(appending: ["timeout = 90"]), to: "\(directory)/broken.job")
            let load = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
            #expect(load.jobs.map(\.name.rawValue) == ["reindex", "vacuum"])
            #expect(load.diagnostics.map(\.description) == [
                "\(directory)/broken.job:5:11: error: timeout: \"90\" has no unit; add a unit: 90s, 10m, 2h",
                "\(directory)/reindex.job:2:12: warning: identity `db-maintainer` is shared with vacuum; give each automation its own identity so every event names exactly one",
                "\(directory)/vacuum.job:2:12: warning: identity `db-maintainer` is shared with reindex; give each automation its own identity so every event names exactly one",
            ])
        }
    }

    // MARK: The repository's own job files

    @Test func theShippedJobsLoadCleanly() throws {
        let load = try JobDirectory.load(path: "\(repositoryRoot)/jobs.d", zones: JobFileFixture.zones)
        #expect(load.diagnostics.map(\.description) == [])
        #expect(load.jobs.count == load.filesExamined)
        #expect(load.jobs.count >= 4)
        #expect(load.jobs.contains { $0.name.rawValue == "failure-drill" })
        #expect(Set(load.jobs.map(\.identity)).count == load.jobs.count)
        #expect(HostFindings.check(load.jobs, credentialStore: "/nonexistent").map(\.description) == [])
    }

    @Test func theExamplesLoadWithoutErrors() throws {
        let load = try JobDirectory.load(path: "\(repositoryRoot)/examples", zones: JobFileFixture.zones)
        #expect(load.diagnostics.filter { $0.severity == .error }.map(\.description) == [])
        #expect(load.jobs.count == load.filesExamined)
        #expect(load.jobs.first { $0.name.rawValue == "nightly-export-berlin" }?.timezone?.identifier == "Europe/Berlin")
    }

    /// The rejected example documents its own diagnostics; they must stay exactly true.
    @Test func theRejectedExampleSaysWhatItExpects() throws {
        let directory = "\(repositoryRoot)/examples/rejected"
        let load = try JobDirectory.load(path: directory, zones: JobFileFixture.zones)
        #expect(load.jobs.isEmpty)
        #expect(load.filesExamined >= 1)
        var expected: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() where name.hasSuffix(".job") {
            let text = try String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("# expect: ") {
                expected.append("\(directory)/\(name):\(line.dropFirst("# expect: ".count))")
            }
        }
        #expect(expected.count >= 5)
        #expect(load.diagnostics.map(\.description) == expected)
    }

    // MARK: Host findings

    /// As a root daemon decides: every launch refusal is an error, at the key to change.
    @Test(.requires(isRoot, "the store files must be root's, as a root daemon requires; CI runs as root"))
    func hostFindingsCheckProgramsAccountsAndCredentials() throws {
        try withScratchDirectory { directory in
            try write("#!/bin/sh\n", to: "\(directory)/not-executable.sh", mode: 0o644)
            let store = "\(directory)/store"
            try FileManager.default.createDirectory(atPath: "\(store)/backup-uploader", withIntermediateDirectories: true)
            try write("secret", to: "\(store)/backup-uploader/tight", mode: 0o600)
            try write("secret", to: "\(store)/backup-uploader/loose", mode: 0o644)

            func definition(_ name: String, _ extra: [String] = ["run-as = nobody"], command: String = "command = /bin/sh -c true") throws -> JobDefinition {
                try parsed(name, JobFileFixture.file(replacing: "command", with: command, appending: extra))
            }
            func parsed(_ name: String, _ text: String) throws -> JobDefinition {
                try #require(JobFile.parse(Array(text.utf8), path: "\(directory)/\(name).job", zones: JobFileFixture.zones).definition)
            }
            let jobs = [
                try definition("fine"),
                try definition("via-path", command: "command = sh -c true"),
                try definition("no-run-as", []),
                try definition("missing", command: "command = /nonexistent/uploader --now"),
                try definition("unknown", command: "command = ascribe-no-such-program"),
                try definition("plain-file", command: "command = \(directory)/not-executable.sh"),
                try definition("relative", ["run-as = nobody", "working-directory = \(directory)"], command: "command = ./not-executable.sh"),
                try definition("scripted", ["shell = /nonexistent/zsh", "run-as = nobody"], command: "command = true"),
                try definition("nobody-there", ["run-as = ascribe-no-such-user:ascribe-no-such-group"]),
                try definition("numeric", ["run-as = 4242:4242"]),
                try parsed("uploader", JobFileFixture.file(replacing: "identity", with: "identity = backup-uploader",
                                            appending: ["credentials = tight, loose, absent", "run-as = nobody"])),
            ]
            let findings = HostFindings.check(jobs, credentialStore: store, runner: .root).map(\.description)
            let noExecute = "mode 0644 (owner uid 0, group \(getegid())) gives nobody no execute permission"
            #expect(findings == [
                "\(directory)/no-run-as.job:1:1: error: run-as: the scheduler runs as root, so every job must name a run-as user; refusing to run this one as root by default",
                "\(directory)/missing.job:4:11: error: command: command not found: /nonexistent/uploader does not exist",
                "\(directory)/unknown.job:4:11: error: command: `ascribe-no-such-program` is not in /usr/local/bin:/usr/bin:/bin, the PATH every run gets; give an absolute path or install it",
                "\(directory)/plain-file.job:4:11: error: command: cannot execute \(directory)/not-executable.sh: \(noExecute)",
                "\(directory)/relative.job:4:11: error: command: cannot execute \(directory)/./not-executable.sh: \(noExecute)",
                "\(directory)/scripted.job:5:9: error: shell: command not found: /nonexistent/zsh does not exist",
                "\(directory)/nobody-there.job:5:10: error: run-as: run-as user \"ascribe-no-such-user\" does not exist on this host",
                "\(directory)/nobody-there.job:5:10: error: run-as: run-as group \"ascribe-no-such-group\" does not exist on this host",
                "\(directory)/numeric.job:5:10: error: run-as: run-as user \"4242\" does not exist on this host",
                "\(directory)/uploader.job:5:15: error: credentials: credential `loose` is readable by group or others (mode 0644); chmod 600 \(store)/backup-uploader/loose",
                "\(directory)/uploader.job:5:15: error: credentials: credential `absent` is missing from the store (\(store)/backup-uploader/absent)",
            ])
        }
    }

    /// A daemon that is not root runs every job as itself: a run-as naming anyone else is
    /// refused, unless it runs with --dev, which sets every run-as aside. Decided for uid
    /// 65534 (nobody), so it runs as root too.
    @Test func aNonRootDaemonsRefusalsAreCheckedAsItWouldDecide() throws {
        try withScratchDirectory { directory in
            func parsed(_ name: String, _ extra: [String]) throws -> JobDefinition {
                try #require(JobFile.parse(Array(JobFileFixture.file(replacing: "command", with: "command = /bin/true", appending: extra).utf8),
                                           path: "\(directory)/\(name).job", zones: JobFileFixture.zones).definition)
            }
            let jobs = [try parsed("own", []), try parsed("other", ["run-as = root"]), try parsed("ghost", ["run-as = ascribe-no-such-user"])]
            let runner = JobRunner.user(uid: 65534)
            let record = try AccountDatabase.userRecord(uid: 65534).get()
            let scheduler = try #require(record, "uid 65534 (nobody) has no passwd entry").name
            let refused = HostFindings.check(jobs, credentialStore: directory, runner: runner).filter { $0.severity == .error }
            #expect(refused.map(\.description) == [
                "\(directory)/other.job:5:10: error: run-as: not permitted to run as \"root\": the scheduler is not root (it runs as \(scheduler)), so it can only run jobs as itself; run it as root, or with --dev to run every job as \(scheduler)",
                "\(directory)/ghost.job:5:10: error: run-as: run-as user \"ascribe-no-such-user\" does not exist on this host",
            ])
            #expect(HostFindings.check(jobs, credentialStore: directory, runner: runner, developmentMode: true)
                .filter { $0.severity == .error } == [])
        }
    }

    /// Check and the daemon cannot disagree: what check calls the reason is what
    /// `Launcher.prepare` throws for the same job.
    @Test func checksFirstRefusalIsTheLaunchersFailure() throws {
        let cases: [(extra: [String], command: String)] = [
            ([], "/bin/true"),
            (["run-as = ascribe-no-such-user"], "/bin/true"),
            (["run-as = nobody"], "/nonexistent/program"),
            (["run-as = nobody"], "ascribe-no-such-program"),
        ]
        for (extra, command) in cases {
            let text = JobFileFixture.file(replacing: "command", with: "command = \(command)", appending: extra)
            let job = try #require(JobFile.parse(Array(text.utf8), path: "/x/stale-lock-reaper.job", zones: JobFileFixture.zones).definition)
            let environment = RunEnvironment(host: "h", stateDirectory: "/nonexistent", credentialStore: "/nonexistent", development: false)
            let request = RunExecution.launchRequest(for: job, runID: "r", environment: environment)
            let launcher = Launcher(configuration: LauncherConfiguration(credentialsRuntimeDirectory: "/nonexistent",
                                                                         helperPath: "/bin/true", makeDigest: { FNV1aDigest() }),
                                    schedulerUID: 0)
            let thrown: LaunchFailure
            do throws(LaunchFailure) {
                _ = try launcher.prepare(request)
                Issue.record("\(command) \(extra) launched")
                continue
            } catch {
                thrown = error
            }
            #expect(Launcher.refusals(of: request, schedulerUID: 0, developmentMode: false).first == thrown, "\(command) \(extra)")
        }
    }
}

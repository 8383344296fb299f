import Foundation
import Glibc
import Testing
import AscribeTestSupport

/// A job cannot reach what is not its own (issue 5, isolation): real runs through `ascribe run`,
/// as root, with the state directory and credential store laid out as the daemon and
/// docs/INSTALL.md lay them out. A probe job, run as a throwaway user, tries to read the event
/// database and another run's captured output, to write to the record, to read another
/// identity's credentials (in the store and staged for a live run), to signal that run, and to
/// gain root through a set-uid copy of `id`. It prints `attempt=result` lines, which arrive in
/// its terminal event's output tail; every attempt must have failed.
@Suite(.serialized) struct IsolationTests {
    /// State directories as `ascribe` makes one (0700, as systemd's StateDirectory does) and as
    /// someone might pre-create one (0755, which `ascribe run` tightens to 0700 as the daemon
    /// does): the files inside must hold on their own.
    @Test(.requires(isRoot, "needs root: runs jobs as other users (CI runs as root)"),
          arguments: [nil, 0o755] as [Int?])
    func jobCannotReachTheRecordOrAnotherIdentitysSecrets(stateMode: Int?) throws {
        let scratch = try RunCommandTests.Scratch()
        defer { scratch.remove() }
        let probeUser = try ThrowawayUser()
        defer { probeUser.remove() }
        if let stateMode {
            try FileManager.default.createDirectory(atPath: scratch.state, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: stateMode])
        }
        let store = scratch.root + "/credentials"
        for directory in [store, store + "/victim-runner"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        }
        try Data("victim-secret-credential\n".utf8).write(to: URL(fileURLWithPath: store + "/victim-runner/db-password"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: store + "/victim-runner/db-password")

        // The control: the set-uid copy does raise a process without NO_NEW_PRIVS to root here.
        let setuidID = scratch.root + "/id-setuid"
        try FileManager.default.copyItem(atPath: "/usr/bin/id", toPath: setuidID)
        try FileManager.default.setAttributes([.posixPermissions: 0o4755], ofItemAtPath: setuidID)  // root's copy
        let control = try shellOutput("runuser -u \(probeUser.name) -- \(setuidID) -u")
        try #require(control == "0\n", "the set-uid control did not reach euid 0 (\(control)); the escape check would prove nothing")

        // The victim: another identity and user, with a credential, still running while the
        // probe runs, so its staged credentials exist; it has written output to the state.
        let drop = scratch.drop
        try writeJob(scratch, "victim", [
            "identity = victim-runner", "run-as = nobody", "credentials = db-password", "shell = /bin/sh",
            "command = echo victim-secret-output; echo \"$CREDENTIALS_DIRECTORY $$\" > \(drop)/victim.tmp; "
                + "mv \(drop)/victim.tmp \(drop)/victim; i=0; "
                + "while [ ! -e \(drop)/probe-done ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done",
        ])
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: AscribeBinary.path)
        victim.arguments = ["run", "victim", "--jobs", scratch.jobs, "--state", scratch.state, "--credentials", store]
        victim.standardOutput = FileHandle.nullDevice
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        defer {
            _ = FileManager.default.createFile(atPath: drop + "/probe-done", contents: nil)
            victim.waitUntilExit()
        }
        let started = eventually(within: 20) {
            FileManager.default.fileExists(atPath: drop + "/victim")
                && !Self.files(under: scratch.state + "/output").isEmpty
        }
        try #require(started, "the victim run did not start")
        let victimReport = try String(contentsOfFile: drop + "/victim", encoding: .utf8).split(separator: " ")
        let staged = String(try #require(victimReport.first))
        let victimPID = String(try #require(victimReport.last)).trimmingCharacters(in: .whitespacesAndNewlines)
        let stateFiles = Self.files(under: scratch.state)
        #expect(stateFiles.contains(scratch.state + "/events.db"))
        #expect(stateFiles.contains { $0.hasPrefix(scratch.state + "/output/victim/") })

        let probe = scratch.root + "/probe.sh"
        try Self.probeScript(state: scratch.state, stateFiles: stateFiles, store: store, staged: staged,
                             victimPID: victimPID, setuidID: setuidID)
            .write(toFile: probe, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: probe)
        try writeJob(scratch, "probe", ["identity = probe-runner", "run-as = \(probeUser.name)", "command = /bin/sh \(probe)"])
        let result = try AscribeBinary.run(["run", "probe", "--jobs", scratch.jobs, "--state", scratch.state,
                                            "--credentials", store])
        #expect(result.status == 0, "\(result.stderr)")

        let terminal = try #require(try scratch.events().last { $0["job"] as? String == "probe" })
        let tail = try #require(terminal["output_tail"] as? String)
        let report = Dictionary(tail.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { $1 })
        let expected: [String: String] = [
            "uid": String(probeUser.uid),
            "state-files-readable": "0 of \(stateFiles.count)",
            // A state directory someone made 0755 is tightened to 0700 by `ascribe run`, as
            // the daemon does (the state directory rules, docs/DAEMON.md).
            "state-dir-list": "denied",
            "output-dir-list": "denied",
            "events-db-append": "denied",
            "state-dir-create": "denied",
            "output-dir-create": "denied",
            "store-list": "denied",
            "store-credential-read": "denied",
            "staged-credential-list": "denied",
            "staged-credential-read": "denied",
            "signal-other-run": "denied",
            "setuid-euid": String(probeUser.uid),
            "no-new-privs": "1",
        ]
        #expect(report == expected, "probe output:\n\(tail)")
        #expect(!tail.contains("victim-secret"))
    }

    private func writeJob(_ scratch: RunCommandTests.Scratch, _ name: String, _ lines: [String]) throws {
        let text = ["schedule = @daily", "owner = test-team <test@example.com>"] + lines
        try (text.joined(separator: "\n") + "\n").write(toFile: "\(scratch.jobs)/\(name).job", atomically: true, encoding: .utf8)
    }

    /// Regular files below `directory`, as root sees them.
    static func files(under directory: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        return walker.compactMap { $0 as? String }.map { directory + "/" + $0 }.filter { path in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    /// One `attempt=result` line per attempt; `denied` when the attempt failed.
    static func probeScript(state: String, stateFiles: [String], store: String, staged: String,
                            victimPID: String, setuidID: String) -> String {
        func attempt(_ name: String, _ command: String) -> String {
            "if \(command) >/dev/null 2>&1; then echo \(name)=ALLOWED; else echo \(name)=denied; fi"
        }
        let quotedFiles = stateFiles.map { "'\($0)'" }.joined(separator: " ")
        return """
            echo uid=$(id -u)
            n=0; for f in \(quotedFiles); do if cat "$f" >/dev/null 2>&1; then n=$((n+1)); fi; done
            echo "state-files-readable=$n of \(stateFiles.count)"
            \(attempt("state-dir-list", "ls '\(state)'"))
            \(attempt("output-dir-list", "ls '\(state)/output'"))
            \(attempt("events-db-append", "sh -c \"echo forged >> '\(state)/events.db'\""))
            \(attempt("state-dir-create", "touch '\(state)/forged'"))
            \(attempt("output-dir-create", "touch '\(state)/output/forged'"))
            \(attempt("store-list", "ls '\(store)'"))
            \(attempt("store-credential-read", "cat '\(store)/victim-runner/db-password'"))
            \(attempt("staged-credential-list", "ls '\(staged)'"))
            \(attempt("staged-credential-read", "cat '\(staged)/db-password'"))
            \(attempt("signal-other-run", "kill -0 \(victimPID)"))
            echo setuid-euid=$('\(setuidID)' -u)
            echo no-new-privs=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/self/status)

            """
    }
}

/// A system user made for one test with `useradd` and removed with `userdel`, so the probe
/// runs as a user that owns nothing Ascribe made.
struct ThrowawayUser {
    let name: String
    let uid: UInt32

    init() throws {
        name = "ascribe-probe-" + String(UUID().uuidString.prefix(8)).lowercased()
        let made = try shellOutput("useradd --system --no-create-home --shell /usr/sbin/nologin \(name) && id -u \(name)")
        uid = try #require(UInt32(made.trimmingCharacters(in: .whitespacesAndNewlines)), "useradd failed: \(made)")
    }

    func remove() {
        _ = try? shellOutput("userdel \(name)")
    }
}

/// What `/bin/sh -c command` printed, standard output and error together.
func shellOutput(_ command: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self)
}

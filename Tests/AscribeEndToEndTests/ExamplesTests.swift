import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeCoreTestSupport
import AscribeTestSupport

/// A command line shown to readers: an `Examples:` line of a `--help` text, or an `ascribe …`
/// line of a fenced shell block in README.md or docs/*.md.
struct DocumentedExample: CustomStringConvertible {
    /// `README.md:47`, or `ascribe plan --help`.
    var source: String
    /// The line as written, `swift run ascribe` read as `ascribe`.
    var line: String
    /// 0 unless the line ends in a comment `# exits N` (an example that shows a failure).
    var expectedStatus: Int32
    /// The subcommand (`plan`), or nil for `ascribe --version`.
    var command: String?
    /// README.md's examples are typed in a fresh clone, as root or not, so they must name what
    /// they use; help texts and docs/ describe an installed host, whose defaults the test
    /// stands in for.
    var usesHostDefaults: Bool { !source.hasPrefix("README.md:") }

    var description: String { "\(source): \(line)" }

    init?(source: String, line raw: String) {
        var line = raw.trimmed
        for prefix in ["$ ", "sudo "] where line.hasPrefix(prefix) { line = String(line.dropFirst(prefix.count)) }
        line = line.replacingOccurrences(of: "swift run ascribe ", with: "ascribe ")
        let words = line.split(separator: " ").map(String.init)
        guard let start = words.firstIndex(of: "ascribe"), start == 0 || words[start - 1] == "|" else { return nil }
        self.source = source
        self.line = line
        let next = words.dropFirst(start + 1).first
        command = next.flatMap { $0.hasPrefix("-") ? nil : $0 }
        expectedStatus = 0
        if let marker = line.range(of: "# exits ", options: .backwards),
           let status = Int32(line[marker.upperBound...].prefix { $0.isNumber }) {
            expectedStatus = status
        }
    }

    /// Examples of a `--help` text: lines that run `ascribe`; deeper-indented lines are output.
    static func fromHelp(_ help: CommandHelp) -> [DocumentedExample] {
        help.examples.filter { !$0.hasPrefix(" ") }.compactMap {
            DocumentedExample(source: "ascribe \(help.name) --help", line: $0)
        }
    }

    /// `ascribe …` lines of fenced `sh`/`shell`/`bash`/`console` blocks.
    static func fromMarkdown(_ text: String, file: String) -> [DocumentedExample] {
        var found: [DocumentedExample] = []
        var inShellBlock = false
        var inBlock = false
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let body = line.trimmed
            if body.hasPrefix("```") {
                inShellBlock = !inBlock && ["sh", "shell", "bash", "console"].contains(String(body.dropFirst(3)))
                inBlock.toggle()
            } else if inShellBlock, let example = DocumentedExample(source: "\(file):\(index + 1)", line: body) {
                found.append(example)
            }
        }
        return found
    }
}

/// Every example in the help texts, README.md and docs/*.md, extracted afresh (a new one is
/// picked up by itself) and run by `/bin/sh` in a scratch directory holding copies of the
/// repository's jobs.d/ and examples/. Paths the examples name on an installed host are taken
/// inside the scratch directory (`/etc/ascribe/jobs.d` → `jobs.d`, `/var/lib/ascribe` →
/// `.ascribe`, `/etc/crontab` and `/etc/cron.d` → fixtures), and, outside README.md (whose
/// examples are typed in a clone and must name what they use), a command that takes `--jobs`
/// or `--state` without naming them gets the scratch ones, so nothing outside it is touched,
/// as root or not. `daemon` examples are started, checked to answer `status`, and stopped with
/// SIGTERM; `log --follow` ones are stopped with SIGTERM after their first line; `status`,
/// `disable`, `enable` and `reload` run against a daemon started for them. Only an example
/// that pipes into a program this host lacks is not run, and the test prints why.
@Suite(.serialized) struct ExamplesTests {
    static let repository = AscribeBinary.repository.path
    static let markdownFiles: [String] = {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: repository + "/docs")) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }()
    static let controlCommands: Set<String> = ["status", "disable", "enable", "reload"]

    /// Every command's parsed help, the commands listed by `ascribe help`.
    static func helps() throws -> [CommandHelp] {
        let top = try AscribeBinary.run(["help"]).stdout
        let listed = top.components(separatedBy: "Commands:\n").last?.split(separator: "\n")
            .prefix { $0.hasPrefix("  ") }.compactMap { $0.split(separator: " ").first.map(String.init) } ?? []
        #expect(listed.count > 10, "\(top)")
        return try listed.map { name in
            try CommandHelp(name: name, summary: "", text: try AscribeBinary.run([name, "--help"]).stdout)
        }
    }

    static func examples(_ helps: [CommandHelp]) throws -> [DocumentedExample] {
        var found = helps.flatMap(DocumentedExample.fromHelp)
        for file in markdownFiles {
            found += DocumentedExample.fromMarkdown(try String(contentsOfFile: repository + "/" + file, encoding: .utf8), file: file)
        }
        return found
    }

    @Test func theExtractorReadsShellBlocksHelpExamplesAndExpectedStatus() throws {
        let markdown = """
            ```sh
            ascribe check jobs.d   # a comment
            crontab -l | ascribe import --out jobs.d
            swift run ascribe verify --state x   # exits 1
            echo not ascribe here
            ```
            ```
            ascribe daemon: output, not a command
            ```
            """
        let found = DocumentedExample.fromMarkdown(markdown, file: "X.md")
        #expect(found.map(\.source) == ["X.md:2", "X.md:3", "X.md:4"])
        #expect(found.map(\.command) == ["check", "import", "verify"])
        #expect(found.map(\.expectedStatus) == [0, 0, 1])
        #expect(found[2].line == "ascribe verify --state x   # exits 1")
        #expect(found.allSatisfy { $0.usesHostDefaults })
        #expect(!(DocumentedExample(source: "README.md:3", line: "ascribe plan")?.usesHostDefaults ?? true))
        #expect(Sandbox.pipelineSegments("a | b 'x | y' \"|\" | c").map { $0.trimmed } == ["a", "b 'x | y' \"|\"", "c"])
        let help = try CommandHelp(name: "next", summary: "", text: """
            Usage: ascribe next [--expr EXPR]

            Examples:
              ascribe next --expr '0 9 * * *' --count 1
                2026-01-01T09:00:00+00:00
            """)
        #expect(DocumentedExample.fromHelp(help).map(\.line) == ["ascribe next --expr '0 9 * * *' --count 1"])
        let all = try Self.examples(try Self.helps())
        #expect(all.contains { $0.source == "ascribe plan --help" } && all.contains { $0.source.hasPrefix("README.md:") })
    }

    /// Each example exits with its documented status; the ones not executed say why.
    @Test func everyExampleRunsAndExitsWithItsDocumentedStatus() throws {
        let helps = try Self.helps()
        let examples = try Self.examples(helps)
        let sandbox = try Sandbox(helps: helps)
        defer { sandbox.remove() }
        try sandbox.seed(jobs: ["stale-lock-reaper", "failure-drill"])

        var needDaemon: [DocumentedExample] = []
        for example in examples {
            try sandbox.resetJobs()
            if let reason = sandbox.notExecuted(example) {
                print("example not executed: \(example)\n  because \(reason)")
            } else if let command = example.command, Self.controlCommands.contains(command) {
                needDaemon.append(example)
            } else if example.line.contains("--follow") {
                let status = try sandbox.runFollowing(example)
                #expect(status == example.expectedStatus, "\(example): stopped by SIGTERM after its first line, exited \(status)")
            } else if example.command == "daemon" {
                let status = try sandbox.runDaemon(example)
                #expect(status == 0, "\(example): the daemon stopped by SIGTERM exited \(status)")
            } else {
                let result = try sandbox.run(example)
                #expect(result.status == example.expectedStatus,
                        "\(example)\n  ran: \(sandbox.rewrite(example))\n  exit \(result.status), documented \(example.expectedStatus)\n\(result.stdout)\(result.stderr)")
            }
        }
        let daemon = try sandbox.startDaemon(["daemon", "--quiet"])
        defer { _ = daemon.stop() }
        #expect(try sandbox.waitUntilAnswering(daemon), "the daemon for the control examples did not answer")
        for example in needDaemon {
            try sandbox.resetJobs()
            let result = try sandbox.run(example)
            #expect(result.status == example.expectedStatus,
                    "\(example)\n  ran: \(sandbox.rewrite(example))\n  exit \(result.status), documented \(example.expectedStatus)\n\(result.stdout)\(result.stderr)")
        }
        #expect(daemon.stop() == 0)
    }

    /// `--dev` does not make a root scheduler run jobs as root (docs/LAUNCH.md: as root, run-as
    /// is still required and honoured); the help of both commands that take it says so.
    @Test func devHelpSaysWhatItDoesAsRoot() throws {
        for help in try Self.helps() where ["daemon", "run"].contains(help.name) {
            let dev = try #require(help.options.first { $0.name == "--dev" })
            #expect(dev.description.contains("as root, run-as still applies"), "\(help.name): \(dev.description)")
            #expect(dev.description.contains("marked development"), "\(help.name): \(dev.description)")
        }
    }

    /// Every relative link of README.md and docs/*.md names a file in the repository.
    @Test func relativeLinksResolveInsideTheRepository() throws {
        let root = URL(fileURLWithPath: Self.repository).standardized.path
        var broken: [String] = []
        for file in Self.markdownFiles {
            let text = try String(contentsOfFile: Self.repository + "/" + file, encoding: .utf8)
            let base = URL(fileURLWithPath: Self.repository + "/" + file).deletingLastPathComponent()
            for target in Self.linkTargets(text) where !target.contains("://") && !target.hasPrefix("#") && !target.hasPrefix("mailto:") {
                let path = String(target.prefix { $0 != "#" })
                let resolved = base.appendingPathComponent(path).standardized.path
                if !resolved.hasPrefix(root + "/") || !FileManager.default.fileExists(atPath: resolved) {
                    broken.append("\(file): \(target)")
                }
            }
        }
        #expect(broken.isEmpty, "links that do not resolve to a file in the repository: \(broken)")
    }

    /// A relative path in backticks that leaves the repository (`../shared/…`) names a file a
    /// reader of a clone does not have.
    @Test func noPathOutsideTheRepository() throws {
        var outside: [String] = []
        for file in Self.markdownFiles {
            let text = try String(contentsOfFile: Self.repository + "/" + file, encoding: .utf8)
            for (index, span) in text.components(separatedBy: "`").enumerated() where index % 2 == 1 && span.hasPrefix("../") {
                outside.append("\(file): \(span)")
            }
        }
        #expect(outside.isEmpty, "paths outside the repository: \(outside)")
    }

    /// `](target)` of Markdown links and images.
    static func linkTargets(_ text: String) -> [String] {
        text.components(separatedBy: "](").dropFirst().compactMap { rest in
            rest.firstIndex(of: ")").map { String(rest[..<$0]) }
        }
    }
}

/// The scratch directory the examples run in, with the binary first on the PATH.
struct Sandbox {
    let root: String
    let helps: [String: CommandHelp]
    var jobs: String { root + "/jobs.d" }
    var state: String { root + "/.ascribe" }

    init(helps: [CommandHelp]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-examples-" + UUID().uuidString).path
        self.helps = Dictionary(uniqueKeysWithValues: helps.map { ($0.name, $0) })
        do {
            try Self.populate(root)
        } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
    }

    /// The scratch directory's files: copies of jobs.d/ and examples/, crontab fixtures, a stub
    /// `crontab` command.
    private static func populate(_ root: String) throws {
        let files = FileManager.default
        try files.createDirectory(atPath: root + "/etc/cron.d", withIntermediateDirectories: true)
        for directory in ["docs", "completions", "bin"] {
            try files.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        for directory in ["jobs.d", "examples"] {
            try files.copyItem(atPath: ExamplesTests.repository + "/" + directory, toPath: root + "/" + directory)
        }
        let crontab = "SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
        try crontab.write(toFile: root + "/etc/crontab", atomically: true, encoding: .utf8)
        try "30 4 * * * root /usr/bin/true\n".write(toFile: root + "/etc/cron.d/nightly", atomically: true, encoding: .utf8)
        // `crontab -l`, first on the PATH, in place of the host's (which would read a real user's crontab).
        try "#!/bin/sh\nprintf '0 3 * * * /usr/bin/true\\n'\n".write(toFile: root + "/bin/crontab", atomically: true, encoding: .utf8)
        #expect(chmod(root + "/bin/crontab", 0o755) == 0)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Runs each job once so `log`, `why` and `identities` have records to show.
    func seed(jobs names: [String]) throws {
        for name in names {
            _ = try AscribeBinary.run(["run", name, "--jobs", jobs, "--state", state, "--reason", "seed"] + (isRoot ? [] : ["--dev"]))
        }
        let log = try AscribeBinary.run(["log", "--state", state, "--type", "run.fired"])
        #expect(log.stdout.split(separator: "\n").count == names.count, "\(log.stdout)\(log.stderr)")
    }

    /// Why an example is shown but not run here, or nil.
    func notExecuted(_ example: DocumentedExample) -> String? {
        for segment in Self.pipelineSegments(example.line).dropFirst() {
            if let tool = segment.split(separator: " ").first.map(String.init), tool != "ascribe", !Self.onPath(tool) {
                return "it pipes into \(tool), which is not installed here"
            }
        }
        return nil
    }

    /// A shell line split at the `|` outside quotes.
    static func pipelineSegments(_ line: String) -> [Substring] {
        var segments: [Substring] = []
        var start = line.startIndex
        var quote: Character?
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "|" {
                segments.append(line[start..<index])
                start = line.index(after: index)
            }
        }
        return segments + [line[start...]]
    }

    static func onPath(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
    }

    /// The example's line with installed-host paths taken inside the sandbox, and the sandbox's
    /// `--jobs`/`--state` added after `ascribe COMMAND` when the command takes them and the
    /// line names none.
    func rewrite(_ example: DocumentedExample) -> String {
        var line = example.line
        for (host, inside) in [("/etc/ascribe/jobs.d", jobs), ("/var/lib/ascribe", state), ("/etc/crontab", root + "/etc/crontab"),
                               ("/etc/cron.d/", root + "/etc/cron.d/")] {
            line = line.replacingOccurrences(of: host, with: inside)
        }
        guard example.usesHostDefaults, let command = example.command, let help = helps[command],
              let range = line.range(of: "ascribe \(command)") else { return line }
        var added: [String] = []
        for (option, value) in [("--jobs", jobs), ("--state", state)]
        where help.options.contains(where: { $0.name == option }) && !line.contains(option + " ") && !Self.unused(option, by: command, in: line) {
            added += [option, value]
        }
        if !isRoot, command == "daemon" || command == "run", !line.contains("--dev") { added.append("--dev") }
        // The daemon signs checkpoints by default: its keys go in the sandbox, never /etc/ascribe/keys.
        if command == "daemon", !line.contains("--keys") { added += ["--keys", root + "/keys"] }
        guard !added.isEmpty else { return line }
        return line.replacingCharacters(in: range, with: "ascribe \(command) " + added.joined(separator: " "))
    }

    /// Options a command takes but refuses in this combination: `next --expr` reads no jobs,
    /// `plan` reads the log only for `--html`.
    static func unused(_ option: String, by command: String, in line: String) -> Bool {
        switch (command, option) {
        case ("next", "--jobs"): line.contains("--expr")
        case ("plan", "--state"): !line.contains("--html")
        default: false
        }
    }

    /// Puts back the repository's jobs.d, which `import --out jobs.d` examples add to.
    func resetJobs() throws {
        try FileManager.default.removeItem(atPath: jobs)
        try FileManager.default.copyItem(atPath: ExamplesTests.repository + "/jobs.d", toPath: jobs)
    }

    private func shell(_ line: String) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        var environment = ProcessInfo.processInfo.environment
        let binary = URL(fileURLWithPath: AscribeBinary.path).deletingLastPathComponent().path
        environment["PATH"] = "\(root)/bin:\(binary):" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["TZ"] = "UTC"
        environment["USER"] = environment["USER"] ?? (isRoot ? "root" : "nobody")
        process.environment = environment
        return process
    }

    func run(_ example: DocumentedExample) throws -> AscribeBinary.Result {
        let process = shell(rewrite(example))
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return AscribeBinary.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                                    stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A long-running example (a daemon, a follower), stopped with SIGTERM by the caller on
    /// every path (stopping twice is harmless).
    struct BackgroundProcess {
        let process: Process

        func stop() -> Int32 {
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    func startDaemon(_ arguments: [String]) throws -> BackgroundProcess {
        try start(rewrite(DocumentedExample(source: "test", line: "ascribe " + arguments.joined(separator: " "))!))
    }

    /// `output` nil: stdout is discarded. (Never `createFile` on /dev/null: Foundation writes
    /// it atomically, a temp file renamed over the path, which replaced the host's device.)
    private func start(_ line: String, output: String? = nil) throws -> BackgroundProcess {
        let process = shell("exec " + line)
        if let output {
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: output)
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        let log = root + "/daemon.stderr"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        return BackgroundProcess(process: process)
    }

    /// Starts a `--follow` example (it prints until stopped), waits for its first line (the
    /// seeded history), stops it with SIGTERM: its exit status.
    func runFollowing(_ example: DocumentedExample) throws -> Int32 {
        let output = root + "/follow.out"
        let follower = try start(rewrite(example), output: output)
        defer { _ = follower.stop() }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, follower.process.isRunning,
              (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0 == 0 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let status = follower.stop()
        #expect(!((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").isEmpty, "\(example): printed nothing")
        return status
    }

    func waitUntilAnswering(_ daemon: BackgroundProcess) throws -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, daemon.process.isRunning {
            if try AscribeBinary.run(["status", "--state", state]).status == 0 { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    /// Starts a `daemon` example, waits until it answers `status`, stops it with SIGTERM: its
    /// exit status.
    func runDaemon(_ example: DocumentedExample) throws -> Int32 {
        let daemon = try start(rewrite(example))
        defer { _ = daemon.stop() }
        let answered = try waitUntilAnswering(daemon)
        let status = daemon.stop()
        let stderr = (try? String(contentsOfFile: root + "/daemon.stderr", encoding: .utf8)) ?? ""
        #expect(answered, "\(example): the daemon did not answer status\n\(stderr)")
        return status
    }
}

/// A test that cannot run is skipped by the framework with its reason (`.requires(_:_:)`, or
/// `.enabled(if:_:)` for what CI cannot have either), so the run's summary says so; one that
/// prints "skipped" and returns counts as passed.
@Suite struct HonestSkipTests {
    @Test func noTestPrintsThatItSkipped() throws {
        let tests = AscribeBinary.repository.appendingPathComponent("Tests").path
        let files = try FileManager.default.contentsOfDirectory(atPath: tests).sorted().filter { $0.hasPrefix("Ascribe") }
            .flatMap { target in
                try FileManager.default.contentsOfDirectory(atPath: tests + "/" + target).sorted()
                    .filter { $0.hasSuffix(".swift") }.map { target + "/" + $0 }
            }
        #expect(files.count > 50, "no test files found under \(tests)")
        var printing: [String] = []
        for file in files {
            let text = try String(contentsOfFile: tests + "/" + file, encoding: .utf8)
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where line.contains("print(") && line.lowercased().contains("skip") && !line.contains("line.contains(\"print(\")") {
                printing.append("\(file):\(index + 1): \(line.trimmed)")
            }
        }
        #expect(printing.isEmpty, "use @Test(.requires(condition, \"reason\")) instead: \(printing)")
    }
}

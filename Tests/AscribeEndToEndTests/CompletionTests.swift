import Foundation
import Testing
import AscribeTestSupport

@Suite struct CompletionTests {
    @Test(arguments: [("bash", "completions/ascribe.bash"), ("zsh", "completions/_ascribe"), ("fish", "completions/ascribe.fish")])
    func committedCompletionsMatchTheHelpTexts(shell: String, file: String) throws {
        try expectInSync(["help", "--completions", shell], file: file)
    }

    @Test func unknownShellIsBadUsage() throws {
        let result = try AscribeBinary.run(["help", "--completions", "tcsh"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("bash, zsh or fish"))
    }

    /// `_ascribe` called as bash would call it, printing what it offers.
    private func bashOffers(_ words: [String]) throws -> [String] {
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let script = "source completions/ascribe.bash; COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); "
            + "_ascribe; printf '%s\\n' \"${COMPREPLY[@]}\""
        let result = try Tool.run("bash", ["--norc", "-c", script])
        #expect(result.status == 0, "\(result.output)")
        return result.output.split(separator: "\n").map(String.init)
    }

    @Test(.requires(Tool.path("bash") != nil, "bash is not installed: bash completion not exercised"))
    func bashCompletesCommandsOptionsAndValues() throws {
        #expect(try bashOffers(["ascribe", "ch"]) == ["check"])
        #expect(try bashOffers(["ascribe", "run", "--re"]) == ["--reason"])
        #expect(try bashOffers(["ascribe", "next", "--jobs", "jobs.d", "stale"]) == ["stale-lock-reaper"])
        #expect(try bashOffers(["ascribe", "log", "--type", "run.t"]) == ["run.timed_out"])
        #expect(try bashOffers(["ascribe", "import", "--format", ""]) == ["user", "system"])
        #expect(try bashOffers(["ascribe", "check", "--credentials", "Sources/ascribe-e"]) == ["Sources/ascribe-exec"])
        #expect(try bashOffers(["ascribe", "run", "--reason", ""]).isEmpty)
    }

    @Test(.requires(Tool.path("bash") != nil && FileManager.default.fileExists(atPath: "/usr/share/zoneinfo/Europe/Berlin"),
                    "bash or the zone database is missing: --tz completion not exercised"))
    func bashCompletesZoneNames() throws {
        let offered = try bashOffers(["ascribe", "next", "--tz", "Europe/Ber"])
        #expect(offered.contains("Europe/Berlin"))
        #expect(try bashOffers(["ascribe", "next", "--tz", "posix/"]).isEmpty)
    }

    @Test(.requires(Tool.path("zsh") != nil, "zsh is not installed: zsh completion not checked"))
    func zshLoadsTheCompletion() throws {
        let syntax = try Tool.run("zsh", ["-n", "completions/_ascribe"])
        #expect(syntax.status == 0, "\(syntax.output)")
        let registered = try Tool.run("zsh", ["-f", "-c", "fpath=(completions $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[ascribe]"])
        #expect(registered.output == "_ascribe\n", "\(registered.output)")
    }

    @Test(.requires(Tool.path("fish") != nil, "fish is not installed: fish completion not exercised"))
    func fishCompletesCommandsOptionsAndValues() throws {
        func offers(_ line: String) throws -> [String] {
            let result = try Tool.run("fish", ["--no-config", "-c", "source completions/ascribe.fish; complete -C '\(line)'"])
            #expect(result.status == 0, "\(result.output)")
            return result.output.split(separator: "\n").map { String($0.split(separator: "\t")[0]) }
        }
        #expect(try offers("ascribe ch") == ["check"])
        #expect(try offers("ascribe run --jobs jobs.d stale") == ["stale-lock-reaper"])
        #expect(try offers("ascribe log --type run.t") == ["run.timed_out"])
        #expect(try offers("ascribe next --tz Europe/Berl").contains("Europe/Berlin"))
    }
}

import Foundation
import Glibc
import Testing
@testable import AscribeRuntime
import AscribeTestSupport

/// Output capture: the cap, exact counts, the tail, the digest, and the drain deadline.
@Suite struct LauncherOutputTests {
    @Test func capIsRespectedAndCountsAreExact() throws {
        try withScratch { scratch in
            let script = #"head -c 100000 /dev/zero; printf 'e1\ne2\n' >&2"#
            let completion = try launchAndWait(makeLauncher(scratch), makeRequest(scratch, ["/bin/sh", "-c", script], cap: 4096))
            let output = completion.output
            #expect(output.stdoutBytes == 100_000)
            #expect(output.stderrBytes == 6)
            #expect(output.capturedBytes == 4096)
            #expect(output.capped)
            let path = try #require(output.path)
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 4096)
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        }
    }

    @Test func uncappedOutputIsCapturedWhole() throws {
        try withScratch { scratch in
            let completion = try launchAndWait(makeLauncher(scratch), makeRequest(scratch, ["/bin/echo", "hello"], cap: 6))
            #expect(try capturedText(completion) == "hello\n")
            #expect(!completion.output.capped && completion.output.capturedBytes == 6)
        }
    }

    @Test func aSilentRunLeavesNoCaptureFile() throws {
        try withScratch { scratch in
            let request = makeRequest(scratch, ["/bin/true"])
            let completion = try launchAndWait(makeLauncher(scratch), request)
            #expect(completion.output.path == nil && completion.output.totalBytes == 0 && completion.output.tail.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: request.outputPath))
            // A cap of 0 keeps nothing either, but still counts and digests.
            let uncaptured = try launchAndWait(makeLauncher(scratch), makeRequest(scratch, ["/bin/echo", "hi"], cap: 0))
            #expect(uncaptured.output.path == nil && uncaptured.output.stdoutBytes == 3 && uncaptured.output.capped)
            #expect(uncaptured.output.sha256 == FNV1aDigest.of(Array("hi\n".utf8)))
        }
    }

    @Test func tailKeepsTheLastTwentyLines() throws {
        try withScratch { scratch in
            let script = #"i=1; while [ $i -le 30 ]; do echo "line $i"; i=$((i+1)); done"#
            let completion = try launchAndWait(makeLauncher(scratch), makeRequest(scratch, ["/bin/sh", "-c", script]))
            #expect(completion.output.tail == (11...30).map { "line \($0)\n" }.joined())
        }
    }

    @Test func tailKeepsTheLastFourKilobytesOfALongLine() throws {
        try withScratch { scratch in
            let script = #"head -c 10000 /dev/zero | tr '\0' x; printf 'é!'"#
            let completion = try launchAndWait(makeLauncher(scratch), makeRequest(scratch, ["/bin/sh", "-c", script]))
            let tail = completion.output.tail
            #expect(tail.utf8.count == 4096)
            #expect(tail.hasSuffix("xé!") && tail.dropLast(2).allSatisfy { $0 == "x" })
        }
    }

    @Test func tailStartsAtACharacterBoundary() {
        var tail = OutputTail()
        tail.append(Array(repeating: UInt8(ascii: "a"), count: 10)[...])
        tail.append(Array(String(repeating: "é", count: 2048).utf8)[...])
        tail.append([UInt8(ascii: "z")][...])
        #expect(tail.text == String(repeating: "é", count: 2047) + "z")
    }

    @Test func digestCoversEveryByteReadAndIsStable() throws {
        try withScratch { scratch in
            let script = #"i=0; while [ $i -lt 3000 ]; do echo "row $i"; i=$((i+1)); done"#
            let launcher = makeLauncher(scratch)
            let whole = try launchAndWait(launcher, makeRequest(scratch, ["/bin/sh", "-c", script]))
            let again = try launchAndWait(launcher, makeRequest(scratch, ["/bin/sh", "-c", script]))
            let capped = try launchAndWait(launcher, makeRequest(scratch, ["/bin/sh", "-c", script], cap: 100))
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try #require(whole.output.path))))
            #expect(bytes.count == whole.output.stdoutBytes && !whole.output.capped)
            #expect(whole.output.sha256 == FNV1aDigest.of(bytes))
            #expect(again.output.sha256 == whole.output.sha256)
            #expect(capped.output.sha256 == whole.output.sha256, "bytes beyond the cap are digested too")
            #expect(capped.output.capturedBytes == 100 && capped.output.stdoutBytes == bytes.count)
        }
    }

    @Test func drainingStopsWhenABackgroundProcessHoldsTheOutputOpen() throws {
        try withScratch { scratch in
            let launcher = makeLauncher(scratch, drainGrace: .milliseconds(300))
            let completion = try launchAndWait(launcher, makeRequest(scratch, ["/bin/sh", "-c", "sleep 5 & echo started"]))
            kill(-completion.pid, SIGKILL)
            #expect(completion.outcome == .exited(code: 0))
            #expect(completion.output.drainCutShort)
            #expect(completion.output.tail == "started\n")
        }
    }
}

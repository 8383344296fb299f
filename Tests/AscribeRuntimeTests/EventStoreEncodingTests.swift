import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

private typealias Fixture = EventStoreFixture

@Suite struct EventStoreEncodingTests {
    private static let fixedID = "00112233445566778899aabbccddeeff"

    private func canonical(_ content: EventDraft, seq: Int64 = 1) -> [UInt8] {
        CanonicalEncoding.bytes(seq: seq, eventID: Self.fixedID, content: content, prevHash: Event.genesisHash)
    }

    /// docs/EVENTS.md spells this layout out; a change here is a new format version.
    @Test func theLayoutIsTheDocumentedOne() {
        let bytes = canonical(Fixture.daemonDraft(), seq: 258)
        #expect(Array(bytes.prefix(16)) == Array("ascribe-event-v1".utf8))
        #expect(Array(bytes[16..<34]) == [1, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 1, 2])
        #expect(Array(bytes[34..<44]) == [2, 1, 0, 0, 0, 0, 0, 0, 0, 32])
        #expect(Array(bytes[44..<76]) == Array(Self.fixedID.utf8))
        // principal (tag 7) is absent: tag, then presence 0, then the next tag.
        let principal = bytes.firstRange(of: [6, 1, 0, 0, 0, 0, 0, 0, 0, 22] + Array("ascribe-scheduler@web1".utf8))
        #expect(principal.map { Array(bytes[$0.upperBound..<$0.upperBound + 3]) } == [7, 0, 8])
        // The last field is prev_hash (tag 30): 64 ASCII zeros.
        #expect(Array(bytes.suffix(74)) == [30, 1, 0, 0, 0, 0, 0, 0, 0, 64] + Array(Event.genesisHash.utf8))
    }

    @Test func theHashOfAFixedEventNeverChanges() throws {
        let digest = try SHA256.digest(canonical(Fixture.fullDraft()))
        #expect(digest.hex == "c32d7bb37e21cbdd73561a37045824963b70af2f953ecedc12e498ee3f114f54")
    }

    @Test func differentEventsNeverEncodeAlike() {
        var base = Fixture.fullDraft()
        base.argv = ["a b"]
        var split = base
        split.argv = ["a", "b"]
        var absent = base
        absent.argv = nil
        var empty = base
        empty.argv = []
        var emptyReason = base
        emptyReason.reason = ""
        var noReason = base
        noReason.reason = nil
        var movedText = base
        movedText.reason = (base.reason ?? "") + "x"
        movedText.runAs = String((base.runAs ?? "").dropFirst())
        var detailsSplit = base
        detailsSplit.details = ["ab": "c"]
        var detailsJoined = base
        detailsJoined.details = ["a": "bc"]
        let variants = [base, split, absent, empty, emptyReason, noReason, movedText, detailsSplit, detailsJoined]
        let encodings = Set(variants.map { canonical($0) })
        #expect(encodings.count == variants.count)
        #expect(canonical(base, seq: 1) != canonical(base, seq: 2))
    }

    @Test func detailsEncodeInKeyOrderWhateverTheDictionaryOrder() {
        var one = Fixture.daemonDraft()
        var two = one
        one.details = Dictionary(uniqueKeysWithValues: (0..<50).map { ("key-\($0)", "value \($0)") })
        two.details = Dictionary(uniqueKeysWithValues: (0..<50).reversed().map { ("key-\($0)", "value \($0)") })
        #expect(canonical(one) == canonical(two))
        #expect(StoredJSON.render(one.details) == StoredJSON.render(two.details))
    }

    @Test(arguments: [
        [String](), [""], ["plain", "with space", "quote\"", "back\\slash", "nl\nnl", "\u{0}\u{1F}\u{7F}", "é✓😀", "\u{2028}"],
    ])
    func storedJSONRoundTrips(list: [String]) {
        #expect(StoredJSON.stringArray(StoredJSON.render(list)) == list)
        let map = Dictionary(uniqueKeysWithValues: list.enumerated().map { ("k\($0.offset)\($0.element)", $0.element) })
        #expect(StoredJSON.stringObject(StoredJSON.render(map)) == map)
    }

    @Test(arguments: [
        "", "[", "[\"a\",]", "[\"a\" \"b\"]", "[1]", "[\"a\"] x", "[\"\\x\"]", "[\"\\ud800\"]", "[\"\\udc00x\"]",
        "[\"raw\ncontrol\"]", "{\"a\":\"b\",\"a\":\"c\"}", "{\"a\":1}", "{\"a\"}", "{}", "[]",
    ])
    func storedJSONRejectsWhatAscribeNeverWrites(text: String) {
        let acceptable = text == "{}" || text == "[]"
        #expect((StoredJSON.stringArray(text) != nil || StoredJSON.stringObject(text) != nil) == acceptable)
    }

    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (1_795_458_600_123, "2026-11-23T18:30:00.123Z"),
        (1_795_458_600_007, "2026-11-23T18:30:00.007Z"),
    ])
    func eventTimesPrintInUTCWithMilliseconds(milliseconds: Int64, text: String) {
        let time = EventTime(millisecondsSinceEpoch: milliseconds)
        #expect(time.rfc3339 == text)
        #expect(time.instant.secondsSinceEpoch == milliseconds.floorDivided(by: 1000))
    }

    @Test func extremeTimesStillRender() {
        for milliseconds in [Int64.min, Int64.max, -62_167_219_200_001] {
            #expect(EventTime(millisecondsSinceEpoch: milliseconds).rfc3339.hasSuffix("Z"))
        }
        #expect(EventTime(Instant(secondsSinceEpoch: .max)).millisecondsSinceEpoch == .max)
    }

    private func stored(_ content: EventDraft) -> Event {
        Event(seq: 42, eventID: Self.fixedID, content: content, prevHash: Event.genesisHash, hash: String(repeating: "f", count: 64))
    }

    /// The default line: who, what and how it ended, without the internal fields.
    @Test func theDefaultLogLineIsShortAndReadable() {
        var failed = Fixture.fullDraft()
        failed.details = ["launch_failure": "none", "recorder_pid": "4711", "spawned_at": "2026-11-23T18:30:00.001Z"]
        #expect(stored(failed).logLine == """
            2026-11-23T18:30:00.123Z  run.failed  failure-drill  failure-drill → alice  exit 3 after 12ms  \
            last "error: disk full"  reason "drill \\"quoted\\"\\nsecond line"  run 01234567  [dev]
            """)
        var skipped = Fixture.fullDraft()
        skipped.type = .runSkipped
        skipped.principal = nil
        skipped.reason = nil
        skipped.development = false
        skipped.details = ["skip_reason": "overlap", "running_run_id": "r59"]
        #expect(stored(skipped).logLine == """
            2026-11-23T18:30:00.123Z  run.skipped  failure-drill  failure-drill  slot 2026-11-23T18:30:00.000Z  \
            skipped: run r59 was still in progress (overlap)  run 01234567
            """)
        var missed = skipped
        missed.type = .runMissed
        missed.runID = nil
        missed.reason = "the daemon was down from 2026-11-23T18:00:00.000Z to 2026-11-23T19:00:00.000Z"
        missed.details = ["down_from": "2026-11-23T18:00:00.000Z", "catch_up": "none"]
        #expect(stored(missed).logLine == """
            2026-11-23T18:30:00.123Z  run.missed  failure-drill  failure-drill  slot 2026-11-23T18:30:00.000Z  \
            reason "the daemon was down from 2026-11-23T18:00:00.000Z to 2026-11-23T19:00:00.000Z"
            """)
        var launch = skipped
        launch.type = .runLaunchFailed
        launch.details = ["error": "no such file: /usr/bin/missing\n", "failure": "exec"]
        #expect(stored(launch).logLine.hasSuffix("  failure-drill  could not launch: no such file: /usr/bin/missing\\n  run 01234567"))
        var heartbeat = Fixture.daemonDraft(.daemonHeartbeat)
        heartbeat.reason = "spoof\n2026-01-01T00:00:00.000Z  run.succeeded\u{202E}"
        #expect(stored(heartbeat).logLine == """
            2026-11-23T18:30:00.000Z  daemon.heartbeat  -  ascribe-scheduler@web1  \
            reason "spoof\\n2026-01-01T00:00:00.000Z  run.succeeded\\u{202e}"
            """)
        #expect(stored(Fixture.fullDraft()).logLine.count < 200)
    }

    @Test func theVerboseLogLineSaysEverythingOnOneLine() {
        var failed = Fixture.fullDraft()
        failed.details = ["launch_failure": "none"]
        #expect(stored(failed).verboseLogLine == """
            2026-11-23T18:30:00.123Z  run.failed  failure-drill  actor failure-drill for alice  pid 4242 as drill:drill exit 3 after 12ms  \
            slot 2026-11-23T18:30:00.000Z  reason "drill \\"quoted\\"\\nsecond line"  launch_failure="none"  last "error: disk full"  [dev]
            """)
        var heartbeat = Fixture.daemonDraft(.daemonHeartbeat)
        heartbeat.reason = "spoof\n2026-01-01T00:00:00.000Z  run.succeeded\u{202E}"
        #expect(stored(heartbeat).verboseLogLine == """
            2026-11-23T18:30:00.000Z  daemon.heartbeat  -  actor ascribe-scheduler@web1  \
            reason "spoof\\n2026-01-01T00:00:00.000Z  run.succeeded\\u{202e}"
            """)
    }

    @Test(arguments: [(Int64(12), "12ms"), (4_250, "4.2s"), (185_000, "3m05s"), (7_380_000, "2h03m")])
    func durationsReadNaturally(milliseconds: Int64, text: String) {
        #expect(Event.duration(milliseconds) == text)
    }

    @Test func theJSONObjectHasEveryFieldInTableOrder() {
        let json = stored(Fixture.daemonDraft()).jsonObject.rendered
        #expect(json == """
            {"seq":42,"event_id":"\(Self.fixedID)","time":"2026-11-23T18:30:00.000Z","host":"web1","type":"daemon.started",\
            "actor":"ascribe-scheduler@web1","principal":null,"owner":null,"job":null,"identity":null,"run_id":null,\
            "scheduled_for":null,"reason":null,"argv":null,"run_as":null,"config_source":null,"config_hash":null,"pid":null,\
            "exit_code":null,"signal":null,"duration_ms":null,"stdout_bytes":null,"stderr_bytes":null,"output_sha256":null,\
            "output_tail":null,"output_cap_bytes":null,"output_path":null,"development":false,"details":{},\
            "prev_hash":"\(Event.genesisHash)","hash":"\(String(repeating: "f", count: 64))"}
            """)
        let full = stored(Fixture.fullDraft()).jsonObject.rendered
        #expect(full.contains(#""argv":["/usr/bin/env","sh","-c","exit 3","","nul\u0000byte","ünïcødé ✓","[\"json\"]"]"#))
        #expect(full.contains(#""details":{"":"empty key","launch_failure":"none","note":"a=b, c\td"}"#))
    }
}

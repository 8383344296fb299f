import Testing
import AscribeCore
@testable import AscribeRuntime

/// The structured details: each encoder's text is what the log has always held, and its
/// decoder reads it back (docs/EVENTS.md, "The details vocabulary").
@Suite struct EventVocabularyTests {
    @Test func everyDetailKeyIsStoredAsOneDistinctSnakeCaseName() {
        let stored = DetailKey.allCases.map(\.rawValue)
        #expect(Set(stored).count == stored.count)
        #expect(stored.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
    }

    @Test func jobHashListsReadAndWriteNameEqualsHash() {
        let list = JobHashList([("backup", "0123456789ab"), ("report", nil)])
        #expect(list.encoded == "backup=0123456789ab,report=-")
        #expect(JobHashList(decoding: list.encoded) == list)
        #expect(JobHashList(decoding: list.encoded).hashes.map { "\($0.0)=\($0.1)" } == ["backup=0123456789ab"])
        // A reload's `jobs` is a count, not a list.
        #expect(JobHashList(decoding: "2").entries.isEmpty)
    }

    @Test func aConfigLoadedIsDecodedOnceForEveryReader() {
        let start = ConfigLoadDetails(EventDetails([.jobs: "a=111111111111,b=-", .rejected: "c", .kept: "c=222222222222"]))
        #expect(start.reload == nil && start.jobs.names == ["a", "b"] && start.rejected == ["c"])
        #expect(start.kept.hashes.map(\.1) == ["222222222222"] && start.lists("a") && !start.lists("c"))
        let reload = ConfigLoadDetails(EventDetails([.jobs: "3", .added: "d=333333333333", .changed: "", .removed: "a=-"]))
        #expect(reload.jobs.entries.isEmpty && reload.reload?.added.names == ["d"])
        #expect(reload.reload?.removed.names == ["a"] && reload.lists("d") && !reload.lists("a"))
    }

    @Test func typedValuesKeepTheirStoredWords() {
        var details = EventDetails()
        details.trigger = .catchUp
        details.skipReason = .storeUnwritable
        details.downCause = .crashed
        details.stoppedBy = .daemonShutdown
        #expect(details == ["trigger": "catch-up", "skip_reason": "store-unwritable", "down_cause": "crashed",
                            "stopped_by": "daemon-shutdown"])
        let later: EventDetails = ["skip_reason": "a-reason-from-a-later-version"]
        #expect(later.skipReason == nil)
    }

    @Test func downWindowsEndingsDisablementsAndCollapsedSlotsRoundTrip() {
        let from = EventTime(millisecondsSinceEpoch: 1_795_456_800_000)
        let until = EventTime(millisecondsSinceEpoch: 1_795_460_400_000)
        let window = DownWindow(from: from, until: until)
        #expect(window.details == ["down_from": "2026-11-23T18:00:00.000Z", "down_until": "2026-11-23T19:00:00.000Z"])
        #expect(DownWindow(window.details) == window)
        let disabled = DisabledDetails(by: "alice", at: from.rfc3339, reason: "swap", seq: "7")
        #expect(DisabledDetails(disabled.details) == disabled && disabled.details["disabled_seq"] == "7")
        let collapsed = CollapsedSlots(count: 3, first: from, last: until)
        #expect(CollapsedSlots.count(in: collapsed.details) == 3)
        #expect(CollapsedSlots.range(in: collapsed.details).map { [$0.first, $0.last] } == [from, until])
        #expect(CollapsedSlots.count(in: [:]) == 1 && CollapsedSlots.range(in: [:]) == nil)
        for ending in [DaemonEnding.crashed(lastSignOfLife: from), .stopped(at: until, by: "SIGTERM from root")] {
            #expect(DaemonEnding(details: ending.details) == ending)
        }
    }
}

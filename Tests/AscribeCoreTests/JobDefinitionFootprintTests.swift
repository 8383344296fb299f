import Testing
@testable import AscribeCore
import AscribeCoreTestSupport

/// Issue 11 item 6: what a daemon keeps per job, checked by structure rather than by timing
/// (the figures are in BENCHMARKS.md).
@Suite struct JobDefinitionFootprintTests {
    /// A daemon keeps one definition per job in a dictionary with more buckets than jobs: each
    /// bucket holds a pointer to the fields, not the fields (about 400 bytes) themselves.
    @Test func definitionIsOnePointerWide() {
        #expect(MemoryLayout<JobDefinition>.size == MemoryLayout<Int>.size)
    }

    /// The daemon's upcoming slots hold, per calendar job, the definition (one pointer, its
    /// box shared with the daemon's table) and the next fire: not copies of the job's name,
    /// expression and zone (about 190 bytes a job before).
    @Test func upcomingSlotEntryIsADefinitionAndItsNextFire() {
        #expect(MemoryLayout<UpcomingSlots.Entry>.size <= MemoryLayout<Int>.size + MemoryLayout<Fire?>.stride)
    }

    /// Boxed fields keep value semantics: a changed copy leaves the original as it was, and two
    /// definitions built alike are equal and hash alike.
    @Test func boxedDefinitionKeepsValueSemantics() throws {
        let parsed = try #require(JobFileFixture.parse(JobFileFixture.file()).definition)
        var changed = parsed
        changed.enabled = false
        changed.overlap = .queue
        #expect(parsed.enabled && parsed.overlap == .skip)
        #expect(!changed.enabled && changed.overlap == .queue)
        #expect(changed != parsed)
        let again = try #require(JobFileFixture.parse(JobFileFixture.file()).definition)
        #expect(again == parsed)
        #expect(Set([again, parsed, changed]).count == 2)
        #expect(parsed.source.line(of: .identity) == 2)
        #expect(parsed.source.column(of: .owner) == 9)
        #expect(parsed.source.line(of: .runbook) == nil)
    }
}

import AscribeCore
import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport
import AscribeCoreTestSupport

private typealias Fixture = EventStoreFixture

/// The store's Merkle tree against an in-memory one built from the same event hashes.
@Suite struct EventStoreMerkleTests {
    private func drafts(_ count: Int, from start: Int = 0) -> [EventDraft] {
        (start..<start + count).map { Fixture.draft(minute: Int64($0)) }
    }

    @Test func appendsInBatchesKeepTheTreeOfEveryPrefix() throws {
        try Fixture.withStorePath { path in
            let store = try EventStore.open(path: path)
            #expect(try store.merkleTreeSize() == 0)
            #expect(try store.merkleRoot(size: 0).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            var memory = MemoryMerkleTree()
            var total = 0
            for batch in [1, 1, 2, 5, 8, 1, 13] {
                for event in try store.append(drafts(batch, from: total)) { try memory.append(Array(event.hash.utf8)) }
                total += batch
                #expect(try store.merkleTreeSize() == UInt64(total))
            }
            for size in UInt64(0)...UInt64(total) {
                #expect(try store.merkleRoot(size: size) == memory.root(size: size), "size \(size)")
            }
            let root = try store.merkleRoot(size: 31)
            for seq in Int64(1)...31 {
                let proof = try store.inclusionProof(seq: seq, size: 31)
                let event = try #require(store.events(afterSeq: seq - 1, limit: 1).first)
                #expect(try memory.verifyInclusion(index: UInt64(seq - 1), size: 31,
                                                   leaf: EventStore.merkleLeaf(eventHash: event.hash), proof: proof, root: root))
            }
            for old in UInt64(0)...31 {
                let proof = try store.consistencyProof(oldSize: old, newSize: 31)
                #expect(try memory.verifyConsistency(oldSize: old, newSize: 31, oldRoot: store.merkleRoot(size: old),
                                                     newRoot: root, proof: proof))
            }
            #expect(throws: EventStoreError.self) { try store.merkleRoot(size: 32) }
            #expect(throws: EventStoreError.self) { try store.inclusionProof(seq: 32, size: 31) }
        }
    }

    /// A log written before the tree existed (schema 2): opening it read-write builds the tree
    /// from its events, in the migration's transaction, to the same roots an append would give.
    @Test(.enabled(if: EventStoreFixture.sqliteToolInstalled, "the sqlite3 command-line tool is not installed"))
    func anOldLogIsMigratedAndItsTreeBuilt() throws {
        try Fixture.withStorePath { path in
            let expected: MerkleHash
            do {
                let store = try EventStore.open(path: path)
                try store.append(drafts(37))
                expected = try store.merkleRoot(size: 37)
            }
            try Fixture.sqlite3(path, "DROP TABLE merkle_nodes; PRAGMA user_version = 2;")
            #expect(throws: EventStoreError.schemaOutdated(path: path, found: 2, supported: EventSchema.version)) {
                try EventStore.open(path: path, access: .readOnly)
            }
            let migrated = try EventStore.open(path: path)
            #expect(try migrated.merkleTreeSize() == 37)
            #expect(try migrated.merkleRoot(size: 37) == expected)
            try migrated.append(drafts(3, from: 37))
            let reader = try EventStore.open(path: path, access: .readOnly)
            #expect(try reader.verify() == .intact(count: 40))
            #expect(try reader.merkleTreeSize() == 40)
            #expect(try Fixture.sqlite3(path, "PRAGMA user_version") == String(EventSchema.version))
        }
    }

    /// Rows of the tree are append-only like the events; a log whose events were deleted behind
    /// the tree's back refuses further appends rather than grow a second history.
    @Test(.enabled(if: EventStoreFixture.sqliteToolInstalled, "the sqlite3 command-line tool is not installed"))
    func aTreeAheadOfTheEventsRefusesAppends() throws {
        try Fixture.withStorePath { path in
            try EventStore.open(path: path).append(drafts(6))
            #expect(throws: Fixture.SQLiteToolFailure.self) { try Fixture.sqlite3(path, "DELETE FROM merkle_nodes WHERE level = 0 AND idx = 5") }
            try Fixture.sqlite3(path, EventStoreTamperTests.dropTriggers + "DELETE FROM events WHERE seq > 4;")
            let store = try EventStore.open(path: path)
            #expect(throws: EventStoreError.self) { try store.append(Fixture.draft()) }
            #expect(try store.count() == 4)
        }
    }
}

import AscribeCore

/// The fleet's chain has no Merkle tree yet (issue 12 leaves it to the checkpoints work), so a
/// fleet host cannot sign checkpoints: every call says so rather than answering for a tree
/// that is not kept. `ascribe daemon` refuses `--checkpoints` with `--store` for the same reason.
extension PostgreSQLEventLog {
    static let noTree = EventStoreError.merkleTree(
        "a fleet's log in PostgreSQL keeps no Merkle tree yet, so it has no checkpoints (docs/FLEET.md)")

    public func merkleTreeSize() throws(EventStoreError) -> UInt64 { throw Self.noTree }

    public func merkleRoot(size: UInt64) throws(EventStoreError) -> MerkleHash { throw Self.noTree }

    public func inclusionProof(seq: Int64, size: UInt64) throws(EventStoreError) -> [MerkleHash] { throw Self.noTree }

    public func consistencyProof(oldSize: UInt64, newSize: UInt64) throws(EventStoreError) -> [MerkleHash] { throw Self.noTree }
}

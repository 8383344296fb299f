import AscribeCore

/// The log as an RFC 6962 Merkle tree (PRODUCT.md section 9): leaf n-1 is event seq n, its leaf
/// data the event's `hash` as stored (64 lowercase hex characters). The store keeps every
/// complete subtree (`merkle_nodes`), written in the transaction that writes its last event, so
/// an append adds O(log n) rows and a root or proof reads O(log² n).
extension EventStore {
    /// How many leaves the tree holds: the events it covers, seq 1 through this.
    public func merkleTreeSize() throws(EventStoreError) -> UInt64 {
        let value = try sqlite { () throws(SQLiteError) in
            try database.scalar("SELECT max(idx) FROM merkle_nodes WHERE level = 0")
        }
        guard case .integer(let last) = value else { return 0 }
        return UInt64(clamping: last) + 1
    }

    /// The root of the first `size` events (the tree head a checkpoint signs).
    public func merkleRoot(size: UInt64) throws(EventStoreError) -> MerkleHash {
        try checkTreeHolds(size)
        return try TreeNodes(store: self).root(size: size)
    }

    /// The audit path of event `seq` in the tree of its first `size` events.
    public func inclusionProof(seq: Int64, size: UInt64) throws(EventStoreError) -> [MerkleHash] {
        try checkTreeHolds(size)
        guard seq >= 1, UInt64(seq) <= size else {
            throw .merkleTree("seq \(seq) is not among the first \(size) events")
        }
        return try TreeNodes(store: self).inclusionProof(index: UInt64(seq - 1), size: size)
    }

    /// The proof that the tree of `newSize` events extends the one of `oldSize`.
    public func consistencyProof(oldSize: UInt64, newSize: UInt64) throws(EventStoreError) -> [MerkleHash] {
        try checkTreeHolds(newSize)
        guard oldSize <= newSize else { throw .merkleTree("tree size \(oldSize) is larger than \(newSize)") }
        return try TreeNodes(store: self).consistencyProof(oldSize: oldSize, newSize: newSize)
    }

    /// The leaf hash of an event with `hash`: SHA-256(0x00 ‖ the hash's 64 hex characters).
    public static func merkleLeaf(eventHash: String) throws(EventStoreError) -> MerkleHash {
        try TreeNodes.hashing { () throws(SHA256Error) in try TreeHashing().leafHash(Array(eventHash.utf8)) }
    }

    /// Adds to the tree the stored events it does not cover yet, then `appended` (events this
    /// transaction just inserted, in seq order). Runs inside the caller's write transaction:
    /// on migration (a log written before the tree existed) and on every append.
    func extendMerkleTree(with appended: [Event] = []) throws(EventStoreError) {
        let nodes = TreeNodes(store: self)
        var size = try merkleTreeSize()
        let insert = try sqlite { () throws(SQLiteError) in
            try database.prepare("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
        }
        func add(_ event: Event) throws(EventStoreError) {
            guard UInt64(clamping: event.seq) == size + 1 else {
                throw .merkleTree("the tree holds \(size) events but the next event is seq \(event.seq) "
                    + "(events were deleted or inserted outside Ascribe; run `ascribe verify`)")
            }
            let leaf = try Self.merkleLeaf(eventHash: event.hash)
            for node in try nodes.nodesCompleted(byLeaf: leaf, at: size) {
                try sqlite { () throws(SQLiteError) in
                    try insert.bind([.integer(Int64(node.level)), .integer(Int64(node.index)), .blob(node.hash.bytes)])
                    _ = try insert.step()
                    try insert.reset()
                }
                nodes.remember(node)
            }
            size += 1
        }
        let firstAppended = appended.first.map { UInt64(clamping: $0.seq) } ?? UInt64.max
        while size + 1 < firstAppended {
            let events = try events(afterSeq: Int64(clamping: size), limit: 4096)
            guard !events.isEmpty else { break }
            for event in events where UInt64(clamping: event.seq) < firstAppended { try add(event) }
            if events.count < 4096 { break }
        }
        for event in appended { try add(event) }
    }

    private func checkTreeHolds(_ size: UInt64) throws(EventStoreError) {
        let treeSize = try merkleTreeSize()
        guard size <= treeSize else {
            throw .merkleTree("the tree holds \(treeSize) event\(treeSize == 1 ? "" : "s"), not \(size)")
        }
    }
}

/// The stored nodes as the core's tree reads them, plus the nodes completed by this
/// transaction's appends: the left sibling an append needs is always the newest node at its
/// level, so appends read nothing after the first.
private final class TreeNodes: MerkleNodeReading {
    private let store: EventStore
    private var newest: [Int: MerkleNode] = [:]

    init(store: EventStore) {
        self.store = store
    }

    func digest(_ bytes: [UInt8]) throws(EventStoreError) -> [UInt8] {
        try Self.hashing { () throws(SHA256Error) in try TreeHashing().digest(bytes) }
    }

    func remember(_ node: MerkleNode) {
        newest[node.level] = node
    }

    func perfectNode(level: Int, index: UInt64) throws(EventStoreError) -> MerkleHash {
        if let node = newest[level], node.index == index { return node.hash }
        let statement = try store.sqlite { () throws(SQLiteError) in
            try store.database.prepare("SELECT hash FROM merkle_nodes WHERE level = ?1 AND idx = ?2")
        }
        try store.sqlite { () throws(SQLiteError) in try statement.bind([.integer(Int64(level)), .integer(Int64(clamping: index))]) }
        guard try store.sqlite({ () throws(SQLiteError) in try statement.step() }) else {
            throw .merkleTree("the node at level \(level), index \(index) is missing (rows were deleted outside Ascribe)")
        }
        guard case .blob(let bytes) = try store.sqlite({ () throws(SQLiteError) in try statement.value(at: 0) }),
              let hash = MerkleHash(bytes: bytes) else {
            throw .merkleTree("the node at level \(level), index \(index) is not a 32-byte hash (edited outside Ascribe)")
        }
        return hash
    }

    static func hashing<Result>(_ work: () throws(SHA256Error) -> Result) throws(EventStoreError) -> Result {
        do {
            return try work()
        } catch {
            throw .hashing(error)
        }
    }
}

/// One hash of the log's Merkle tree: 32 bytes of SHA-256.
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    /// Nil unless `bytes` is 32 bytes long.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    public init?(base64: some StringProtocol) {
        guard let bytes = Base64.standard.decode(base64) else { return nil }
        self.init(bytes: bytes)
    }

    /// Lowercase or uppercase hex, 64 digits.
    public init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count == Self.byteCount * 2 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        var index = 0
        while index < digits.count {
            guard let high = Self.hexValue(digits[index]), let low = Self.hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.bytes = bytes
    }

    /// For a digest the caller's hash function produced: its length is that function's promise.
    init(digest: [UInt8]) {
        bytes = digest
    }

    public var base64: String { Base64.standard.encode(bytes) }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }

    public var description: String { hex }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// SHA-256, supplied by the caller: the core makes no system calls, and the runtime's digest
/// is libcrypto's. RFC 6962's two domain-separated hashes are built on it.
public protocol MerkleHashing {
    associatedtype Failure: Error
    /// SHA-256 of `bytes` (32 bytes).
    func digest(_ bytes: [UInt8]) throws(Failure) -> [UInt8]
}

extension MerkleHashing {
    /// RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
    public func leafHash(_ data: some Collection<UInt8>) throws(Failure) -> MerkleHash {
        MerkleHash(digest: try digest([0x00] + Array(data)))
    }

    /// RFC 6962 interior node: SHA-256(0x01 ‖ left ‖ right).
    public func nodeHash(_ left: MerkleHash, _ right: MerkleHash) throws(Failure) -> MerkleHash {
        MerkleHash(digest: try digest([0x01] + left.bytes + right.bytes))
    }

    /// The root of the empty tree: SHA-256 of nothing.
    public func emptyRoot() throws(Failure) -> MerkleHash {
        MerkleHash(digest: try digest([]))
    }

    /// Whether `proof` shows the leaf hashed `leaf` at `index` is in the tree of `size` leaves
    /// whose root is `root` (RFC 9162 section 2.1.3.2).
    public func verifyInclusion(index: UInt64, size: UInt64, leaf: MerkleHash, proof: [MerkleHash],
                                root: MerkleHash) throws(Failure) -> Bool {
        guard index < size else { return false }
        var fn = index, sn = size - 1
        var hash = leaf
        for sibling in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                hash = try nodeHash(sibling, hash)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                hash = try nodeHash(hash, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && hash == root
    }

    /// Whether `proof` shows the tree of `newSize` leaves with root `newRoot` extends the tree
    /// of `oldSize` leaves with root `oldRoot`: same leaves, more after them (RFC 9162
    /// section 2.1.4.2). Equal sizes need equal roots and an empty proof; an empty old tree is
    /// extended by every tree, with an empty proof.
    public func verifyConsistency(oldSize: UInt64, newSize: UInt64, oldRoot: MerkleHash, newRoot: MerkleHash,
                                  proof: [MerkleHash]) throws(Failure) -> Bool {
        guard oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var oldHash = path[0], newHash = path[0]
        for node in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                oldHash = try nodeHash(node, oldHash)
                newHash = try nodeHash(node, newHash)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                newHash = try nodeHash(newHash, node)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && oldHash == oldRoot && newHash == newRoot
    }
}

/// A Merkle tree kept as its perfect subtrees: each node covering 2^level leaves starting at
/// leaf `index << level` is stored once it is complete, so an append stores at most
/// log2(n)+1 hashes and any root or proof reads O(log² n) of them.
public protocol MerkleNodeReading: MerkleHashing {
    /// The stored hash of the complete subtree of 2^`level` leaves numbered `index`.
    func perfectNode(level: Int, index: UInt64) throws(Failure) -> MerkleHash
}

/// A node stored once complete: its level (0 for a leaf), its number at that level, its hash.
public struct MerkleNode: Equatable, Sendable {
    public var level: Int
    public var index: UInt64
    public var hash: MerkleHash

    public init(level: Int, index: UInt64, hash: MerkleHash) {
        self.level = level
        self.index = index
        self.hash = hash
    }
}

extension MerkleNodeReading {
    /// The nodes the leaf at `index` completes, to be stored: the leaf itself, then each parent
    /// whose right edge it is, bottom up. Reads the left siblings, which are already complete.
    public func nodesCompleted(byLeaf leaf: MerkleHash, at index: UInt64) throws(Failure) -> [MerkleNode] {
        var nodes = [MerkleNode(level: 0, index: index, hash: leaf)]
        var position = index, hash = leaf, level = 0
        while position & 1 == 1 {
            hash = try nodeHash(try perfectNode(level: level, index: position - 1), hash)
            level += 1
            position >>= 1
            nodes.append(MerkleNode(level: level, index: position, hash: hash))
        }
        return nodes
    }

    /// The root of the first `size` leaves (RFC 6962 MTH).
    public func root(size: UInt64) throws(Failure) -> MerkleHash {
        size == 0 ? try emptyRoot() : try subtreeHash(start: 0, end: size)
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 PATH), leaf end
    /// first. The caller checks `index < size`.
    public func inclusionProof(index: UInt64, size: UInt64) throws(Failure) -> [MerkleHash] {
        var proof: [MerkleHash] = []
        try path(index, start: 0, end: size, into: &proof)
        return proof
    }

    /// The proof that the tree of `newSize` leaves extends the tree of `oldSize` (RFC 6962
    /// PROOF); empty when either size is 0 or they are equal. The caller checks `oldSize <= newSize`.
    public func consistencyProof(oldSize: UInt64, newSize: UInt64) throws(Failure) -> [MerkleHash] {
        guard oldSize > 0, oldSize < newSize else { return [] }
        var proof: [MerkleHash] = []
        try subproof(oldSize, start: 0, end: newSize, complete: true, into: &proof)
        return proof
    }

    /// MTH(D[start:end]): a stored node when the range is one, else its two halves combined.
    /// Every range the RFC 6962 recursion asks for starts at a multiple of its split point,
    /// so its left half is always a stored perfect subtree.
    private func subtreeHash(start: UInt64, end: UInt64) throws(Failure) -> MerkleHash {
        let count = end - start
        if count & (count - 1) == 0 && start % count == 0 {
            return try perfectNode(level: count.trailingZeroBitCount, index: start / count)
        }
        let split = Self.largestPowerOfTwo(below: count)
        return try nodeHash(try subtreeHash(start: start, end: start + split), try subtreeHash(start: start + split, end: end))
    }

    private func path(_ index: UInt64, start: UInt64, end: UInt64, into proof: inout [MerkleHash]) throws(Failure) {
        let count = end - start
        guard count > 1 else { return }
        let split = Self.largestPowerOfTwo(below: count)
        if index < split {
            try path(index, start: start, end: start + split, into: &proof)
            proof.append(try subtreeHash(start: start + split, end: end))
        } else {
            try path(index - split, start: start + split, end: end, into: &proof)
            proof.append(try subtreeHash(start: start, end: start + split))
        }
    }

    private func subproof(_ old: UInt64, start: UInt64, end: UInt64, complete: Bool,
                          into proof: inout [MerkleHash]) throws(Failure) {
        let count = end - start
        if old == count {
            if !complete { proof.append(try subtreeHash(start: start, end: end)) }
            return
        }
        let split = Self.largestPowerOfTwo(below: count)
        if old <= split {
            try subproof(old, start: start, end: start + split, complete: complete, into: &proof)
            proof.append(try subtreeHash(start: start + split, end: end))
        } else {
            try subproof(old - split, start: start + split, end: end, complete: false, into: &proof)
            proof.append(try subtreeHash(start: start, end: start + split))
        }
    }

    /// The largest power of two strictly less than `count` (count ≥ 2).
    private static func largestPowerOfTwo(below count: UInt64) -> UInt64 {
        UInt64(1) << (63 - (count - 1).leadingZeroBitCount)
    }
}

/// The right edge of a Merkle tree being built leaf by leaf: one hash per complete subtree
/// (O(log n) memory), enough for the root at the current size. For recomputing a root from
/// the events themselves without trusting any stored node.
public struct MerkleFrontier: Sendable {
    /// Complete subtrees, largest (leftmost) first, with their levels.
    private var subtrees: [(level: Int, hash: MerkleHash)] = []
    public private(set) var size: UInt64 = 0

    public init() {}

    public mutating func append<Hashing: MerkleHashing>(leaf: MerkleHash, hashing: Hashing) throws(Hashing.Failure) {
        var node = (level: 0, hash: leaf)
        while let last = subtrees.last, last.level == node.level {
            subtrees.removeLast()
            node = (node.level + 1, try hashing.nodeHash(last.hash, node.hash))
        }
        subtrees.append(node)
        size += 1
    }

    /// The root of the leaves appended so far (RFC 6962 MTH).
    public func root<Hashing: MerkleHashing>(hashing: Hashing) throws(Hashing.Failure) -> MerkleHash {
        guard var root = subtrees.last?.hash else { return try hashing.emptyRoot() }
        for subtree in subtrees.dropLast().reversed() {
            root = try hashing.nodeHash(subtree.hash, root)
        }
        return root
    }
}

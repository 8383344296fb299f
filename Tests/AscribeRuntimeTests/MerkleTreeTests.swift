import AscribeCore
import Testing
@testable import AscribeRuntime
import AscribeTestSupport
import AscribeCoreTestSupport

/// A Merkle tree kept in memory the way the store keeps it: perfect subtrees by level and index.
struct MemoryMerkleTree: MerkleNodeReading {
    struct Missing: Error {}
    var nodes: [Int: [MerkleHash]] = [:]
    var size: UInt64 = 0

    func digest(_ bytes: [UInt8]) throws -> [UInt8] { try SHA256.digest(bytes).bytes }

    func perfectNode(level: Int, index: UInt64) throws -> MerkleHash {
        guard let row = nodes[level], index < row.count else { throw Missing() }
        return row[Int(index)]
    }

    mutating func append(_ data: [UInt8]) throws {
        for node in try nodesCompleted(byLeaf: try leafHash(data), at: size) {
            nodes[node.level, default: []].append(node.hash)
        }
        size += 1
    }

    /// RFC 6962 MTH computed the slow, obvious way, to check the stored-subtree answers against.
    func naiveRoot(_ leaves: ArraySlice<[UInt8]>) throws -> MerkleHash {
        if leaves.isEmpty { return try emptyRoot() }
        if leaves.count == 1 { return try leafHash(leaves[leaves.startIndex]) }
        var split = 1
        while split * 2 < leaves.count { split *= 2 }
        let middle = leaves.startIndex + split
        return try nodeHash(try naiveRoot(leaves[..<middle]), try naiveRoot(leaves[middle...]))
    }
}

private func hash(_ hex: String) -> MerkleHash { MerkleHash(hex: hex)! }

private func bytes(_ hex: String) -> [UInt8] {
    var result: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        result.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return result
}

/// The RFC 6962 test data of Certificate Transparency (the eight leaves, their roots and proofs).
@Suite struct MerkleTreeTests {
    static let leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .map(bytes)
    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ].map(hash)

    func tree(_ count: Int) throws -> MemoryMerkleTree {
        var tree = MemoryMerkleTree()
        for leaf in Self.leaves.prefix(count) { try tree.append(leaf) }
        return tree
    }

    @Test func rootsOfTheTestData() throws {
        let tree = try tree(8)
        #expect(try tree.root(size: 0).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for size in 1...8 {
            #expect(try tree.root(size: UInt64(size)) == Self.roots[size - 1], "size \(size)")
        }
    }

    @Test func inclusionProofsOfTheTestData() throws {
        let tree = try tree(8)
        let proof = ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"].map(hash)
        #expect(try tree.inclusionProof(index: 5, size: 8) == proof)
        let leaf = try tree.leafHash(Self.leaves[5])
        #expect(try tree.verifyInclusion(index: 5, size: 8, leaf: leaf, proof: proof, root: Self.roots[7]))
        #expect(try !tree.verifyInclusion(index: 4, size: 8, leaf: leaf, proof: proof, root: Self.roots[7]))
        #expect(try tree.inclusionProof(index: 2, size: 3) == [Self.roots[1]])
        #expect(try tree.verifyInclusion(index: 2, size: 3, leaf: try tree.leafHash(Self.leaves[2]), proof: [Self.roots[1]],
                                         root: Self.roots[2]))
    }

    @Test func consistencyProofsOfTheTestData() throws {
        let tree = try tree(8)
        let sixToEight = ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                          "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                          "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"].map(hash)
        #expect(try tree.consistencyProof(oldSize: 6, newSize: 8) == sixToEight)
        #expect(try tree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: Self.roots[5], newRoot: Self.roots[7], proof: sixToEight))
        #expect(try !tree.verifyConsistency(oldSize: 6, newSize: 8, oldRoot: Self.roots[4], newRoot: Self.roots[7], proof: sixToEight))
        let twoToFive = ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                         "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"].map(hash)
        #expect(try tree.consistencyProof(oldSize: 2, newSize: 5) == twoToFive)
        #expect(try tree.verifyConsistency(oldSize: 2, newSize: 5, oldRoot: Self.roots[1], newRoot: Self.roots[4], proof: twoToFive))
    }

    /// Every size up to 33: the stored-subtree root matches the naive one, every inclusion and
    /// consistency proof verifies, and each one with a changed hash or a wrong size does not.
    @Test func everyProofUpTo33Leaves() throws {
        let leaves = (0..<33).map { [UInt8(truncatingIfNeeded: $0), 0xA5] }
        var tree = MemoryMerkleTree()
        for leaf in leaves { try tree.append(leaf) }
        let roots = try (0...33).map { try tree.naiveRoot(leaves[..<$0]) }
        let flip = { (hash: MerkleHash) in MerkleHash(bytes: [hash.bytes[0] ^ 1] + hash.bytes.dropFirst())! }
        for size in UInt64(1)...33 {
            #expect(try tree.root(size: size) == roots[Int(size)])
            for index in 0..<size {
                let leaf = try tree.leafHash(leaves[Int(index)])
                let proof = try tree.inclusionProof(index: index, size: size)
                #expect(try tree.verifyInclusion(index: index, size: size, leaf: leaf, proof: proof, root: roots[Int(size)]))
                for position in proof.indices {
                    var bad = proof
                    bad[position] = flip(bad[position])
                    #expect(try !tree.verifyInclusion(index: index, size: size, leaf: leaf, proof: bad, root: roots[Int(size)]))
                }
            }
            for old in 0...size {
                let proof = try tree.consistencyProof(oldSize: old, newSize: size)
                #expect(try tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old)],
                                                   newRoot: roots[Int(size)], proof: proof))
                guard old > 0, old < size else { continue }
                #expect(try !tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: flip(roots[Int(old)]),
                                                    newRoot: roots[Int(size)], proof: proof))
                #expect(try !tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old)],
                                                    newRoot: flip(roots[Int(size)]), proof: proof))
                #expect(try !tree.verifyConsistency(oldSize: old, newSize: size, oldRoot: roots[Int(old)],
                                                    newRoot: roots[Int(size)], proof: proof.dropLast()))
            }
        }
    }
}

@Suite struct StandardBase64Tests {
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                      ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.standard.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.standard.decode(encoded) == Array(plain.utf8))
    }

    @Test(arguments: ["Zg", "Zg=", "Zh==", "Zm9=", "Z===", "====", "Zg==Zg==", "Zm9v\n", "Zm-v", "Zm9v===="])
    func nonCanonicalTextIsRefused(text: String) {
        #expect(Base64.standard.decode(text) == nil)
    }
}

/// The body of a C2SP tlog-witness `add-checkpoint` request: `old <size>`, up to 63 base64
/// consistency-proof hashes, a blank line, then the signed checkpoint note.
public struct AddCheckpointRequest: Equatable, Sendable {
    public static let proofLimit = 63

    public var oldSize: UInt64
    public var proof: [MerkleHash]
    public var note: [UInt8]

    public init(oldSize: UInt64, proof: [MerkleHash], note: [UInt8]) {
        self.oldSize = oldSize
        self.proof = proof
        self.note = note
    }

    public var rendered: [UInt8] {
        Array((["old \(oldSize)"] + proof.map(\.base64)).map { $0 + "\n" }.joined().utf8) + [UInt8(ascii: "\n")] + note
    }

    public init(parsing bytes: [UInt8]) throws(CheckpointError) {
        var lines: [String] = []
        var position = 0
        while true {
            guard let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw .malformed(line: lines.count + 1, "no blank line before the checkpoint")
            }
            let line = String(decoding: bytes[position..<end], as: UTF8.self)
            position = end + 1
            if line.isEmpty { break }
            lines.append(line)
            guard lines.count <= 1 + Self.proofLimit else { throw .malformed(line: lines.count, "more than \(Self.proofLimit) proof lines") }
        }
        guard let first = lines.first, first.hasPrefix("old "), let oldSize = UInt64(first.dropFirst(4)),
              first.dropFirst(4) == "0" || !first.dropFirst(4).hasPrefix("0"),
              first.dropFirst(4).utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw .malformed(line: 1, "expected old <size> without leading zeros")
        }
        var proof: [MerkleHash] = []
        for (offset, line) in lines.dropFirst().enumerated() {
            guard let hash = MerkleHash(base64: line) else { throw .malformed(line: offset + 2, "not base64 of a 32-byte hash") }
            proof.append(hash)
        }
        self.init(oldSize: oldSize, proof: proof, note: Array(bytes[position...]))
    }
}

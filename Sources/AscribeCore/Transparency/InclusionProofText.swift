/// What `ascribe prove` prints and `ascribe verify --proof` reads: one event's inclusion proof
/// with the signed checkpoint it leads to, checkable without the log.
///
///     ascribe-inclusion/v1
///     seq 1205
///     event <the event's hash, 64 hex digits>
///     <one base64 hash per line: the audit path, leaf end first>
///     <blank line>
///     <the signed checkpoint note>
public struct InclusionProofText: Equatable, Sendable {
    public static let header = "ascribe-inclusion/v1"
    /// A path in a tree of at most 2^64 leaves has at most 64 hashes.
    public static let pathLimit = 64

    public var seq: UInt64
    /// The event's `hash` as stored; the leaf is SHA-256(0x00 ‖ these 64 characters).
    public var eventHash: String
    public var path: [MerkleHash]
    /// The signed checkpoint note, as saved.
    public var note: [UInt8]

    public init(seq: UInt64, eventHash: String, path: [MerkleHash], note: [UInt8]) {
        self.seq = seq
        self.eventHash = eventHash
        self.path = path
        self.note = note
    }

    public var rendered: String {
        ([Self.header, "seq \(seq)", "event \(eventHash)"] + path.map(\.base64)).map { $0 + "\n" }.joined()
            + "\n" + String(decoding: note, as: UTF8.self)
    }

    /// Reads a proof; each refusal names the line.
    public init(parsing bytes: [UInt8]) throws(CheckpointError) {
        var lines: [String] = []
        var position = 0
        while true {
            guard let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw .malformed(line: lines.count + 1, "the proof ends before the blank line that precedes its checkpoint")
            }
            let line = String(decoding: bytes[position..<end], as: UTF8.self)
            position = end + 1
            if line.isEmpty { break }
            lines.append(line)
            guard lines.count <= 3 + Self.pathLimit else { throw .malformed(line: lines.count, "more than \(Self.pathLimit) path hashes") }
        }
        guard lines.first == Self.header else { throw .malformed(line: 1, "expected \(Self.header)") }
        let seqText = lines.count >= 2 ? lines[1].dropFirst(4) : ""
        guard lines.count >= 3, lines[1].hasPrefix("seq "), let seq = UInt64(seqText), seq >= 1, !seqText.hasPrefix("0"),
              seqText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            throw .malformed(line: 2, "expected seq <number>")
        }
        let hash = lines[2].dropFirst(6)
        guard lines[2].hasPrefix("event "), hash.utf8.count == 64, MerkleHash(hex: hash) != nil,
              hash == hash.lowercased() else {
            throw .malformed(line: 3, "expected event <64 lowercase hex digits>")
        }
        var path: [MerkleHash] = []
        for (offset, line) in lines.dropFirst(3).enumerated() {
            guard let node = MerkleHash(base64: line) else { throw .malformed(line: 4 + offset, "not base64 of a 32-byte hash") }
            path.append(node)
        }
        self.init(seq: seq, eventHash: String(hash), path: path, note: Array(bytes[position...]))
    }
}

/// A C2SP checkpoint (c2sp.org/tlog-checkpoint): the body of a signed note naming the log
/// (origin), its size and its Merkle root, then any extension lines.
public struct Checkpoint: Equatable, Sendable {
    /// `ascribe/<host>`.
    public var origin: String
    public var size: UInt64
    public var root: MerkleHash
    public var extensions: [String]

    public init(origin: String, size: UInt64, root: MerkleHash, extensions: [String] = []) {
        self.origin = origin
        self.size = size
        self.root = root
        self.extensions = extensions
    }

    /// The note text: origin, size, base64 root, extensions, each line ending in a newline.
    public var body: String {
        ([origin, String(size), root.base64] + extensions).map { $0 + "\n" }.joined()
    }

    /// Reads a note's text as a checkpoint; each refusal names the line.
    public init(body: String) throws(CheckpointError) {
        guard body.hasSuffix("\n") else { throw .malformed(line: 0, "the text does not end in a newline") }
        let lines = body.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 3 else { throw .malformed(line: lines.count + 1, "a checkpoint has an origin, a size and a root hash") }
        guard !lines[0].isEmpty else { throw .malformed(line: 1, "the origin is empty") }
        let sizeText = lines[1]
        guard let size = UInt64(sizeText), sizeText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              sizeText == "0" || !sizeText.hasPrefix("0") else {
            throw .malformed(line: 2, "the tree size \(sizeText.debugDescription) is not a decimal number without leading zeros")
        }
        guard let root = MerkleHash(base64: lines[2]) else {
            throw .malformed(line: 3, "the root hash is not base64 of 32 bytes")
        }
        if let empty = lines.dropFirst(3).firstIndex(where: \.isEmpty) {
            throw .malformed(line: empty + 1, "an extension line is empty")
        }
        self.init(origin: lines[0], size: size, root: root, extensions: Array(lines.dropFirst(3)))
    }
}

public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(line: Int, String)

    public var description: String {
        switch self {
        case .malformed(let line, let problem): "not a checkpoint: line \(line): \(problem)"
        }
    }
}

/// The c2sp.org/tlog-cosignature `cosignature/v1` statement a witness signs: "as of `time`,
/// the largest consistent tree I have seen for this origin has this root".
public enum CosignatureV1 {
    /// The signed message: `cosignature/v1`, `time <seconds>`, then the checkpoint body.
    public static func message(checkpointBody: String, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n\(checkpointBody)".utf8)
    }

    /// A cosignature's bytes after the key ID: the time, 8 bytes big-endian, then the signature.
    public static func signatureBytes(time: UInt64, signature: [UInt8]) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: time >> (56 - 8 * UInt64($0))) } + signature
    }

    /// The time and the Ed25519 signature of a cosignature's bytes, if they are 8 + 64 long.
    public static func split(_ bytes: [UInt8]) -> (time: UInt64, signature: [UInt8])? {
        guard bytes.count == 72 else { return nil }
        let time = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard time <= UInt64(Int64.max) else { return nil }
        return (time, Array(bytes.dropFirst(8)))
    }
}

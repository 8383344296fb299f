import AscribeCore

/// libcrypto's SHA-256 as the core's Merkle and key-ID hash.
public struct TreeHashing: MerkleHashing, Sendable {
    public init() {}

    public func digest(_ bytes: [UInt8]) throws(SHA256Error) -> [UInt8] {
        try SHA256.digest(bytes).bytes
    }
}

import Testing
@testable import AscribeRuntime

@Suite struct SHA256Tests {
    /// FIPS 180-2 test vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownVectors(input: String, expected: String) throws {
        #expect(try SHA256.digest(Array(input.utf8)).hex == expected)
        #expect(try SHA256.digest(input.utf8).hex == expected)
        #expect(try SHA256.digest(Array(input.utf8)).bytes.count == 32)
    }

    @Test func aMillionAs() throws {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(try SHA256.digest([UInt8](repeating: 0x61, count: 1_000_000)).hex == expected)

        var hasher = try SHA256Hasher()
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { try hasher.update(chunk) }
        #expect(try hasher.finalize().hex == expected)
    }

    @Test func unevenChunksMatchTheOneShotDigest() throws {
        let bytes = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hasher = try SHA256Hasher()
        var start = 0
        for size in [0, 1, 63, 64, 65, 4096, 0, 12345] + Array(repeating: 10_000, count: 9) {
            let end = min(bytes.count, start + size)
            try hasher.update(bytes[start..<end])
            start = end
        }
        try hasher.update(bytes[start...])
        let expected = try SHA256.digest(bytes)
        #expect(try hasher.finalize() == expected)
    }

    @Test func aHasherLivesInItsOwnersState() async throws {
        let capture = try OutputDigest()
        try await capture.append(Array("ab".utf8))
        try await capture.append(Array("c".utf8))
        #expect(try await capture.finish()?.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(try await capture.finish() == nil)
    }
}

/// How an output capture owns its hasher: a stored optional, taken out once to finish.
private actor OutputDigest {
    private var hasher: SHA256Hasher?

    init() throws {
        hasher = try SHA256Hasher()
    }

    func append(_ bytes: [UInt8]) throws {
        try hasher?.update(bytes)
    }

    func finish() throws -> SHA256Digest? {
        try hasher.take()?.finalize()
    }
}

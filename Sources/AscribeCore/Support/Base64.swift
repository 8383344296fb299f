/// RFC 4648 base64, in the two spellings Ascribe reads and writes: `standard` (section 4, `=`
/// padding: C2SP notes and checkpoints spell hashes, keys and signatures so) and `url`
/// (section 5, no padding: every part of a JWS and JWK key parameters, RFC 7515 section 2).
///
/// Decoding is strict: only the one canonical spelling of some bytes decodes — wrong length,
/// characters outside the alphabet, misplaced or missing padding and non-zero unused bits are
/// refused — so two different texts never decode to the same bytes and flipping any character
/// of a signed note or token is noticed.
public struct Base64: Sendable {
    public static let standard = Base64(alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", padded: true)
    public static let url = Base64(alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", padded: false)

    private let alphabet: [UInt8]
    /// Each byte's value in the alphabet, or -1.
    private let values: [Int8]
    private let padded: Bool

    private init(alphabet text: String, padded: Bool) {
        alphabet = Array(text.utf8)
        var values = [Int8](repeating: -1, count: 256)
        for (value, character) in alphabet.enumerated() { values[Int(character)] = Int8(value) }
        self.values = values
        self.padded = padded
    }

    public func encode(_ bytes: some Collection<UInt8>) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next(), third = second == nil ? nil : iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            if second != nil { output.append(alphabet[Int(group >> 6 & 0x3F)]) } else if padded { output.append(UInt8(ascii: "=")) }
            if third != nil { output.append(alphabet[Int(group & 0x3F)]) } else if padded { output.append(UInt8(ascii: "=")) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes `text` encodes, or nil when it is not this spelling's canonical form.
    public func decode(_ text: some StringProtocol) -> [UInt8]? {
        var characters = Array(text.utf8)
        if padded {
            guard characters.count % 4 == 0 else { return nil }
            var padding = 0
            while padding < 2, characters.last == UInt8(ascii: "=") {
                characters.removeLast()
                padding += 1
            }
            // One `=` stands for a last group of 3 characters, two for a group of 2.
            guard padding == 0 || characters.count % 4 == 4 - padding else { return nil }
        }
        var output: [UInt8] = []
        output.reserveCapacity(characters.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in characters {
            let value = values[Int(character)]
            guard value >= 0 else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // One leftover character (6 bits) is never a whole byte; leftover bits must be zero.
        guard bits < 6, accumulator == 0 else { return nil }
        return output
    }
}

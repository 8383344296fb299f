/// The byte-level checks a job file passes before any key is read: size, encoding, line
/// length and characters that would make the file display differently from what it does.
enum JobFileText {
    /// One physical line: its bytes (no terminator) or why it cannot be read as text.
    struct Line {
        var number: Int
        var content: Content
    }

    enum Content {
        case text(String)
        /// The line is unusable; `column` is 1-based, `keyHint` the key it seems to set.
        case unreadable(column: Int, message: String, keyHint: JobKey?)
    }

    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Splits on LF, drops one CR before it, skips a leading UTF-8 BOM.
    static func lines(of bytes: [UInt8], maximumLineBytes: Int) -> [Line] {
        var lines: [Line] = []
        var start = bytes.starts(with: byteOrderMark) ? byteOrderMark.count : 0
        var number = 1
        while start <= bytes.count {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            var end = newline ?? bytes.count
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            if newline != nil || end > start {
                lines.append(Line(number: number, content: content(of: bytes[start..<end], maximumLineBytes: maximumLineBytes)))
            }
            guard let newline else { break }
            start = newline + 1
            number += 1
        }
        return lines
    }

    private static func content(of bytes: ArraySlice<UInt8>, maximumLineBytes: Int) -> Content {
        if bytes.count > maximumLineBytes {
            return .unreadable(column: 1, message: "line is \(bytes.count) bytes long; the limit is \(maximumLineBytes / 1024) KiB",
                               keyHint: keyHint(bytes))
        }
        if let (index, isNul) = firstBadByte(bytes) {
            let column = String(decoding: bytes[bytes.startIndex..<index], as: UTF8.self).count + 1
            let message = isNul
                ? "NUL byte; a job file is text"
                : "invalid UTF-8 (byte 0x\(hex(bytes[index], digits: 2))); job files must be UTF-8 text"
            return .unreadable(column: column, message: message, keyHint: keyHint(bytes))
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for (offset, character) in text.enumerated() {
            if let message = refusal(of: character) {
                return .unreadable(column: offset + 1, message: message, keyHint: keyHint(bytes))
            }
        }
        return .text(text)
    }

    /// The first NUL or the first byte that does not start a well-formed UTF-8 sequence
    /// (overlong forms, surrogates and values past U+10FFFF included).
    static func firstBadByte(_ bytes: ArraySlice<UInt8>) -> (index: Int, isNul: Bool)? {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let lead = bytes[index]
            if lead == 0 { return (index, true) }
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var secondRange: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; secondRange = 0xA0...0xBF
            case 0xED: length = 3; secondRange = 0x80...0x9F
            case 0xE1...0xEF: length = 3
            case 0xF0: length = 4; secondRange = 0x90...0xBF
            case 0xF4: length = 4; secondRange = 0x80...0x8F
            case 0xF1...0xF3: length = 4
            default: return (index, false)
            }
            guard bytes.endIndex - index >= length else { return (index, false) }
            guard secondRange.contains(bytes[index + 1]) else { return (index, false) }
            for position in (index + 2)..<(index + length) where !(0x80...0xBF).contains(bytes[position]) {
                return (index, false)
            }
            index += length
        }
        return nil
    }

    /// Control characters other than tab, and the bidirectional overrides and isolates that
    /// let a line read one way on screen and another way to the parser.
    private static func refusal(of character: Character) -> String? {
        for scalar in character.unicodeScalars {
            let value = scalar.value
            let code = "U+\(hex(value, digits: 4))"
            if (value < 0x20 && value != 0x09) || (0x7F...0x9F).contains(value) {
                return "control character \(code); a job file may contain tabs but no other control characters"
            }
            if (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) {
                return "bidirectional control character \(code); it makes the line display differently from what it says"
            }
        }
        return nil
    }

    /// The key a line that cannot be read seems to set, so that a bad byte in the `schedule`
    /// line does not also produce "missing required key `schedule`".
    private static func keyHint(_ bytes: ArraySlice<UInt8>) -> JobKey? {
        guard let equals = bytes.prefix(64).firstIndex(of: 0x3D) else { return nil }
        let key = bytes[bytes.startIndex..<equals].filter { $0 != 0x20 && $0 != 0x09 }
        guard key.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return JobKey(rawValue: String(decoding: key, as: UTF8.self))
    }

    static func hex<T: BinaryInteger>(_ value: T, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

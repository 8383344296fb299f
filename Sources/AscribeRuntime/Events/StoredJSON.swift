import AscribeCore

/// The two JSON shapes the store keeps in text columns: `argv` (an array of strings) and
/// `details` (an object of strings). Written with `JSONValue`; read back by this small strict
/// reader, which answers nil for anything else so an edited row is reported, never trusted.
enum StoredJSON {
    static func render(_ list: [String]) -> String {
        JSONValue.array(list.map(JSONValue.string)).rendered
    }

    /// Keys in UTF-8 byte order, so equal maps are stored as equal text.
    static func render(_ map: [String: String]) -> String {
        let sorted = map.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return JSONValue.object(sorted.map { ($0.key, JSONValue.string($0.value)) }).rendered
    }

    static func stringArray(_ text: String) -> [String]? {
        var reader = Reader(bytes: Array(text.utf8))
        guard reader.consume(UInt8(ascii: "[")) else { return nil }
        var values: [String] = []
        if !reader.consume(UInt8(ascii: "]")) {
            repeat {
                guard let value = reader.string() else { return nil }
                values.append(value)
            } while reader.consume(UInt8(ascii: ","))
            guard reader.consume(UInt8(ascii: "]")) else { return nil }
        }
        return reader.atEnd ? values : nil
    }

    static func stringObject(_ text: String) -> [String: String]? {
        var reader = Reader(bytes: Array(text.utf8))
        guard reader.consume(UInt8(ascii: "{")) else { return nil }
        var values: [String: String] = [:]
        if !reader.consume(UInt8(ascii: "}")) {
            repeat {
                guard let key = reader.string(), reader.consume(UInt8(ascii: ":")),
                      let value = reader.string(), values.updateValue(value, forKey: key) == nil
                else { return nil }
            } while reader.consume(UInt8(ascii: ","))
            guard reader.consume(UInt8(ascii: "}")) else { return nil }
        }
        return reader.atEnd ? values : nil
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        var atEnd: Bool {
            mutating get {
                skipWhitespace()
                return index == bytes.count
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func string() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            var scalars = String.UnicodeScalarView()
            var plain: [UInt8] = []
            func flushPlain() {
                scalars.append(contentsOf: String(decoding: plain, as: UTF8.self).unicodeScalars)
                plain.removeAll(keepingCapacity: true)
            }
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flushPlain()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flushPlain()
                    guard let scalar = escape() else { return nil }
                    scalars.append(scalar)
                case 0..<0x20:
                    return nil
                default:
                    plain.append(byte)
                }
            }
            return nil
        }

        private mutating func escape() -> Unicode.Scalar? {
            guard index < bytes.count else { return nil }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{8}"
            case UInt8(ascii: "f"): return "\u{C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                guard let unit = hexUnit() else { return nil }
                guard (0xD800...0xDBFF).contains(unit) else { return Unicode.Scalar(unit) }
                guard consumeExact(UInt8(ascii: "\\")), consumeExact(UInt8(ascii: "u")), let low = hexUnit(),
                      (0xDC00...0xDFFF).contains(low)
                else { return nil }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
            default: return nil
            }
        }

        private mutating func consumeExact(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        private mutating func hexUnit() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                guard let digit = hexDigit(byte) else { return nil }
                value = value << 4 | digit
            }
            index += 4
            return value
        }

        private func hexDigit(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }

        private mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }
    }
}

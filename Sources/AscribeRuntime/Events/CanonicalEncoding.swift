/// The bytes an event's hash covers (docs/EVENTS.md, "Canonical encoding").
///
/// Every field except `hash`, in a fixed order, each as tag byte + presence byte + 8-byte
/// big-endian length + payload. Lengths make it unambiguous: no choice of field values can
/// make two different events encode alike, whatever bytes the strings hold.
enum CanonicalEncoding {
    /// Names the format, so a later format cannot be confused with this one.
    static let header = Array("ascribe-event-v1".utf8)

    static func bytes(seq: Int64, eventID: String, content: EventDraft, prevHash: String) -> [UInt8] {
        var writer = Writer(output: header)
        writer.integer(1, seq)
        writer.text(2, eventID)
        writer.integer(3, content.time.millisecondsSinceEpoch)
        writer.text(4, content.host)
        writer.text(5, content.type.rawValue)
        writer.text(6, content.actor)
        writer.text(7, content.principal)
        writer.text(8, content.owner)
        writer.text(9, content.job)
        writer.text(10, content.identity)
        writer.text(11, content.runID)
        writer.integer(12, content.scheduledFor?.millisecondsSinceEpoch)
        writer.text(13, content.reason)
        writer.list(14, content.argv)
        writer.text(15, content.runAs)
        writer.text(16, content.configSource)
        writer.text(17, content.configHash)
        writer.integer(18, content.pid.map(Int64.init))
        writer.integer(19, content.exitCode.map(Int64.init))
        writer.integer(20, content.signal.map(Int64.init))
        writer.integer(21, content.durationMs)
        writer.integer(22, content.stdoutBytes)
        writer.integer(23, content.stderrBytes)
        writer.text(24, content.outputSHA256)
        writer.text(25, content.outputTail)
        writer.integer(26, content.outputCapBytes)
        writer.text(27, content.outputPath)
        writer.field(28, content.development ? 1 : 0)
        writer.map(29, content.details)
        writer.text(30, prevHash)
        return writer.output
    }

    /// Appends fields straight into one buffer (this runs for every event written and verified).
    private struct Writer {
        var output: [UInt8]

        init(output: [UInt8]) {
            self.output = output
            self.output.reserveCapacity(1024)
        }

        private mutating func start(_ tag: UInt8, present: Bool) {
            output.append(tag)
            output.append(present ? 1 : 0)
        }

        private mutating func append(_ number: UInt64) {
            for shift in stride(from: 56, through: 0, by: -8) {
                output.append(UInt8(truncatingIfNeeded: number >> UInt64(shift)))
            }
        }

        private mutating func appendCounted(_ text: String) {
            append(UInt64(text.utf8.count))
            output.append(contentsOf: text.utf8)
        }

        mutating func field(_ tag: UInt8, _ byte: UInt8) {
            start(tag, present: true)
            append(1)
            output.append(byte)
        }

        mutating func text(_ tag: UInt8, _ value: String?) {
            start(tag, present: value != nil)
            if let value { appendCounted(value) }
        }

        /// Two's complement, big-endian, always 8 bytes.
        mutating func integer(_ tag: UInt8, _ value: Int64?) {
            start(tag, present: value != nil)
            guard let value else { return }
            append(8)
            append(UInt64(bitPattern: value))
        }

        /// Element count, then each element as length + UTF-8 bytes.
        mutating func list(_ tag: UInt8, _ values: [String]?) {
            start(tag, present: values != nil)
            guard let values else { return }
            append(UInt64(8 + values.reduce(0) { $0 + 8 + $1.utf8.count }))
            append(UInt64(values.count))
            for value in values { appendCounted(value) }
        }

        /// Pair count, then each pair (sorted by the key's UTF-8 bytes) as key length + key +
        /// value length + value.
        mutating func map(_ tag: UInt8, _ values: [String: String]) {
            start(tag, present: true)
            append(UInt64(8 + values.reduce(0) { $0 + 16 + $1.key.utf8.count + $1.value.utf8.count }))
            append(UInt64(values.count))
            for (key, value) in values.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                appendCounted(key)
                appendCounted(value)
            }
        }
    }
}

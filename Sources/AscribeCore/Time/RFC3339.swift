/// RFC 3339 timestamps: the one textual time format Ascribe reads and prints, so scripts can
/// round-trip every time the tools show.
public enum RFC3339 {
    /// A timestamp as read from the command line: either a fixed instant (it carried an offset)
    /// or a wall-clock reading that the caller interprets in the schedule's zone.
    public enum Parsed: Equatable, Sendable {
        case instant(Instant)
        case local(CivilDateTime)
    }

    /// `2026-03-29T03:00:00+02:00`; an offset of zero prints as `+00:00`.
    public static func format(_ instant: Instant, offsetSeconds: Int) -> String {
        let local = CivilDateTime(secondsSinceEpoch: instant.secondsSinceEpoch + Int64(offsetSeconds))
        let sign = offsetSeconds < 0 ? "-" : "+"
        let magnitude = abs(offsetSeconds)
        var text = pad(local.date.year, 4) + "-" + pad(local.date.month, 2) + "-" + pad(local.date.day, 2)
        text += "T" + pad(local.hour, 2) + ":" + pad(local.minute, 2) + ":" + pad(local.second, 2)
        text += sign + pad(magnitude / 3600, 2) + ":" + pad(magnitude % 3600 / 60, 2)
        return text
    }

    /// Accepts `YYYY-MM-DDTHH:MM[:SS[.frac]]` followed by `Z`, `±HH:MM`, or nothing (a local
    /// reading). `T` may be `t` or a space. Fractions are truncated: schedules are per minute.
    public static func parse(_ text: String) -> Parsed? {
        let bytes = Array(text.utf8)
        var index = 0

        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + digits] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += digits
            return value
        }
        func expect(_ allowed: [UInt8]) -> Bool {
            guard index < bytes.count, allowed.contains(bytes[index]) else { return false }
            index += 1
            return true
        }

        guard let year = number(4), expect([0x2D]), let month = number(2), expect([0x2D]),
              let day = number(2), expect([0x54, 0x74, 0x20]),
              let hour = number(2), expect([0x3A]), let minute = number(2)
        else { return nil }
        var second = 0
        if index < bytes.count, bytes[index] == 0x3A {
            index += 1
            guard let s = number(2) else { return nil }
            second = s
            if index < bytes.count, bytes[index] == 0x2E {
                index += 1
                let start = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                guard index > start else { return nil }
            }
        }
        let date = CivilDate(year: year, month: month, day: day)
        guard date.isValid, hour < 24, minute < 60, second < 60 else { return nil }
        let local = CivilDateTime(date: date, hour: hour, minute: minute, second: second)

        if index == bytes.count { return .local(local) }
        if bytes[index] == 0x5A || bytes[index] == 0x7A {
            guard index + 1 == bytes.count else { return nil }
            return .instant(Instant(secondsSinceEpoch: local.secondsSinceEpoch))
        }
        guard bytes[index] == 0x2B || bytes[index] == 0x2D else { return nil }
        let negative = bytes[index] == 0x2D
        index += 1
        guard let offsetHours = number(2), expect([0x3A]), let offsetMinutes = number(2),
              index == bytes.count, offsetHours < 24, offsetMinutes < 60
        else { return nil }
        let offset = Int64(offsetHours * 3600 + offsetMinutes * 60) * (negative ? -1 : 1)
        return .instant(Instant(secondsSinceEpoch: local.secondsSinceEpoch - offset))
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

extension CivilDateTime {
    /// `2026-03-29 02:30`: a wall-clock slot as people write it (no zone, no seconds).
    public var wallClockText: String {
        RFC3339.pad(date.year, 4) + "-" + RFC3339.pad(date.month, 2) + "-" + RFC3339.pad(date.day, 2) + " "
            + RFC3339.pad(hour, 2) + ":" + RFC3339.pad(minute, 2)
    }
}

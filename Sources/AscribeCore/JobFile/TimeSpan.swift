/// A duration in whole seconds as job files write it (`90s`, `10m`, `1h30m`), bounded to
/// 1 second ... 30 days so a typo cannot turn a timeout into "never".
public struct TimeSpan: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let seconds: Int

    public static let maximumSeconds = 30 * 86_400

    public init?(seconds: Int) {
        guard seconds >= 1, seconds <= Self.maximumSeconds else { return nil }
        self.seconds = seconds
    }

    /// The nearest valid span: 0 and below become 1s, anything past 30 days becomes 30 days.
    public init(clamping seconds: Int) {
        self.seconds = min(max(seconds, 1), Self.maximumSeconds)
    }

    /// Numbers each followed by a unit (`d`, `h`, `m`, `s`), largest unit first, each unit at
    /// most once, no spaces: `90s`, `2h`, `1d12h`, `1h30m`.
    public init(parsing text: String) throws(JobValueError) {
        let characters = Array(text)
        let units: [(unit: Character, seconds: Int)] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
        var total = 0
        var nextUnit = 0
        var index = 0
        guard !characters.isEmpty else {
            throw JobValueError(offset: 0, reason: "empty duration; write one like 90s, 10m, 2h")
        }
        while index < characters.count {
            let start = index
            var number = 0
            while index < characters.count, characters[index].isASCIIDigit, let digit = characters[index].wholeNumberValue {
                guard index - start < 8 else {
                    throw JobValueError(offset: start, reason: "\"\(text)\" is longer than 30 days")
                }
                number = number * 10 + digit
                index += 1
            }
            guard index > start else {
                throw JobValueError(offset: index, reason: "expected a number at \(characters[index].debugDescription); write a duration like 90s, 10m, 2h, 1h30m")
            }
            guard index < characters.count else {
                throw JobValueError(offset: start, reason: "\"\(String(characters[start...]))\" has no unit; add a unit: 90s, 10m, 2h")
            }
            let unitCharacter = characters[index]
            guard let position = units.firstIndex(where: { $0.unit == unitCharacter }) else {
                throw JobValueError(offset: index, reason: "unknown unit \(unitCharacter.debugDescription); use s, m, h or d (90s, 10m, 2h, 1d)")
            }
            guard position >= nextUnit else {
                throw JobValueError(offset: index, reason: "units go from largest to smallest, each at most once (1h30m, not 30m1h)")
            }
            let (part, overflow) = number.multipliedReportingOverflow(by: units[position].seconds)
            let (sum, sumOverflow) = total.addingReportingOverflow(part)
            guard !overflow, !sumOverflow else {
                throw JobValueError(offset: 0, reason: "\"\(text)\" is longer than 30 days")
            }
            total = sum
            nextUnit = position + 1
            index += 1
        }
        guard total > 0 else { throw JobValueError(offset: 0, reason: "a duration must be longer than 0s") }
        guard total <= Self.maximumSeconds else {
            throw JobValueError(offset: 0, reason: "\"\(text)\" is longer than 30 days")
        }
        seconds = total
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.seconds < rhs.seconds }

    /// The canonical spelling: `1h30m`, `10s`, `30d`.
    public var description: String {
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}

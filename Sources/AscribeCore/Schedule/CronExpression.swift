/// A parsed five-field cron expression (or macro) with Debian cron's meaning.
///
/// Fields are stored as bit sets so that finding the next matching minute is a handful of
/// bit operations per month: the daemon and `plan` ask this millions of times.
public struct CronExpression: Hashable, Sendable, CustomStringConvertible {
    /// The text as written, for messages and descriptions.
    public let source: String

    let minutes: UInt64        // bit m: minute m
    let hours: UInt32          // bit h: hour h
    let daysOfMonth: UInt32    // bit d: day d (1...31)
    let lastDayOfMonth: Bool   // `L`
    let lastWeekdayOfMonth: Bool  // `LW`: last Monday–Friday of the month
    let months: UInt16         // bit m: month m (1...12)
    let daysOfWeek: UInt8      // bit w: weekday w (0 = Sunday)
    let lastWeekdays: UInt8    // `5L`: bit w = last weekday w of the month
    let nthWeekdays: UInt64    // `FRI#2`: bit (n-1)*7+w
    /// Debian cron: when either day field starts with `*`, both must match; otherwise either.
    let daysMustBothMatch: Bool
    /// Debian cron's MIN_STAR/HR_STAR: the minute or hour field starts with `*`. Such jobs are
    /// "wildcard" jobs and run on real wall-clock minutes only across DST changes.
    public let isWildcard: Bool
    /// For each weekday of the 1st of a month, the days 1...31 picked by the weekday fields
    /// (plain weekdays and `#n`), before trimming to the month's length.
    let weekdayPatterns: [UInt32]
    /// False when no calendar date can ever match (`0 0 30 2 *`).
    public private(set) var canFire: Bool

    public var description: String { source }

    /// Parses `minute hour day-of-month month day-of-week` or one of the macros
    /// `@yearly @annually @monthly @weekly @daily @midnight @hourly`.
    /// `@reboot` is not a calendar expression; see `Schedule`.
    public init(parsing text: String) throws(CronSyntaxError) {
        let fields = try Self.fieldTokens(of: text)
        var sets: [FieldSet] = []
        for (index, field) in CronField.allCases.enumerated() {
            sets.append(try FieldSet(parsing: fields[index].text, field: field, offset: fields[index].offset))
        }
        let weekdays = sets[4]
        var dow = UInt8(truncatingIfNeeded: weekdays.bits & 0x7F)
        if weekdays.bits & (1 << 7) != 0 { dow |= 1 }
        var last = UInt8(truncatingIfNeeded: weekdays.lastWeekdays & 0x7F)
        if weekdays.lastWeekdays & (1 << 7) != 0 { last |= 1 }

        self.source = text.trimmingWhitespace
        self.minutes = sets[0].bits
        self.hours = UInt32(truncatingIfNeeded: sets[1].bits)
        self.daysOfMonth = UInt32(truncatingIfNeeded: sets[2].bits)
        self.lastDayOfMonth = sets[2].lastDay
        self.lastWeekdayOfMonth = sets[2].lastWorkday
        self.months = UInt16(truncatingIfNeeded: sets[3].bits)
        self.daysOfWeek = dow
        self.lastWeekdays = last
        self.nthWeekdays = weekdays.nthWeekdays
        self.daysMustBothMatch = sets[2].startsWithStar || weekdays.startsWithStar
        // `@hourly` is a wildcard job in Debian cron (it sets HR_STAR).
        self.isWildcard = sets[0].startsWithStar || sets[1].startsWithStar

        var patterns: [UInt32] = []
        for firstWeekday in 0..<7 {
            var mask: UInt32 = 0
            for day in 1...31 {
                let weekday = (firstWeekday + day - 1) % 7
                let occurrence = (day - 1) / 7
                if dow & (1 << weekday) != 0 || nthWeekdays & (1 << UInt64(occurrence * 7 + weekday)) != 0 {
                    mask |= 1 << UInt32(day)
                }
            }
            patterns.append(mask)
        }
        self.weekdayPatterns = patterns
        self.canFire = true
        self.canFire = anyDateMatches()
    }

    /// Every reason `text` is refused, in column order: the shape of the whole (field count,
    /// macro), or else each bad field once, so one reading of the message fixes them all. The
    /// initializer stops at the first; this is for the messages. Empty when `text` parses.
    public static func syntaxErrors(in text: String) -> [CronSyntaxError] {
        let fields: [Token]
        do throws(CronSyntaxError) {
            fields = try fieldTokens(of: text)
        } catch {
            return [error]
        }
        return zip(CronField.allCases, fields).compactMap { field, token in
            do throws(CronSyntaxError) {
                _ = try FieldSet(parsing: token.text, field: field, offset: token.offset)
                return nil
            } catch {
                return error
            }
        }
    }

    /// The five field tokens, a macro expanded (each expanded field at the macro's offset).
    private static func fieldTokens(of text: String) throws(CronSyntaxError) -> [Token] {
        let tokens = Self.tokens(of: text)
        if tokens.count == 1, let first = tokens.first, first.text.hasPrefix("@") {
            guard let expansion = macros[first.text.lowercased()] else {
                let known = macros.keys.sorted().joined(separator: " ")
                throw CronSyntaxError(field: nil, token: first.text, offset: first.offset,
                                      reason: "unknown macro \"\(first.text)\" (known: \(known) @reboot)")
            }
            return expansion.split(separator: " ").map { Token(text: String($0), offset: first.offset) }
        }
        guard tokens.count == 5 else {
            let found = tokens.isEmpty ? "nothing" : "\(tokens.count) field\(tokens.count == 1 ? "" : "s")"
            throw CronSyntaxError(field: nil, token: text, offset: 0,
                                  reason: "expected 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily, found \(found)")
        }
        return tokens
    }

    /// The calendar repeats every 400 years, so a date matches somewhere iff it matches within
    /// one such cycle: at most 4,800 month checks, done once.
    private func anyDateMatches() -> Bool {
        for year in 2000..<2400 {
            for month in 1...12 where months & (1 << UInt16(month)) != 0 {
                if matchingDays(year: year, month: month) != 0 { return true }
            }
        }
        return false
    }

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    struct Token {
        var text: String
        var offset: Int
    }

    static func tokens(of text: String) -> [Token] {
        var result: [Token] = []
        var current = ""
        var start = 0
        for (offset, character) in text.enumerated() {
            if character == " " || character == "\t" {
                if !current.isEmpty { result.append(Token(text: current, offset: start)) }
                current = ""
            } else {
                if current.isEmpty { start = offset }
                current.append(character)
            }
        }
        if !current.isEmpty { result.append(Token(text: current, offset: start)) }
        return result
    }

    // MARK: Matching

    /// Bit d set for each day d of the month that the day fields select (bit 0 unused).
    @inline(__always)
    func matchingDays(year: Int, month: Int) -> UInt32 {
        let length = CivilDate.daysIn(month: month, year: year)
        let valid: UInt32 = (UInt32(2) << UInt32(length)) &- 2
        var byMonthDay = daysOfMonth
        if lastDayOfMonth { byMonthDay |= 1 << UInt32(length) }
        let firstWeekday = CivilDate(year: year, month: month, day: 1).weekday
        if lastWeekdayOfMonth {
            let lastWeekday = (firstWeekday + length - 1) % 7
            let workday = lastWeekday == 0 ? length - 2 : lastWeekday == 6 ? length - 1 : length
            byMonthDay |= 1 << UInt32(workday)
        }
        var byWeekday = weekdayPatterns[firstWeekday]
        if lastWeekdays != 0 {
            let lastWeekday = (firstWeekday + length - 1) % 7
            for weekday in 0..<7 where lastWeekdays & (1 << UInt8(weekday)) != 0 {
                byWeekday |= 1 << UInt32(length - (lastWeekday - weekday + 7) % 7)
            }
        }
        let days = daysMustBothMatch ? (byMonthDay & byWeekday) : (byMonthDay | byWeekday)
        return days & valid
    }

    /// Whether the wall-clock minute matches every field.
    public func matches(_ local: CivilDateTime) -> Bool {
        guard minutes & (1 << UInt64(local.minute)) != 0, hours & (1 << UInt32(local.hour)) != 0,
              months & (1 << UInt16(local.date.month)) != 0 else { return false }
        return matchingDays(year: local.date.year, month: local.date.month) & (1 << UInt32(local.date.day)) != 0
    }

    /// The first matching wall-clock minute at or after `localMinute` and before `limit`
    /// (both in minutes of local time since the epoch), or nil.
    func firstMatch(atOrAfter localMinute: Int64, before limit: Int64?) -> Int64? {
        guard canFire else { return nil }
        let start = CivilDateTime(secondsSinceEpoch: localMinute * 60)
        var year = start.date.year
        var month = start.date.month
        var day = start.date.day
        var hour = start.hour
        var minute = start.minute
        // A feasible expression matches within one 400-year cycle.
        for _ in 0..<(12 * 401) {
            if months & (1 << UInt16(month)) != 0 {
                var days = matchingDays(year: year, month: month) & (UInt32.max << UInt32(day))
                while days != 0 {
                    let matchDay = days.trailingZeroBitCount
                    if matchDay != day {
                        hour = 0
                        minute = 0
                    }
                    if let (matchHour, matchMinute) = firstTime(hour: hour, minute: minute) {
                        let date = CivilDate(year: year, month: month, day: matchDay)
                        let result = date.daysSinceEpoch * 1440 + Int64(matchHour * 60 + matchMinute)
                        if let limit, result >= limit { return nil }
                        return result
                    }
                    days &= days &- 1
                    day = matchDay + 1
                    hour = 0
                    minute = 0
                }
            }
            month += 1
            if month > 12 {
                month = 1
                year += 1
            }
            day = 1
            hour = 0
            minute = 0
            if let limit, CivilDate(year: year, month: month, day: 1).daysSinceEpoch * 1440 >= limit { return nil }
        }
        return nil
    }

    @inline(__always)
    private func firstTime(hour: Int, minute: Int) -> (Int, Int)? {
        var candidateHours = hours & (UInt32.max << UInt32(hour))
        while candidateHours != 0 {
            let matchHour = candidateHours.trailingZeroBitCount
            let fromMinute = matchHour == hour ? minute : 0
            let candidateMinutes = minutes & (UInt64.max << UInt64(fromMinute))
            if candidateMinutes != 0 { return (matchHour, candidateMinutes.trailingZeroBitCount) }
            candidateHours &= candidateHours &- 1
        }
        return nil
    }
}

/// One field's parsed values.
struct FieldSet {
    var bits: UInt64 = 0
    var lastDay = false
    var lastWorkday = false
    var lastWeekdays: UInt64 = 0
    var nthWeekdays: UInt64 = 0
    var startsWithStar = false

    init(parsing text: String, field: CronField, offset: Int) throws(CronSyntaxError) {
        startsWithStar = text.hasPrefix("*")
        var elementOffset = offset
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            let token = String(element)
            try add(token, field: field, offset: elementOffset)
            elementOffset += token.count + 1
        }
    }

    private mutating func add(_ token: String, field: CronField, offset: Int) throws(CronSyntaxError) {
        func fail(_ reason: String) -> CronSyntaxError {
            CronSyntaxError(field: field, token: token, offset: offset, reason: reason)
        }
        if token.isEmpty { throw fail("empty list element (two commas in a row, or a comma at an end)") }
        let upper = token.uppercased()

        if field == .dayOfMonth, upper == "L" || upper == "LW" {
            if upper == "L" { lastDay = true } else { lastWorkday = true }
            return
        }
        if field == .dayOfWeek, upper.hasSuffix("L"), upper.count > 1 {
            let weekday = try value(String(upper.dropLast()), field: field, token: token, offset: offset)
            lastWeekdays |= 1 << UInt64(weekday)
            return
        }
        if field == .dayOfWeek, let hash = upper.firstIndex(of: "#") {
            let weekday = try value(String(upper[..<hash]), field: field, token: token, offset: offset)
            let nthText = upper[upper.index(after: hash)...]
            guard let nth = Int(nthText), (1...5).contains(nth), nthText.allSatisfy(\.isASCIIDigit) else {
                throw fail("\"\(token)\": the occurrence after # must be 1 to 5 (FRI#2 is the second Friday)")
            }
            nthWeekdays |= 1 << UInt64((nth - 1) * 7 + weekday % 7)
            return
        }

        var rangePart = Substring(upper)
        var step = 1
        if let slash = upper.firstIndex(of: "/") {
            rangePart = upper[..<slash]
            let stepText = upper[upper.index(after: slash)...]
            guard !stepText.isEmpty, stepText.count <= 4, stepText.allSatisfy(\.isASCIIDigit),
                  let parsed = Int(stepText) else {
                throw fail("\"\(token)\": the step after / must be a whole number")
            }
            guard parsed >= 1 else { throw fail("\"\(token)\": a step of 0 never advances") }
            step = parsed
            guard rangePart == "*" || rangePart.contains("-") else {
                throw fail("\"\(token)\": a step needs a range or * before the / (Debian cron rejects \(token); write \(rangePart)-\(field.range.upperBound)/\(step))")
            }
        }
        let low: Int
        let high: Int
        if rangePart == "*" {
            low = field.range.lowerBound
            high = field.range.upperBound
        } else if let dash = rangePart.firstIndex(of: "-") {
            low = try value(String(rangePart[..<dash]), field: field, token: token, offset: offset)
            high = try value(String(rangePart[rangePart.index(after: dash)...]), field: field, token: token, offset: offset)
            guard low <= high else {
                throw fail("\"\(token)\": range runs backwards (\(low) is after \(high)); cron ranges do not wrap")
            }
        } else {
            let single = try value(String(rangePart), field: field, token: token, offset: offset)
            low = single
            high = single
        }
        var current = low
        while current <= high {
            bits |= 1 << UInt64(current)
            current += step
        }
    }

    private func value(_ text: String, field: CronField, token: String, offset: Int) throws(CronSyntaxError) -> Int {
        if let index = field.names.firstIndex(of: text) { return index + field.firstNamedValue }
        guard !text.isEmpty, text.count <= 3, text.allSatisfy(\.isASCIIDigit), let number = Int(text) else {
            let what = text.isEmpty ? "a missing value" : "\"\(text)\""
            throw CronSyntaxError(field: field, token: token, offset: offset,
                                  reason: "\"\(token)\": \(what) is not a valid value (use \(field.acceptedForm))")
        }
        guard field.range.contains(number) else {
            throw CronSyntaxError(field: field, token: token, offset: offset,
                                  reason: "\"\(token)\": \(number) is out of range (use \(field.acceptedForm))")
        }
        return number
    }
}

extension Character {
    var isASCIIDigit: Bool { asciiValue.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
}

extension String {
    public var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars = scalars.dropLast() }
        return String(scalars)
    }
}

/// A POSIX `TZ` rule such as `CET-1CEST,M3.5.0,M10.5.0/3`, with the RFC 8536 extension that
/// transition times may be negative or up to 167 hours.
///
/// TZif footers use this form to describe every instant after the file's last explicit
/// transition, and a `TZ` variable may hold one directly, so both routes share this parser.
public struct PosixTimeZone: Hashable, Sendable {
    /// The day a transition happens, in the three notations POSIX allows.
    public enum Day: Hashable, Sendable {
        /// `Jn`: day 1...365, never counting February 29, so `J60` is always March 1.
        case julianNoLeap(Int)
        /// `n`: day 0...365, counting February 29 in leap years.
        case zeroBasedDayOfYear(Int)
        /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (1...5, 5 = last) of month `m`.
        case monthWeekDay(month: Int, week: Int, weekday: Int)
    }

    /// When in local time a change happens: a day plus seconds after that day's midnight.
    /// Only the parser builds these, so the day and time are always in range and the date
    /// arithmetic cannot overflow.
    public struct Rule: Hashable, Sendable {
        public let day: Day
        /// Seconds after local midnight, -167...167 hours; rules like `M3.4.4/50` need the range.
        public let time: Int

        init(day: Day, time: Int = 7200) {
            self.day = day
            self.time = time
        }
    }

    /// The alternative offset and when it applies; "daylight" is POSIX's word even where the
    /// alternative is a winter offset (Europe/Dublin's negative DST).
    public struct DaylightSaving: Hashable, Sendable {
        public let abbreviation: String
        /// Seconds east of UTC.
        public let offset: Int
        /// Switch to `offset`, read in standard local time.
        public let start: Rule
        /// Switch back to standard time, read in daylight local time.
        public let end: Rule
    }

    public let standardAbbreviation: String
    /// Seconds east of UTC (the text's sign is inverted: `CET-1` is UTC+1).
    public let standardOffset: Int
    public let daylightSaving: DaylightSaving?

    /// Years for which `transitions(inYear:)` answers; the bound keeps day arithmetic exact.
    public static let supportedYears = 1...9999

    /// The rule POSIX leaves to the implementation when a DST name has no dates; tzcode and
    /// glibc both use the US rules, so `TZ=EST5EDT` means what `date` shows.
    static let defaultRules = (start: Rule(day: .monthWeekDay(month: 3, week: 2, weekday: 0)),
                               end: Rule(day: .monthWeekDay(month: 11, week: 1, weekday: 0)))

    public init(parsing text: String) throws(ZoneRulesError) {
        try self.init(bytes: Array(text.utf8)[...])
    }

    init(bytes: ArraySlice<UInt8>) throws(ZoneRulesError) {
        var scanner = PosixScanner(bytes: bytes)
        standardAbbreviation = try scanner.abbreviation()
        standardOffset = -(try scanner.duration(maxHours: 24, what: "standard offset"))
        guard !scanner.isAtEnd else {
            daylightSaving = nil
            return
        }
        let name = try scanner.abbreviation()
        var offset = standardOffset + 3600
        if !scanner.isAtEnd, scanner.peek != UInt8(ascii: ",") {
            offset = -(try scanner.duration(maxHours: 24, what: "daylight offset"))
        }
        var rules = PosixTimeZone.defaultRules
        if !scanner.isAtEnd {
            try scanner.expect(UInt8(ascii: ","), "',' before the DST start rule")
            rules.start = try scanner.rule()
            try scanner.expect(UInt8(ascii: ","), "',' before the DST end rule")
            rules.end = try scanner.rule()
            guard scanner.isAtEnd else { throw scanner.error("unexpected text after the DST end rule") }
        }
        daylightSaving = DaylightSaving(abbreviation: name, offset: offset, start: rules.start, end: rules.end)
    }

    /// The offset changes inside `year` (at most two, sorted), or none for a fixed offset or a
    /// year outside `supportedYears`. At equal instants the start comes first, so a zero-length
    /// DST period nets out to standard time.
    public func transitions(inYear year: Int) -> [ZoneTransition] {
        guard let dst = daylightSaving, PosixTimeZone.supportedYears.contains(year) else { return [] }
        let start = ZoneTransition(
            at: Instant(secondsSinceEpoch: dst.start.localSeconds(in: year) - Int64(standardOffset)),
            offsetBefore: standardOffset, offsetAfter: dst.offset)
        let end = ZoneTransition(
            at: Instant(secondsSinceEpoch: dst.end.localSeconds(in: year) - Int64(dst.offset)),
            offsetBefore: dst.offset, offsetAfter: standardOffset)
        return start.at <= end.at ? [start, end] : [end, start]
    }

    /// Every transition of `years`, in time order. Stable sorting matters: when one year's end
    /// meets the next year's start (`J365/25`-style all-year DST) the later year's entry is last
    /// and wins in `ZoneRules.init`.
    func transitions(years: ClosedRange<Int>) -> [ZoneTransition] {
        var all: [ZoneTransition] = []
        for year in years {
            all.append(contentsOf: transitions(inYear: year))
        }
        return all.sorted { $0.at < $1.at }
    }
}

extension PosixTimeZone.Rule {
    /// The rule's moment in `year` as local seconds (the reading taken as if it were UTC).
    func localSeconds(in year: Int) -> Int64 {
        let dayNumber: Int64
        switch day {
        case .julianNoLeap(let n):
            let skipsLeapDay = CivilDate.isLeapYear(year) && n >= 60
            dayNumber = CivilDate(year: year, month: 1, day: 1).daysSinceEpoch + Int64(n - 1 + (skipsLeapDay ? 1 : 0))
        case .zeroBasedDayOfYear(let n):
            dayNumber = CivilDate(year: year, month: 1, day: 1).daysSinceEpoch + Int64(n)
        case .monthWeekDay(let month, let week, let weekday):
            let firstWeekday = CivilDate(year: year, month: month, day: 1).weekday
            var dayOfMonth = 1 + (weekday - firstWeekday + 7) % 7 + (week - 1) * 7
            if dayOfMonth > CivilDate.daysIn(month: month, year: year) { dayOfMonth -= 7 }
            dayNumber = CivilDate(year: year, month: month, day: dayOfMonth).daysSinceEpoch
        }
        return dayNumber * 86_400 + Int64(time)
    }
}

extension ZoneRules {
    /// First year expanded from a bare TZ string: no cron job runs before the epoch.
    static let firstExpandedPosixYear = 1970

    /// Rules from a TZ string alone (a `TZ=EST5EDT,M3.2.0,M11.1.0` value, or tests), expanded
    /// for 1970...2200. Before 1970 the offset in force at the start of 1970 applies; after 2200
    /// the last offset of 2200 holds.
    public init(identifier: String, posixTZ: String) throws(ZoneRulesError) {
        let zone = try PosixTimeZone(parsing: posixTZ)
        let transitions = zone.transitions(years: ZoneRules.firstExpandedPosixYear...ZoneRules.lastExpandedYear)
        self.init(identifier: identifier,
                  initialOffset: transitions.first?.offsetBefore ?? zone.standardOffset,
                  transitions: transitions.map { (at: $0.at.secondsSinceEpoch, offset: $0.offsetAfter) })
    }
}

/// A cursor over TZ string bytes; every read is bounds-checked and every number capped before
/// it can overflow.
struct PosixScanner {
    let bytes: ArraySlice<UInt8>
    var index: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var isAtEnd: Bool { index >= bytes.endIndex }
    var peek: UInt8? { isAtEnd ? nil : bytes[index] }

    func error(_ problem: String) -> ZoneRulesError {
        let text = String(decoding: bytes, as: UTF8.self)
        return ZoneRulesError("TZ string \"\(text)\": \(problem) at position \(index - bytes.startIndex)")
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(ZoneRulesError) {
        guard peek == byte else { throw error("expected \(what)") }
        index += 1
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isAlpha(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }

    /// `EST` (letters only) or `<+0330>` (letters, digits, signs); POSIX requires three or more.
    mutating func abbreviation() throws(ZoneRulesError) -> String {
        let quoted = peek == UInt8(ascii: "<")
        if quoted { index += 1 }
        let start = index
        while let byte = peek,
              PosixScanner.isAlpha(byte)
                || (quoted && (PosixScanner.isDigit(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-"))) {
            index += 1
        }
        let name = String(decoding: bytes[start..<index], as: UTF8.self)
        guard index - start >= 3 else { throw error("zone abbreviation needs at least 3 characters") }
        if quoted { try expect(UInt8(ascii: ">"), "'>' closing the quoted abbreviation") }
        return name
    }

    /// A decimal number of at most `max`, read without any chance of overflow.
    mutating func number(max: Int, what: String) throws(ZoneRulesError) -> Int {
        guard let first = peek, PosixScanner.isDigit(first) else { throw error("expected digits for \(what)") }
        var value = 0
        while let byte = peek, PosixScanner.isDigit(byte) {
            value = value * 10 + Int(byte - 0x30)
            guard value <= max else { throw error("\(what) is above \(max)") }
            index += 1
        }
        return value
    }

    /// `[+-]hh[:mm[:ss]]` as signed seconds, in the text's own sign convention.
    mutating func duration(maxHours: Int, what: String) throws(ZoneRulesError) -> Int {
        var sign = 1
        if peek == UInt8(ascii: "+") {
            index += 1
        } else if peek == UInt8(ascii: "-") {
            sign = -1
            index += 1
        }
        var seconds = try number(max: maxHours, what: "\(what) hours") * 3600
        if peek == UInt8(ascii: ":") {
            index += 1
            seconds += try number(max: 59, what: "\(what) minutes") * 60
            if peek == UInt8(ascii: ":") {
                index += 1
                seconds += try number(max: 59, what: "\(what) seconds")
            }
        }
        return sign * seconds
    }

    /// `Jn`, `n` or `Mm.w.d`, then an optional `/time` (default 02:00).
    mutating func rule() throws(ZoneRulesError) -> PosixTimeZone.Rule {
        let day: PosixTimeZone.Day
        switch peek {
        case UInt8(ascii: "J"):
            index += 1
            let n = try number(max: 365, what: "Julian day")
            guard n >= 1 else { throw error("Julian day must be 1...365") }
            day = .julianNoLeap(n)
        case UInt8(ascii: "M"):
            index += 1
            let month = try number(max: 12, what: "month")
            try expect(UInt8(ascii: "."), "'.' after the month")
            let week = try number(max: 5, what: "week")
            try expect(UInt8(ascii: "."), "'.' after the week")
            let weekday = try number(max: 6, what: "weekday")
            guard month >= 1, week >= 1 else { throw error("month and week count from 1") }
            day = .monthWeekDay(month: month, week: week, weekday: weekday)
        default:
            day = .zeroBasedDayOfYear(try number(max: 365, what: "day of year"))
        }
        guard peek == UInt8(ascii: "/") else { return PosixTimeZone.Rule(day: day) }
        index += 1
        return PosixTimeZone.Rule(day: day, time: try duration(maxHours: 167, what: "transition time"))
    }
}

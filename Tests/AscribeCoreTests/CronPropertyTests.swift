import Testing
@testable import AscribeCore

/// A random expression together with the sets it denotes, built independently of the parser
/// so the matcher below is a second opinion rather than a copy.
struct GeneratedExpression {
    var text = ""
    var minutes = Set<Int>()
    var hours = Set<Int>()
    var daysOfMonth = Set<Int>()
    var lastDay = false
    var lastWorkday = false
    var months = Set<Int>()
    var weekdays = Set<Int>()
    var lastWeekdays = Set<Int>()
    var nthWeekdays = Set<[Int]>()
    var dayOfMonthStar = false
    var dayOfWeekStar = false

    static func random(using rng: inout SplitMix64, extensions: Bool = true) -> GeneratedExpression {
        var result = GeneratedExpression()
        var fields: [String] = []
        for (index, range) in [0...59, 0...23, 1...31, 1...12, 0...7].enumerated() {
            var (text, values, star) = randomField(range, rng: &rng)
            if extensions, index == 2, Int.random(in: 0..<8, using: &rng) == 0 {
                let useWorkday = Bool.random(using: &rng)
                text = useWorkday ? "LW" : "L"
                values = []
                star = false
                if useWorkday { result.lastWorkday = true } else { result.lastDay = true }
            }
            if extensions, index == 4, Int.random(in: 0..<6, using: &rng) == 0 {
                let weekday = Int.random(in: 0...7, using: &rng)
                values = []
                star = false
                if Bool.random(using: &rng) {
                    text = "\(weekday)L"
                    result.lastWeekdays.insert(weekday % 7)
                } else {
                    let nth = Int.random(in: 1...5, using: &rng)
                    text = "\(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"][weekday])#\(nth)"
                    result.nthWeekdays.insert([weekday % 7, nth])
                }
            }
            fields.append(text)
            switch index {
            case 0: result.minutes = values
            case 1: result.hours = values
            case 2: result.daysOfMonth = values; result.dayOfMonthStar = star
            case 3: result.months = values
            default: result.weekdays = Set(values.map { $0 % 7 }); result.dayOfWeekStar = star
            }
        }
        result.text = fields.joined(separator: " ")
        return result
    }

    private static func randomField(_ range: ClosedRange<Int>, rng: inout SplitMix64) -> (String, Set<Int>, Bool) {
        let span = range.upperBound - range.lowerBound
        switch Int.random(in: 0..<10, using: &rng) {
        case 0, 1, 2:
            return ("*", Set(range), true)
        case 3:
            let step = Int.random(in: 2...max(2, span / 2), using: &rng)
            return ("*/\(step)", Set(stride(from: range.lowerBound, through: range.upperBound, by: step)), true)
        case 4, 5:
            let value = Int.random(in: range, using: &rng)
            return ("\(value)", [value], false)
        case 6:
            let low = Int.random(in: range, using: &rng)
            let high = Int.random(in: low...range.upperBound, using: &rng)
            return ("\(low)-\(high)", Set(low...high), false)
        case 7:
            let low = Int.random(in: range, using: &rng)
            let high = Int.random(in: low...range.upperBound, using: &rng)
            let step = Int.random(in: 1...max(1, span / 3), using: &rng)
            // `5-5/2` means {5} to Debian but {5, 7, …} to cronsim: keep the cross-check to
            // forms both implement the same way.
            guard high > low else { return ("\(low)-\(high)", [low], false) }
            return ("\(low)-\(high)/\(step)", Set(stride(from: low, through: high, by: step)), false)
        default:
            let values = (0..<Int.random(in: 2...4, using: &rng)).map { _ in Int.random(in: range, using: &rng) }
            return (values.map(String.init).joined(separator: ","), Set(values), false)
        }
    }

    func dayMatches(_ date: CivilDate) -> Bool {
        guard months.contains(date.month) else { return false }
        let length = CivilDate.daysIn(month: date.month, year: date.year)
        let weekday = date.weekday
        var byMonthDay = daysOfMonth.contains(date.day) || (lastDay && date.day == length)
        if lastWorkday {
            let lastWeekday = CivilDate(year: date.year, month: date.month, day: length).weekday
            let workday = lastWeekday == 6 ? length - 1 : lastWeekday == 0 ? length - 2 : length
            byMonthDay = byMonthDay || date.day == workday
        }
        let byWeekday = weekdays.contains(weekday)
            || (lastWeekdays.contains(weekday) && date.day + 7 > length)
            || nthWeekdays.contains([weekday, (date.day - 1) / 7 + 1])
        return (dayOfMonthStar || dayOfWeekStar) ? (byMonthDay && byWeekday) : (byMonthDay || byWeekday)
    }

    func matches(_ local: CivilDateTime) -> Bool {
        minutes.contains(local.minute) && hours.contains(local.hour) && dayMatches(local.date)
    }

    /// Any matching minute strictly between the two instants (UTC), checked minute by minute
    /// on days and hours that could match.
    func firstMatch(after start: Int64, before end: Int64) -> Int64? {
        var day = CivilDateTime(secondsSinceEpoch: start).date.daysSinceEpoch
        let lastDay = CivilDateTime(secondsSinceEpoch: end).date.daysSinceEpoch
        while day <= lastDay {
            let date = CivilDate(daysSinceEpoch: day)
            if dayMatches(date) {
                for hour in 0..<24 where hours.contains(hour) {
                    for minute in 0..<60 {
                        let seconds = day * 86_400 + Int64(hour * 3600 + minute * 60)
                        if seconds > start, seconds < end, minutes.contains(minute) { return seconds }
                    }
                }
            }
            day += 1
        }
        return nil
    }
}

@Suite struct CronPropertyTests {
    /// Thousands of random expressions in UTC: every result matches, results strictly
    /// increase, and brute force finds no match in between.
    @Test func randomExpressionsAgreeWithBruteForce() throws {
        var rng = SplitMix64(seed: 0xA5C1_B0E5)
        var checkedFires = 0
        for _ in 0..<3000 {
            let generated = GeneratedExpression.random(using: &rng)
            let cron = try CronExpression(parsing: generated.text)
            var cursor = Int64.random(in: 946_684_800...2_208_988_800, using: &rng)  // 2000...2040
            for _ in 0..<4 {
                guard let fire = cron.nextFire(after: Instant(secondsSinceEpoch: cursor), in: .utc) else {
                    // Only a truly impossible expression may give up: check 400 years of days.
                    let impossible = (0..<146_097).allSatisfy { offset in
                        !generated.dayMatches(CivilDate(daysSinceEpoch: 10_957 + Int64(offset)))
                    }
                    #expect(impossible, "\(generated.text) gave up after \(cursor)")
                    #expect(!cron.canFire)
                    break
                }
                let seconds = fire.instant.secondsSinceEpoch
                #expect(seconds > cursor, "\(generated.text): not after \(cursor)")
                #expect(seconds % 60 == 0)
                #expect(generated.matches(CivilDateTime(secondsSinceEpoch: seconds)), "\(generated.text) at \(fire.instant)")
                let missed = generated.firstMatch(after: cursor, before: seconds)
                #expect(missed == nil, "\(generated.text): skipped \(missed.map { Instant(secondsSinceEpoch: $0).description } ?? "") before \(fire.instant)")
                cursor = seconds
                checkedFires += 1
            }
        }
        #expect(checkedFires > 10_000)
    }

    /// `matches` agrees with the reference matcher on random minutes.
    @Test func matcherAgreesWithReference() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<2000 {
            let generated = GeneratedExpression.random(using: &rng)
            let cron = try CronExpression(parsing: generated.text)
            for _ in 0..<50 {
                let minute = CivilDateTime(secondsSinceEpoch: Int64.random(in: 0...4_102_444_800, using: &rng) / 60 * 60)
                #expect(cron.matches(minute) == generated.matches(minute), "\(generated.text) at \(minute)")
            }
        }
    }
}

@Suite struct CronParserRobustnessTests {
    /// Random text built from cron's own alphabet (and some that is not) never crashes the
    /// parser; every refusal points inside the text.
    @Test func randomTextNeverCrashes() {
        var rng = SplitMix64(seed: 7)
        let alphabet = "0123456789*/-,LW#@ \tMONTUEFRISATSUNJANDECabcxyz%é\u{0}".map(String.init) + ["99999999999999999999"]
        for _ in 0..<20_000 {
            func token(_ length: Int) -> String {
                (0..<length).map { _ in alphabet.randomElement(using: &rng) ?? " " }.joined()
            }
            // Half free text, half five space-separated fields so the field parsers are reached.
            let text = Bool.random(using: &rng)
                ? token(Int.random(in: 0...40, using: &rng))
                : (0..<5).map { _ in token(Int.random(in: 1...7, using: &rng)) }.joined(separator: " ")
            do {
                let cron = try CronExpression(parsing: text)
                _ = cron.nextFire(after: Instant(secondsSinceEpoch: 1_800_000_000), in: .utc)
                _ = cron.plainEnglish
            } catch {
                #expect(error.offset >= 0 && error.offset <= text.count, "\(text)")
                #expect(!error.description.isEmpty)
            }
        }
    }

    @Test func extremeInstantsDoNotTrap() throws {
        let cron = try CronExpression(parsing: "* * * * *")
        #expect(cron.nextFire(after: Instant(secondsSinceEpoch: .max), in: .utc) == nil)
        #expect(cron.nextFire(after: Instant(secondsSinceEpoch: .min), in: .utc) == nil)
        #expect(cron.nextFire(after: Instant(secondsSinceEpoch: 253_000_000_000), in: .utc) != nil)
    }
}

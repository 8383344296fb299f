import AscribeCore

/// A random expression together with the sets it denotes, built independently of the parser
/// so the matcher below is a second opinion rather than a copy.
package struct GeneratedExpression {
    package var text = ""
    package var minutes = Set<Int>()
    package var hours = Set<Int>()
    package var daysOfMonth = Set<Int>()
    package var lastDay = false
    package var lastWorkday = false
    package var months = Set<Int>()
    package var weekdays = Set<Int>()
    package var lastWeekdays = Set<Int>()
    package var nthWeekdays = Set<[Int]>()
    package var dayOfMonthStar = false
    package var dayOfWeekStar = false

    package static func random(using rng: inout SplitMix64, extensions: Bool = true) -> GeneratedExpression {
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

    package func dayMatches(_ date: CivilDate) -> Bool {
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

    package func matches(_ local: CivilDateTime) -> Bool {
        minutes.contains(local.minute) && hours.contains(local.hour) && dayMatches(local.date)
    }

    /// Any matching minute strictly between the two instants (UTC), checked minute by minute
    /// on days and hours that could match.
    package func firstMatch(after start: Int64, before end: Int64) -> Int64? {
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

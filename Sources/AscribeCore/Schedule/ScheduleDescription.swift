/// Plain-English renderings of schedules, so `check` and `next` can show a reviewer what an
/// expression means before it ships ("at 03:00 on the last day of the month").
extension CronExpression {
    public var plainEnglish: String {
        guard canFire else { return "never (no date matches \(source))" }
        var parts = [timePhrase]
        if let days = dayPhrase { parts.append(days) }
        if let monthText = monthPhrase { parts.append(monthText) }
        return parts.joined(separator: " ")
    }

    private static let monthNames = ["January", "February", "March", "April", "May", "June", "July",
                                     "August", "September", "October", "November", "December"]
    private static let weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let ordinals = ["first", "second", "third", "fourth", "fifth"]

    private var timePhrase: String {
        let minuteList = Self.members(UInt64(minutes), in: 0...59)
        let hourList = Self.members(UInt64(hours), in: 0...23)
        if minuteList.count == 60 && hourList.count == 24 { return "every minute" }
        if hourList.count == 24 {
            if let step = Self.uniformStep(minuteList, in: 0...59), step > 1 {
                return "every \(step) minutes"
            }
            if minuteList.count == 1 { return "at minute \(minuteList[0]) of every hour" }
            return "at minutes \(Self.list(minuteList.map(String.init))) of every hour"
        }
        if minuteList.count == 60 {
            return "every minute during hour\(hourList.count == 1 ? "" : "s") \(Self.list(hourList.map { RFC3339.pad($0, 2) }))"
        }
        if minuteList.count == 1 {
            if let step = Self.uniformStep(hourList, in: 0...23), step > 1 {
                return "at minute \(minuteList[0]) of every \(step) hours"
            }
            if hourList.count <= 6 {
                return "at " + Self.list(hourList.map { "\(RFC3339.pad($0, 2)):\(RFC3339.pad(minuteList[0], 2))" })
            }
        }
        if minuteList.count <= 4 && hourList.count * minuteList.count <= 6 {
            let times = hourList.flatMap { hour in minuteList.map { "\(RFC3339.pad(hour, 2)):\(RFC3339.pad($0, 2))" } }
            return "at " + Self.list(times)
        }
        return "at minutes \(Self.list(minuteList.map(String.init))) past hours \(Self.list(hourList.map(String.init)))"
    }

    private var dayPhrase: String? {
        var monthDays: [String] = []
        let dayList = Self.members(UInt64(daysOfMonth) >> 1, in: 0...30).map { $0 + 1 }
        let everyMonthDay = dayList.count == 31
        if !everyMonthDay && !dayList.isEmpty {
            monthDays.append(dayList.count == 1 ? "day \(dayList[0]) of the month" : "days \(Self.list(dayList.map(String.init))) of the month")
        }
        if lastDayOfMonth { monthDays.append("the last day of the month") }
        if lastWeekdayOfMonth { monthDays.append("the last weekday (Monday to Friday) of the month") }

        var weekDays: [String] = []
        let weekdayList = Self.members(UInt64(daysOfWeek), in: 0...6)
        let everyWeekday = weekdayList.count == 7
        if !everyWeekday && !weekdayList.isEmpty {
            if weekdayList == [1, 2, 3, 4, 5] {
                weekDays.append("Monday through Friday")
            } else {
                weekDays.append(Self.list(weekdayList.map { Self.weekdayNames[$0] }))
            }
        }
        for weekday in 0..<7 where lastWeekdays & (1 << UInt8(weekday)) != 0 {
            weekDays.append("the last \(Self.weekdayNames[weekday]) of the month")
        }
        for bit in 0..<35 where nthWeekdays & (1 << UInt64(bit)) != 0 {
            weekDays.append("the \(Self.ordinals[bit / 7]) \(Self.weekdayNames[bit % 7]) of the month")
        }

        let monthDayText = Self.list(monthDays)
        let weekDayText = Self.list(weekDays, conjunction: "or")
        let monthDayRestricted = !monthDays.isEmpty && !(everyMonthDay && !lastDayOfMonth && !lastWeekdayOfMonth)
        let weekDayRestricted = !weekDays.isEmpty
        switch (monthDayRestricted, weekDayRestricted) {
        case (false, false): return nil
        case (true, false): return "on \(monthDayText)"
        case (false, true): return "on \(weekDayText)"
        case (true, true):
            return daysMustBothMatch ? "on \(monthDayText), if it is \(weekDayText)" : "on \(monthDayText), and on \(weekDayText)"
        }
    }

    private var monthPhrase: String? {
        let monthList = Self.members(UInt64(months) >> 1, in: 0...11)
        if monthList.count == 12 { return nil }
        return "in " + Self.list(monthList.map { Self.monthNames[$0] })
    }

    private static func members(_ bits: UInt64, in range: ClosedRange<Int>) -> [Int] {
        range.filter { bits & (1 << UInt64($0)) != 0 }
    }

    /// The step when `values` is exactly `lower, lower+s, lower+2s, …` covering the field.
    private static func uniformStep(_ values: [Int], in range: ClosedRange<Int>) -> Int? {
        guard values.count >= 2, values[0] == range.lowerBound else { return nil }
        let step = values[1] - values[0]
        for (index, value) in values.enumerated() where value != range.lowerBound + index * step { return nil }
        guard values[values.count - 1] + step > range.upperBound, range.count % step == 0 else { return nil }
        return step
    }


    private static func list(_ items: [String], conjunction: String = "and") -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        case 2: return "\(items[0]) \(conjunction) \(items[1])"
        default: return items.dropLast().joined(separator: ", ") + ", \(conjunction) \(items[items.count - 1])"
        }
    }
}

extension Schedule {
    public var plainEnglish: String {
        switch self {
        case .calendar(let expression): expression.plainEnglish
        case .reboot: "once each time the daemon starts"
        }
    }
}

import Testing
@testable import AscribeCore

/// The first `count` fire times after `from`, in UTC, as RFC 3339 strings.
func utcFires(_ expression: String, from: String, count: Int) throws -> [String] {
    let cron = try CronExpression(parsing: expression)
    guard case .instant(var cursor) = RFC3339.parse(from) else {
        Issue.record("bad test timestamp \(from)")
        return []
    }
    var result: [String] = []
    for _ in 0..<count {
        guard let fire = cron.nextFire(after: cursor, in: .utc) else { break }
        result.append(RFC3339.format(fire.instant, offsetSeconds: 0))
        cursor = fire.instant
    }
    return result
}

@Suite struct CronSyntaxTests {
    /// Each malformed expression → the field, the token and its offset, and the message.
    @Test(arguments: [
        ("61 * * * *", CronField.minute, "61", 0, "minute field: \"61\": 61 is out of range (use 0-59)"),
        ("* 24 * * *", .hour, "24", 2, "hour field: \"24\": 24 is out of range (use 0-23)"),
        ("* * 0 * *", .dayOfMonth, "0", 4, "day-of-month field: \"0\": 0 is out of range (use 1-31, L or LW)"),
        ("* * * 13 *", .month, "13", 6, "month field: \"13\": 13 is out of range (use 1-12 or JAN-DEC)"),
        ("* * * * 8", .dayOfWeek, "8", 8, "day-of-week field: \"8\": 8 is out of range (use 0-7 or SUN-SAT (0 and 7 are Sunday), 5L, FRI#2)"),
        ("* * * * FRX", .dayOfWeek, "FRX", 8, "day-of-week field: \"FRX\": \"FRX\" is not a valid value (use 0-7 or SUN-SAT (0 and 7 are Sunday), 5L, FRI#2)"),
        ("*/0 * * * *", .minute, "*/0", 0, "minute field: \"*/0\": a step of 0 never advances"),
        ("5/10 * * * *", .minute, "5/10", 0, "minute field: \"5/10\": a step needs a range or * before the / (Debian cron rejects 5/10; write 5-59/10)"),
        ("0 9-5 * * *", .hour, "9-5", 2, "hour field: \"9-5\": range runs backwards (9 is after 5); cron ranges do not wrap"),
        ("0 1,,2 * * *", .hour, "", 4, "hour field: empty list element (two commas in a row, or a comma at an end)"),
        ("0 0 * * FRI#6", .dayOfWeek, "FRI#6", 8, "day-of-week field: \"FRI#6\": the occurrence after # must be 1 to 5 (FRI#2 is the second Friday)"),
        ("0 0 * * L", .dayOfWeek, "L", 8, "day-of-week field: \"L\": \"L\" is not a valid value (use 0-7 or SUN-SAT (0 and 7 are Sunday), 5L, FRI#2)"),
        ("0 0 L * LW", .dayOfWeek, "LW", 8, "day-of-week field: \"LW\": \"LW\" is not a valid value (use 0-7 or SUN-SAT (0 and 7 are Sunday), 5L, FRI#2)"),
        ("0 0 1-x * *", .dayOfMonth, "1-x", 4, "day-of-month field: \"1-x\": \"X\" is not a valid value (use 1-31, L or LW)"),
        ("*/a * * * *", .minute, "*/a", 0, "minute field: \"*/a\": the step after / must be a whole number"),
        ("0 0 * JAN-MON *", .month, "JAN-MON", 6, "month field: \"JAN-MON\": \"MON\" is not a valid value (use 1-12 or JAN-DEC)"),
    ])
    func fieldErrors(expression: String, field: CronField, token: String, offset: Int, message: String) {
        #expect(throws: CronSyntaxError(field: field, token: token, offset: offset,
                                        reason: String(message.drop(while: { $0 != ":" }).dropFirst(2)))) {
            try CronExpression(parsing: expression)
        }
        do {
            _ = try CronExpression(parsing: expression)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test(arguments: ["", "* * * *", "* * * * * *", "@fortnightly"])
    func wholeExpressionErrors(expression: String) throws {
        do {
            _ = try CronExpression(parsing: expression)
            Issue.record("accepted \(expression)")
        } catch {
            #expect(error.field == nil)
            #expect(!error.description.isEmpty)
        }
    }

    /// The initializer stops at the first bad field; the messages name every one, in order,
    /// and an expression that parses has none.
    @Test func everyBadFieldIsReportedAtOnce() {
        #expect(CronExpression.syntaxErrors(in: "61 25 0 13 8").map { "\($0.offset) \($0)" } == [
            "0 minute field: \"61\": 61 is out of range (use 0-59)",
            "3 hour field: \"25\": 25 is out of range (use 0-23)",
            "6 day-of-month field: \"0\": 0 is out of range (use 1-31, L or LW)",
            "8 month field: \"13\": 13 is out of range (use 1-12 or JAN-DEC)",
            "11 day-of-week field: \"8\": 8 is out of range (use 0-7 or SUN-SAT (0 and 7 are Sunday), 5L, FRI#2)",
        ])
        #expect(CronExpression.syntaxErrors(in: "61 25 * *").map(\.description)
                == ["expected 5 fields (minute hour day-of-month month day-of-week) or a macro like @daily, found 4 fields"])
        #expect(CronExpression.syntaxErrors(in: "@daily") == [])
        #expect(CronExpression.syntaxErrors(in: "*/15 9-17 * * MON-FRI") == [])
        #expect(Schedule.syntaxErrors(in: "@reboot") == [])
    }

    @Test func macrosExpandLikeDebian() throws {
        #expect(try CronExpression(parsing: "@daily").isWildcard == false)
        #expect(try CronExpression(parsing: "@hourly").isWildcard == true)
        #expect(try utcFires("@weekly", from: "2026-11-23T00:00:00Z", count: 2)
                == ["2026-11-29T00:00:00+00:00", "2026-12-06T00:00:00+00:00"])
        #expect(try utcFires("@yearly", from: "2026-11-23T00:00:00Z", count: 1) == ["2027-01-01T00:00:00+00:00"])
        #expect(try utcFires("@MONTHLY", from: "2026-11-23T00:00:00Z", count: 1) == ["2026-12-01T00:00:00+00:00"])
        #expect(try Schedule(parsing: " @reboot ") == .reboot)
    }

    @Test func neverFiringExpressionsAreDetectedQuickly() throws {
        for text in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *", "0 0 30 FEB *"] {
            let cron = try CronExpression(parsing: text)
            #expect(!cron.canFire, "\(text)")
            #expect(cron.nextFire(after: Instant(secondsSinceEpoch: 0), in: .utc) == nil)
            #expect(cron.plainEnglish.hasPrefix("never"))
        }
        // Feb 29 exists only in leap years; Feb 29 on a Monday is rarer still but real.
        #expect(try utcFires("0 0 29 2 *", from: "2026-01-01T00:00:00Z", count: 1) == ["2028-02-29T00:00:00+00:00"])
        #expect(try utcFires("0 0 29 2 MON", from: "2026-01-01T00:00:00Z", count: 1)
                == ["2026-02-02T00:00:00+00:00"])  // OR rule: any Monday in February
        #expect(try utcFires("0 0 */28 2 MON", from: "2026-01-01T00:00:00Z", count: 2)
                == ["2027-02-01T00:00:00+00:00", "2038-02-01T00:00:00+00:00"])  // AND: day-of-month starts with *
    }
}

@Suite struct CronMatchingTests {
    @Test func dayOfMonthOrDayOfWeekWhenBothRestricted() throws {
        // Debian: the 13th OR any Friday.
        #expect(try utcFires("0 12 13 * FRI", from: "2026-11-01T00:00:00Z", count: 4) == [
            "2026-11-06T12:00:00+00:00", "2026-11-13T12:00:00+00:00",
            "2026-11-20T12:00:00+00:00", "2026-11-27T12:00:00+00:00",
        ])
        // A day-of-week field starting with * makes it AND: a 13th falling on Sun/Tue/Thu/Sat.
        #expect(try utcFires("0 12 13 * */2", from: "2026-11-01T00:00:00Z", count: 2) == [
            "2026-12-13T12:00:00+00:00", "2027-02-13T12:00:00+00:00",
        ])
    }

    @Test func sundayIsZeroAndSeven() throws {
        let zero = try utcFires("0 8 * * 0", from: "2026-11-23T00:00:00Z", count: 3)
        #expect(zero == (try utcFires("0 8 * * 7", from: "2026-11-23T00:00:00Z", count: 3)))
        #expect(zero == (try utcFires("0 8 * * SUN", from: "2026-11-23T00:00:00Z", count: 3)))
        #expect(zero.first == "2026-11-29T08:00:00+00:00")
        #expect(try utcFires("0 8 * * 5-7", from: "2026-11-23T00:00:00Z", count: 3)
                == ["2026-11-27T08:00:00+00:00", "2026-11-28T08:00:00+00:00", "2026-11-29T08:00:00+00:00"])
    }

    @Test(arguments: [
        // L: last day, leap and non-leap February.
        ("0 0 L 2 *", "2027-01-01T00:00:00Z", ["2027-02-28T00:00:00+00:00", "2028-02-29T00:00:00+00:00"]),
        // LW: last weekday. 2026-02-28 is a Saturday → Friday 27th; 2026-05-31 is Sunday → 29th.
        ("0 0 LW * *", "2026-02-01T00:00:00Z",
         ["2026-02-27T00:00:00+00:00", "2026-03-31T00:00:00+00:00", "2026-04-30T00:00:00+00:00", "2026-05-29T00:00:00+00:00"]),
        // 5L: last Friday. Feb 2026 → 27th; Feb 2028 (leap, 29th is a Tuesday) → 25th.
        ("0 0 * 2 5L", "2026-01-01T00:00:00Z", ["2026-02-27T00:00:00+00:00", "2027-02-26T00:00:00+00:00", "2028-02-25T00:00:00+00:00"]),
        // FRI#5: a fifth Friday in February only when Feb 1 is a Friday in a leap year: 2036.
        ("0 0 * 2 FRI#5", "2026-01-01T00:00:00Z", ["2036-02-29T00:00:00+00:00"]),
        // FRI#2 and the last Sunday together (a list of extensions).
        ("0 0 * 11 FRI#2,0L", "2026-11-01T00:00:00Z", ["2026-11-13T00:00:00+00:00", "2026-11-29T00:00:00+00:00"]),
        // MON#1 in a month starting on Monday.
        ("0 0 * * MON#1", "2026-06-01T00:00:00Z", ["2026-07-06T00:00:00+00:00", "2026-08-03T00:00:00+00:00"]),
    ])
    func extensions(expression: String, from: String, expected: [String]) throws {
        #expect(try utcFires(expression, from: from, count: expected.count) == expected)
    }

    @Test func stepsRangesListsAndNames() throws {
        #expect(try utcFires("*/20 9-10 * * mon-fri", from: "2026-11-27T10:30:00Z", count: 3)
                == ["2026-11-27T10:40:00+00:00", "2026-11-30T09:00:00+00:00", "2026-11-30T09:20:00+00:00"])
        #expect(try utcFires("5-59/20 * * jan,jul *", from: "2026-11-23T00:00:00Z", count: 2)
                == ["2027-01-01T00:05:00+00:00", "2027-01-01T00:25:00+00:00"])
        #expect(try utcFires("0 0 1 */5 *", from: "2026-11-23T00:00:00Z", count: 3)
                == ["2027-01-01T00:00:00+00:00", "2027-06-01T00:00:00+00:00", "2027-11-01T00:00:00+00:00"])
    }

    @Test func strictlyAfterAndSecondsTruncated() throws {
        let cron = try CronExpression(parsing: "* * * * *")
        let start = Instant(secondsSinceEpoch: 1_800_000_000)  // 2027-01-15T08:00:00Z, a minute boundary
        #expect(cron.nextFire(after: start, in: .utc)?.instant == start.adding(seconds: 60))
        #expect(cron.nextFire(after: start.adding(seconds: 59), in: .utc)?.instant == start.adding(seconds: 60))
        #expect(cron.nextFire(after: Instant(secondsSinceEpoch: -1), in: .utc)?.instant == Instant(secondsSinceEpoch: 0))
    }

    @Test(arguments: [
        ("*/15 * * * *", "every 15 minutes"),
        ("* * * * *", "every minute"),
        ("0 3 * * *", "at 03:00"),
        ("0 3 L * *", "at 03:00 on the last day of the month"),
        ("30 9 * * 1-5", "at 09:30 on Monday through Friday"),
        ("0 9,17 * * *", "at 09:00 and 17:00"),
        ("15 * * * *", "at minute 15 of every hour"),
        ("0 */6 * * *", "at minute 0 of every 6 hours"),
        ("0 0 1 1 *", "at 00:00 on day 1 of the month in January"),
        ("0 4 * * FRI#2", "at 04:00 on the second Friday of the month"),
        ("0 4 1 * MON", "at 04:00 on day 1 of the month, and on Monday"),
        ("0 0 LW * *", "at 00:00 on the last weekday (Monday to Friday) of the month"),
        ("0 22 * * 5L", "at 22:00 on the last Friday of the month"),
    ])
    func plainEnglish(expression: String, expected: String) throws {
        #expect(try CronExpression(parsing: expression).plainEnglish == expected)
    }
}

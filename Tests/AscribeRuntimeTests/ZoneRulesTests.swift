import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

private let database = ZoneDatabase()

private func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0) -> Instant {
    Instant(secondsSinceEpoch: CivilDateTime(year: year, month: month, day: day, hour: hour, minute: minute).secondsSinceEpoch)
}

private func systemRules(_ identifier: String) throws -> ZoneRules {
    try requireSystemZone(identifier)
}

private func systemFile(_ identifier: String) throws -> [UInt8] {
    let data = try #require(FileManager.default.contents(atPath: "/usr/share/zoneinfo/" + identifier))
    return [UInt8](data)
}

/// The footer TZ string of a system TZif file (between the last two newlines).
private func footer(of bytes: [UInt8]) throws -> String {
    let body = bytes.dropLast()
    let start = try #require(body.lastIndex(of: 0x0A))
    return String(decoding: body[(start + 1)...], as: UTF8.self)
}

/// A hand-written TZif file: one local time type per `(offset, isDST)`, abbreviations all
/// pointing at a shared "ZZZ". Version 0 writes only the 32-bit block.
private func makeTZif(version: UInt8, types: [(offset: Int32, isDST: Bool)], transitions: [(at: Int64, type: UInt8)],
                      footer: String) -> [UInt8] {
    func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
    func block(timeSize: Int) -> [UInt8] {
        let kept = timeSize == 8 ? transitions : transitions.filter { Int32(exactly: $0.at) != nil }
        var out = Array("TZif".utf8) + [version] + [UInt8](repeating: 0, count: 15)
        for count in [0, 0, 0, kept.count, types.count, 4] {
            out += bigEndian(UInt32(count))
        }
        for transition in kept {
            out += timeSize == 8 ? bigEndian(transition.at) : bigEndian(Int32(truncatingIfNeeded: transition.at))
        }
        out += kept.map(\.type)
        for type in types {
            out += bigEndian(type.offset) + [type.isDST ? 1 : 0, 0]
        }
        return out + Array("ZZZ".utf8) + [0]
    }
    if version == 0 { return block(timeSize: 4) }
    return block(timeSize: 4) + block(timeSize: 8) + [0x0A] + Array(footer.utf8) + [0x0A]
}

@Suite struct ZoneRulesTests {
    static let comparedZones = [
        "UTC", "Europe/Berlin", "Europe/London", "Europe/Dublin", "America/New_York", "America/Sao_Paulo",
        "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Kolkata", "Africa/Casablanca", "America/St_Johns",
        "Pacific/Apia",
    ]

    // MARK: Agreement with Foundation (ICU's copy of tzdata)

    /// Every 6 hours from 1990 to 2040. ICU carries its own tzdata release, so this stays in
    /// years whose rules were settled long before either release; it agrees here for all zones.
    @Test(arguments: comparedZones)
    func matchesFoundationEverySixHours(zone: String) throws {
        let rules = try systemRules(zone)
        let foundation = try #require(TimeZone(identifier: zone))
        var mismatches: [String] = []
        var instant = utc(1990, 1, 1)
        while instant < utc(2040, 1, 1) {
            let expected = foundation.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant.secondsSinceEpoch)))
            let actual = rules.offset(at: instant)
            if actual != expected, mismatches.count < 5 { mismatches.append("\(instant): \(actual) vs \(expected)") }
            instant = instant.adding(seconds: 6 * 3600)
        }
        #expect(mismatches.isEmpty, "\(zone): \(mismatches)")
    }

    /// One second either side of every transition 2000–2037 that Foundation reports, and of
    /// every transition we store there (Foundation only reports DST changes, not e.g. Apia's
    /// 2011 date-line jump, so both directions are needed).
    @Test(arguments: comparedZones)
    func matchesFoundationAroundTransitions(zone: String) throws {
        let rules = try systemRules(zone)
        let foundation = try #require(TimeZone(identifier: zone))
        let start = utc(2000, 1, 1)
        let end = utc(2038, 1, 1)
        var probes: [Int64] = []
        var date = Date(timeIntervalSince1970: Double(start.secondsSinceEpoch))
        while let next = foundation.nextDaylightSavingTimeTransition(after: date),
              next.timeIntervalSince1970 < Double(end.secondsSinceEpoch) {
            probes.append(Int64(next.timeIntervalSince1970.rounded()))
            date = next
        }
        var cursor = start
        while let transition = rules.nextTransition(after: cursor), transition.at < end {
            probes.append(transition.at.secondsSinceEpoch)
            cursor = transition.at
        }
        var mismatches: [String] = []
        for probe in probes {
            for second in [probe - 1, probe, probe + 1] {
                let instant = Instant(secondsSinceEpoch: second)
                let expected = foundation.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second)))
                if rules.offset(at: instant) != expected, mismatches.count < 5 {
                    mismatches.append("\(instant): \(rules.offset(at: instant)) vs \(expected)")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(zone): \(mismatches)")
    }

    // MARK: Known transitions

    @Test func berlin2026() throws {
        let rules = try systemRules("Europe/Berlin")
        let spring = try #require(rules.nextTransition(after: utc(2026, 1, 1)))
        #expect(spring == ZoneTransition(at: utc(2026, 3, 29, 1), offsetBefore: 3600, offsetAfter: 7200))
        let autumn = try #require(rules.nextTransition(after: spring.at))
        #expect(autumn == ZoneTransition(at: utc(2026, 10, 25, 1), offsetBefore: 7200, offsetAfter: 3600))
        #expect(rules.offset(at: utc(2026, 3, 29, 1).adding(seconds: -1)) == 3600)
        #expect(rules.offset(at: utc(2026, 3, 29, 1)) == 7200)
    }

    @Test func newYork2026() throws {
        let rules = try systemRules("America/New_York")
        let spring = try #require(rules.nextTransition(after: utc(2026, 1, 1)))
        #expect(spring == ZoneTransition(at: utc(2026, 3, 8, 7), offsetBefore: -18_000, offsetAfter: -14_400))
        let autumn = try #require(rules.nextTransition(after: spring.at))
        #expect(autumn == ZoneTransition(at: utc(2026, 11, 1, 6), offsetBefore: -14_400, offsetAfter: -18_000))
    }

    @Test func lordHoweShiftsByThirtyMinutes() throws {
        let rules = try systemRules("Australia/Lord_Howe")
        let end = try #require(rules.nextTransition(after: utc(2026, 1, 1)))
        #expect(end == ZoneTransition(at: utc(2026, 4, 4, 15), offsetBefore: 39_600, offsetAfter: 37_800))
        #expect(end.deltaMinutes == -30)
        let start = try #require(rules.nextTransition(after: end.at))
        #expect(start == ZoneTransition(at: utc(2026, 10, 3, 15, 30), offsetBefore: 37_800, offsetAfter: 39_600))
        #expect(start.deltaMinutes == 30)
    }

    @Test func chathamQuarterHourOffsets() throws {
        let rules = try systemRules("Pacific/Chatham")
        let end = try #require(rules.nextTransition(after: utc(2026, 1, 1)))
        #expect(end == ZoneTransition(at: utc(2026, 4, 4, 14), offsetBefore: 49_500, offsetAfter: 45_900))
        let start = try #require(rules.nextTransition(after: end.at))
        #expect(start == ZoneTransition(at: utc(2026, 9, 26, 14), offsetBefore: 45_900, offsetAfter: 49_500))
    }

    /// tzdata models Irish summer time as standard (IST, +1) and winter as a negative DST (GMT):
    /// the offsets must come out the same as everywhere else in the British Isles.
    @Test func dublinNegativeDaylightSaving() throws {
        let rules = try systemRules("Europe/Dublin")
        let spring = try #require(rules.nextTransition(after: utc(2026, 1, 1)))
        #expect(spring == ZoneTransition(at: utc(2026, 3, 29, 1), offsetBefore: 0, offsetAfter: 3600))
        let zone = try PosixTimeZone(parsing: try footer(of: try systemFile("Europe/Dublin")))
        #expect(zone.standardOffset == 3600)
        #expect(zone.daylightSaving?.offset == 0)
        // Far past the fat file's explicit transitions, the footer still gives the right answer.
        #expect(rules.offset(at: utc(2150, 1, 15)) == 0)
        #expect(rules.offset(at: utc(2150, 7, 15)) == 3600)
    }

    @Test func rulesHoldTheLastOffsetAfter2200() throws {
        let rules = try systemRules("Europe/Berlin")
        let last = try #require(rules.lastTransition(atOrBefore: utc(3000, 1, 1)))
        #expect(last.at == utc(2200, 10, 26, 1))
        #expect(rules.nextTransition(after: last.at) == nil)
        #expect(rules.offset(at: utc(2500, 7, 1)) == 3600)
    }

    // MARK: Resolving wall-clock readings

    @Test func resolveGapRepeatAndNormal() throws {
        let rules = try systemRules("Europe/Berlin")
        #expect(rules.resolve(CivilDateTime(year: 2026, month: 3, day: 29, hour: 2, minute: 30))
                == .skipped(gapEnd: utc(2026, 3, 29, 1)))
        #expect(rules.resolve(CivilDateTime(year: 2026, month: 10, day: 25, hour: 2, minute: 30))
                == .repeated(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)))
        #expect(rules.resolve(CivilDateTime(year: 2026, month: 7, day: 1, hour: 12)) == .unique(utc(2026, 7, 1, 10)))
        #expect(rules.resolve(CivilDateTime(year: 2026, month: 3, day: 29, hour: 3)) == .unique(utc(2026, 3, 29, 1)))
    }

    @Test func lordHoweHalfHourGap() throws {
        let rules = try systemRules("Australia/Lord_Howe")
        #expect(rules.resolve(CivilDateTime(year: 2026, month: 10, day: 4, hour: 2, minute: 15))
                == .skipped(gapEnd: utc(2026, 10, 3, 15, 30)))
        #expect(rules.resolve(CivilDateTime(year: 2026, month: 4, day: 5, hour: 1, minute: 45))
                == .repeated(utc(2026, 4, 4, 14, 45), utc(2026, 4, 4, 15, 15)))
    }

    /// A later pair for the same instant replaces the earlier; if that restores the previous
    /// offset, no transition is left behind.
    @Test func sameInstantPairsCollapse() {
        let rules = ZoneRules(identifier: "x", initialOffset: 0, transitions: [(at: 10, offset: 3600), (at: 10, offset: 0)])
        #expect(rules.isFixedOffset)
        let replaced = ZoneRules(identifier: "x", initialOffset: 0, transitions: [(at: 10, offset: 3600), (at: 10, offset: 7200)])
        #expect(replaced.nextTransition(after: Instant(secondsSinceEpoch: 0))
                == ZoneTransition(at: Instant(secondsSinceEpoch: 10), offsetBefore: 0, offsetAfter: 7200))
    }
}

// MARK: POSIX TZ strings

extension ZoneRulesTests {
    @Suite struct PosixParsing {
        typealias Rule = PosixTimeZone.Rule

        @Test func fixedOffsets() throws {
            let cases: [(String, String, Int)] = [
                ("UTC0", "UTC", 0), ("EST5", "EST", -18_000), ("<+0330>-3:30", "+0330", 12_600),
                ("<-00>0", "-00", 0), ("IST-5:30", "IST", 19_800), ("<+0545>-5:45", "+0545", 20_700),
                ("<-0930>9:30", "-0930", -34_200), ("XXX+3:25:45", "XXX", -12_345), ("<+14>-14", "+14", 50_400),
            ]
            for (text, name, offset) in cases {
                let zone = try PosixTimeZone(parsing: text)
                #expect(zone.standardAbbreviation == name, "\(text)")
                #expect(zone.standardOffset == offset, "\(text)")
                #expect(zone.daylightSaving == nil, "\(text)")
            }
        }

        @Test func rulesAndDefaults() throws {
            let berlin = try PosixTimeZone(parsing: "CET-1CEST,M3.5.0,M10.5.0/3")
            #expect(berlin.standardOffset == 3600)
            #expect(berlin.daylightSaving == PosixTimeZone.DaylightSaving(
                abbreviation: "CEST", offset: 7200,
                start: Rule(day: .monthWeekDay(month: 3, week: 5, weekday: 0), time: 7200),
                end: Rule(day: .monthWeekDay(month: 10, week: 5, weekday: 0), time: 10_800)))

            let us = try PosixTimeZone(parsing: "EST5EDT")
            #expect(us.daylightSaving?.offset == -14_400)
            #expect(us.daylightSaving?.start == Rule(day: .monthWeekDay(month: 3, week: 2, weekday: 0)))
            #expect(us.daylightSaving?.end == Rule(day: .monthWeekDay(month: 11, week: 1, weekday: 0)))

            let nuuk = try PosixTimeZone(parsing: "<-02>2<-01>,M3.5.0/-1,M10.5.0/0")
            #expect(nuuk.daylightSaving?.start.time == -3600)
            #expect(nuuk.daylightSaving?.offset == -3600)

            let gaza = try PosixTimeZone(parsing: "EET-2EEST,M3.4.4/50,M10.4.4/50")
            #expect(gaza.daylightSaving?.start.time == 50 * 3600)

            let chatham = try PosixTimeZone(parsing: "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45")
            #expect(chatham.standardOffset == 45_900)
            #expect(chatham.daylightSaving?.offset == 49_500)
            #expect(chatham.daylightSaving?.end == Rule(day: .monthWeekDay(month: 4, week: 1, weekday: 0), time: 13_500))

            let julian = try PosixTimeZone(parsing: "AAA3BBB2,J60/-167,300/167:59:59")
            #expect(julian.daylightSaving?.start == Rule(day: .julianNoLeap(60), time: -167 * 3600))
            #expect(julian.daylightSaving?.end == Rule(day: .zeroBasedDayOfYear(300), time: 167 * 3600 + 3599))
        }

        @Test(arguments: [
            "", "C", "CE-1", "CET", "CET-", "CET-25", "CET-1:60", "CET-1:00:60", "CET--1", "CET-1 ", "CET 1",
            "CET-1CEST,M3.5.0", "CET-1CEST,", "CET-1CEST,,", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M0.5.0,M10.5.0",
            "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.0.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,M3.5,M10.5.0",
            "CET-1CEST,J0,J100", "CET-1CEST,J366,J100", "CET-1CEST,366,J100", "CET-1CEST,M3.5.0/168,M10.5.0",
            "CET-1CEST,M3.5.0/-168,M10.5.0", "CET-1CEST,M3.5.0,M10.5.0/3junk", "CET-1CEST-2-3", "CET-1CEST,M3.5.0/,M10.5.0",
            "<+0330-3:30", "<+03>", "<+3>-3", "<>0", "<+03>-3<", "CET-99999999999999999999999", "ÄBC-1", "CET-1\n",
            "CET-1CEST,M3.5.0,M10.5.0,M11.1.0", "CET-1CEST,M99999999999999999999.5.0,M10.5.0",
        ])
        func rejectsMalformed(text: String) {
            #expect(throws: ZoneRulesError.self, "\(text)") { try PosixTimeZone(parsing: text) }
            #expect(throws: ZoneRulesError.self, "\(text)") { try ZoneRules(identifier: "x", posixTZ: text) }
        }

        @Test func errorsNameTheProblem() {
            #expect(throws: ZoneRulesError("TZ string \"CET-25\": standard offset hours is above 24 at position 5")) {
                try PosixTimeZone(parsing: "CET-25")
            }
        }

        @Test func transitionsInYear() throws {
            let berlin = try PosixTimeZone(parsing: "CET-1CEST,M3.5.0,M10.5.0/3")
            #expect(berlin.transitions(inYear: 2026) == [
                ZoneTransition(at: utc(2026, 3, 29, 1), offsetBefore: 3600, offsetAfter: 7200),
                ZoneTransition(at: utc(2026, 10, 25, 1), offsetBefore: 7200, offsetAfter: 3600),
            ])
            // Southern hemisphere: the year opens in DST, so the end comes first.
            let lordHowe = try PosixTimeZone(parsing: "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0")
            #expect(lordHowe.transitions(inYear: 2026) == [
                ZoneTransition(at: utc(2026, 4, 4, 15), offsetBefore: 39_600, offsetAfter: 37_800),
                ZoneTransition(at: utc(2026, 10, 3, 15, 30), offsetBefore: 37_800, offsetAfter: 39_600),
            ])
            #expect(try PosixTimeZone(parsing: "UTC0").transitions(inYear: 2026).isEmpty)
            #expect(berlin.transitions(inYear: 0).isEmpty)
            #expect(berlin.transitions(inYear: Int.max).isEmpty)
        }

        /// `Jn` never counts February 29; `n` does; `Mm.5.d` is the last such weekday.
        @Test func dayNotationsAroundLeapDay() {
            func day(_ rule: PosixTimeZone.Day, _ year: Int) -> CivilDateTime {
                CivilDateTime(secondsSinceEpoch: Rule(day: rule, time: 0).localSeconds(in: year))
            }
            #expect(day(.julianNoLeap(59), 2024) == CivilDateTime(year: 2024, month: 2, day: 28))
            #expect(day(.julianNoLeap(60), 2024) == CivilDateTime(year: 2024, month: 3, day: 1))
            #expect(day(.julianNoLeap(365), 2024) == CivilDateTime(year: 2024, month: 12, day: 31))
            #expect(day(.zeroBasedDayOfYear(59), 2024) == CivilDateTime(year: 2024, month: 2, day: 29))
            #expect(day(.zeroBasedDayOfYear(59), 2023) == CivilDateTime(year: 2023, month: 3, day: 1))
            #expect(day(.zeroBasedDayOfYear(365), 2024) == CivilDateTime(year: 2024, month: 12, day: 31))
            #expect(day(.monthWeekDay(month: 2, week: 5, weekday: 4), 2024) == CivilDateTime(year: 2024, month: 2, day: 29))
            #expect(day(.monthWeekDay(month: 2, week: 5, weekday: 4), 2023) == CivilDateTime(year: 2023, month: 2, day: 23))
            #expect(day(.monthWeekDay(month: 3, week: 1, weekday: 0), 2026) == CivilDateTime(year: 2026, month: 3, day: 1))
        }

        /// RFC 8536: DST all year is written as a start on Jan 1 00:00 and an end on Dec 31 at
        /// 24:00 plus the DST shift; the touching end and start must not flip the offset.
        @Test func allYearDaylightSaving() throws {
            let rules = try ZoneRules(identifier: "x", posixTZ: "EST5EDT,0/0,J365/25")
            for year in [1971, 2000, 2026, 2199] {
                #expect(rules.offset(at: utc(year, 1, 1, 5)) == -14_400)
                #expect(rules.offset(at: utc(year, 7, 1)) == -14_400)
                #expect(rules.offset(at: utc(year, 12, 31, 23)) == -14_400)
            }
        }

        @Test func tzValueBuildsRules() throws {
            let rules = try ZoneRules(identifier: "US", posixTZ: "EST5EDT,M3.2.0,M11.1.0")
            #expect(rules.identifier == "US")
            #expect(rules.offset(at: utc(1970, 1, 1)) == -18_000)
            #expect(rules.nextTransition(after: utc(2026, 1, 1))
                    == ZoneTransition(at: utc(2026, 3, 8, 7), offsetBefore: -18_000, offsetAfter: -14_400))
            #expect(rules.lastTransition(atOrBefore: utc(2300, 1, 1))?.at == utc(2200, 11, 2, 6))
            let southern = try ZoneRules(identifier: "LH", posixTZ: "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0")
            #expect(southern.offset(at: utc(1970, 1, 1)) == 39_600)
            #expect(try ZoneRules(identifier: "K", posixTZ: "IST-5:30").isFixedOffset)
        }

        /// A fat file's footer alone must reproduce the file beyond its explicit transitions.
        @Test(arguments: ZoneRulesTests.comparedZones.filter { $0 != "UTC" })
        func footerAloneMatchesSystemFile(zone: String) throws {
            let rules = try systemRules(zone)
            let fromFooter = try ZoneRules(identifier: zone, posixTZ: try footer(of: try systemFile(zone)))
            var instant = utc(2090, 1, 1)
            while instant < utc(2201, 1, 1) {
                #expect(fromFooter.offset(at: instant) == rules.offset(at: instant), "\(zone) at \(instant)")
                instant = instant.adding(seconds: 86_400 + 3600)
            }
        }

        /// Every footer on this machine parses.
        @Test func allSystemFootersParse() throws {
            let root = "/usr/share/zoneinfo"
            let enumerator = try #require(FileManager.default.enumerator(atPath: root))
            var footers = Set<String>()
            while let path = enumerator.nextObject() as? String {
                guard let data = FileManager.default.contents(atPath: root + "/" + path),
                      data.starts(with: Array("TZif".utf8)), data.count > 5, data[data.startIndex + 4] != 0 else { continue }
                footers.insert(try footer(of: [UInt8](data)))
            }
            #expect(footers.count > 50)
            for text in footers where !text.isEmpty {
                #expect(throws: Never.self, "\(text)") { try PosixTimeZone(parsing: text) }
            }
        }
    }
}

// MARK: TZif files

extension ZoneRulesTests {
    @Suite struct TZifParsing {
        static let berlinTypes: [(offset: Int32, isDST: Bool)] = [(7200, true), (3600, false)]

        /// Slim files: the footer carries all recent transitions.
        @Test(arguments: [
            (UInt8(ascii: "2"), [(at: Int64, type: UInt8)]()),
            (UInt8(ascii: "3"), [(at: Int64(1_761_440_400), type: UInt8(1))]),  // 2025-10-26T01:00Z
            (UInt8(ascii: "4"), [(at: Int64(1_743_296_400), type: UInt8(0))]),  // 2025-03-30T01:00Z
        ])
        func slimFileMatchesFatFile(version: UInt8, transitions: [(at: Int64, type: UInt8)]) throws {
            let types = transitions.isEmpty ? [(offset: Int32(3600), isDST: false)] : TZifParsing.berlinTypes
            let slim = try ZoneRules(identifier: "Europe/Berlin",
                                     tzif: makeTZif(version: version, types: types, transitions: transitions,
                                                    footer: "CET-1CEST,M3.5.0,M10.5.0/3"))
            let fat = try systemRules("Europe/Berlin")
            var instant = utc(2030, 1, 1)
            var mismatches = 0
            while instant < utc(2101, 1, 1) {
                if slim.offset(at: instant) != fat.offset(at: instant) { mismatches += 1 }
                instant = instant.adding(seconds: 6 * 3600)
            }
            #expect(mismatches == 0)
            #expect(slim.nextTransition(after: utc(2030, 1, 1)) == fat.nextTransition(after: utc(2030, 1, 1)))
            #expect(slim.lastTransition(atOrBefore: utc(2100, 12, 31)) == fat.lastTransition(atOrBefore: utc(2100, 12, 31)))
        }

        /// With no transitions the footer governs all time, even the part before them.
        @Test func footerOnlyFileStartsFromTheFooter() throws {
            let rules = try ZoneRules(identifier: "x", tzif: makeTZif(
                version: UInt8(ascii: "2"), types: [(offset: 0, isDST: false)], transitions: [],
                footer: "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"))
            #expect(rules.offset(at: utc(1950, 1, 1)) == 39_600)
            #expect(rules.offset(at: utc(1950, 7, 1)) == 37_800)
        }

        @Test func emptyFooterKeepsTheLastType() throws {
            let rules = try ZoneRules(identifier: "x", tzif: makeTZif(
                version: UInt8(ascii: "2"), types: [(offset: 0, isDST: false), (offset: 3600, isDST: false)],
                transitions: [(at: 1000, type: 1)], footer: ""))
            #expect(rules.offset(at: Instant(secondsSinceEpoch: 999)) == 0)
            #expect(rules.offset(at: utc(2500, 1, 1)) == 3600)
        }

        @Test func version1FileUsesThe32BitBlock() throws {
            let rules = try ZoneRules(identifier: "x", tzif: makeTZif(
                version: 0, types: TZifParsing.berlinTypes,
                transitions: [(at: -5_000_000_000, type: 0), (at: -1000, type: 0), (at: 1000, type: 1)], footer: ""))
            #expect(rules.offset(at: Instant(secondsSinceEpoch: -2000)) == 7200)
            #expect(rules.offset(at: Instant(secondsSinceEpoch: 0)) == 7200)
            #expect(rules.offset(at: Instant(secondsSinceEpoch: 1000)) == 3600)
        }

        @Test func everyPrefixOfARealFileIsRejected() throws {
            for zone in ["Europe/Berlin", "Australia/Lord_Howe"] {
                let bytes = try systemFile(zone)
                #expect(throws: Never.self) { try ZoneRules(identifier: zone, tzif: bytes) }
                for length in 0..<bytes.count {
                    #expect(throws: ZoneRulesError.self, "\(zone) prefix \(length)") {
                        try ZoneRules(identifier: zone, tzif: Array(bytes[0..<length]))
                    }
                }
            }
        }

        @Test func malformedHeadersAndBlocks() throws {
            let valid = makeTZif(version: UInt8(ascii: "2"), types: TZifParsing.berlinTypes,
                                 transitions: [(at: 0, type: 0), (at: 1000, type: 1)], footer: "CET-1")
            func patched(_ offset: Int, _ bytes: [UInt8]) -> [UInt8] {
                var copy = valid
                copy.replaceSubrange(offset..<offset + bytes.count, with: bytes)
                return copy
            }
            let v1Length = 44 + 2 * 5 + 2 * 6 + 4
            let cases: [(String, [UInt8])] = [
                ("bad magic", patched(0, Array("TZiF".utf8))),
                ("huge time count", patched(v1Length + 32, [0xFF, 0xFF, 0xFF, 0xFF])),
                ("zero types", patched(v1Length + 36, [0, 0, 0, 0])),
                ("indicator count mismatch", patched(v1Length + 24, [0, 0, 0, 1])),
                ("type index out of range", patched(v1Length + 44 + 16, [2])),
                ("times not increasing", patched(v1Length + 44 + 8, [0, 0, 0, 0, 0, 0, 0, 0])),
                ("offset out of range", patched(v1Length + 44 + 18, [0x7F, 0, 0, 0])),
                ("DST flag not 0 or 1", patched(v1Length + 44 + 18 + 4, [2])),
                ("abbreviation index past the end", patched(v1Length + 44 + 18 + 5, [4])),
                ("footer without leading newline", patched(valid.count - 7, [0x20])),
                ("footer without closing newline", Array(valid.dropLast()) + [0x20]),
                ("malformed footer", Array(valid.dropLast(6)) + Array("CET+\n".utf8)),
            ]
            #expect(throws: Never.self) { try ZoneRules(identifier: "x", tzif: valid) }
            for (name, bytes) in cases {
                #expect(throws: ZoneRulesError.self, "\(name)") { try ZoneRules(identifier: "x", tzif: bytes) }
            }
        }

        @Test func randomBytesAndMutationsNeverCrash() throws {
            var random = SplitMix64(seed: 0x5EED)
            let real = try systemFile("Europe/Berlin")
            for round in 0..<3000 {
                var bytes = (0..<Int.random(in: 0...400, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if round % 2 == 0 { bytes = Array("TZif2".utf8) + bytes }
                #expect(throws: ZoneRulesError.self) { try ZoneRules(identifier: "x", tzif: bytes) }
            }
            var parsed = 0
            for _ in 0..<3000 {
                var bytes = real
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                if let rules = try? ZoneRules(identifier: "x", tzif: bytes) {
                    parsed += 1
                    _ = rules.offset(at: utc(2026, 6, 1))
                    _ = rules.resolve(CivilDateTime(year: 2026, month: 3, day: 29, hour: 2, minute: 30))
                }
            }
            #expect(parsed > 0)
        }
    }
}

// MARK: Zone database

extension ZoneRulesTests {
    @Suite struct Database {
        @Test(arguments: ["../etc/passwd", "/etc/passwd", "", "Europe//Berlin", "Europe/Berlin/", "./UTC", "Europe/./Berlin",
                          "Europe/../Europe/Berlin", "Europe/Berl in", "Europe/Berlin\0", String(repeating: "A", count: 256)])
        func rejectsInvalidIdentifiers(identifier: String) {
            #expect(!ZoneDatabase.isValidIdentifier(identifier))
            #expect(database.rules(for: identifier) == nil)
        }

        @Test func unknownOrUnusableZones() {
            #expect(database.rules(for: "Mars/Olympus") == nil)
            #expect(database.rules(for: "Europe") == nil)
            #expect(database.rules(for: "zone.tab") == nil)
            #expect(ZoneDatabase.isValidIdentifier("America/Argentina/Buenos_Aires"))
            #expect(ZoneDatabase.isValidIdentifier("Etc/GMT+5"))
        }

        @Test func utcNeedsNoFiles() throws {
            let empty = ZoneDatabase(root: "/nonexistent")
            for name in ["UTC", "Etc/UTC"] {
                let rules = try #require(empty.rules(for: name))
                #expect(rules.identifier == name)
                #expect(rules.isFixedOffset)
                #expect(rules.offset(at: utc(2026, 1, 1)) == 0)
            }
            #expect(empty.rules(for: "Europe/Berlin") == nil)
        }

        @Test func systemZoneFromTZ() throws {
            let noLocaltime = ZoneDatabase(localtimePath: "/nonexistent")
            #expect(noLocaltime.systemZone(environment: ["TZ": "Europe/Berlin"]).identifier == "Europe/Berlin")
            #expect(noLocaltime.systemZone(environment: ["TZ": ":Asia/Kolkata"]).offset(at: utc(2026, 1, 1)) == 19_800)
            let posix = noLocaltime.systemZone(environment: ["TZ": "EST5EDT,M3.2.0,M11.1.0"])
            #expect(posix.identifier == "EST5EDT,M3.2.0,M11.1.0")
            #expect(posix.offset(at: utc(2026, 7, 1)) == -14_400)
            for unusable in ["", ":", ":EST5EDT,M3.2.0,M11.1.0", "Mars/Olympus", "../etc/passwd"] {
                #expect(noLocaltime.systemZone(environment: ["TZ": unusable]) == .utc, "\(unusable)")
            }
            #expect(noLocaltime.systemZone(environment: [:]) == .utc)
        }

        @Test func systemZoneFromLocaltime() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ascribe-zone-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let absoluteLink = directory.appendingPathComponent("absolute").path
            try FileManager.default.createSymbolicLink(atPath: absoluteLink, withDestinationPath: "/usr/share/zoneinfo/Europe/Berlin")
            #expect(ZoneDatabase(localtimePath: absoluteLink).systemZone(environment: [:]).identifier == "Europe/Berlin")

            let depth = directory.path.split(separator: "/").count
            let relativeLink = directory.appendingPathComponent("relative").path
            let upwards = String(repeating: "../", count: depth)
            try FileManager.default.createSymbolicLink(atPath: relativeLink,
                                                       withDestinationPath: upwards + "usr/share/zoneinfo/./Asia/Kolkata")
            #expect(ZoneDatabase(localtimePath: relativeLink).systemZone(environment: [:]).identifier == "Asia/Kolkata")

            // A link into another copy of the database names the zone after its last `zoneinfo`.
            let otherCopy = directory.appendingPathComponent("other-copy").path
            try FileManager.default.createSymbolicLink(atPath: otherCopy, withDestinationPath: "/opt//zoneinfo/../zoneinfo/America/Sao_Paulo")
            #expect(ZoneDatabase(localtimePath: otherCopy).linkedZoneName() == "America/Sao_Paulo")
            #expect(ZoneDatabase(localtimePath: otherCopy).systemZone(environment: [:]).identifier == "America/Sao_Paulo")
            #expect(ZoneDatabase(localtimePath: relativeLink).linkedZoneName() == "Asia/Kolkata")
            #expect(ZoneDatabase.normalize("//a/./b/../c/") == "/a/c" && ZoneDatabase.normalize("/..") == "/")

            let copy = directory.appendingPathComponent("copy").path
            try FileManager.default.copyItem(atPath: "/usr/share/zoneinfo/America/New_York", toPath: copy)
            let copied = ZoneDatabase(localtimePath: copy).systemZone(environment: [:])
            #expect(copied.identifier == "localtime")
            #expect(copied.offset(at: utc(2026, 7, 1)) == -14_400)

            #expect(ZoneDatabase(localtimePath: copy).systemZone(environment: ["TZ": "UTC"]).identifier == "UTC")
        }
    }
}

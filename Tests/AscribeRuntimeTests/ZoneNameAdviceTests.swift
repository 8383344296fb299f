import Foundation
import Testing
@testable import AscribeCore
@testable import AscribeRuntime
import AscribeTestSupport

/// Did-you-mean for zone names (pure) and the zone database's side: its names, and saying so
/// when it is missing rather than calling a good name unknown.
@Suite struct ZoneNameAdviceTests {
    static let known = ["America/New_York", "America/Los_Angeles", "Europe/Berlin", "Europe/Paris", "Europe/Rome",
                        "Europe/London", "Asia/Tokyo", "UTC", "Etc/UTC"]

    @Test(arguments: [
        ("Europe/Berln", ZoneNameAdvice.didYouMean(["Europe/Berlin"])),
        ("America/NewYork", .didYouMean(["America/New_York"])),
        ("america/new york", .didYouMean(["America/New_York"])),
        ("europe/berlin", .didYouMean(["Europe/Berlin"])),
        ("Berlin", .didYouMean(["Europe/Berlin"])),
        ("CEST", .abbreviation(["Europe/Berlin", "Europe/Paris", "Europe/Rome"])),
        ("pst", .abbreviation(["America/Los_Angeles"])),
        ("Mars/Base", .noSuggestion),
        ("XYZ", .noSuggestion),
    ])
    func suggestions(name: String, expected: ZoneNameAdvice) {
        #expect(ZoneNameAdvice.advise(name, known: Self.known, databaseRoot: "/usr/share/zoneinfo") == expected)
    }

    @Test func messagesNameWhatToWrite() {
        let root = "/usr/share/zoneinfo"
        #expect(ZoneNameAdvice.advise("Europe/Berln", known: Self.known, databaseRoot: root).message(for: "Europe/Berln")
                == "unknown time zone \"Europe/Berln\"; did you mean Europe/Berlin?")
        #expect(ZoneNameAdvice.advise("CEST", known: Self.known, databaseRoot: root).message(for: "CEST")
                == "unknown time zone \"CEST\": an abbreviation names an offset, not the rules that change it; use an IANA name such as Europe/Berlin, Europe/Paris or Europe/Rome")
        #expect(ZoneNameAdvice.advise("Europe/Berlin", known: [], databaseRoot: "/empty").message(for: "Europe/Berlin")
                == "unknown time zone \"Europe/Berlin\": the zone database /empty is missing or empty (install tzdata: apt-get install tzdata); only UTC works without it")
    }

    /// The host without tzdata, simulated by pointing the database at an empty directory.
    @Test func aMissingDatabaseIsNamedAsSuch() throws {
        let empty = ScratchSweep.directory(prefix: "ascribe-zones-")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let database = ZoneDatabase(root: empty, localtimePath: empty + "/localtime")
        #expect(database.rules(for: "Europe/Berlin") == nil)
        #expect(database.rules(for: "UTC") != nil)
        #expect(database.identifiers() == [])
        #expect(database.advice(for: "Europe/Berlin") == .databaseMissing(root: empty))
        #expect(database.systemZoneProblem(environment: ["TZ": "Europe/Berlin"])
                == "TZ=Europe/Berlin: unknown time zone \"Europe/Berlin\": the zone database \(empty) is missing or empty (install tzdata: apt-get install tzdata); only UTC works without it; using UTC")
        #expect(database.systemZoneProblem(environment: ["TZ": "UTC"]) == nil)
        #expect(database.systemZoneProblem(environment: ["TZ": "EST5EDT,M3.2.0,M11.1.0"]) == nil)
        #expect(database.systemZoneProblem(environment: [:]) == nil)

        try FileManager.default.createSymbolicLink(atPath: empty + "/localtime", withDestinationPath: empty + "/Europe/Berlin")
        #expect(database.systemZoneProblem(environment: [:])?.hasPrefix("\(empty)/localtime -> Europe/Berlin: unknown time zone \"Europe/Berlin\": the zone database") == true)
    }

    @Test func theSystemDatabaseListsItsZonesWithoutCopiesOrTables() throws {
        try requireSystemZone("Europe/Berlin")
        let names = ZoneDatabase().identifiers()
        #expect(names.contains("Europe/Berlin") && names.contains("America/Argentina/Salta"))
        #expect(!names.contains { $0.hasPrefix("posix/") || $0.hasPrefix("right/") || $0.hasSuffix(".tab") || $0.hasSuffix(".zi") })
        #expect(ZoneDatabase().advice(for: "America/NewYork") == .didYouMean(["America/New_York"]))
    }

    /// `check`, `next --tz` and the daemon use the database's advice.
    @Test func theCommandsGiveTheAdvice() throws {
        try requireSystemZone("Europe/Berlin")
        let next = try AscribeBinary.run(["next", "--expr", "* * * * *", "--tz", "Europe/Berln"])
        #expect(next.status == 2)
        #expect(next.stderr.contains("unknown time zone \"Europe/Berln\"; did you mean Europe/Berlin?"), "\(next.stderr)")
        let abbreviation = try AscribeBinary.run(["next", "--expr", "* * * * *", "--tz", "CEST"])
        #expect(abbreviation.stderr.contains("use an IANA name such as Europe/Berlin, Europe/Paris or Europe/Rome"), "\(abbreviation.stderr)")
    }
}

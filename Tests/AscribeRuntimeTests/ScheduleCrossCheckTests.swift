import Foundation
import Testing
@testable import AscribeCore
import AscribeRuntime
import AscribeCoreTestSupport
import AscribeTestSupport

/// Python's `cronsim` (Debian cron semantics, DST included), driven through
/// `Tests/cronsim/next_fires.py`: an implementation we did not write, as a second opinion.
enum CronsimReference {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("cronsim/next_fires.py").path

    static let isAvailable: Bool = {
        (try? run(arguments: ["-c", "import cronsim"], input: Data()))?.status == 0
    }()

    struct Request {
        var expression: String
        var zone: String
        var start: Int64
        var count: Int
    }

    static func run(arguments: [String], input: Data) throws -> (status: Int32, output: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// cronsim's fire times per request, or nil where cronsim refused or gave up.
    static func fires(for requests: [Request]) throws -> [[Int64]?] {
        var input = ""
        for request in requests {
            let line: JSONValue = .object([
                ("expr", .string(request.expression)), ("zone", .string(request.zone)),
                ("start", .int(request.start)), ("count", .int(request.count)),
            ])
            input += line.rendered + "\n"
        }
        let result = try run(arguments: [script], input: Data(input.utf8))
        let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n")
        return lines.map { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let fires = object["fires"] as? [NSNumber] else { return nil }
            return fires.map(\.int64Value)
        }
    }
}

/// Next fire times, ours against two references: a minute-by-minute simulation of Debian's
/// cron.c (always), and Python's cronsim (when installed).
@Suite struct ScheduleCrossCheckTests {
    static let zones = ["UTC", "Europe/Berlin", "Europe/London", "Europe/Dublin", "America/New_York",
                        "America/Sao_Paulo", "America/St_Johns", "Australia/Lord_Howe", "Australia/Sydney",
                        "Pacific/Chatham", "Asia/Kolkata", "America/Santiago"]

    struct Case {
        var request: CronsimReference.Request
        var ours: [Int64]
        /// Ours with two slots at one instant counted once: cronsim lists fire times, not slots.
        var oursDistinct: [Int64]
        var simulated: [Int64]
        var crossesTransition: Bool
        var isWildcard: Bool
    }

    /// 40 random expressions per zone, half of them starting just before a DST transition.
    static func cases(seed: UInt64, perZone: Int = 40) throws -> [Case] {
        let database = ZoneDatabase()
        var rng = SplitMix64(seed: seed)
        var cases: [Case] = []
        for zoneName in zones {
            guard let zone = database.rules(for: zoneName) else {
                Issue.record("zone \(zoneName) missing")
                continue
            }
            for index in 0..<perZone {
                let generated = GeneratedExpression.random(using: &rng)
                var start = Int64.random(in: 1_577_836_800...2_051_222_400, using: &rng)  // 2020...2035
                if index % 2 == 0, let transition = zone.nextTransition(after: Instant(secondsSinceEpoch: start)) {
                    start = transition.at.secondsSinceEpoch - Int64.random(in: 60...(4 * 3600), using: &rng)
                }
                let cron = try CronExpression(parsing: generated.text)
                let fires = cron.fires(after: Instant(secondsSinceEpoch: start), until: Instant(secondsSinceEpoch: .max / 4),
                                       in: zone, limit: 10).map(\.instant.secondsSinceEpoch)
                let ours = Array(fires.prefix(5))
                let oursDistinct = Array(fires.enumerated().filter { $0.offset == 0 || fires[$0.offset - 1] != $0.element }
                    .map(\.element).prefix(5))
                let horizon = start + 8 * 86_400
                let simulation = DebianCronSimulation(expression: generated, isWildcard: cron.isWildcard, zone: zone)
                let simulated = Array(simulation.fires(after: start, through: horizon).prefix(5))
                let last = ours.last ?? horizon
                let crosses = zone.nextTransition(after: Instant(secondsSinceEpoch: start)).map { $0.at.secondsSinceEpoch <= last } ?? false
                cases.append(Case(request: .init(expression: generated.text, zone: zoneName, start: start, count: 5),
                                  ours: ours, oursDistinct: oursDistinct, simulated: simulated, crossesTransition: crosses, isWildcard: cron.isWildcard))
            }
        }
        return cases
    }

    static func render(_ fires: [Int64]) -> String {
        fires.map { Instant(secondsSinceEpoch: $0).description }.joined(separator: ", ")
    }

    @Test func agreesWithSimulatedDebianCron() throws {
        let cases = try Self.cases(seed: 2026_11_23)
        for item in cases {
            let horizon = item.request.start + 8 * 86_400
            let oursWithin = item.ours.filter { $0 <= horizon }
            #expect(oursWithin == item.simulated, """
                \(item.request.expression) in \(item.request.zone) after \(item.request.start): \
                ascribe [\(Self.render(oursWithin))] cron.c [\(Self.render(item.simulated))]
                """)
        }
        #expect(cases.count == Self.zones.count * 40)
        #expect(cases.filter(\.crossesTransition).count > 100)
    }

    @Test(.requires(CronsimReference.isAvailable,
                   "python3 with cronsim is not installed (pip install cronsim): cronsim cross-check skipped"))
    func agreesWithCronsim() throws {
        let cases = try Self.cases(seed: 2026_11_23)
        let theirs = try CronsimReference.fires(for: cases.map(\.request))
        try #require(theirs.count == cases.count, "cronsim answered \(theirs.count) of \(cases.count)")
        var compared = 0
        var cronsimDeviations: [String] = []
        for (item, answer) in zip(cases, theirs) {
            // cronsim gives up after 50 years; compare what it found.
            guard let reference = answer else { continue }
            let mine = Array(item.oursDistinct.prefix(reference.count))
            if mine != reference, item.isWildcard, item.crossesTransition {
                // cronsim steps wildcard jobs by whole hours from the wall clock, which goes
                // wrong across 30- and 45-minute offsets and midnight transitions (Lord Howe,
                // Chatham, Santiago). There the cron.c simulation above is the referee.
                let horizon = item.request.start + 8 * 86_400
                #expect(item.ours.filter { $0 <= horizon } == item.simulated)
                cronsimDeviations.append("\(item.request.expression) in \(item.request.zone)")
                continue
            }
            #expect(mine == reference, """
                \(item.request.expression) in \(item.request.zone) after \(item.request.start): \
                ascribe [\(Self.render(mine))] cronsim [\(Self.render(reference))]
                """)
            compared += 1
        }
        #expect(compared >= 400)
        #expect(cronsimDeviations.count <= 10, "cronsim deviations: \(cronsimDeviations)")
    }
}

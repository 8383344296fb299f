import Foundation
import Testing
@testable import AscribeCore
import AscribeRuntime

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

@Suite struct CronsimCrossCheckTests {
    static let zones = ["UTC", "Europe/Berlin", "Europe/London", "Europe/Dublin", "America/New_York",
                        "America/Sao_Paulo", "America/St_Johns", "Australia/Lord_Howe", "Australia/Sydney",
                        "Pacific/Chatham", "Asia/Kolkata", "America/Santiago"]

    @Test(.enabled(if: CronsimReference.isAvailable,
                   "python3 with cronsim is not installed (pip install cronsim): cross-check skipped"))
    func nextFireTimesAgreeWithCronsim() throws {
        let database = ZoneDatabase()
        var rng = SeededGenerator(state: 2026_11_23)
        var requests: [CronsimReference.Request] = []
        var ours: [[Int64]] = []
        for zoneName in Self.zones {
            let zone = try #require(database.rules(for: zoneName), "zone \(zoneName)")
            for index in 0..<40 {
                let generated = GeneratedExpression.random(using: &rng)
                var start = Int64.random(in: 1_577_836_800...2_051_222_400, using: &rng)  // 2020...2035
                // Half the cases start just before a DST transition to exercise it.
                if index % 2 == 0, let transition = zone.nextTransition(after: Instant(secondsSinceEpoch: start)) {
                    start = transition.at.secondsSinceEpoch - Int64.random(in: 60...(4 * 3600), using: &rng)
                }
                let cron = try CronExpression(parsing: generated.text)
                var cursor = Instant(secondsSinceEpoch: start)
                var fires: [Int64] = []
                for _ in 0..<5 {
                    guard let fire = cron.nextFire(after: cursor, in: zone) else { break }
                    fires.append(fire.instant.secondsSinceEpoch)
                    cursor = fire.instant
                }
                requests.append(.init(expression: generated.text, zone: zoneName, start: start, count: 5))
                ours.append(fires)
            }
        }
        let theirs = try CronsimReference.fires(for: requests)
        try #require(theirs.count == requests.count, "cronsim answered \(theirs.count) of \(requests.count)")
        var compared = 0
        for (index, request) in requests.enumerated() {
            // cronsim gives up after 50 years; compare what it found.
            guard let reference = theirs[index] else { continue }
            let mine = Array(ours[index].prefix(reference.count))
            #expect(mine == reference, """
                \(request.expression) in \(request.zone) after \(request.start): \
                ascribe \(mine.map { Instant(secondsSinceEpoch: $0).description }) \
                cronsim \(reference.map { Instant(secondsSinceEpoch: $0).description })
                """)
            compared += 1
        }
        #expect(compared >= 400)
    }
}

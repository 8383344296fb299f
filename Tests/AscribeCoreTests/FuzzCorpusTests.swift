import Foundation
import Testing

/// Replays every checked-in fuzz input (Tests/fuzz/corpus and every crasher the fuzzers found,
/// Tests/fuzz/crashers) through its target, so a finding fixed once stays fixed without
/// libFuzzer. A regression traps a `precondition` in FuzzTargets and fails the run.
@Suite struct FuzzCorpusTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fuzz")

    static func inputs(of target: String) throws -> [URL] {
        try ["corpus", "crashers"].flatMap { kind -> [URL] in
            let directory = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target)
            guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
            return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        }
    }

    @Test(arguments: FuzzTargets.all.keys.sorted())
    func replaysEveryInput(target: String) throws {
        let run = try #require(FuzzTargets.all[target])
        let inputs = try Self.inputs(of: target)
        #expect(!inputs.isEmpty, "no corpus for \(target) under \(Self.fuzzDirectory.path)")
        for input in inputs {
            run(Array(try Data(contentsOf: input)))
        }
    }
}

import Testing
@testable import AscribeCore
import AscribeCoreTestSupport

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

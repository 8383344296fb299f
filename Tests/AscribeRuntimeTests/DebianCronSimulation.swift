@testable import AscribeCore
import AscribeCoreTestSupport

/// A literal, minute-by-minute transcription of Debian cron's main loop (cron.c: `virtualTime`,
/// `timeRunning`, `wakeupKind`), used as the oracle for daylight-saving behaviour. It shares no
/// code with the analytic engine in `Schedule.swift`: it only steps real minutes and applies
/// cron.c's four cases to the wall-clock reading of each.
struct DebianCronSimulation {
    var expression: GeneratedExpression
    var isWildcard: Bool
    var zone: ZoneRules

    /// Fires strictly after `start` and no later than `horizon` (epoch seconds).
    func fires(after start: Int64, through horizon: Int64) -> [Int64] {
        // Begin well before `start` so the virtual clock is in its steady state.
        var now = (start - 6 * 3600) / 60 * 60
        var virtualTime = localMinute(now)
        var result: [Int64] = []
        while now < horizon {
            now += 60
            let running = localMinute(now)
            // Steady stretches with no transition near: jump over days and hours that cannot match.
            if running - virtualTime == 1, noTransition(from: now, within: 86_400) {
                let local = CivilDateTime(secondsSinceEpoch: running * 60)
                if !expression.dayMatches(local.date) || !expression.hours.contains(local.hour) {
                    let skip = expression.dayMatches(local.date) ? 60 - local.minute : (24 - local.hour) * 60 - local.minute
                    now += Int64(skip - 1) * 60
                    virtualTime = localMinute(now)
                    continue
                }
            }
            let difference = running - virtualTime
            // cron.c runs its job queue before each virtual minute it catches up on, so a job
            // matched in two of them starts twice in this real minute (`0 2,3 * * *` at 03:00
            // on a spring-forward night).
            var due = 0
            func consider(_ minute: Int64, wildcard: Bool, fixed: Bool) {
                if (isWildcard ? wildcard : fixed),
                   expression.matches(CivilDateTime(secondsSinceEpoch: minute * 60)) { due += 1 }
            }
            if difference == 1 {
                virtualTime = running
                consider(running, wildcard: true, fixed: true)
            } else if difference > 0 && difference <= 5 {
                while virtualTime < running {
                    virtualTime += 1
                    consider(virtualTime, wildcard: true, fixed: true)
                }
            } else if difference > 5 && difference <= 180 {
                consider(running, wildcard: true, fixed: false)
                while virtualTime < running {
                    virtualTime += 1
                    consider(virtualTime, wildcard: false, fixed: true)
                }
            } else if difference > -180 && difference <= 0 {
                consider(running, wildcard: true, fixed: false)
            } else {
                virtualTime = running
                consider(running, wildcard: true, fixed: true)
            }
            if due > 0, now > start, now <= horizon { result += Array(repeating: now, count: due) }
        }
        return result
    }

    private func localMinute(_ seconds: Int64) -> Int64 {
        (seconds + Int64(zone.offset(at: Instant(secondsSinceEpoch: seconds)))) / 60
    }

    private func noTransition(from seconds: Int64, within span: Int64) -> Bool {
        guard let next = zone.nextTransition(after: Instant(secondsSinceEpoch: seconds - 6 * 3600)) else { return true }
        return next.at.secondsSinceEpoch > seconds + span
    }
}

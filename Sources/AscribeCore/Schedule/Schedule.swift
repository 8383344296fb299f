/// When a job runs: on a calendar, or once each time the daemon starts.
public enum Schedule: Hashable, Sendable, CustomStringConvertible {
    case calendar(CronExpression)
    /// `@reboot`: one run when the daemon starts, recorded as such.
    case reboot

    public init(parsing text: String) throws(CronSyntaxError) {
        if text.trimmingWhitespace.lowercased() == "@reboot" {
            self = .reboot
        } else {
            self = .calendar(try CronExpression(parsing: text))
        }
    }

    /// Every reason `text` is refused (see `CronExpression.syntaxErrors(in:)`); empty when it parses.
    public static func syntaxErrors(in text: String) -> [CronSyntaxError] {
        text.trimmingWhitespace.lowercased() == "@reboot" ? [] : CronExpression.syntaxErrors(in: text)
    }

    public var description: String {
        switch self {
        case .calendar(let expression): expression.source
        case .reboot: "@reboot"
        }
    }
}

/// One moment the scheduler starts a run.
public struct Fire: Hashable, Sendable {
    public var instant: Instant
    /// When a daylight-saving change moved this run, the wall-clock slot it was scheduled for
    /// (for example 02:30 on a night the clock jumps from 02:00 to 03:00).
    public var shiftedFrom: CivilDateTime?

    public init(instant: Instant, shiftedFrom: CivilDateTime? = nil) {
        self.instant = instant
        self.shiftedFrom = shiftedFrom
    }
}

extension CronExpression {
    /// `nextFire` searches only after instants before this (9998-12-23T03:33:20Z), so every
    /// minute calculation stays far from overflow.
    public static let lastSearchStart = Instant(secondsSinceEpoch: 253_370_000_000)
    /// 10000-01-01T00:00:00Z: RFC 3339 cannot print a fire at or after it.
    public static let endOfPrintableYears = Instant(secondsSinceEpoch: 253_402_300_800)

    /// The first fire strictly after `instant`, in `zone`, with Debian cron's semantics.
    ///
    /// Debian cron keeps a "virtual" wall clock and classifies each jump of the real wall clock
    /// (cron.c, `wakeupKind`). With Δ the jump in minutes at a zone transition:
    /// - Δ in 1...4: every job runs for each skipped minute, at the transition;
    /// - Δ in 5...179 (a normal spring forward): wildcard jobs (minute or hour field starting
    ///   with `*`) run on real minutes only; fixed-time jobs whose time was skipped run once,
    ///   right at the transition;
    /// - Δ ≥ 180: only the minute after the jump counts;
    /// - Δ in -180...-1 (fall back): wildcard jobs run on every real minute, including the
    ///   repeated ones; fixed-time jobs do not run again until the clock passes its earlier
    ///   reading, so they run once;
    /// - Δ < -180: the virtual clock is reset and everything matches again.
    /// Returns nil only when the expression can never fire.
    public func nextFire(after instant: Instant, in zone: ZoneRules) -> Fire? {
        let seconds = instant.secondsSinceEpoch
        // Years 1...9999 only: beyond them RFC 3339 cannot print the answer anyway, and the
        // bound keeps every minute calculation far from overflow.
        guard canFire, seconds > -62_135_596_800, seconds < Self.lastSearchStart.secondsSinceEpoch else { return nil }
        var candidate = (seconds >= 0 ? seconds / 60 : (seconds - 59) / 60) * 60 + 60

        if zone.isFixedOffset {
            let offset = Int64(zone.offset(at: instant))
            guard let local = firstMatch(atOrAfter: Self.localMinute(atOrAfter: candidate + offset), before: nil) else { return nil }
            return Fire(instant: Instant(secondsSinceEpoch: local * 60 - offset))
        }

        // Each pass covers one stretch of constant offset, or one transition. A transition
        // belongs to the minute it falls in: old local-mean-time offsets put some at odd seconds
        // (Africa/Monrovia's 1972 change is at 00:44:30 UTC), and such a minute is the
        // transition's, not the end of the stretch before it.
        for _ in 0..<20_000 {
            let here = Instant(secondsSinceEpoch: candidate)
            if let transition = zone.nextTransition(after: Instant(secondsSinceEpoch: candidate - 1)),
               Self.minuteStart(transition.at.secondsSinceEpoch) == candidate {
                if let fire = fireAtTransition(transition, minute: candidate) { return fire }
                candidate += 60
                continue
            }
            let offset = Int64(zone.offset(at: here))
            let next = zone.nextTransition(after: here)
            let end = next.map { Self.minuteStart($0.at.secondsSinceEpoch) }
            var from = candidate
            if !isWildcard, let previous = zone.lastTransition(atOrBefore: here) {
                let delta = previous.deltaMinutes
                if (-180)...(-1) ~= delta {
                    from = max(from, Self.minuteStart(previous.at.secondsSinceEpoch) + Int64(-delta) * 60)
                }
            }
            if end.map({ from < $0 }) ?? true {
                let limit = end.map { Self.localMinute($0 + offset) }
                if let local = firstMatch(atOrAfter: Self.localMinute(atOrAfter: from + offset), before: limit) {
                    return Fire(instant: Instant(secondsSinceEpoch: local * 60 - offset))
                }
            }
            guard let end else { return nil }
            candidate = end
        }
        return nil
    }

    /// The fire after `fire`: another slot at the same instant when `fire` is a moved slot and
    /// the transition minute holds more (Debian cron starts a fixed-time job once per matching
    /// minute it catches up on: `0 2,3 * * *` runs twice at 03:00 on a spring-forward night, for
    /// 02:00 and for 03:00), else the first fire strictly after its instant. Chaining this gives
    /// every slot, each once, in the order cron starts them (moved slots first, oldest first).
    public func nextFire(after fire: Fire, in zone: ZoneRules) -> Fire? {
        if let shifted = fire.shiftedFrom,
           let transition = zone.nextTransition(after: fire.instant.adding(seconds: -1)),
           Self.minuteStart(transition.at.secondsSinceEpoch) == fire.instant.secondsSinceEpoch,
           let same = fireAtTransition(transition, minute: fire.instant.secondsSinceEpoch,
                                       afterLocal: Self.localMinute(shifted.secondsSinceEpoch)) {
            return same
        }
        return nextFire(after: fire.instant, in: zone)
    }

    /// What cron does in the minute a transition lands in: its first fire, or with
    /// `afterLocal` the next one after that skipped local minute.
    private func fireAtTransition(_ transition: ZoneTransition, minute: Int64, afterLocal: Int64? = nil) -> Fire? {
        let delta = transition.deltaMinutes
        let before = Int64(transition.offsetBefore)
        let after = Int64(transition.offsetAfter)
        let nowLocal = Self.localMinute(minute + after)
        let firstSkipped = Self.localMinute(minute + before)
        let instant = Instant(secondsSinceEpoch: minute)

        let considerSkipped: Bool
        switch delta {
        case 1...4: considerSkipped = true
        case 5...179: considerSkipped = !isWildcard
        case (-180)...(-1):
            guard isWildcard else { return nil }
            considerSkipped = false
        default: considerSkipped = false
        }
        if considerSkipped,
           let local = firstMatch(atOrAfter: max(firstSkipped, afterLocal.map { $0 + 1 } ?? firstSkipped), before: nowLocal + 1) {
            let shifted = local == nowLocal ? nil : CivilDateTime(secondsSinceEpoch: local * 60)
            return Fire(instant: instant, shiftedFrom: shifted)
        }
        if afterLocal.map({ $0 < nowLocal }) ?? true, firstMatch(atOrAfter: nowLocal, before: nowLocal + 1) != nil {
            return Fire(instant: instant)
        }
        return nil
    }

    /// Fires in `(after, until]`, in order, at most `limit` of them; two slots at one instant
    /// (a moved slot and a regular one) are both listed.
    public func fires(after start: Instant, until end: Instant, in zone: ZoneRules, limit: Int = .max) -> [Fire] {
        var result: [Fire] = []
        var next = nextFire(after: start, in: zone)
        while result.count < limit, let fire = next, fire.instant <= end {
            result.append(fire)
            next = nextFire(after: fire, in: zone)
        }
        return result
    }

    @inline(__always)
    static func minuteStart(_ seconds: Int64) -> Int64 {
        (seconds >= 0 ? seconds / 60 : (seconds - 59) / 60) * 60
    }

    @inline(__always)
    static func localMinute(_ localSeconds: Int64) -> Int64 {
        localSeconds >= 0 ? localSeconds / 60 : (localSeconds - 59) / 60
    }

    /// The first local minute that starts at or after `localSeconds`. Under an offset with
    /// seconds (old local mean times, such as Monrovia's -00:44:30 until 1972) a UTC minute
    /// starts inside a local one, which has begun before it and must not be answered again.
    @inline(__always)
    static func localMinute(atOrAfter localSeconds: Int64) -> Int64 {
        let minute = localMinute(localSeconds)
        return minute * 60 == localSeconds ? minute : minute + 1
    }
}

/// A change of a zone's UTC offset: the moments where cron's DST rules apply.
public struct ZoneTransition: Hashable, Sendable {
    public var at: Instant
    public var offsetBefore: Int
    public var offsetAfter: Int

    /// Minutes the wall clock jumps at this instant: positive springs forward.
    public var deltaMinutes: Int { (offsetAfter - offsetBefore) / 60 }
}

/// How a wall-clock reading maps onto the time line in one zone.
public enum LocalResolution: Hashable, Sendable {
    case unique(Instant)
    /// The reading happens twice (a fall-back hour): earlier and later instants.
    case repeated(Instant, Instant)
    /// The reading never happens (a spring-forward gap); `gapEnd` is the transition instant.
    case skipped(gapEnd: Instant)
}

/// The UTC offsets of one IANA zone over time, as a sorted list of offset changes.
///
/// A value type with no I/O: the runtime reads TZif files and hands the result to the pure
/// schedule code, which must answer "what offset at t" millions of times a second.
public struct ZoneRules: Hashable, Sendable {
    public let identifier: String
    /// Offset in force before the first transition.
    let initialOffset: Int
    /// Instants of offset changes, strictly increasing; changes that keep the offset are dropped.
    let transitionTimes: [Int64]
    /// Offset in force from `transitionTimes[i]` on.
    let offsetsAfter: [Int]

    /// Builds rules from `(instant, offset from then on)` pairs in any order; pairs that do not
    /// change the offset are dropped so every stored transition moves the clock. Of several
    /// pairs for one instant the last given wins (the sort is stable).
    public init(identifier: String, initialOffset: Int, transitions: [(at: Int64, offset: Int)]) {
        self.identifier = identifier
        self.initialOffset = initialOffset
        var times: [Int64] = []
        var offsets: [Int] = []
        var current = initialOffset
        for transition in transitions.sorted(by: { $0.at < $1.at }) {
            if times.last == transition.at {
                // Undo the earlier pair so a replacement that restores the old offset is dropped.
                times.removeLast()
                offsets.removeLast()
                current = offsets.last ?? initialOffset
            }
            if transition.offset == current { continue }
            times.append(transition.at)
            offsets.append(transition.offset)
            current = transition.offset
        }
        self.transitionTimes = times
        self.offsetsAfter = offsets
    }

    public static func fixed(identifier: String, offsetSeconds: Int) -> ZoneRules {
        ZoneRules(identifier: identifier, initialOffset: offsetSeconds, transitions: [])
    }

    public static let utc = ZoneRules.fixed(identifier: "UTC", offsetSeconds: 0)

    /// True when the offset never changes: schedules can skip all DST handling.
    public var isFixedOffset: Bool { transitionTimes.isEmpty }

    /// Index of the last transition at or before `seconds`, or -1.
    @inline(__always)
    private func lastTransitionIndex(atOrBefore seconds: Int64) -> Int {
        var low = 0
        var high = transitionTimes.count
        while low < high {
            let mid = (low + high) >> 1
            if transitionTimes[mid] <= seconds { low = mid + 1 } else { high = mid }
        }
        return low - 1
    }

    public func offset(at instant: Instant) -> Int {
        let index = lastTransitionIndex(atOrBefore: instant.secondsSinceEpoch)
        return index < 0 ? initialOffset : offsetsAfter[index]
    }

    /// The first transition strictly after `instant`.
    public func nextTransition(after instant: Instant) -> ZoneTransition? {
        let index = lastTransitionIndex(atOrBefore: instant.secondsSinceEpoch) + 1
        return transition(at: index)
    }

    /// The last transition at or before `instant`.
    public func lastTransition(atOrBefore instant: Instant) -> ZoneTransition? {
        transition(at: lastTransitionIndex(atOrBefore: instant.secondsSinceEpoch))
    }

    private func transition(at index: Int) -> ZoneTransition? {
        guard index >= 0, index < transitionTimes.count else { return nil }
        return ZoneTransition(
            at: Instant(secondsSinceEpoch: transitionTimes[index]),
            offsetBefore: index == 0 ? initialOffset : offsetsAfter[index - 1],
            offsetAfter: offsetsAfter[index])
    }

    public func localTime(at instant: Instant) -> CivilDateTime {
        CivilDateTime(secondsSinceEpoch: instant.secondsSinceEpoch + Int64(offset(at: instant)))
    }

    /// Where a wall-clock reading falls on the time line.
    public func resolve(_ local: CivilDateTime) -> LocalResolution {
        let localSeconds = local.secondsSinceEpoch
        // Candidates: the reading under the offset before and after the nearest transition.
        let guess = localSeconds - Int64(offset(at: Instant(secondsSinceEpoch: localSeconds)))
        var candidates: [Int64] = []
        for probe in [guess - 86_400, guess, guess + 86_400] {
            let offset = self.offset(at: Instant(secondsSinceEpoch: probe))
            let utc = localSeconds - Int64(offset)
            if self.offset(at: Instant(secondsSinceEpoch: utc)) == offset, !candidates.contains(utc) {
                candidates.append(utc)
            }
        }
        candidates.sort()
        switch candidates.count {
        case 0:
            let after = nextTransition(after: Instant(secondsSinceEpoch: guess - 86_400))
            return .skipped(gapEnd: after?.at ?? Instant(secondsSinceEpoch: guess))
        case 1:
            return .unique(Instant(secondsSinceEpoch: candidates[0]))
        default:
            return .repeated(Instant(secondsSinceEpoch: candidates[0]),
                             Instant(secondsSinceEpoch: candidates[candidates.count - 1]))
        }
    }
}

extension ZoneRules {
    /// `2026-03-29T03:00:00+02:00`: the instant with this zone's offset at that instant.
    public func rfc3339(_ instant: Instant) -> String {
        RFC3339.format(instant, offsetSeconds: offset(at: instant))
    }

    /// A command-line time: an instant as given, or a wall-clock reading in this zone (a
    /// repeated reading means its first occurrence; a skipped one, the end of the gap).
    public func instant(for parsed: RFC3339.Parsed) -> Instant {
        switch parsed {
        case .instant(let instant): return instant
        case .local(let local):
            switch resolve(local) {
            case .unique(let instant), .repeated(let instant, _): return instant
            case .skipped(let gapEnd): return gapEnd
            }
        }
    }
}

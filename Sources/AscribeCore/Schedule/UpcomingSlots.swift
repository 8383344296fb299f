/// Each calendar job's next slot, kept between the daemon's wake-ups.
///
/// Why: re-planning from the definitions at every wake-up copied and sorted every definition
/// (about 4 MB of short-lived allocations and 50 ms of CPU a minute with 10,000 jobs, and the
/// allocator kept the freed memory). Kept here, a wake-up reads one instant per job and only the
/// jobs that are due compute their following slot. Pure: `CronExpression.nextFire(after: Fire)` chained, so
/// the slots are exactly `expression.fires(after:until:in:)` of each job.
public struct UpcomingSlots: Sendable {
    /// A calendar job and its next slot. The entry holds the definition itself, whose fields
    /// live in one shared box (`JobDefinition`), rather than copies of its name, expression and
    /// zone: a pointer and the next fire per job (with 10,000 jobs, about 1.2 MB less than copies).
    struct Entry: Sendable {
        var job: JobDefinition
        /// The first fire strictly after `UpcomingSlots.after`; nil when the job can never fire again.
        var next: Fire?

        /// The job's first fire after `start` in its zone; nil for a schedule without clock
        /// times (`@reboot`, never planned here) or when it can never fire again.
        func fire(after start: Instant, defaultZone: ZoneRules) -> Fire? {
            guard case .calendar(let expression) = job.schedule else { return nil }
            return expression.nextFire(after: start, in: job.timezone ?? defaultZone)
        }

        /// The job's fire after `fire` (`CronExpression.nextFire(after: Fire)`, which keeps a
        /// slot moved by daylight saving apart from the one it was moved to).
        func fire(after fire: Fire, defaultZone: ZoneRules) -> Fire? {
            guard case .calendar(let expression) = job.schedule else { return nil }
            return expression.nextFire(after: fire, in: job.timezone ?? defaultZone)
        }
    }

    private var entries: [Entry]
    /// The zone of jobs that name none.
    private let defaultZone: ZoneRules
    /// The instant every entry's `next` is the first fire after.
    public private(set) var after: Instant

    /// No jobs.
    public init() {
        entries = []
        defaultZone = .utc
        after = Instant(secondsSinceEpoch: 0)
    }

    /// The calendar jobs among `jobs` (`@reboot` jobs have no calendar slots), planned from `after`.
    public init(jobs: some Sequence<JobDefinition>, defaultZone: ZoneRules, after: Instant) {
        self.after = after
        self.defaultZone = defaultZone
        entries = []
        entries.reserveCapacity(jobs.underestimatedCount)
        for job in jobs {
            guard case .calendar = job.schedule else { continue }
            var entry = Entry(job: job, next: nil)
            entry.next = entry.fire(after: after, defaultZone: defaultZone)
            entries.append(entry)
        }
    }

    /// The earliest slot of any job strictly after `instant`; nil when no job can fire.
    public mutating func nextSlot(after instant: Instant) -> Instant? {
        if instant != after { replan(after: instant) }
        var earliest: Instant?
        for entry in entries {
            guard let fire = entry.next else { continue }
            if earliest.map({ fire.instant < $0 }) ?? true { earliest = fire.instant }
        }
        return earliest
    }

    /// Every slot in `(start, end]`, ordered by instant, then job name, then (two slots of one
    /// job at one instant) the order cron starts them, the moved slot first; afterwards the
    /// slots are kept from `end` on.
    public mutating func due(after start: Instant, through end: Instant) -> [DueSlot] {
        guard start < end else {
            replan(after: end)
            return []
        }
        if start != after { replan(after: start) }
        var slots: [DueSlot] = []
        for index in entries.indices {
            while let fire = entries[index].next, fire.instant <= end {
                slots.append(DueSlot(job: entries[index].job.name, fire: fire))
                entries[index].next = entries[index].fire(after: fire, defaultZone: defaultZone)
            }
        }
        after = end
        // Stable by construction: each job's own slots were appended in order.
        return slots.enumerated().sorted {
            ($0.element.fire.instant, $0.element.job.rawValue, $0.offset) < ($1.element.fire.instant, $1.element.job.rawValue, $1.offset)
        }.map(\.element)
    }

    /// Every job's next slot computed again from `instant` (the daemon re-based its schedule).
    private mutating func replan(after instant: Instant) {
        guard instant != after else { return }
        after = instant
        for index in entries.indices {
            entries[index].next = entries[index].fire(after: instant, defaultZone: defaultZone)
        }
    }
}

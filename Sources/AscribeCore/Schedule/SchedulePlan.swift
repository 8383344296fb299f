/// One run the scheduler would start inside a dry-run window.
public struct PlannedFire: Sendable {
    public var instant: Instant
    public var job: JobDefinition
    public var zone: ZoneRules
    /// Set when daylight saving moved this run off its written time.
    public var shiftedFrom: CivilDateTime?
    /// How many runs start in this same minute, this one included (1 = alone); two slots of one
    /// job at one instant (docs/SCHEDULES.md) are two runs.
    public var jobsInSameMinute: Int
}

/// A dry run of a job set over a window: what `ascribe plan` prints. Nothing here runs.
public struct SchedulePlan: Sendable {
    public var fires: [PlannedFire]
    /// True when the window held more fires than the limit; `fires` is then the first ones.
    public var truncated: Bool
    /// Jobs that run once when the daemon starts rather than on the clock.
    public var rebootJobs: [JobDefinition]
    /// Jobs whose expression matches no date at all.
    public var neverFiring: [JobDefinition]

    /// Every fire in `(after, through]` in time order (ties by job name).
    public init(jobs: [JobDefinition], defaultZone: ZoneRules, after start: Instant, through end: Instant,
                limit: Int = 100_000) {
        var fires: [PlannedFire] = []
        var truncated = false
        var rebootJobs: [JobDefinition] = []
        var neverFiring: [JobDefinition] = []
        for job in jobs {
            switch job.schedule {
            case .reboot:
                rebootJobs.append(job)
            case .calendar(let expression):
                guard expression.canFire else {
                    neverFiring.append(job)
                    continue
                }
                let zone = job.timezone ?? defaultZone
                let jobFires = expression.fires(after: start, until: end, in: zone, limit: limit + 1)
                if jobFires.count > limit { truncated = true }
                for fire in jobFires.prefix(limit) {
                    fires.append(PlannedFire(instant: fire.instant, job: job, zone: zone,
                                             shiftedFrom: fire.shiftedFrom, jobsInSameMinute: 1))
                }
            }
        }
        fires.sort { ($0.instant, $0.job.name) < ($1.instant, $1.job.name) }
        if fires.count > limit {
            fires.removeSubrange(limit...)
            truncated = true
        }
        var groupStart = 0
        while groupStart < fires.count {
            var groupEnd = groupStart + 1
            while groupEnd < fires.count, fires[groupEnd].instant == fires[groupStart].instant { groupEnd += 1 }
            for index in groupStart..<groupEnd { fires[index].jobsInSameMinute = groupEnd - groupStart }
            groupStart = groupEnd
        }
        self.fires = fires
        self.truncated = truncated
        self.rebootJobs = rebootJobs
        self.neverFiring = neverFiring
    }
}

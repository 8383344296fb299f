/// `ascribe plan`'s text: each job once (identity, run-as, zone, schedule, command), then the
/// window day by day in one display zone, a job's evenly spaced slots of a day folded into one
/// line ("every 5 min 00:00–23:55 (288 slots)") and every other slot on a line of its own.
///
/// Why folded: a `*/5` job alone made 288 lines a day, each repeating its whole command, and
/// slots in mixed zones did not read in order. Times are all in `zone`, so lines sort by time.
public struct PlanText: Sendable {
    /// A job's slots of one display-zone day that follow each other at one interval, or a
    /// single slot (alone, moved by daylight saving, or not evenly spaced).
    struct Stretch {
        var job: JobDefinition
        var fires: [PlannedFire]
        var day: CivilDate

        var interval: Int64? {
            fires.count > 1 ? fires[1].instant.secondsSinceEpoch - fires[0].instant.secondsSinceEpoch : nil
        }
    }

    /// Stretches shorter than this print slot by slot: two slots read better as two lines.
    static let shortestFold = 3

    public var lines: [String]

    /// `describe` gives the job's one-line header (identity, run-as, command…), written once.
    /// `from`, `to`: the window, whose daylight-saving changes (of `zone` and the jobs' zones)
    /// are named in the heading of their day.
    public init(plan: SchedulePlan, jobs: [JobDefinition], zone: ZoneRules, from: Instant, to: Instant,
                describe: (JobDefinition) -> String) {
        var lines: [String] = []
        let width = min(30, jobs.map(\.name.rawValue.count).max() ?? 0) + 2
        if !jobs.isEmpty { lines.append("\(jobs.count) job\(jobs.count == 1 ? "" : "s"):") }
        for job in jobs.sorted(by: { $0.name.rawValue < $1.name.rawValue }) {
            lines.append("  " + Self.pad(job.name.rawValue, width) + describe(job))
        }
        var entries: [(start: Instant, job: String, line: String, day: CivilDate)] = []
        for stretch in Self.stretches(plan.fires, zone: zone) {
            let start = stretch.fires[0]
            let name = Self.pad(stretch.job.name.rawValue, width)
            if stretch.fires.count >= Self.shortestFold, let interval = stretch.interval {
                let span = Self.clock(start.instant, zone) + "–" + Self.clock(stretch.fires[stretch.fires.count - 1].instant, zone)
                let pileUps = stretch.fires.filter { $0.jobsInSameMinute > 1 }.count
                var marks = pileUps > 0 ? ["pile-up: \(pileUps) of them start with other jobs"] : []
                if !stretch.job.enabled { marks.append("disabled: would be skipped") }
                entries.append((start.instant, stretch.job.name.rawValue,
                                "  " + Self.pad(span, 13) + name + "every \(Self.interval(interval)) (\(stretch.fires.count) slots)"
                                    + Self.marks(marks), stretch.day))
            } else {
                for fire in stretch.fires {
                    entries.append((fire.instant, stretch.job.name.rawValue,
                                    "  " + Self.pad(Self.clock(fire.instant, zone), 13) + name.trimmingTrailingSpaces
                                        + Self.marks(Self.marks(of: fire)), stretch.day))
                }
            }
        }
        entries.sort { ($0.start, $0.job) < ($1.start, $1.job) }
        var seen = Set<String>()
        let zones = ([zone] + plan.fires.map(\.zone)).filter { seen.insert($0.identifier).inserted }
        let changes = zones.flatMap { Self.clockChanges(of: $0, from: from, to: to) }.sorted { $0.at < $1.at }
        var day: CivilDate?
        for entry in entries {
            if entry.day != day {
                day = entry.day
                let today = changes.filter { zone.localTime(at: $0.at).date == entry.day }.map { "DST: " + $0.words }
                lines.append(Self.dayHeading(entry.day) + " (" + (["times in \(zone.identifier)"] + today).joined(separator: "; ") + ")")
            }
            lines.append(entry.line)
        }
        self.lines = lines
    }

    /// The DST marker, the same words in `plan`'s text, its page and its help:
    /// `DST: 02:30 moved to 03:00 (Europe/Berlin)`, both times on the job's own clock.
    public static func dstWords(_ fire: PlannedFire) -> String? {
        guard let shifted = fire.shiftedFrom else { return nil }
        let ran = fire.zone.localTime(at: fire.instant)
        return "DST: \(RFC3339.pad(shifted.hour, 2)):\(RFC3339.pad(shifted.minute, 2)) moved to "
            + "\(RFC3339.pad(ran.hour, 2)):\(RFC3339.pad(ran.minute, 2)) (\(fire.zone.identifier))"
    }

    /// Offset changes of `zone` in `(from, to]`: `Europe/Berlin: clocks go forward 1 h at 02:00`
    /// (the wall-clock time the change happens at, on that zone's clock).
    public static func clockChanges(of zone: ZoneRules, from: Instant, to: Instant) -> [(at: Instant, words: String)] {
        var changes: [(at: Instant, words: String)] = []
        var cursor = from
        while changes.count < 1000, let change = zone.nextTransition(after: cursor), change.at <= to {
            cursor = change.at
            let minutes = abs(change.deltaMinutes)
            guard minutes > 0 else { continue }
            let wall = CivilDateTime(secondsSinceEpoch: change.at.secondsSinceEpoch + Int64(change.offsetBefore))
            let amount = minutes % 60 == 0 ? "\(minutes / 60) h" : "\(minutes) min"
            changes.append((change.at, "\(zone.identifier): clocks go \(change.deltaMinutes > 0 ? "forward" : "back") "
                            + "\(amount) at \(RFC3339.pad(wall.hour, 2)):\(RFC3339.pad(wall.minute, 2))"))
        }
        return changes
    }

    /// `Mon 2026-12-07`.
    public static func dayHeading(_ date: CivilDate) -> String {
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let weekday = Int(((date.daysSinceEpoch % 7) + 7 + 4) % 7)
        return names[weekday] + " " + RFC3339.pad(date.year, 4) + "-" + RFC3339.pad(date.month, 2) + "-" + RFC3339.pad(date.day, 2)
    }

    /// `5 min`, `1 h`, `1 h 30 min`, `2 days`.
    static func interval(_ seconds: Int64) -> String {
        let minutes = seconds / 60
        if minutes < 60 { return "\(minutes) min" }
        if minutes % (24 * 60) == 0 { return minutes == 24 * 60 ? "day" : "\(minutes / (24 * 60)) days" }
        return "\(minutes / 60) h" + (minutes % 60 == 0 ? "" : " \(minutes % 60) min")
    }

    static func marks(of fire: PlannedFire) -> [String] {
        var marks: [String] = []
        if let dst = dstWords(fire) { marks.append(dst) }
        if fire.jobsInSameMinute > 1 { marks.append("pile-up: \(fire.jobsInSameMinute) jobs") }
        if !fire.job.enabled { marks.append("disabled: would be skipped") }
        return marks
    }

    /// Each job's fires cut into stretches: a new one at each display-zone day, each change of
    /// interval, and around each slot daylight saving moved.
    static func stretches(_ fires: [PlannedFire], zone: ZoneRules) -> [Stretch] {
        var byJob: [JobName: [PlannedFire]] = [:]
        var order: [JobName] = []
        for fire in fires {
            if byJob[fire.job.name] == nil { order.append(fire.job.name) }
            byJob[fire.job.name, default: []].append(fire)
        }
        var stretches: [Stretch] = []
        for name in order {
            var current: Stretch?
            for fire in byJob[name] ?? [] {
                let day = zone.localTime(at: fire.instant).date
                if var open = current, fire.shiftedFrom == nil, open.fires[open.fires.count - 1].shiftedFrom == nil, open.day == day,
                   open.interval.map({ $0 == fire.instant.secondsSinceEpoch - open.fires[open.fires.count - 1].instant.secondsSinceEpoch }) ?? true {
                    open.fires.append(fire)
                    current = open
                    continue
                }
                if let open = current { stretches.append(open) }
                current = Stretch(job: fire.job, fires: [fire], day: day)
            }
            if let open = current { stretches.append(open) }
        }
        return stretches
    }

    static func clock(_ instant: Instant, _ zone: ZoneRules) -> String {
        let local = zone.localTime(at: instant)
        return RFC3339.pad(local.hour, 2) + ":" + RFC3339.pad(local.minute, 2)
    }

    static func marks(_ marks: [String]) -> String { marks.isEmpty ? "" : "  [" + marks.joined(separator: "; ") + "]" }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}

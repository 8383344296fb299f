/// What `ascribe daemon` prints once it has started: when each job will next run, so a
/// newcomer watching the terminal knows when something will happen.
public enum NextSlotsText {
    /// One job's next slot, as the daemon planned it.
    public struct Slot: Sendable {
        public var job: String
        public var instant: Instant
        public var zone: ZoneRules

        public init(job: String, instant: Instant, zone: ZoneRules) {
            self.job = job
            self.instant = instant
            self.zone = zone
        }
    }

    /// At most `limit` lines of slots, soonest first, each `job  2026-12-07 15:30 Europe/Berlin  (in 4 min)`,
    /// then `… and N more` when there were more, under a heading; `notScheduled` jobs
    /// (disabled, `@reboot`, never firing) are counted in a closing line so the silence has a reason.
    public static func lines(_ slots: [Slot], now: Instant, limit: Int, notScheduled: Int) -> [String] {
        let sorted = slots.sorted { ($0.instant, $0.job) < ($1.instant, $1.job) }
        guard !sorted.isEmpty else {
            return ["no job has a next slot" + (notScheduled > 0 ? " (\(notScheduled) disabled, @reboot or never firing)" : "")]
        }
        let shown = sorted.prefix(limit)
        let width = min(32, shown.map(\.job.count).max() ?? 0) + 2
        var lines = ["next slots (in each job's time zone):"]
        for slot in shown {
            let time = slot.zone.localTime(at: slot.instant).wallClockText
            lines.append("  " + pad(slot.job, width) + time + " " + slot.zone.identifier + "  (" + relative(from: now, to: slot.instant) + ")")
        }
        if sorted.count > shown.count {
            lines.append("  … and \(sorted.count - shown.count) more (ascribe status, ascribe plan)")
        }
        if notScheduled > 0 {
            lines.append("  \(notScheduled) job\(notScheduled == 1 ? "" : "s") without a next slot (disabled, @reboot or never firing)")
        }
        return lines
    }

    /// `in 40 s`, `in 4 min`, `in 2 h 05 min`, `in 3 days`; `now` for slots already due.
    public static func relative(from now: Instant, to then: Instant) -> String {
        let seconds = then.secondsSinceEpoch - now.secondsSinceEpoch
        if seconds <= 0 { return "now" }
        if seconds < 60 { return "in \(seconds) s" }
        let minutes = (seconds + 59) / 60
        if minutes < 60 { return "in \(minutes) min" }
        if minutes < 48 * 60 {
            let rest = minutes % 60
            return "in \(minutes / 60) h" + (rest == 0 ? "" : " " + (rest < 10 ? "0" : "") + "\(rest) min")
        }
        return "in \(minutes / (24 * 60)) days"
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

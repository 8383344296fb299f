/// `ascribe plan --html`: one self-contained page (no external resources) with a timeline per
/// job over a window, each slot coloured by what will happen or, in the past, what did, under
/// day and hour axes in one display zone.
///
/// Job-provided text never reaches the markup as markup: the page carries its data as JSON in
/// a `<script type="application/json">` block (with `<`, `>`, `&` and line separators escaped,
/// so no value can close the block) and a small inline script builds the DOM from it with
/// `textContent` and attributes.
public struct PlanPage: Sendable {
    /// What a slot's mark says; the raw value is its CSS class.
    public enum Status: String, CaseIterable, Sendable {
        case planned, disabled, running, succeeded, failed
        case timedOut = "timed-out"
        case launchFailed = "launch-failed"
        case lost, skipped, missed
        case noRecord = "no-record"
        case unknown

        /// The words in a job's counts: the legend's, without its explanation.
        public var shortWords: String {
            switch self {
            case .disabled: "planned, disabled"
            case .lost: "lost"
            case .missed: "missed"
            case .noRecord: "no record"
            case .unknown: "unknown"
            default: words
            }
        }

        /// The legend's words.
        public var words: String {
            switch self {
            case .planned: "planned"
            case .disabled: "planned, job disabled (would be skipped)"
            case .running: "running"
            case .succeeded: "succeeded"
            case .failed: "failed"
            case .timedOut: "timed out"
            case .launchFailed: "could not launch"
            case .lost: "lost (daemon died mid-run)"
            case .skipped: "skipped"
            case .missed: "missed (daemon down)"
            case .noRecord: "no record in the log"
            case .unknown: "unknown (no event log read)"
            }
        }
    }

    /// One slot on a timeline.
    public struct Slot: Sendable {
        /// RFC 3339 in the job's zone.
        public var time: String
        public var secondsSinceEpoch: Int64
        public var status: Status
        /// What happened, in words (the `ascribe why` sentence), for past slots.
        public var detail: String?
        /// `PlanText.dstWords` when daylight saving moved this slot off its written time.
        public var dst: String?
        public var jobsInSameMinute: Int

        public init(time: String, secondsSinceEpoch: Int64, status: Status, detail: String? = nil,
                    dst: String? = nil, jobsInSameMinute: Int = 1) {
            self.time = time
            self.secondsSinceEpoch = secondsSinceEpoch
            self.status = status
            self.detail = detail
            self.dst = dst
            self.jobsInSameMinute = jobsInSameMinute
        }
    }

    /// One job's timeline.
    public struct Row: Sendable {
        public var job: String
        public var identity: String
        public var owner: String
        public var schedule: String
        public var zone: String
        public var slots: [Slot]

        public init(job: String, identity: String, owner: String, schedule: String, zone: String, slots: [Slot]) {
            self.job = job
            self.identity = identity
            self.owner = owner
            self.schedule = schedule
            self.zone = zone
            self.slots = slots
        }
    }

    /// A display-zone day inside the window (the first and last cut to it).
    public struct Day: Sendable, Equatable {
        public var start: Instant
        public var end: Instant
        /// `Mon 2026-12-07`.
        public var label: String
        /// The daylight-saving changes of the page's zones on this day, in words.
        public var changes: [String]
    }

    /// A mark on the time axis: an hour boundary (`06`) or a zone's offset change.
    public struct Tick: Sendable, Equatable {
        public var at: Instant
        public var label: String
    }

    public var from: Instant
    public var to: Instant
    /// The zone the axes and the window are shown in.
    public var zone: ZoneRules
    public var now: Instant
    public var rows: [Row]
    /// Lines shown under the title (the log used, truncation, jobs left out).
    public var notes: [String]
    public var days: [Day]
    /// Every hour boundary in the window (none for windows over 62 days: too many to draw).
    public var hours: [Tick]
    /// Every daylight-saving change in the window, of the display zone and each job's zone.
    public var changes: [Tick]

    /// `jobZones`: the zones whose daylight-saving changes the page labels besides `zone`.
    public init(from: Instant, to: Instant, zone: ZoneRules, now: Instant, rows: [Row], notes: [String], jobZones: [ZoneRules] = []) {
        self.from = from
        self.to = to
        self.zone = zone
        self.now = now
        self.rows = rows
        self.notes = notes
        var seen = Set<String>()
        let zones = ([zone] + jobZones).filter { seen.insert($0.identifier).inserted }
        changes = zones.flatMap { PlanText.clockChanges(of: $0, from: from, to: to).map { Tick(at: $0.at, label: "DST: " + $0.words) } }
            .sorted { $0.at < $1.at }
        days = Self.days(from: from, to: to, zone: zone, changes: changes)
        hours = to.secondsSinceEpoch - from.secondsSinceEpoch > 62 * 86_400 ? [] : Self.hours(from: from, to: to, zone: zone)
    }

    static func days(from: Instant, to: Instant, zone: ZoneRules, changes: [Tick]) -> [Day] {
        var days: [Day] = []
        var date = zone.localTime(at: from).date
        var start = from
        while start < to, days.count < 400 {
            let next = CivilDate(daysSinceEpoch: date.daysSinceEpoch + 1)
            let end = min(to, startOfDay(next, zone))
            if end > start {
                days.append(Day(start: start, end: end, label: PlanText.dayHeading(date),
                                changes: changes.filter { $0.at > start && $0.at <= end }.map(\.label)))
            }
            date = next
            start = end
        }
        return days
    }

    static func startOfDay(_ date: CivilDate, _ zone: ZoneRules) -> Instant {
        switch zone.resolve(CivilDateTime(date: date, hour: 0, minute: 0)) {
        case .unique(let instant), .repeated(let instant, _): instant
        case .skipped(let gapEnd): gapEnd
        }
    }

    /// Each hour boundary in `[from, to]`, an hour apart on the time line (so a spring-forward
    /// day reads 01, 03).
    static func hours(from: Instant, to: Instant, zone: ZoneRules) -> [Tick] {
        var ticks: [Tick] = []
        let local = zone.localTime(at: from)
        var boundary = from.adding(seconds: -Int64(local.minute * 60 + local.second))
        if boundary < from { boundary = boundary.adding(seconds: 3600) }
        while boundary <= to, ticks.count < 2000 {
            ticks.append(Tick(at: boundary, label: RFC3339.pad(zone.localTime(at: boundary).hour, 2)))
            boundary = boundary.adding(seconds: 3600)
        }
        return ticks
    }

    /// `Mon 2026-12-07 15:30` in the display zone.
    func local(_ instant: Instant) -> String {
        PlanText.dayHeading(zone.localTime(at: instant).date) + " " + PlanText.clock(instant, zone)
    }

    /// The data the page's script reads.
    var json: JSONValue {
        .object([
            ("from", .int(from.secondsSinceEpoch)), ("to", .int(to.secondsSinceEpoch)), ("now", .int(now.secondsSinceEpoch)),
            ("fromText", .string(local(from))), ("toText", .string(local(to))), ("nowText", .string(local(now))),
            ("zone", .string(zone.identifier)),
            ("notes", .array(notes.map(JSONValue.string))),
            ("statuses", .array(Status.allCases.map {
                .object([("status", .string($0.rawValue)), ("words", .string($0.words)), ("short", .string($0.shortWords))])
            })),
            ("days", .array(days.map { day in
                .object([("start", .int(day.start.secondsSinceEpoch)), ("end", .int(day.end.secondsSinceEpoch)),
                         ("label", .string(day.label)), ("changes", .array(day.changes.map(JSONValue.string)))])
            })),
            ("hours", .array(hours.map { .object([("t", .int($0.at.secondsSinceEpoch)), ("label", .string($0.label))]) })),
            ("changes", .array(changes.map { .object([("t", .int($0.at.secondsSinceEpoch)), ("label", .string($0.label))]) })),
            ("jobs", .array(rows.map { row in
                .object([
                    ("job", .string(row.job)), ("identity", .string(row.identity)), ("owner", .string(row.owner)),
                    ("schedule", .string(row.schedule)), ("zone", .string(row.zone)),
                    ("slots", .array(row.slots.map { slot in
                        .object([
                            ("time", .string(slot.time)), ("local", .string(local(Instant(secondsSinceEpoch: slot.secondsSinceEpoch)))),
                            ("t", .int(slot.secondsSinceEpoch)), ("status", .string(slot.status.rawValue)),
                            ("detail", .optional(slot.detail)), ("dst", .optional(slot.dst)),
                            ("sameMinute", .int(slot.jobsInSameMinute)),
                        ])
                    })),
                ])
            })),
        ])
    }

    /// JSON that is inert inside `<script>`: `<`, `>` and `&` can only occur inside JSON
    /// strings, where their `\u` escapes mean the same; U+2028/2029 likewise.
    static func scriptSafe(_ json: String) -> String {
        var output = ""
        for scalar in json.unicodeScalars {
            switch scalar {
            case "<": output += "\\u003c"
            case ">": output += "\\u003e"
            case "&": output += "\\u0026"
            case "\u{2028}": output += "\\u2028"
            case "\u{2029}": output += "\\u2029"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    public var html: String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>ascribe plan</title>
        <style>
        \(Self.style)
        </style>
        </head>
        <body>
        <header>
        <h1>ascribe plan</h1>
        <p id="window"></p>
        <ul class="notes" id="notes"></ul>
        </header>
        <div class="legend" id="legend"></div>
        <nav class="zoom" id="zoom"></nav>
        <div id="chart"></div>
        <div id="info" class="info">Point at a slot for its job, identity, owner, outcome and why.</div>
        <script type="application/json" id="plan-data">\(Self.scriptSafe(json.rendered))</script>
        <script>
        \(Self.script)
        </script>
        </body>
        </html>

        """
    }

    /// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), each
    /// failure kind also with its own pattern so no outcome depends on hue alone.
    static let style = """
        :root { --label: 17em; }
        body { font: 13px/1.4 system-ui, sans-serif; margin: 1.2em 1.5em 5em; color: #1b1b1b; background: #fff; }
        h1 { font-size: 1.35em; margin: 0 0 .2em; }
        #window { margin: 0 0 .3em; color: #333; }
        .notes { color: #555; margin: 0 0 .6em; padding-left: 1.2em; }
        .legend { display: flex; flex-wrap: wrap; gap: .35em 1.1em; margin: .4em 0 .6em; padding: .5em .7em; background: #f7f7f7; border-radius: 4px; }
        .legend .item { display: inline-flex; align-items: center; gap: .4em; white-space: nowrap; }
        .legend .item.none { color: #999; }
        .legend .swatch { position: static; display: inline-block; width: 14px; height: 14px; margin: 0; border-radius: 2px; box-sizing: border-box; }
        .legend .mark-sample { display: inline-block; width: 14px; height: 14px; position: relative; }
        .zoom { display: flex; flex-wrap: wrap; gap: .3em; margin: 0 0 .6em; align-items: center; }
        .zoom button { font: inherit; padding: .15em .6em; border: 1px solid #bbb; background: #fff; border-radius: 3px; cursor: pointer; }
        .zoom button.active { background: #1b1b1b; color: #fff; border-color: #1b1b1b; }
        .zoom .hint { color: #666; margin-left: .5em; }
        .grid { display: grid; grid-template-columns: var(--label) 1fr; column-gap: .8em; align-items: center; }
        .axis-head { position: sticky; top: 0; background: #fff; z-index: 20; border-bottom: 1px solid #888; align-self: stretch; color: #555; }
        .axis { position: relative; height: 44px; overflow: hidden; }
        .axis .day { position: absolute; top: 0; height: 20px; border-left: 1px solid #555; padding-left: 4px; box-sizing: border-box;
                     font-weight: 600; white-space: nowrap; overflow: hidden; cursor: zoom-in; }
        .axis .day.changes { color: #000; }
        .axis .day .dst-flag { font-weight: 400; background: #1b1b1b; color: #fff; border-radius: 2px; padding: 0 3px; margin-left: 4px; font-size: .85em; }
        .axis .hour { position: absolute; top: 22px; height: 22px; border-left: 1px solid #bbb; padding-left: 2px; color: #555; font-size: .85em; }
        .axis .now-label { position: absolute; top: 23px; background: #c00; color: #fff; font-size: .8em; padding: 0 3px; border-radius: 2px; z-index: 3; }
        .label { padding: .3em 0; border-top: 1px solid #e4e4e4; min-width: 0; align-self: stretch; }
        .label .name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .label .meta { color: #555; font-size: .85em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .label .counts { color: #333; font-size: .85em; }
        .timeline { position: relative; align-self: stretch; min-height: 34px; background: #fafafa; border: 1px solid #e4e4e4; border-width: 1px 0; overflow: hidden; }
        .timeline .band { position: absolute; top: 0; bottom: 0; background: #f0f0f0; }
        .timeline .daysep { position: absolute; top: 0; bottom: 0; width: 0; border-left: 1px solid rgba(0, 0, 0, .35); z-index: 8; }
        .timeline .change { position: absolute; top: 0; bottom: 0; width: 0; border-left: 1px dashed #1b1b1b; z-index: 1; }
        .timeline .now { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; background: #c00; z-index: 7; }
        span.slot { position: absolute; top: 10px; bottom: 10px; width: var(--slot, 4px); margin-left: calc(var(--slot, 4px) / -2); box-sizing: border-box; border-radius: 1px; z-index: 2; }
        span.slot:hover, span.slot.selected { outline: 2px solid #000; z-index: 9; }
        span.pile { position: absolute; top: 2px; height: 4px; width: 4px; margin-left: -2px; background: #555; border-radius: 50%; z-index: 3; }
        span.dstmark { position: absolute; bottom: 0; width: 0; height: 0; margin-left: -5px; border: 5px solid transparent; border-bottom: 7px solid #1b1b1b; border-top: 0; z-index: 4; }
        .planned { background: #56B4E9; }
        .disabled { background: #fff; border: 1px dashed #56B4E9; }
        .running { background: #0072B2; }
        .succeeded { background: #009E73; }
        .failed { background: #D55E00; z-index: 5 !important; }
        .timed-out { background: repeating-linear-gradient(135deg, #CC79A7 0 3px, #7a3a63 3px 5px); z-index: 5 !important; }
        .launch-failed { background: #1b1b1b; z-index: 5 !important; }
        .lost { background: repeating-linear-gradient(0deg, #D55E00 0 3px, #fff 3px 5px); border: 1px solid #D55E00; z-index: 5 !important; }
        .skipped { background: #F0E442; border: 1px solid #a39a1e; z-index: 4 !important; }
        .missed { background: #E69F00; z-index: 4 !important; }
        .no-record { background: #6b6b6b; z-index: 3 !important; }
        .unknown { background: repeating-linear-gradient(45deg, #c4c4c4 0 2px, #fff 2px 4px); }
        .info { position: fixed; left: 0; right: 0; bottom: 0; background: #1b1b1b; color: #fff; padding: .45em 1.5em; white-space: pre-wrap; font-size: .95em; z-index: 30; min-height: 1.4em; }
        """

    /// Builds the page from the JSON block; positions every mark from the current view, so
    /// zooming only changes `view` and lays the marks out again.
    static let script = """
        (function () {
          "use strict";
          var data = JSON.parse(document.getElementById("plan-data").textContent);
          var view = { from: data.from, to: data.to };
          var placed = [];
          var timelines = [];
          function element(tag, className, text) {
            var node = document.createElement(tag);
            if (className) { node.className = className; }
            if (text !== undefined) { node.textContent = text; }
            return node;
          }
          function place(node, t, end) { placed.push({ node: node, t: t, end: end }); return node; }
          function layout() {
            var span = view.to - view.from;
            placed.forEach(function (p) {
              var visible = p.end === undefined ? (p.t >= view.from && p.t <= view.to) : (p.end > view.from && p.t < view.to);
              p.node.style.display = visible ? "" : "none";
              if (!visible) { return; }
              var start = Math.max(p.t, view.from);
              p.node.style.left = ((start - view.from) / span * 100) + "%";
              if (p.end !== undefined) { p.node.style.width = ((Math.min(p.end, view.to) - start) / span * 100) + "%"; }
            });
            var axis = document.getElementById("axis");
            var hoursShown = Math.max(1, Math.round(span / 3600));
            var width = axis.getBoundingClientRect().width || 1000;
            var step = [1, 2, 3, 6, 12, 24].find(function (s) { return width / hoursShown * s >= 34; }) || 24;
            axis.querySelectorAll(".day").forEach(function (day) {
              var full = day.getAttribute("data-full") || day.firstChild.textContent;
              day.setAttribute("data-full", full);
              day.firstChild.textContent = parseFloat(day.style.width) / 100 * width < 130 ? day.getAttribute("data-short") : full;
            });
            axis.querySelectorAll(".hour").forEach(function (tick) {
              var hour = parseInt(tick.textContent, 10);
              if (hour % step !== 0 && tick.style.display !== "none") { tick.style.display = "none"; }
            });
            timelines.forEach(function (row) {
              var gap = row.gap / span * width;
              row.node.style.setProperty("--slot", Math.max(1, Math.min(4, Math.floor(gap * 0.6))) + "px");
            });
            document.querySelectorAll("#zoom button").forEach(function (button) {
              button.classList.toggle("active", Number(button.getAttribute("data-from")) === view.from
                && Number(button.getAttribute("data-to")) === view.to);
            });
          }
          function zoom(from, to) { view = { from: from, to: to }; layout(); }

          document.getElementById("window").textContent = data.fromText + " \\u2192 " + data.toText + " \\u00b7 times in " + data.zone
            + " \\u00b7 made " + data.nowText + " (slots before then show what the event log says happened)";
          data.notes.forEach(function (note) { document.getElementById("notes").appendChild(element("li", "", note)); });
          data.days.forEach(function (day) {
            day.changes.forEach(function (change) { document.getElementById("notes").appendChild(element("li", "dst-note", day.label + ": " + change)); });
          });

          var totals = {};
          data.jobs.forEach(function (job) { job.slots.forEach(function (slot) { totals[slot.status] = (totals[slot.status] || 0) + 1; }); });
          var legend = document.getElementById("legend");
          data.statuses.forEach(function (entry) {
            var item = element("span", "item" + (totals[entry.status] ? "" : " none"));
            item.setAttribute("data-status", entry.status);
            item.appendChild(element("span", "swatch " + entry.status));
            item.appendChild(document.createTextNode(entry.words + " (" + (totals[entry.status] || 0) + ")"));
            legend.appendChild(item);
          });
          function sample(className, words) {
            var item = element("span", "item");
            var box = element("span", "mark-sample");
            var mark = element("span", className);
            mark.style.left = "50%";
            box.appendChild(mark);
            item.appendChild(box);
            item.appendChild(document.createTextNode(words));
            legend.appendChild(item);
          }
          sample("pile", "pile-up: other jobs start in the same minute");
          sample("dstmark", "moved by a DST change");
          var nowItem = element("span", "item");
          var nowBox = element("span", "mark-sample");
          nowBox.style.borderLeft = "2px solid #c00";
          nowItem.appendChild(nowBox);
          nowItem.appendChild(document.createTextNode("now"));
          legend.appendChild(nowItem);

          var zoomBar = document.getElementById("zoom");
          function zoomButton(text, from, to) {
            var button = element("button", "", text);
            button.type = "button";
            button.setAttribute("data-from", from);
            button.setAttribute("data-to", to);
            button.addEventListener("click", function () { zoom(from, to); });
            zoomBar.appendChild(button);
          }
          zoomButton("whole window", data.from, data.to);
          data.days.forEach(function (day) { zoomButton(day.label + (day.changes.length ? " (DST)" : ""), day.start, day.end); });
          zoomBar.appendChild(element("span", "hint", "or click a day on the axis"));

          var chart = document.getElementById("chart");
          chart.className = "grid";
          chart.appendChild(element("div", "axis-head", "job \\u00b7 identity \\u2192 owner"));
          var axisCell = element("div", "axis-head");
          var axis = element("div", "axis");
          axis.id = "axis";
          axisCell.appendChild(axis);
          chart.appendChild(axisCell);
          data.days.forEach(function (day) {
            var label = element("div", "day" + (day.changes.length ? " changes" : ""), day.label);
            label.setAttribute("data-short", day.label.slice(0, 3) + " " + day.label.slice(-2));
            if (day.changes.length) {
              label.appendChild(element("span", "dst-flag", "DST"));
              label.title = day.changes.join("\\n");
            }
            label.setAttribute("data-start", day.start);
            label.addEventListener("click", function () { zoom(day.start, day.end); });
            axis.appendChild(place(label, day.start, day.end));
          });
          data.hours.forEach(function (hour) { axis.appendChild(place(element("div", "hour", hour.label), hour.t)); });
          if (data.now >= data.from && data.now <= data.to) { axis.appendChild(place(element("div", "now-label", "now"), data.now)); }

          var info = document.getElementById("info");
          data.jobs.forEach(function (job) {
            var label = element("div", "label");
            label.setAttribute("data-job", job.job);
            label.appendChild(element("div", "name", job.job));
            label.appendChild(element("div", "meta", job.identity + " \\u2192 " + job.owner));
            label.appendChild(element("div", "meta", job.schedule + " (" + job.zone + ")"));
            var counts = {};
            var timeline = element("div", "timeline");
            timeline.setAttribute("data-job", job.job);
            var gap = Infinity;
            for (var i = 1; i < job.slots.length; i++) { gap = Math.min(gap, job.slots[i].t - job.slots[i - 1].t); }
            timelines.push({ node: timeline, gap: gap });
            data.days.forEach(function (day, index) {
              if (index % 2 === 1) { timeline.appendChild(place(element("div", "band"), day.start, day.end)); }
              if (index > 0) { timeline.appendChild(place(element("div", "daysep"), day.start)); }
            });
            data.changes.forEach(function (change) {
              var line = place(element("div", "change"), change.t);
              line.title = change.label;
              timeline.appendChild(line);
            });
            if (data.now >= data.from && data.now <= data.to) {
              var now = place(element("div", "now"), data.now);
              now.title = "now: " + data.nowText;
              timeline.appendChild(now);
            }
            job.slots.forEach(function (slot) {
              var node = element("span", "slot " + slot.status + (slot.dst ? " dst" : "") + (slot.sameMinute > 1 ? " pileup" : ""));
              node.setAttribute("data-job", job.job);
              node.setAttribute("data-time", slot.time);
              var words = [slot.local + " (" + slot.time + ")", job.job, "identity " + job.identity, "owner " + job.owner, slot.status];
              if (slot.detail) { words.push(slot.detail); }
              if (slot.dst) { words.push(slot.dst); }
              if (slot.sameMinute > 1) { words.push("pile-up: " + slot.sameMinute + " jobs in this minute"); }
              node.title = words.join("\\n");
              node.addEventListener("mouseenter", function () { info.textContent = words.join(" \\u00b7 "); });
              timeline.appendChild(place(node, slot.t));
              if (slot.sameMinute > 1) { timeline.appendChild(place(element("span", "pile"), slot.t)); }
              if (slot.dst) { timeline.appendChild(place(element("span", "dstmark"), slot.t)); }
              counts[slot.status] = (counts[slot.status] || 0) + 1;
            });
            var summary = data.statuses.filter(function (entry) { return counts[entry.status]; })
              .map(function (entry) { return counts[entry.status] + " " + entry.short; }).join(", ") || "no slots in this window";
            label.appendChild(element("div", "counts", summary));
            label.title = [job.job, "identity " + job.identity, "owner " + job.owner, job.schedule + " (" + job.zone + ")", summary].join("\\n");
            chart.appendChild(label);
            chart.appendChild(timeline);
          });
          layout();
          window.addEventListener("resize", layout);
        })();
        """
}

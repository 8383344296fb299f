/// `ascribe plan --html`: one self-contained page (no external resources) with a timeline per
/// job over a window, each slot coloured by what will happen or, in the past, what did.
///
/// Job-provided text never reaches the markup as markup: the page carries its data as JSON in
/// a `<script type="application/json">` block (with `<`, `>`, `&` and line separators escaped,
/// so no value can close the block) and a small inline script builds the DOM from it with
/// `textContent` and attributes.
public struct PlanPage: Sendable {
    /// One slot on a timeline.
    public struct Slot: Sendable {
        /// RFC 3339 in the job's zone.
        public var time: String
        public var secondsSinceEpoch: Int64
        /// The slot's CSS class: `planned`, `disabled`, `succeeded`, `failed`, `skipped`,
        /// `missed`, `running`, `no-record` or `unknown` (past, no log to ask).
        public var status: String
        /// What happened, in words (the `ascribe why` sentence), for past slots.
        public var detail: String?
        /// The written wall-clock time daylight saving moved this slot from.
        public var dstShiftedFrom: String?
        public var jobsInSameMinute: Int

        public init(time: String, secondsSinceEpoch: Int64, status: String, detail: String? = nil,
                    dstShiftedFrom: String? = nil, jobsInSameMinute: Int = 1) {
            self.time = time
            self.secondsSinceEpoch = secondsSinceEpoch
            self.status = status
            self.detail = detail
            self.dstShiftedFrom = dstShiftedFrom
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

    public var from: Instant
    public var to: Instant
    public var fromText: String
    public var toText: String
    /// When the page was made: slots before it are history, after it plans.
    public var nowText: String
    public var now: Instant
    public var rows: [Row]
    /// Lines shown under the title (the log used, truncation, jobs left out).
    public var notes: [String]

    public init(from: Instant, to: Instant, fromText: String, toText: String, now: Instant, nowText: String,
                rows: [Row], notes: [String]) {
        self.from = from
        self.to = to
        self.fromText = fromText
        self.toText = toText
        self.now = now
        self.nowText = nowText
        self.rows = rows
        self.notes = notes
    }

    /// The data the page's script reads.
    var json: JSONValue {
        .object([
            ("from", .int(from.secondsSinceEpoch)), ("to", .int(to.secondsSinceEpoch)), ("now", .int(now.secondsSinceEpoch)),
            ("fromText", .string(fromText)), ("toText", .string(toText)), ("nowText", .string(nowText)),
            ("notes", .array(notes.map(JSONValue.string))),
            ("jobs", .array(rows.map { row in
                .object([
                    ("job", .string(row.job)), ("identity", .string(row.identity)), ("owner", .string(row.owner)),
                    ("schedule", .string(row.schedule)), ("zone", .string(row.zone)),
                    ("slots", .array(row.slots.map { slot in
                        .object([
                            ("time", .string(slot.time)), ("t", .int(slot.secondsSinceEpoch)), ("status", .string(slot.status)),
                            ("detail", .optional(slot.detail)), ("dst", .optional(slot.dstShiftedFrom)),
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
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 { font-size: 1.3em; margin: 0 0 .3em; }
        .notes { color: #555; margin: 0 0 1em; padding-left: 1.2em; }
        .legend span.slot { position: static; display: inline-block; margin: 0 .3em 0 1em; vertical-align: middle; }
        .row { display: grid; grid-template-columns: 18em 1fr; gap: .8em; align-items: center; border-top: 1px solid #eee; padding: .4em 0; }
        .label .name { font-weight: 600; }
        .label .meta { color: #666; font-size: .85em; overflow-wrap: anywhere; }
        .timeline { position: relative; height: 26px; background: #f6f6f6; border-radius: 3px; }
        .now { position: absolute; top: -3px; bottom: -3px; width: 2px; background: #000; }
        span.slot { position: absolute; top: 5px; width: 6px; height: 16px; margin-left: -3px; border-radius: 2px; box-sizing: border-box; }
        .planned { background: #8ab4f8; } .disabled { background: #ddd; border: 1px dashed #888; }
        .succeeded { background: #2e9e44; } .failed { background: #d93025; } .skipped { background: #f9ab00; }
        .missed { background: #9334e6; } .running { background: #1a73e8; } .no-record, .unknown { background: #aaa; }
        span.slot.dst { outline: 2px solid #000; outline-offset: 1px; }
        span.slot.pileup { height: 22px; top: 2px; box-shadow: 0 0 0 2px #ff6d00; }
        .counts { color: #555; font-size: .85em; }
        </style>
        </head>
        <body>
        <h1>ascribe plan</h1>
        <p id="window"></p>
        <ul class="notes" id="notes"></ul>
        <p class="legend" id="legend"></p>
        <div id="rows"></div>
        <script type="application/json" id="plan-data">\(Self.scriptSafe(json.rendered))</script>
        <script>
        (function () {
          "use strict";
          var data = JSON.parse(document.getElementById("plan-data").textContent);
          function element(tag, className, text) {
            var node = document.createElement(tag);
            if (className) { node.className = className; }
            if (text !== undefined) { node.textContent = text; }
            return node;
          }
          var span = data.to - data.from;
          function left(t) { return Math.min(100, Math.max(0, (t - data.from) / span * 100)) + "%"; }
          document.getElementById("window").textContent =
            data.fromText + " \\u2192 " + data.toText + " (made " + data.nowText + "; slots before then show what the log says happened)";
          data.notes.forEach(function (note) { document.getElementById("notes").appendChild(element("li", "", note)); });
          var legend = document.getElementById("legend");
          ["planned", "disabled", "succeeded", "failed", "skipped", "missed", "running", "no-record", "unknown"].forEach(function (status) {
            legend.appendChild(element("span", "slot " + status));
            legend.appendChild(document.createTextNode(status));
          });
          legend.appendChild(element("span", "slot planned dst"));
          legend.appendChild(document.createTextNode("moved by DST"));
          legend.appendChild(element("span", "slot planned pileup"));
          legend.appendChild(document.createTextNode("several jobs in the same minute"));
          var rows = document.getElementById("rows");
          data.jobs.forEach(function (job) {
            var row = element("div", "row");
            row.setAttribute("data-job", job.job);
            var label = element("div", "label");
            label.appendChild(element("div", "name", job.job));
            label.appendChild(element("div", "meta", "identity " + job.identity + " \\u00b7 owner " + job.owner));
            label.appendChild(element("div", "meta", job.schedule + " (" + job.zone + ")"));
            var counts = {};
            var timeline = element("div", "timeline");
            if (data.now > data.from && data.now < data.to) {
              var now = element("div", "now");
              now.style.left = left(data.now);
              now.title = "now: " + data.nowText;
              timeline.appendChild(now);
            }
            job.slots.forEach(function (slot) {
              var classes = "slot " + slot.status + (slot.dst ? " dst" : "") + (slot.sameMinute > 1 ? " pileup" : "");
              var node = element("span", classes);
              node.setAttribute("data-job", job.job);
              node.setAttribute("data-time", slot.time);
              node.style.left = left(slot.t);
              var words = [slot.time, job.job, "identity " + job.identity, "owner " + job.owner, slot.status];
              if (slot.detail) { words.push(slot.detail); }
              if (slot.dst) { words.push("DST: " + slot.dst + " moved"); }
              if (slot.sameMinute > 1) { words.push("pile-up: " + slot.sameMinute + " jobs in this minute"); }
              node.title = words.join("\\n");
              timeline.appendChild(node);
              counts[slot.status] = (counts[slot.status] || 0) + 1;
            });
            label.appendChild(element("div", "counts", Object.keys(counts).sort().map(function (status) {
              return counts[status] + " " + status;
            }).join(", ") || "no slots in this window"));
            row.appendChild(label);
            row.appendChild(timeline);
            rows.appendChild(row);
          });
        })();
        </script>
        </body>
        </html>

        """
    }
}

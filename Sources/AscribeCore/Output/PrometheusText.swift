/// The Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
/// collector: each metric's `# HELP` and `# TYPE` once, then all its samples together, label
/// values and help text escaped so no job-provided text can break a line or a label.
public struct PrometheusText {
    public enum Kind: String, Sendable {
        case gauge
        case counter
    }

    /// One sample: labels in the order given, and the value.
    public struct Sample: Sendable {
        public var labels: [(String, String)]
        public var value: String

        public init(_ labels: [(String, String)], _ value: String) {
            self.labels = labels
            self.value = value
        }
    }

    public private(set) var text = ""

    public init() {}

    /// Appends one metric family; a family with no samples is left out entirely.
    public mutating func metric(_ name: String, _ kind: Kind, help: String, samples: [Sample]) {
        guard !samples.isEmpty else { return }
        text += "# HELP \(name) \(Self.escapedHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
        for sample in samples {
            let labels = sample.labels.map { "\($0.0)=\"\(Self.escapedLabelValue($0.1))\"" }.joined(separator: ",")
            text += name + (labels.isEmpty ? "" : "{\(labels)}") + " " + sample.value + "\n"
        }
    }

    /// `\` → `\\`, `"` → `\"`, line feed → `\n`.
    public static func escapedLabelValue(_ value: String) -> String {
        var output = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case "\"": output += "\\\""
            case "\n": output += "\\n"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// `\` → `\\`, line feed → `\n`.
    public static func escapedHelp(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }

    /// Milliseconds as a decimal number of seconds: `1795458600.123`, `0.012`, `-1.500`.
    public static func seconds(milliseconds: Int64) -> String {
        let magnitude = milliseconds.magnitude
        let fraction = String(magnitude % 1000)
        return (milliseconds < 0 ? "-" : "") + "\(magnitude / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// What to tell someone whose time zone name did not resolve. Pure: the caller supplies the
/// names its zone database holds, or says it has none.
public enum ZoneNameAdvice: Sendable, Equatable {
    /// The host has no zone database, so every name but UTC fails however it is spelled.
    case databaseMissing(root: String)
    /// Names close to the one written (a typo, a case slip, a missing `_`), best first.
    case didYouMean([String])
    /// An abbreviation such as `CEST`: it names an offset, not the rules that change it, so
    /// the advice is a few IANA zones that use it.
    case abbreviation([String])
    case noSuggestion

    /// At most this many names are offered; more reads as a list to search, not an answer.
    static let maximumSuggestions = 3

    /// Common abbreviations and representative zones that use them. Deliberately small: the
    /// point is to show the shape of an IANA name, not to guess the user's city.
    static let abbreviations: [String: [String]] = [
        "CET": ["Europe/Berlin", "Europe/Paris", "Europe/Rome"],
        "CEST": ["Europe/Berlin", "Europe/Paris", "Europe/Rome"],
        "MEZ": ["Europe/Berlin", "Europe/Vienna", "Europe/Zurich"],
        "MESZ": ["Europe/Berlin", "Europe/Vienna", "Europe/Zurich"],
        "WET": ["Europe/Lisbon", "Atlantic/Canary"],
        "WEST": ["Europe/Lisbon", "Atlantic/Canary"],
        "EET": ["Europe/Athens", "Europe/Helsinki", "Europe/Bucharest"],
        "EEST": ["Europe/Athens", "Europe/Helsinki", "Europe/Bucharest"],
        "BST": ["Europe/London"],
        "IST": ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"],
        "MSK": ["Europe/Moscow"],
        "EST": ["America/New_York", "America/Toronto"],
        "EDT": ["America/New_York", "America/Toronto"],
        "CST": ["America/Chicago", "America/Mexico_City", "Asia/Shanghai"],
        "CDT": ["America/Chicago", "America/Winnipeg"],
        "MST": ["America/Denver", "America/Phoenix"],
        "MDT": ["America/Denver", "America/Edmonton"],
        "PST": ["America/Los_Angeles", "America/Vancouver"],
        "PDT": ["America/Los_Angeles", "America/Vancouver"],
        "AKST": ["America/Anchorage"],
        "AKDT": ["America/Anchorage"],
        "HST": ["Pacific/Honolulu"],
        "JST": ["Asia/Tokyo"],
        "KST": ["Asia/Seoul"],
        "HKT": ["Asia/Hong_Kong"],
        "SGT": ["Asia/Singapore"],
        "AEST": ["Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane"],
        "AEDT": ["Australia/Sydney", "Australia/Melbourne"],
        "ACST": ["Australia/Adelaide", "Australia/Darwin"],
        "AWST": ["Australia/Perth"],
        "NZST": ["Pacific/Auckland"],
        "NZDT": ["Pacific/Auckland"],
        "BRT": ["America/Sao_Paulo"],
    ]

    /// Advice for `name`, which did not resolve, given every name the database holds (`known`
    /// empty: there is no database at `databaseRoot`).
    public static func advise(_ name: String, known: [String], databaseRoot: String) -> ZoneNameAdvice {
        guard !known.isEmpty else { return .databaseMissing(root: databaseRoot) }
        if let zones = abbreviations[name.uppercased()] {
            let present = Set(known)
            let usable = zones.filter { present.contains($0) }
            if !usable.isEmpty { return .abbreviation(usable) }
        }
        let folded = fold(name)
        guard !folded.isEmpty else { return .noSuggestion }
        let written = name.contains("/")
        var scored: [(name: String, distance: Int)] = []
        for candidate in known {
            // A bare city (`Berlin`) is compared with the last component of each name.
            let compared = written ? candidate : String(candidate.split(separator: "/").last ?? "")
            let distance = EditDistance.between(folded, fold(compared))
            if distance <= allowedDistance(folded) { scored.append((candidate, distance)) }
        }
        scored.sort { ($0.distance, $0.name) < ($1.distance, $1.name) }
        let best = scored.prefix(maximumSuggestions).map(\.name)
        return best.isEmpty ? .noSuggestion : .didYouMean(best)
    }

    /// Case, `_`, `-` and blanks are the slips people make (`america/new york`), so they do not
    /// count towards the distance.
    static func fold(_ text: String) -> String {
        String(text.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " })
    }

    /// One slip in a short name, two in a long one: more would suggest unrelated zones.
    static func allowedDistance(_ folded: String) -> Int {
        folded.count <= 4 ? 0 : folded.count <= 8 ? 1 : 2
    }

    /// The whole message for `name`, starting `unknown time zone "…"`.
    public func message(for name: String) -> String {
        let quoted = "unknown time zone \"\(name)\""
        switch self {
        case .databaseMissing(let root):
            return "\(quoted): the zone database \(root) is missing or empty (install tzdata: apt-get install tzdata); only UTC works without it"
        case .didYouMean(let names):
            return "\(quoted); did you mean \(Self.either(names))?"
        case .abbreviation(let names):
            return "\(quoted): an abbreviation names an offset, not the rules that change it; use an IANA name such as \(Self.either(names))"
        case .noSuggestion:
            return "\(quoted) (use an IANA name such as Europe/Berlin or UTC)"
        }
    }

    private static func either(_ names: [String]) -> String {
        guard names.count > 1, let last = names.last else { return names.first ?? "" }
        return names.dropLast().joined(separator: ", ") + " or " + last
    }
}

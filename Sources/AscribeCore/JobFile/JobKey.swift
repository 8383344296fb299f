/// The keys a job file may set, spelled as in the file. A closed set: an unknown key is an
/// error, never silently ignored, because an ignored `timout` is a job with no timeout.
public enum JobKey: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case schedule
    case identity
    case owner
    case command
    case shell
    case runAs = "run-as"
    case credentials
    case tokens
    case purpose
    case runbook
    case timezone
    case timeout
    case killGrace = "kill-grace"
    case overlap
    case catchUp = "catch-up"
    case placement
    case workingDirectory = "working-directory"
    case environment
    case enabled

    public var description: String { rawValue }

    /// A job without these does not load.
    public var isRequired: Bool {
        switch self {
        case .schedule, .identity, .owner, .command: true
        default: false
        }
    }

    /// Words people bring from crontabs, systemd units and other schedulers.
    static let aliases: [String: JobKey] = [
        "user": .runAs, "runas": .runAs, "group": .runAs, "cmd": .command, "exec": .command,
        "execstart": .command, "cron": .schedule, "when": .schedule, "tz": .timezone,
        "env": .environment, "cwd": .workingDirectory, "dir": .workingDirectory,
        "directory": .workingDirectory, "workdir": .workingDirectory, "description": .purpose,
        "contact": .owner, "maintainer": .owner, "disabled": .enabled, "credential": .credentials,
        "secrets": .credentials,
        "token": .tokens, "jwt": .tokens, "oidc": .tokens,
    ]

    /// The key someone most likely meant by `text`: a case or `_`/`-` slip, a known alias, or
    /// the closest key within a couple of typos.
    public static func suggestion(for text: String) -> JobKey? {
        let folded = String(text.lowercased().map { $0 == "_" || $0 == " " ? "-" : $0 })
        if let key = JobKey(rawValue: folded) { return key }
        if let key = aliases[folded.filter { $0 != "-" }] { return key }
        guard folded.count <= 40 else { return nil }
        var best: (key: JobKey, distance: Int)?
        for key in allCases {
            let distance = EditDistance.between(folded, key.rawValue)
            let allowed = key.rawValue.count <= 5 ? 1 : 2
            if distance <= allowed, distance < best?.distance ?? .max { best = (key, distance) }
        }
        return best?.key
    }
}

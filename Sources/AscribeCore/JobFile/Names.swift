/// Why a job or identity name was refused. Positions are 0-based character offsets so a caller
/// can point a column at the offending character.
public enum NameError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(length: Int)
    case badFirstCharacter(Character)
    case badCharacter(Character, offset: Int)
    /// The name is one of the anonymous actor names (PRODUCT.md 1.2) once case and
    /// punctuation are ignored.
    case banned(String)

    public var description: String {
        switch self {
        case .empty:
            "name is empty"
        case .tooLong(let length):
            "name is \(length) characters long; the limit is \(NamePattern.maximumLength)"
        case .badFirstCharacter(let character):
            "name must start with a lowercase letter (a-z), not \(character.debugDescription)"
        case .badCharacter(let character, let offset):
            "\(character.debugDescription) (character \(offset + 1)) is not allowed; names use lowercase letters (a-z), digits and -"
        case .banned(let text):
            "identity \"\(text)\" is an anonymous actor name; name the identity for what the automation does, e.g. stale-lock-reaper"
        }
    }

    /// Where in the name the problem is, as a 0-based character offset.
    public var offset: Int {
        if case .badCharacter(_, let offset) = self { return offset }
        return 0
    }
}

/// The shared shape of job and identity names: `[a-z][a-z0-9-]{0,62}`, short enough to be a
/// file name, a Unix-ish account name and a log column.
enum NamePattern {
    static let maximumLength = 63

    static func check(_ text: String) throws(NameError) {
        guard let first = text.first else { throw .empty }
        guard isLowercaseLetter(first) else { throw .badFirstCharacter(first) }
        var length = 0
        for (offset, character) in text.enumerated() {
            if offset > 0, !(isLowercaseLetter(character) || character.isASCIIDigit || character == "-") {
                throw .badCharacter(character, offset: offset)
            }
            length = offset + 1
        }
        guard length <= maximumLength else { throw .tooLong(length: length) }
    }

    private static func isLowercaseLetter(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return ascii >= 0x61 && ascii <= 0x7A
    }
}

/// A job's name: the stem of its file, and the handle on-call types (`ascribe why NAME`).
public struct JobName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(NameError) {
        try NamePattern.check(text)
        rawValue = text
    }

    public static func < (lhs: JobName, rhs: JobName) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// The named non-human actor a job runs as. Refusing anonymous names here, at parse time,
/// means no event can ever be attributed to "system" or "cron".
public struct IdentityName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Names that say nothing about who acted (PRODUCT.md 1.2), in normalised form.
    static let bannedNames: Set<String> = [
        "system", "root", "admin", "administrator", "cron", "daemon", "service", "default", "nobody",
        "anonymous", "automation", "bot", "job", "user", "scheduler", "unknown", "superuser", "sa", "svc",
    ]

    /// A banned name is reported before a pattern error: "System" is refused because it is
    /// anonymous, which is the more useful thing to hear than "uppercase is not allowed".
    public init(_ text: String) throws(NameError) {
        if Self.isBanned(text) { throw .banned(text) }
        try NamePattern.check(text)
        rawValue = text
    }

    /// Whether `text` is an anonymous actor name once lower-cased and stripped of `-`, `_`
    /// and `.` (`ad_min`, `S.A`). Whole names only: `root-cause-mailer` is fine.
    public static func isBanned(_ text: String) -> Bool {
        let normalised = String(text.lowercased().filter { $0 != "-" && $0 != "_" && $0 != "." })
        return bannedNames.contains(normalised)
    }

    public static func < (lhs: IdentityName, rhs: IdentityName) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// Why a value in a job file was refused, and where inside the value, so the diagnostic's
/// column can point at the character to fix rather than at the start of the line.
public struct JobValueError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 0-based character offset inside the value.
    public var offset: Int
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { reason }
}

/// The accountable human or team behind a job: who on-call calls when it misbehaves.
public struct Owner: Hashable, Sendable, CustomStringConvertible {
    /// The value as written, e.g. `storage-team <storage-oncall@example.com>`.
    public let text: String
    /// The part before `<…>` (the contact itself when nothing precedes it).
    public let name: String
    /// What is inside `<…>`, when present.
    public let contact: String?

    /// `name`, `name <contact>` or `<contact>`; at most one `<…>`, and it must end the value.
    public init(parsing text: String) throws(JobValueError) {
        let characters = Array(text)
        let open = characters.firstIndex(of: "<")
        let close = characters.firstIndex(of: ">")
        let example = "write it like `storage-team <storage-oncall@example.com>`"
        switch (open, close) {
        case (nil, nil):
            self.text = text
            self.name = text
            self.contact = nil
        case (nil, let close?):
            throw JobValueError(offset: close, reason: "`>` without an opening `<`; \(example)")
        case (let open?, nil):
            throw JobValueError(offset: open, reason: "`<` is never closed; \(example)")
        case (let open?, let close?):
            guard close > open else {
                throw JobValueError(offset: close, reason: "`>` before `<`; \(example)")
            }
            guard close == characters.count - 1 else {
                throw JobValueError(offset: close + 1, reason: "unexpected text after the contact address; \(example)")
            }
            if let second = characters[(open + 1)...].firstIndex(of: "<") {
                throw JobValueError(offset: second, reason: "more than one `<`; \(example)")
            }
            let contact = String(characters[(open + 1)..<close]).trimmingWhitespace
            guard !contact.isEmpty else {
                throw JobValueError(offset: open, reason: "empty contact address `<>`; \(example)")
            }
            let name = String(characters[..<open]).trimmingWhitespace
            self.text = text
            self.name = name.isEmpty ? contact : name
            self.contact = contact
        }
    }

    /// Whether the contact is something a person can reach: an e-mail address or a URL.
    public var hasContactAddress: Bool {
        guard let contact else { return false }
        return contact.contains("@") || contact.contains("://")
    }

    public var description: String { text }
}

/// The Unix account a run executes as; names are checked here, existence only on the host.
public struct RunAs: Hashable, Sendable, CustomStringConvertible {
    /// A user name or a numeric uid.
    public let user: String
    /// A group name or a numeric gid; nil means the user's primary group.
    public let group: String?

    /// `user` or `user:group`. Names follow the shadow-utils rule `[a-z_][a-z0-9_.-]*\$?`, at
    /// most 32 characters; all-digit values are numeric ids.
    public init(parsing text: String) throws(JobValueError) {
        let characters = Array(text)
        if let colon = characters.firstIndex(of: ":") {
            let user = String(characters[..<colon])
            let group = String(characters[(colon + 1)...])
            try Self.checkAccount(user, kind: "user", offset: 0)
            guard !group.isEmpty else {
                throw JobValueError(offset: colon, reason: "empty group after `:`; write user or user:group")
            }
            try Self.checkAccount(group, kind: "group", offset: colon + 1)
            self.user = user
            self.group = group
        } else {
            try Self.checkAccount(text, kind: "user", offset: 0)
            self.user = text
            self.group = nil
        }
    }

    /// True when the user is spelled as uid 0 (`root` or `0`); a user that merely resolves to
    /// uid 0 is found only on the host.
    public var isSpelledAsRoot: Bool {
        user == "root" || (!user.isEmpty && user.allSatisfy { $0 == "0" })
    }

    public var description: String { group.map { "\(user):\($0)" } ?? user }

    /// The largest id Linux accepts: `(uid_t)-1` means "no change" to the kernel.
    static let maximumId: UInt64 = 4_294_967_294

    private static func checkAccount(_ name: String, kind: String, offset: Int) throws(JobValueError) {
        guard let first = name.first else {
            throw JobValueError(offset: offset, reason: "empty \(kind) name; write user or user:group")
        }
        if name.allSatisfy(\.isASCIIDigit) {
            guard name.count <= 10, let id = UInt64(name), id <= maximumId else {
                throw JobValueError(offset: offset, reason: "numeric \(kind) id \(name) is out of range (0-\(maximumId))")
            }
            return
        }
        let rule = "\(kind) names use lowercase letters, digits, `_`, `.` and `-`, start with a letter or `_`, at most 32 characters"
        guard first == "_" || isLowercaseLetter(first) else {
            throw JobValueError(offset: offset, reason: "\(first.debugDescription) cannot start a \(kind) name; \(rule)")
        }
        let characters = Array(name)
        for (index, character) in characters.enumerated() where index > 0 {
            let allowed = isLowercaseLetter(character) || character.isASCIIDigit || "_.-".contains(character)
                || (character == "$" && index == characters.count - 1)
            guard allowed else {
                throw JobValueError(offset: offset + index, reason: "\(character.debugDescription) is not allowed in a \(kind) name; \(rule)")
            }
        }
        guard characters.count <= 32 else {
            throw JobValueError(offset: offset, reason: "\(kind) name is \(characters.count) characters long; \(rule)")
        }
    }

    private static func isLowercaseLetter(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return ascii >= 0x61 && ascii <= 0x7A
    }
}

/// The name of one secret a job may receive: a file name inside its identity's store, so it
/// can never climb out of that directory.
public struct CredentialName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// `[A-Za-z0-9_.-]+`, not `.` or `..`, at most 255 characters (a file name).
    public init(_ text: String) throws(JobValueError) {
        guard !text.isEmpty else {
            throw JobValueError(offset: 0, reason: "empty credential name (two commas in a row, or a comma at an end)")
        }
        for (offset, character) in text.enumerated() {
            let allowed = character.asciiValue.map { ascii in
                (0x41...0x5A).contains(ascii) || (0x61...0x7A).contains(ascii) || (0x30...0x39).contains(ascii)
                    || ascii == 0x5F || ascii == 0x2E || ascii == 0x2D
            } ?? false
            guard allowed else {
                throw JobValueError(offset: offset, reason: "\(character.debugDescription) is not allowed in a credential name; use letters, digits, `_`, `.` and `-` (it names a file in the identity's store)")
            }
        }
        guard text != ".", text != ".." else {
            throw JobValueError(offset: 0, reason: "\"\(text)\" is not a credential name; it would name a directory, not a file in the identity's store")
        }
        guard text.utf8.count <= 255 else {
            throw JobValueError(offset: 0, reason: "credential name is longer than 255 characters")
        }
        rawValue = text
    }

    public static func < (lhs: CredentialName, rhs: CredentialName) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// One extra variable in a run's environment. Variables the launcher sets itself cannot be
/// named, so a job can neither spoof its attribution nor escape its clean environment.
public struct EnvironmentVariable: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let value: String

    /// Set by the launcher for every run (PRODUCT.md section 4).
    public static let launcherNames: Set<String> = [
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "CREDENTIALS_DIRECTORY", "TRACEPARENT",
    ]
    /// Prefix of the attribution variables (`ASCRIBE_JOB`, `ASCRIBE_RUN_ID`, …).
    public static let launcherPrefix = "ASCRIBE_"

    /// `name` must match `[A-Za-z_][A-Za-z0-9_]*` and not be one the launcher owns. Errors
    /// point into the name.
    public init(name: String, value: String) throws(JobValueError) {
        guard !name.isEmpty else {
            throw JobValueError(offset: 0, reason: "empty variable name before `=`; write NAME=value")
        }
        let rule = "variable names use letters, digits and `_` and do not start with a digit"
        for (offset, character) in name.enumerated() {
            let isLetter = character.asciiValue.map { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x5F } ?? false
            guard isLetter || (offset > 0 && character.isASCIIDigit) else {
                throw JobValueError(offset: offset, reason: "\(character.debugDescription) is not allowed in variable name \"\(name)\"; \(rule)")
            }
        }
        if Self.launcherNames.contains(name) || name.hasPrefix(Self.launcherPrefix) {
            let why = name == "TRACEPARENT" || name.hasPrefix(Self.launcherPrefix)
                ? "it attributes the run, and attribution must not be spoofable"
                : "every run gets it from the launcher (the run-as user's, or the fixed PATH)"
            throw JobValueError(offset: 0, reason: "`\(name)` is set by the launcher and cannot be overridden: \(why)")
        }
        self.name = name
        self.value = value
    }

    public var description: String { "\(name)=\(value)" }
}

/// One short-lived identity token a job asks for (`tokens = NAME=AUDIENCE, …`, PRODUCT.md §8):
/// each run finds `$CREDENTIALS_DIRECTORY/NAME.jwt`, signed by the daemon for one audience.
public struct TokenRequest: Hashable, Sendable, CustomStringConvertible {
    /// The file's name without `.jwt`; the rules of a credential name.
    public let name: CredentialName
    /// The `aud` claim: who the token is for (a URL such as `https://vault.example.com`, or a
    /// name such as `sts.amazonaws.com`).
    public let audience: String

    /// The longest audience accepted: a URL, not a document.
    public static let maximumAudienceLength = 512

    public init(name: CredentialName, audience: String) {
        self.name = name
        self.audience = audience
    }

    /// `NAME=AUDIENCE`; `offset`s in errors are inside `text`.
    public init(parsing text: String) throws(JobValueError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw JobValueError(offset: 0, reason: text.isEmpty
                ? "empty entry (two commas in a row, or a comma at an end)"
                : "\"\(text.prefix(40))\" has no `=`; write NAME=AUDIENCE pairs such as vault=https://vault.example.com")
        }
        let nameText = String(text[..<equals])
        let audience = String(text[text.index(after: equals)...])
        let audienceOffset = nameText.count + 1
        name = try CredentialName(nameText)
        guard !audience.isEmpty else {
            throw JobValueError(offset: audienceOffset, reason: "`\(nameText)` has no audience after `=`; name who the token is for, such as sts.amazonaws.com")
        }
        guard audience.utf8.count <= Self.maximumAudienceLength else {
            throw JobValueError(offset: audienceOffset, reason: "the audience is longer than \(Self.maximumAudienceLength) bytes")
        }
        for (offset, scalar) in audience.unicodeScalars.enumerated() {
            guard scalar.value > 0x20, scalar.value < 0x7F else {
                throw JobValueError(offset: audienceOffset + offset,
                                    reason: "the audience may hold only visible ASCII characters (no spaces or controls): it is compared byte for byte by whoever checks the token")
            }
        }
        self.audience = audience
    }

    /// The file name the run sees.
    public var fileName: String { name.rawValue + ".jwt" }

    public var description: String { "\(name)=\(audience)" }
}

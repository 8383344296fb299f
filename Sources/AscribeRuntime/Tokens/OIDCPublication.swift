import AscribeCore
import AscribeSystem

/// What relying parties fetch to trust Ascribe's tokens (PRODUCT.md §8): the OpenID Provider
/// metadata and the JWKS, written as files for any static web server to serve under the issuer URL.
public enum OIDCPublication {
    /// Why `issuer` cannot be an issuer URL, or nil: `https://`, a host, no query or fragment,
    /// no whitespace, no trailing `/` (relying parties compare `iss` byte for byte with it).
    public static func issuerProblem(_ issuer: String) -> String? {
        guard issuer.hasPrefix("https://"), issuer.count > "https://".count else {
            return "the issuer \"\(issuer)\" must be an https:// URL (relying parties fetch its keys over TLS)"
        }
        if issuer.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } ?? false }) {
            return "the issuer \"\(issuer)\" must have no query, fragment, spaces or control characters"
        }
        if issuer.hasSuffix("/") { return "the issuer \"\(issuer)\" must not end in /: iss is compared byte for byte" }
        return nil
    }

    /// `.well-known/openid-configuration`: the issuer, where its keys are, and what its tokens hold.
    public static func configuration(issuer: String, algorithms: [KeyAlgorithm]) -> JSONValue {
        .object([
            ("issuer", .string(issuer)),
            ("jwks_uri", .string(issuer + "/jwks.json")),
            ("response_types_supported", .array([.string("id_token")])),
            ("subject_types_supported", .array([.string("public")])),
            ("id_token_signing_alg_values_supported", .array(algorithms.map { .string($0.jwsName) })),
            ("claims_supported", .array(["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "identity", "job", "owner",
                                         "principal", "trigger", "scheduled_for", "host", "config_hash"].map(JSONValue.string))),
        ])
    }

    /// Writes both files under `directory` (made 0755 when missing; files 0644, each replaced
    /// in one step): the JWKS holds `published`, the keys that are next, active or retired
    /// but still valid. Returns the two paths.
    public static func export(to directory: String, issuer: String, published: [KeyRecord]) throws(SystemError) -> [String] {
        let wellKnown = directory + "/.well-known"
        try FileSystem.makeDirectories(wellKnown, mode: 0o755)
        var algorithms: [KeyAlgorithm] = []
        for record in published where !algorithms.contains(record.algorithm) { algorithms.append(record.algorithm) }
        let files = [(wellKnown + "/openid-configuration", configuration(issuer: issuer, algorithms: algorithms)),
                     (directory + "/jwks.json", JSONWebKeySet.document(published))]
        for (path, document) in files {
            try FileSystem.replace(path, with: Array((document.rendered + "\n").utf8), exactMode: 0o644)
        }
        return files.map(\.0)
    }

    /// The issuer an export in the JWKS file's directory names, for checking a token against
    /// a JWKS without repeating `--issuer`; nil when there is none.
    public static func issuer(besideJWKS path: String) -> String? {
        let configuration = FileSystem.split(path).directory + "/.well-known/openid-configuration"
        guard let bytes = try? FileSystem.read(configuration, limit: 1 << 20, check: { (_: FileStatus) throws(SystemError) in }),
              let document = try? JSONParser.parse(bytes) else { return nil }
        return document["issuer"]?.stringValue
    }
}

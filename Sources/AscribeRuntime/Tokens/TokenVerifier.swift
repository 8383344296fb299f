import AscribeCore

/// Why a token was not accepted, in the words `ascribe token verify` prints.
public enum TokenRejection: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    /// `alg: none`, or an HMAC algorithm (whose "key" could be the public key itself).
    case forbiddenAlgorithm(String)
    case unsupportedAlgorithm(String)
    case unknownKey(String?)
    /// The key named by `kid` is not of the algorithm the header claims.
    case algorithmMismatch(alg: String, kid: String, keyAlgorithm: String)
    case badSignature
    case wrongIssuer(expected: String, found: String?)
    case wrongAudience(expected: String, found: String)
    case expired(exp: Int64, now: Int64)
    case notYetValid(nbf: Int64, now: Int64)

    public var description: String {
        switch self {
        case .malformed(let what): "not a valid JWS compact token: \(what)"
        case .forbiddenAlgorithm(let alg): "alg \(alg) is never accepted (only ES256 and RS256 signatures are)"
        case .unsupportedAlgorithm(let alg): "alg \(alg) is not supported (only ES256 and RS256)"
        case .unknownKey(let kid): kid.map { "no published key has kid \($0)" } ?? "the header has no kid"
        case .algorithmMismatch(let alg, let kid, let keyAlgorithm): "alg \(alg) does not match key \(kid), which is \(keyAlgorithm)"
        case .badSignature: "the signature does not match the header and claims"
        case .wrongIssuer(let expected, let found): "iss is \(found.map { "\"\($0)\"" } ?? "missing"), not \"\(expected)\""
        case .wrongAudience(let expected, let found): "aud is \(found), not exactly \"\(expected)\""
        case .expired(let exp, let now): "expired: exp \(exp) is \(now - exp) s ago (60 s leeway)"
        case .notYetValid(let nbf, let now): "not yet valid: nbf \(nbf) is \(nbf - now) s ahead (60 s leeway)"
        }
    }
}

/// Checks a token the way a relying party would (PRODUCT.md §8): signature by a published
/// key named by `kid`, an algorithm that is neither `none` nor HMAC and matches the key, the
/// issuer, exactly one audience, and `nbf`/`exp` with 60 s leeway.
public struct TokenVerifier: Sendable {
    public var keys: [String: VerifyingKey]
    public var issuer: String
    public var audience: String
    public var leeway: Int64 = KeyStoreSettings.leeway

    public init(keys: [String: VerifyingKey], issuer: String, audience: String) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
    }

    /// The claims of a valid token, in the token's order.
    public func verify(_ token: String, now: Instant) throws(TokenRejection) -> JSONValue {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("\(parts.count) parts instead of 3 (header.claims.signature)") }
        guard let headerBytes = Base64.url.decode(parts[0]), let claimBytes = Base64.url.decode(parts[1]),
              let signature = Base64.url.decode(parts[2]) else {
            throw .malformed("a part is not base64url")
        }
        let header = try Self.object(headerBytes, "header")
        guard let alg = header["alg"]?.stringValue else { throw .malformed("the header has no alg") }
        if alg.lowercased() == "none" || alg.uppercased().hasPrefix("HS") { throw .forbiddenAlgorithm(alg) }
        guard alg == KeyAlgorithm.es256.jwsName || alg == KeyAlgorithm.rs256.jwsName else { throw .unsupportedAlgorithm(alg) }
        if header["crit"] != nil { throw .malformed("the header has crit parameters, which are not understood") }
        guard let kid = header["kid"]?.stringValue else { throw .unknownKey(nil) }
        guard let key = keys[kid] else { throw .unknownKey(kid) }
        guard key.algorithm.jwsName == alg else {
            throw .algorithmMismatch(alg: alg, kid: kid, keyAlgorithm: key.algorithm.jwsName)
        }
        let input = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard key.isValidSignature(signature, for: input) else { throw .badSignature }

        let claims = try Self.object(claimBytes, "claims")
        let issued = claims["iss"]?.stringValue
        guard issued == issuer else { throw .wrongIssuer(expected: issuer, found: issued) }
        switch claims["aud"] {
        case .string(let value) where value == audience: break
        case .array(let values) where values == [.string(audience)]: break
        case let other: throw .wrongAudience(expected: audience, found: other?.rendered ?? "missing")
        }
        guard let exp = claims["exp"]?.intValue else { throw .malformed("the claims have no numeric exp") }
        guard now.secondsSinceEpoch < exp + leeway else { throw .expired(exp: exp, now: now.secondsSinceEpoch) }
        if let nbfValue = claims["nbf"] {
            guard let nbf = nbfValue.intValue else { throw .malformed("nbf is not a number") }
            guard now.secondsSinceEpoch + leeway >= nbf else { throw .notYetValid(nbf: nbf, now: now.secondsSinceEpoch) }
        }
        return claims
    }

    /// A JSON object. `JSONParser` refuses a member named twice, as RFC 7515 §5.2 allows: no
    /// doubt which of two `alg`s or `aud`s was checked.
    private static func object(_ bytes: [UInt8], _ part: String) throws(TokenRejection) -> JSONValue {
        let value: JSONValue
        do throws(JSONParser.Failure) {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .malformed("the \(part) is not JSON: \(error)")
        }
        guard case .object = value else { throw .malformed("the \(part) is not a JSON object") }
        return value
    }
}

/// A JWKS (`{"keys": [...]}`) as verifying keys by `kid`; keys of other types or without a
/// kid are left out, as a relying party would.
public enum JSONWebKeySet {
    public static func keys(_ document: JSONValue) throws(JSONWebKeyError) -> [String: VerifyingKey] {
        guard let entries = document["keys"]?.arrayValue else { throw JSONWebKeyError("not a JWKS: no \"keys\" array") }
        var keys: [String: VerifyingKey] = [:]
        for entry in entries {
            guard let kid = entry["kid"]?.stringValue, let parameters = try? PublicKeyParameters(jwk: entry) else { continue }
            do throws(CryptoError) {
                keys[kid] = try VerifyingKey(parameters)
            } catch {
                throw JSONWebKeyError("key \(kid): \(error)")
            }
        }
        return keys
    }

    /// The JWKS of `records`: each key's JWK with its kid, alg and use.
    public static func document(_ records: [KeyRecord]) -> JSONValue {
        .object([("keys", .array(records.map { $0.publicKey.jwk(kid: $0.kid) }))])
    }
}

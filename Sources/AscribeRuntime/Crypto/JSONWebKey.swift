import AscribeCore

/// Why a JWK could not be read as a public key.
public struct JSONWebKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension PublicKeyParameters {
    /// The members RFC 7638 §3.2 requires for the key type, in lexicographic order: exactly
    /// the input of the thumbprint, and the start of every JWK Ascribe publishes.
    public var requiredJWKMembers: [(String, JSONValue)] {
        switch self {
        case .ecP256(let x, let y):
            [("crv", .string("P-256")), ("kty", .string("EC")), ("x", .string(Base64.url.encode(x))), ("y", .string(Base64.url.encode(y)))]
        case .rsa(let modulus, let exponent):
            [("e", .string(Base64.url.encode(exponent))), ("kty", .string("RSA")), ("n", .string(Base64.url.encode(modulus)))]
        case .ed25519(let key):
            [("crv", .string("Ed25519")), ("kty", .string("OKP")), ("x", .string(Base64.url.encode(key)))]
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): the `kid` of a token key, the same
    /// wherever it is computed from the same public key.
    public func thumbprint() throws(CryptoError) -> String {
        let canonical = JSONValue.object(requiredJWKMembers).rendered
        do {
            return Base64.url.encode(try SHA256.digest(Array(canonical.utf8)).bytes)
        } catch {
            throw CryptoError(function: "SHA-256", message: error.message)
        }
    }

    /// The key as a JWK for a JWKS: the required members, then `kid`, `alg` and `use`.
    public func jwk(kid: String) -> JSONValue {
        .object(requiredJWKMembers + [("kid", .string(kid)), ("alg", .string(algorithm.jwsName)), ("use", .string("sig"))])
    }

    /// The public key a JWK describes (`kty` EC on P-256, RSA, or OKP Ed25519); private
    /// members are ignored, anything else is refused.
    public init(jwk: JSONValue) throws(JSONWebKeyError) {
        func member(_ name: String) throws(JSONWebKeyError) -> [UInt8] {
            guard let text = jwk[name]?.stringValue else { throw JSONWebKeyError("the JWK has no \"\(name)\" string") }
            guard let bytes = Base64.url.decode(text) else { throw JSONWebKeyError("the JWK's \"\(name)\" is not base64url") }
            return bytes
        }
        switch (jwk["kty"]?.stringValue, jwk["crv"]?.stringValue) {
        case ("EC", "P-256"?):
            self = .ecP256(x: try member("x"), y: try member("y"))
        case ("RSA", _):
            self = .rsa(modulus: try member("n"), exponent: try member("e"))
        case ("OKP", "Ed25519"?):
            self = .ed25519(try member("x"))
        case (let kty, let crv):
            throw JSONWebKeyError("unsupported JWK: kty \(kty ?? "missing")\(crv.map { ", crv \($0)" } ?? "")")
        }
    }

    /// The C2SP signed-note key ID (`NoteKeyID`) of an Ed25519 key named `name`
    /// (https://c2sp.org/signed-note), as four bytes.
    public func noteKeyID(name: String) throws(CryptoError) -> [UInt8] {
        guard case .ed25519(let key) = self else {
            throw CryptoError(function: "note key ID", message: "signed notes use Ed25519 keys, not \(algorithm.rawValue)")
        }
        do {
            return NoteKeyID.bytes(try NoteKeyID.compute(name: name, algorithm: NoteKeyID.ed25519, publicKey: key,
                                                         hashing: TreeHashing()))
        } catch {
            throw CryptoError(function: "SHA-256", message: error.message)
        }
    }
}

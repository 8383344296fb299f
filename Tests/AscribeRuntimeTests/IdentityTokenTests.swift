import AscribeCore
import Foundation
import Testing
@testable import AscribeRuntime

/// Tokens as `TokenIssuer` signs them and `TokenVerifier` (a relying party's rules) checks them.
@Suite struct IdentityTokenTests {
    static let issuer = "https://ascribe.example.com"
    static let now = Instant(secondsSinceEpoch: 1_800_000_000)
    static let subject = TokenSubject(identity: "backup-runner", job: "nightly-backup", owner: "storage-team <storage@example.com>",
                                      principal: nil, trigger: "schedule", scheduledFor: "2027-01-15T08:00:00.000Z", host: "web1",
                                      configHash: "ab12", runID: "0123456789abcdef0123456789abcdef")

    /// A key store in a scratch directory with its first key pair, and an issuer over it.
    struct Fixture {
        let scratch: KeyStoreTests.Scratch
        var store: KeyStore
        let signer: TokenIssuer

        init(algorithm: KeyAlgorithm = .es256, lifetime: Int64 = 600, at start: Instant = IdentityTokenTests.now) throws {
            scratch = try KeyStoreTests.Scratch()
            store = try KeyStore.open(scratch.settings(algorithm: algorithm), create: true)
            _ = try store.prepare(.token, now: start)
            signer = try TokenIssuer(issuer: IdentityTokenTests.issuer, lifetime: lifetime, store: store, now: start)
        }

        func verifier(audience: String = "https://vault.example.com", at now: Instant = IdentityTokenTests.now) throws -> TokenVerifier {
            var keys: [String: VerifyingKey] = [:]
            for record in store.published(.token, at: now) { keys[record.kid] = try VerifyingKey(record.publicKey) }
            return TokenVerifier(keys: keys, issuer: IdentityTokenTests.issuer, audience: audience)
        }

        func issue(_ audience: String = "https://vault.example.com") throws -> IssuedToken {
            try signer.issue(for: IdentityTokenTests.subject, audience: audience, at: IdentityTokenTests.now)
        }
    }

    static func part(_ token: String, _ index: Int) -> JSONValue? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        return Base64.url.decode(parts[index]).flatMap { try? JSONParser.parse($0) }
    }

    /// A token with `header` and `claims` and whatever signature `sign` makes of the input.
    static func forge(header: JSONValue, claims: JSONValue, sign: ([UInt8]) throws -> [UInt8]) rethrows -> String {
        let input = Base64.url.encode(Array(header.rendered.utf8)) + "." + Base64.url.encode(Array(claims.rendered.utf8))
        return input + "." + Base64.url.encode(try sign(Array(input.utf8)))
    }

    @Test(arguments: [KeyAlgorithm.es256, .rs256])
    func claimsAreExactlyTheContract(algorithm: KeyAlgorithm) throws {
        let fixture = try Fixture(algorithm: algorithm)
        defer { fixture.scratch.remove() }
        let token = try fixture.issue()
        let header = try #require(Self.part(token.compact, 0))
        #expect(header == .object([("alg", .string(algorithm.rawValue)), ("kid", .string(fixture.signer.record.kid)), ("typ", .string("JWT"))]))
        #expect(fixture.signer.record.kid == (try fixture.signer.record.publicKey.thumbprint()))
        let claims = try fixture.verifier().verify(token.compact, now: Self.now)
        guard case .object(let members) = claims else { Issue.record("claims are not an object"); return }
        #expect(members.map(\.0) == ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "identity", "job", "owner", "principal",
                                     "trigger", "scheduled_for", "host", "config_hash"])
        #expect(claims["sub"] == .string("identity:backup-runner:job:nightly-backup"))
        #expect(claims["iat"] == .int(Self.now.secondsSinceEpoch) && claims["nbf"] == .int(Self.now.secondsSinceEpoch - 60))
        #expect(claims["exp"] == .int(Self.now.secondsSinceEpoch + 600) && token.expires == Self.now.adding(seconds: 600))
        #expect(claims["jti"] == .string(Self.subject.runID) && claims["principal"] == .null)
        #expect(fixture.signer.refreshTime(issuedAt: Self.now) == Self.now.adding(seconds: 480))
    }

    /// An independent implementation (PyJWT) accepts both algorithms' tokens against the JWKS
    /// `oidc export` writes.
    @Test(arguments: [KeyAlgorithm.es256, .rs256])
    func pyJWTVerifiesTheExportedKeys(algorithm: KeyAlgorithm) throws {
        let now = SystemClock.now()
        let fixture = try Fixture(algorithm: algorithm, at: now)
        defer { fixture.scratch.remove() }
        let token = try fixture.signer.issue(for: Self.subject, audience: "sts.amazonaws.com", at: now)
        let written = try OIDCPublication.export(to: fixture.scratch.root + "/www", issuer: Self.issuer,
                                                 published: fixture.store.published(.token, at: now))
        let script = """
            import json, sys, jwt
            jwks = jwt.PyJWKSet.from_json(open(sys.argv[1]).read())
            token = sys.stdin.read().strip()
            key = next(k for k in jwks.keys if k.key_id == jwt.get_unverified_header(token)["kid"])
            print(jwt.decode(token, key.key, algorithms=[sys.argv[2]], audience="sts.amazonaws.com", issuer=sys.argv[3])["sub"])
            """
        let subject = try PyJWT.python(["-c", script, written[1], algorithm.jwsName, Self.issuer], input: token.compact)
        #expect(subject == "identity:backup-runner:job:nightly-backup\n")
    }

    @Test func everyChangedByteIsRefused() throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let token = Array(try fixture.issue().compact.utf8)
        let verifier = try fixture.verifier()
        var accepted: [Int] = []
        for index in token.indices {
            var changed = token
            changed[index] ^= 0x01
            if (try? verifier.verify(String(decoding: changed, as: UTF8.self), now: Self.now)) != nil { accepted.append(index) }
        }
        #expect(accepted.isEmpty, "accepted with a flipped byte at \(accepted)")
    }

    @Test func timesAudienceAndIssuerAreChecked() throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let token = try fixture.issue().compact
        let verifier = try fixture.verifier()
        // exp + 60 s of leeway; nbf (iat − 60) − 60 s of leeway.
        #expect(throws: Never.self) { try verifier.verify(token, now: Self.now.adding(seconds: 600 + 59)) }
        #expect(throws: TokenRejection.expired(exp: Self.now.secondsSinceEpoch + 600, now: Self.now.secondsSinceEpoch + 660)) {
            try verifier.verify(token, now: Self.now.adding(seconds: 660))
        }
        #expect(throws: Never.self) { try verifier.verify(token, now: Self.now.adding(seconds: -120)) }
        #expect(throws: TokenRejection.notYetValid(nbf: Self.now.secondsSinceEpoch - 60, now: Self.now.secondsSinceEpoch - 121)) {
            try verifier.verify(token, now: Self.now.adding(seconds: -121))
        }
        #expect(throws: TokenRejection.wrongAudience(expected: "sts.amazonaws.com", found: "\"https://vault.example.com\"")) {
            try fixture.verifier(audience: "sts.amazonaws.com").verify(token, now: Self.now)
        }
        var otherIssuer = verifier
        otherIssuer.issuer = "https://evil.example.com"
        #expect(throws: TokenRejection.wrongIssuer(expected: "https://evil.example.com", found: Self.issuer)) {
            try otherIssuer.verify(token, now: Self.now)
        }
        // A second audience, signed with the real key: not exactly one audience.
        let header = try #require(Self.part(token, 0)), claims = try #require(Self.part(token, 1))
        guard case .object(var members) = claims else { return }
        members[members.firstIndex { $0.0 == "aud" }!].1 = .array([.string("https://vault.example.com"), .string("sts.amazonaws.com")])
        let twoAudiences = try Self.forge(header: header, claims: .object(members)) { try fixture.signer.key.sign($0) }
        #expect(throws: TokenRejection.self) { try verifier.verify(twoAudiences, now: Self.now) }
    }

    @Test func noneHMACUnknownKidsAndAlgorithmConfusionAreRefused() throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let token = try fixture.issue().compact
        let verifier = try fixture.verifier()
        let claims = try #require(Self.part(token, 1))
        let kid = fixture.signer.record.kid

        let none = Self.forge(header: .object([("alg", .string("none")), ("kid", .string(kid))]), claims: claims) { _ in [] }
        #expect(throws: TokenRejection.forbiddenAlgorithm("none")) { try verifier.verify(none, now: Self.now) }

        // HS256 keyed with the public key (the classic RS/HS confusion): refused by alg, whatever the MAC.
        let publicPEM = try VerifyingKey(fixture.signer.record.publicKey).pem()
        let hmac = try Self.forge(header: .object([("alg", .string("HS256")), ("kid", .string(kid))]), claims: claims) { input in
            try Self.hmacSHA256(key: publicPEM, input)
        }
        #expect(throws: TokenRejection.forbiddenAlgorithm("HS256")) { try verifier.verify(hmac, now: Self.now) }

        // RS256 claimed for an ES256 key.
        let parts = token.split(separator: ".")
        let relabelled = Base64.url.encode(Array(#"{"alg":"RS256","kid":"\#(kid)","typ":"JWT"}"#.utf8)) + "." + parts[1] + "." + parts[2]
        #expect(throws: TokenRejection.algorithmMismatch(alg: "RS256", kid: kid, keyAlgorithm: "ES256")) {
            try verifier.verify(relabelled, now: Self.now)
        }
        // Signed by a key nobody published.
        let stranger = try SigningKey.generate(.es256)
        let unknown = try Self.forge(header: .object([("alg", .string("ES256")), ("kid", .string("not-published"))]), claims: claims) {
            try stranger.sign($0)
        }
        #expect(throws: TokenRejection.unknownKey("not-published")) { try verifier.verify(unknown, now: Self.now) }
        let mislabelled = try Self.forge(header: .object([("alg", .string("ES256")), ("kid", .string(kid))]), claims: claims) {
            try stranger.sign($0)
        }
        #expect(throws: TokenRejection.badSignature) { try verifier.verify(mislabelled, now: Self.now) }
        #expect(throws: TokenRejection.self) { try verifier.verify(token + ".x", now: Self.now) }
    }

    /// A rotation keeps the retired key in the JWKS until every token it signed has expired,
    /// and not a moment longer.
    @Test func aRetiredKeyVerifiesItsTokensUntilTheyExpireThenDisappears() throws {
        var fixture = try Fixture(lifetime: 3600)
        defer { fixture.scratch.remove() }
        let rotation = try fixture.store.rotate(.token, now: Self.now.adding(seconds: 3600))
        let lastSigned = rotation.effective.adding(seconds: -1)
        let lastToken = try fixture.signer.issue(for: Self.subject, audience: "https://vault.example.com", at: lastSigned)
        let afterRotation = rotation.effective.adding(seconds: 3599)
        #expect(throws: Never.self) { try fixture.verifier(at: afterRotation).verify(lastToken.compact, now: afterRotation) }
        let jwks = JSONWebKeySet.document(fixture.store.published(.token, at: afterRotation))
        #expect(jwks["keys"]?.arrayValue?.compactMap { $0["kid"]?.stringValue }.contains(rotation.retiring.kid) == true)
        let gone = rotation.effective.adding(seconds: 3600 + 60)
        #expect(!fixture.store.published(.token, at: gone).contains { $0.kid == rotation.retiring.kid })
        #expect(throws: TokenRejection.unknownKey(rotation.retiring.kid)) {
            try fixture.verifier(at: gone).verify(lastToken.compact, now: gone)
        }
    }

    @Test func theIssuerURLIsCheckedAndTheExportNamesItsKeys() throws {
        #expect(OIDCPublication.issuerProblem("https://ascribe.example.com") == nil)
        for bad in ["http://ascribe.example.com", "https://", "https://a.example.com/", "https://a.example.com?x=1", "https://a b"] {
            #expect(OIDCPublication.issuerProblem(bad) != nil, "\(bad)")
        }
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let directory = fixture.scratch.root + "/www"
        let written = try OIDCPublication.export(to: directory, issuer: Self.issuer, published: fixture.store.published(.token, at: Self.now))
        #expect(written == [directory + "/.well-known/openid-configuration", directory + "/jwks.json"])
        let configuration = try JSONParser.parse(Array(try String(contentsOfFile: written[0], encoding: .utf8).utf8))
        #expect(configuration["jwks_uri"] == .string(Self.issuer + "/jwks.json"))
        #expect(OIDCPublication.issuer(besideJWKS: written[1]) == Self.issuer)
        let keys = try JSONWebKeySet.keys(JSONParser.parse(Array(try String(contentsOfFile: written[1], encoding: .utf8).utf8)))
        #expect(Set(keys.keys) == Set(fixture.store.records.map(\.kid)))
    }

    /// HMAC-SHA-256 through libcrypto's EVP_MAC would need another wrapper; a forged HS256
    /// token only has to look real, so Python's hmac makes it.
    static func hmacSHA256(key: [UInt8], _ input: [UInt8]) throws -> [UInt8] {
        let script = "import hmac,hashlib,sys;k=bytes.fromhex(sys.argv[1]);m=bytes.fromhex(sys.argv[2]);sys.stdout.write(hmac.new(k,m,hashlib.sha256).hexdigest())"
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        let output = try PyJWT.python(["-c", script, hex(key), hex(input)])
        return SigningKeyTests.hex(output)
    }
}

/// An independent JWT implementation (PyJWT, Debian's python3-jwt, installed by .ci/run), used
/// only by tests.
enum PyJWT {
    /// The interpreter that has PyJWT: the system one (where apt installs it) before PATH's.
    static let interpreter: String = {
        for candidate in ["/usr/bin/python3", "/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) {
            if (try? run(candidate, ["-c", "import jwt"])) != nil { return candidate }
        }
        return "python3"
    }()

    static func python(_ arguments: [String], input: String? = nil) throws -> String {
        try run(interpreter, arguments, input: input)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private static func run(_ program: String, _ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
        process.arguments = program.hasPrefix("/") ? arguments : [program] + arguments
        let output = Pipe(), errors = Pipe(), standardInput = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = standardInput
        try process.run()
        if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
        try standardInput.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(program) \(arguments.first ?? ""): exit \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }
}

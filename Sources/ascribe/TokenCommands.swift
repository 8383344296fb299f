import AscribeCommandLine
import AscribeCore
import AscribeRuntime
import AscribeSystem

/// Options about the daemon's signing keys and the tokens they sign, alike in every command.
enum TokenOptions {
    static let keys = CommandOption("--keys", value: "DIR", help: "the signing-key directory (root-only, made mode 0700 on first start)",
                                    default: KeyStoreSettings.defaultDirectoryHelp)
    static let issuer = CommandOption("--issuer", value: "URL", help: "the https:// URL tokens name as iss, under which `ascribe oidc export` output is served")
    static let lifetime = CommandOption("--token-lifetime", value: "SPAN", help: "how long a token is valid (1m to 1h); a run gets a fresh one at 80 %",
                                        default: "10m")
    static let algorithm = CommandOption("--token-algorithm", value: "ALG", help: "ES256 or RS256 (RSA 2048) for new token keys; existing keys keep theirs",
                                         default: "ES256")

    /// `--keys`, and `--token-algorithm` for a command that makes keys (`makesKeys`).
    static func settings(_ arguments: ParsedArguments, state: String, makesKeys: Bool = false) throws(UsageError) -> KeyStoreSettings {
        let directory = arguments.value(keys) ?? KeyStoreSettings.defaultDirectory(stateDirectory: state)
        var settings = KeyStoreSettings(directory: directory, checkpointKeyName: EventStore.checkpointOrigin(host: HostName.current()))
        if makesKeys, let text = arguments.value(algorithm) {
            guard let chosen = KeyAlgorithm(rawValue: text.uppercased()), chosen != .ed25519 else {
                throw UsageError(message: "--token-algorithm must be ES256 or RS256, not \"\(text)\"")
            }
            settings.tokenAlgorithm = chosen
        }
        return settings
    }

    /// `--issuer`, checked; nil when not given.
    static func issuer(_ arguments: ParsedArguments) throws(UsageError) -> String? {
        guard let given = arguments.value(issuer) else { return nil }
        if let problem = OIDCPublication.issuerProblem(given) { throw UsageError(message: "--issuer: \(problem)") }
        return given
    }

    static func lifetime(_ arguments: ParsedArguments) throws(UsageError) -> Int64 {
        guard let text = arguments.value(lifetime) else { return TokenIssuer.defaultLifetime }
        guard let span = try? TimeSpan(parsing: text), Int64(span.seconds) >= TokenIssuer.minimumLifetime,
              Int64(span.seconds) <= TokenIssuer.maximumLifetime else {
            throw UsageError(message: "--token-lifetime \"\(text)\": give a span from 1m to 1h, such as 10m")
        }
        return Int64(span.seconds)
    }

    static func open(_ settings: KeyStoreSettings, create: Bool) throws(UsageError) -> KeyStore {
        do {
            return try KeyStore.open(settings, create: create)
        } catch {
            throw UsageError(message: error.description)
        }
    }
}

/// `ascribe keys list|rotate`: the daemon's signing keys and their life cycle.
enum KeysCommand {
    enum Options {
        static let purpose = CommandOption("--purpose", value: "PURPOSE", help: "token or checkpoint")
        static let reason = CommandOption("--reason", value: "TEXT", help: "why, in words; recorded with the key.rotated event")
        static let state = CommonOptions.state("the state directory (events.db, the daemon's control socket)")
        static let json = CommandOption("--json", help: "one JSON object per key")
    }

    static let action = Operand("list|rotate")

    static let declaration = CommandDeclaration(
        name: "keys", summary: "list the daemon's signing keys, or rotate them, attributed and recorded",
        discussion: """
            list prints every key of the key directory: kid, purpose, algorithm, state (next, active,
            retired) and when it was created, activates and retires. rotate retires the active key of
            one purpose, activates the next one and makes a new next key, recorded as key.rotated and
            key.created with you as principal. A next key signs only after it has been published for
            one cache period (1 h): rotating sooner schedules the switch for then, and the old key signs
            until it. A retired token key stays in the JWKS until every token it signed has expired;
            its private half is deleted. A kid is never given twice. Keys are made on the daemon's
            first start (docs/TOKENS.md).
            """,
        operands: [action],
        options: [Options.purpose, Options.reason, TokenOptions.keys, Options.state, Options.json],
        exitStatus: "0 done, 1 the key directory or the event store could not be used, 2 bad usage.",
        examples: """
            ascribe keys rotate --purpose token --keys ./.ascribe/keys --reason "yearly rotation, CHG-2210"
            ascribe keys list --keys ./.ascribe/keys
            """,
        forms: [
            UsageForm(operands: [Operand("list")], options: [Options.purpose, TokenOptions.keys, Options.state, Options.json]),
            UsageForm(operands: [Operand("rotate")], options: [Options.purpose, Options.reason, TokenOptions.keys, Options.state],
                      required: [Options.purpose, Options.reason]),
        ])

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let settings = try TokenOptions.settings(arguments, state: state)
        let purpose = try arguments.value(Options.purpose).map { text throws(UsageError) in
            guard let purpose = KeyPurpose(rawValue: text) else { throw UsageError(message: "--purpose must be token or checkpoint, not \"\(text)\"") }
            return purpose
        }
        switch try arguments.operands(max: 1).first {
        case "list"?:
            return try list(TokenOptions.open(settings, create: false), purpose: purpose, json: arguments.flag(Options.json), output: &output)
        case "rotate"?:
            guard let purpose else { throw UsageError(message: "rotate needs --purpose token or --purpose checkpoint") }
            let given = arguments.value(Options.reason) ?? ""
            guard !given.trimmingWhitespace.isEmpty else { throw UsageError(message: "--reason is required: say why, in words (it is recorded)") }
            let reason = try ControlExchange.reason(given, required: true) ?? given
            return try rotate(settings, purpose: purpose, reason: reason, state: state, output: &output)
        case let other:
            throw UsageError(message: "say list or rotate\(other.map { ", not \"\($0)\"" } ?? "")")
        }
    }

    private static func list(_ store: KeyStore, purpose: KeyPurpose?, json: Bool, output: inout Output) -> ExitCode {
        let now = SystemClock.now()
        let records = store.records.filter { purpose == nil || $0.purpose == purpose }
        func time(_ instant: Instant?) -> String { instant.map { RFC3339.format($0, offsetSeconds: 0) } ?? "-" }
        if json {
            for record in records {
                output.line(JSONValue.object([
                    ("kid", .string(record.kid)), ("purpose", .string(record.purpose.rawValue)),
                    ("algorithm", .string(record.algorithm.rawValue)), ("state", .string(record.state(at: now).rawValue)),
                    ("created", .string(time(record.created))), ("activates", .optional(record.activates.map { time($0) })),
                    ("retires", .optional(record.retires.map { time($0) })),
                ]).rendered)
            }
            return .ok
        }
        guard !records.isEmpty else {
            output.line("no keys in \(store.settings.directory) yet; the daemon makes them on its first start")
            return .ok
        }
        for record in records {
            output.line("\(record.kid)  \(record.purpose.rawValue)  \(record.algorithm.rawValue)  \(record.state(at: now).rawValue)  "
                + "created \(time(record.created))  activates \(time(record.activates))  retires \(time(record.retires))")
        }
        return .ok
    }

    /// Through the running daemon when there is one (it signs with the keys); else here,
    /// recorded in the event store with the caller as principal.
    private static func rotate(_ settings: KeyStoreSettings, purpose: KeyPurpose, reason: String, state: String,
                               output: inout Output) throws(UsageError) -> ExitCode {
        if let code = ControlExchange.perform(.rotateKeys(purpose, reason: reason), state: state, command: "keys", json: false,
                                              orLocally: true, output: &output) {
            return code
        }
        let host = HostContext()
        if let refused = host.applyStateDirectoryRules(state, command: "keys", output: &output) { return refused }
        let store = try host.openStore(state: state, access: .readWrite)
        var keys = try TokenOptions.open(settings, create: true)
        let now = SystemClock.now()
        let rotation: KeyRotation
        do {
            rotation = try keys.rotate(purpose, now: now)
        } catch {
            output.error("ascribe keys: \(error.description)")
            return .findings
        }
        let drafts = KeyEvents(host: HostName.current(), development: false)
            .rotated(rotation, principal: Principal.current().name, reason: reason, at: EventTime(now))
        do {
            for event in try store.append(drafts) { output.line(event.logLine) }
        } catch {
            output.error("ascribe keys: the rotation is done but could not be recorded: \(error.description)")
            return .findings
        }
        return .ok
    }
}

/// `ascribe oidc export DIR`: what relying parties fetch, as files for a static web server.
enum OIDCCommand {
    enum Options {
        static let state = CommonOptions.state("the state directory (only to find the default --keys)")
    }

    static let declaration = CommandDeclaration(
        name: "oidc", summary: "write the OpenID configuration and JWKS relying parties fetch to trust tokens",
        discussion: """
            export DIR writes DIR/.well-known/openid-configuration (issuer, jwks_uri = URL/jwks.json,
            the algorithms) and DIR/jwks.json: the token keys that are next, active, or retired but
            still valid for some token. Serve DIR at the issuer URL (the same URL the daemon's
            --issuer names) with any static web server, and export again after every rotation and at
            least once per cache period (docs/TOKENS.md).
            """,
        operands: [Operand("export"), Operand("DIR")],
        options: [TokenOptions.issuer, TokenOptions.keys, Options.state],
        exitStatus: "0 written, 1 the key directory could not be read or DIR written, 2 bad usage.",
        examples: """
            ascribe oidc export ./www --issuer https://ascribe.example.com --keys ./.ascribe/keys
            """,
        forms: [UsageForm(operands: [Operand("export"), Operand("DIR")], options: [TokenOptions.issuer, TokenOptions.keys, Options.state],
                          required: [TokenOptions.issuer])])

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let operands = try arguments.operands(max: 2)
        guard operands.first == "export", operands.count == 2 else { throw UsageError(message: "usage: ascribe oidc export DIR --issuer URL") }
        guard let issuer = try TokenOptions.issuer(arguments) else { throw UsageError(message: "--issuer URL is required: the URL DIR is served at") }
        let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
        let store = try TokenOptions.open(TokenOptions.settings(arguments, state: state), create: false)
        let published = store.published(.token, at: SystemClock.now())
        guard !published.isEmpty else {
            output.error("ascribe oidc: \(store.settings.directory) holds no token key yet; the daemon makes them on its first start")
            return .findings
        }
        do throws(SystemError) {
            for path in try OIDCPublication.export(to: operands[1], issuer: issuer, published: published) { output.line(path) }
        } catch {
            output.error("ascribe oidc: cannot write \(operands[1]): \(error)")
            return .findings
        }
        return .ok
    }
}

/// `ascribe token verify`: a token checked the way a relying party would.
enum TokenCommand {
    enum Options {
        static let audience = CommandOption("--audience", value: "AUD", help: "the audience the token must name, alone", required: true)
        static let jwks = CommandOption("--jwks", value: "FILE", help: "check against this JWKS (e.g. an `oidc export`) instead of the key directory")
        static let state = CommonOptions.state("the state directory (only to find the default --keys)")
    }

    static let declaration = CommandDeclaration(
        name: "token", summary: "check an identity token as a relying party would, and print its claims",
        discussion: """
            verify FILE (or - for standard input) checks the token's signature against a published key
            named by its kid (from --jwks FILE, else the key directory), refuses alg none and HMAC,
            checks iss (--issuer, else the issuer of the openid-configuration exported beside the
            JWKS), that aud is exactly --audience, and nbf and exp with 60 s leeway. A valid token's
            claims are printed as one JSON object; an invalid one exits 1 saying why.
            """,
        operands: [Operand("verify"), Operand("FILE")],
        options: [Options.audience, Options.jwks, TokenOptions.issuer, TokenOptions.keys, Options.state],
        exitStatus: "0 valid, 1 invalid (the reason on standard error), 2 bad usage or an unreadable token or JWKS.",
        examples: """
            echo not.a.token | ascribe token verify - --audience sts.amazonaws.com --jwks ./www/jwks.json   # exits 1
            """,
        forms: [UsageForm(operands: [Operand("verify"), Operand("FILE")],
                          options: [Options.audience, Options.jwks, TokenOptions.issuer, TokenOptions.keys, Options.state],
                          required: [Options.audience])])

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        let operands = try arguments.operands(max: 2)
        guard operands.first == "verify", operands.count == 2 else {
            throw UsageError(message: "usage: ascribe token verify FILE|- --audience AUD [--jwks FILE]")
        }
        let audience = arguments.required(Options.audience)
        let jwksPath = arguments.value(Options.jwks)
        let keys: [String: VerifyingKey]
        if let jwksPath {
            do {
                keys = try JSONWebKeySet.keys(JSONParser.parse(read(jwksPath, what: "JWKS")))
            } catch let error as UsageError {
                throw error
            } catch {
                throw UsageError(message: "\(jwksPath): \(error)")
            }
        } else {
            let state = arguments.value(Options.state) ?? DefaultPaths.stateDirectory
            let store = try TokenOptions.open(TokenOptions.settings(arguments, state: state), create: false)
            var published: [String: VerifyingKey] = [:]
            for record in store.published(.token, at: SystemClock.now()) {
                published[record.kid] = try? VerifyingKey(record.publicKey)
            }
            keys = published
        }
        guard let issuer = try TokenOptions.issuer(arguments) ?? jwksPath.flatMap(OIDCPublication.issuer(besideJWKS:)) else {
            throw UsageError(message: "name the issuer the token must come from with --issuer URL")
        }
        // One word: the file as `cat` leaves it, a final newline included.
        let words = String(decoding: try read(operands[1], what: "token"), as: UTF8.self).split(whereSeparator: \.isWhitespace)
        let text = words.count == 1 ? String(words[0]) : ""
        do throws(TokenRejection) {
            let claims = try TokenVerifier(keys: keys, issuer: issuer, audience: audience).verify(String(text), now: SystemClock.now())
            output.line(claims.rendered)
            return .ok
        } catch {
            output.error("ascribe token: invalid: \(error.description)")
            return .findings
        }
    }

    /// A file, or standard input for `-`; at most 1 MiB.
    private static func read(_ path: String, what: String) throws(UsageError) -> [UInt8] {
        do throws(SystemError) {
            if path == "-" { return try SystemCalls.readToEnd(SystemCalls.standardInput, limit: 1 << 20) }
        } catch {
            throw UsageError(message: "cannot read the \(what) from standard input: \(error)")
        }
        do throws(FileReadError<SystemError>) {
            return try FileSystem.read(path, limit: 1 << 20) { (_: FileStatus) throws(SystemError) in }
        } catch {
            switch error {
            case .system(let error), .refused(let error): throw UsageError(message: "cannot read the \(what) \(path): \(error)")
            }
        }
    }
}

import AscribeCore
import AscribeSystem
import Foundation
import Testing
@testable import AscribeRuntime
import AscribeTestSupport
import AscribeCoreTestSupport

/// `tokens =` in job files: what loads and what is refused, with file, line and column.
@Suite struct TokenJobKeyTests {
    @Test func pairsLoadInOrder() throws {
        let parsed = JobFileFixture.parse(JobFileFixture.file(appending: ["tokens = vault=https://vault.example.com,  aws=sts.amazonaws.com"]))
        let definition = try #require(parsed.definition, "\(parsed.diagnostics)")
        #expect(definition.tokens.map(\.description) == ["vault=https://vault.example.com", "aws=sts.amazonaws.com"])
        #expect(definition.tokens.map(\.fileName) == ["vault.jwt", "aws.jwt"])
    }

    @Test(arguments: [
        ("tokens = vault", 10, "tokens: \"vault\" has no `=`"),
        ("tokens = vault=", 16, "tokens: `vault` has no audience"),
        ("tokens = vault=https://a.example.com, vault=x", 39, "tokens: `vault` is listed twice"),
        ("tokens = ../x=aud", 12, "tokens: \"/\" is not allowed in a credential name"),
        ("tokens = v=a b", 13, "tokens: the audience may hold only visible ASCII"),
        ("tokens = a=x,,b=y", 14, "tokens: empty entry"),
    ])
    func badPairsNameTheColumnAndTheProblem(line: String, column: Int, message: String) throws {
        let parsed = JobFileFixture.parse(JobFileFixture.file(appending: [line]))
        #expect(parsed.definition == nil)
        let error = try #require(parsed.diagnostics.first { $0.severity == .error })
        #expect(error.line == 5 && error.column == column && error.key == .tokens, "\(error)")
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    @Test func aTokenFileMayNotShadowACredential() throws {
        let parsed = JobFileFixture.parse(JobFileFixture.file(appending: ["credentials = vault.jwt", "tokens = vault=https://vault.example.com"]))
        #expect(parsed.diagnostics.contains { $0.key == .tokens && $0.message.contains("vault.jwt, which credentials already names") })
        #expect(JobKey.suggestion(for: "token") == .tokens)
    }
}

/// Tokens given to real runs, checked by an independent implementation (PyJWT) and by a
/// relying party's rules (Vault's `jwt` auth role).
@Suite(.serialized) struct TokenRunTests {
    static let issuer = "https://ascribe.example.com"

    func job(_ name: String, command: String, tokens: String) throws -> JobDefinition {
        var lines = ["schedule = * * * * *", "identity = \(name)", "owner = storage-team <storage@example.com>",
                     "shell = /bin/sh", "command = \(command)", "tokens = \(tokens)"]
        if isRoot { lines.append("run-as = nobody") }
        let parsed = JobFile.parse(Array((lines.joined(separator: "\n") + "\n").utf8), path: "/jobs/\(name).job", zones: { _ in nil })
        return try #require(parsed.definition, "\(parsed.diagnostics)")
    }

    /// A run as `nobody` (as root; else as this user) reads its token, owned by it and
    /// readable by it alone; the token verifies with PyJWT against the exported JWKS and passes
    /// a Vault role's bound audiences and claims; the run's credentials directory is gone after it.
    @Test func aRealRunReadsItsOwnTokenWhichPyJWTAndAVaultRoleAccept() async throws {
        let scratch = try KeyStoreTests.Scratch()
        defer { scratch.remove() }
        let state = scratch.root + "/state"
        try FileSystem.makeDirectories(state, mode: 0o700)
        var keys = try KeyStore.open(scratch.settings(), create: true)
        _ = try keys.prepare(.token, now: SystemClock.now())
        let authority = TokenAuthority(issuer: Self.issuer, lifetime: 600, store: keys)
        let store = try EventStore.open(path: state + "/events.db")
        let execution = RunExecution(store: store, environment: RunEnvironment(
            host: "test-host", stateDirectory: state, credentialStore: state + "/credentials", development: !isRoot, tokens: authority))
        let command = #"echo "$CREDENTIALS_DIRECTORY"; id -un; stat -c '%U %a' "$CREDENTIALS_DIRECTORY/vault.jwt"; cat "$CREDENTIALS_DIRECTORY/vault.jwt""#
        let definition = try job("token-reader", command: command, tokens: "vault=https://vault.example.com, aws=sts.amazonaws.com")
        let slot = EventTime(millisecondsSinceEpoch: 1_800_000_000_000)
        let report = try #require(await execution.runTogether([RunOrder(job: definition, definitionHash: "c0ffee", scheduledFor: slot)]).first)
        guard case .completed(let completion) = report.result else { Issue.record("\(report.result)"); return }
        #expect(completion.outcome == .exited(code: 0))
        let lines = try capturedText(completion).split(separator: "\n").map(String.init)
        try #require(lines.count == 4, "\(lines)")
        let user = isRoot ? "nobody" : lines[1]
        #expect(lines[2] == "\(user) 400", "the token is the run's own, readable by it alone")
        #expect(!FileManager.default.fileExists(atPath: lines[0]), "the credentials directory is removed after the run")
        let token = lines[3]

        // Two tokens, each recorded without the token itself.
        let issued = report.events.filter { $0.content.type == .credentialIssued }
        #expect(issued.map { $0.content.details["aud"] } == ["https://vault.example.com", "sts.amazonaws.com"])
        #expect(issued.allSatisfy { $0.content.runID == report.runID && $0.content.details["kid"] == keys.records[0].kid })
        #expect(!issued.contains { $0.content.details.values.contains { $0.contains(token.prefix(20)) } })

        let www = scratch.root + "/www"
        let written = try OIDCPublication.export(to: www, issuer: Self.issuer, published: keys.published(.token, at: SystemClock.now()))
        // PyJWT: the signature against the JWKS, iss, aud, then a Vault role's rules
        // (bound_audiences, bound_claims on identity and job, 150 s expiration and not-before leeway).
        let script = """
            import json, sys, time, jwt
            jwks = json.load(open(sys.argv[1]))
            token = sys.stdin.read().strip()
            kid = jwt.get_unverified_header(token)["kid"]
            key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
            claims = jwt.decode(token, key.key, algorithms=["ES256", "RS256"], audience=sys.argv[2], issuer=sys.argv[3], leeway=150,
                                options={"require": ["exp", "nbf", "iat", "sub", "jti"]})
            role = {"bound_audiences": [sys.argv[2]], "bound_claims": {"identity": "token-reader", "job": "token-reader"},
                    "bound_subject": "identity:token-reader:job:token-reader"}
            assert claims["aud"] in role["bound_audiences"], claims["aud"]
            assert all(claims[k] == v for k, v in role["bound_claims"].items()), claims
            assert claims["sub"] == role["bound_subject"], claims["sub"]
            now = time.time()
            assert claims["nbf"] - 150 <= now < claims["exp"] + 150
            print(json.dumps(claims, sort_keys=True))
            """
        let output = try PyJWT.python(["-c", script, written[1], "https://vault.example.com", Self.issuer], input: token)
        let claims = try JSONParser.parse(output)
        #expect(claims["jti"] == .string(report.runID) && claims["config_hash"] == .string("c0ffee"))
        #expect(claims["scheduled_for"] == .string(slot.rfc3339) && claims["trigger"] == .string("schedule") && claims["host"] == .string("test-host"))
        // The same token for another audience is refused by PyJWT too.
        #expect(throws: PyJWT.Failure.self) {
            try PyJWT.python(["-c", script, written[1], "sts.amazonaws.com", Self.issuer], input: token)
        }
        #expect(try store.verify() == .intact(count: 4))
    }

    /// A burst's tokens are signed together, on every core (issue 13 item 5): each run of the
    /// batch still finds its own token (`jti` = its run id, its own `sub`), runs of a job
    /// without `tokens =` get none, and every token is recorded once for its own run.
    @Test func eachRunOfABatchFindsItsOwnToken() async throws {
        let scratch = try KeyStoreTests.Scratch()
        defer { scratch.remove() }
        let state = scratch.root + "/state"
        try FileSystem.makeDirectories(state, mode: 0o700)
        var keys = try KeyStore.open(scratch.settings(), create: true)
        _ = try keys.prepare(.token, now: SystemClock.now())
        let store = try EventStore.open(path: state + "/events.db")
        let execution = RunExecution(store: store, environment: RunEnvironment(
            host: "test-host", stateDirectory: state, credentialStore: state + "/credentials", development: !isRoot,
            tokens: TokenAuthority(issuer: Self.issuer, lifetime: 600, store: keys)))
        let reader = try job("batch-reader", command: #"cat "$CREDENTIALS_DIRECTORY/vault.jwt""#, tokens: "vault=https://vault.example.com")
        let other = try job("batch-other", command: #"cat "$CREDENTIALS_DIRECTORY/aws.jwt""#, tokens: "aws=sts.amazonaws.com")
        var plain = try job("batch-plain", command: #"echo "${CREDENTIALS_DIRECTORY:-none}""#, tokens: "x=y")
        plain.tokens = []
        let jobs = (0..<12).map { [reader, other, plain][$0 % 3] }
        let reports = await execution.runTogether(jobs.map { RunOrder(job: $0, definitionHash: nil) })
        try #require(reports.count == jobs.count)
        for (job, report) in zip(jobs, reports) {
            guard case .completed(let completion) = report.result else { Issue.record("\(job.name): \(report.result)"); continue }
            let text = try capturedText(completion).trimmingCharacters(in: .whitespacesAndNewlines)
            let issued = report.events.filter { $0.content.type == .credentialIssued }
            guard !job.tokens.isEmpty else {
                #expect(text == "none" && issued.isEmpty, "\(job.name): \(text)")
                continue
            }
            let parts = text.split(separator: ".")
            try #require(parts.count == 3, "\(job.name): \(text)")
            let claims = try JSONParser.parse(String(decoding: try #require(Base64.url.decode(parts[1])), as: UTF8.self))
            #expect(claims["jti"] == .string(report.runID), "\(job.name): another run's token")
            #expect(claims["sub"] == .string("identity:\(job.name):job:\(job.name)"))
            #expect(claims["aud"] == .string(job.tokens[0].audience))
            #expect(issued.map { $0.content.runID } == [report.runID])
        }
        #expect(try store.verify() == .intact(count: 12 * 2 + 8))
    }

    @Test func aJobAskingForTokensWithoutAnIssuerFailsToLaunchAndSaysWhy() async throws {
        let scratch = try KeyStoreTests.Scratch()
        defer { scratch.remove() }
        let store = try EventStore.open(path: scratch.root + "/events.db")
        let execution = RunExecution(store: store, environment: RunEnvironment(
            host: "test-host", stateDirectory: scratch.root, credentialStore: scratch.root + "/credentials", development: !isRoot))
        let definition = try job("token-reader", command: "true", tokens: "vault=https://vault.example.com")
        let report = try #require(await execution.runTogether([RunOrder(job: definition, definitionHash: nil)]).first)
        guard case .launchFailed(let failure) = report.result else { Issue.record("\(report.result)"); return }
        #expect(failure.reasonCode == "token-unavailable")
        #expect(failure.description.contains("--issuer"))
    }

    /// At 80 % of its life a token is replaced in place, atomically, with a fresh one, and
    /// the issue is recorded; a run that ended is left alone.
    @Test func aDueTokenIsReplacedInPlaceAndRecorded() throws {
        let scratch = try KeyStoreTests.Scratch()
        defer { scratch.remove() }
        var keys = try KeyStore.open(scratch.settings(), create: true)
        let start = Instant(secondsSinceEpoch: 1_800_000_000)
        _ = try keys.prepare(.token, now: start)
        let authority = TokenAuthority(issuer: Self.issuer, lifetime: 600, store: keys)
        let subject = TokenSubject(identity: "token-reader", job: "token-reader", owner: "storage-team", principal: nil,
                                   trigger: "schedule", scheduledFor: nil, host: "test-host", configHash: nil, runID: "run-1")
        let request = try TokenRequest(parsing: "vault=https://vault.example.com")
        let first = try #require(try authority.issue([request], for: subject, at: start).first)
        let me = ResolvedAccount(user: "me", uid: SystemCalls.effectiveUID, gid: getegid(), supplementaryGroups: [], home: "/", shell: "/bin/sh")
        let directory = scratch.root + "/run-1"
        try SystemCalls.makeDirectory(directory, mode: 0o500)
        try CredentialStaging.replace(Array(first.compact.utf8), named: "vault.jwt", in: directory, owner: me)
        let fired = EventDraft(time: EventTime(start), host: "test-host", type: .runFired, actor: "token-reader",
                               owner: "storage-team", job: "token-reader", identity: "token-reader", runID: "run-1")
        let refresh = TokenRefresh(authority: authority)
        refresh.add(runID: "run-1", TokenRefresh.Run(directory: directory, account: me, subject: subject, fired: fired,
                                                     tokens: [TokenRefresh.Token(request: request, issued: first)]))
        #expect(refresh.nextDue() == start.adding(seconds: 480))

        refresh.refresh(now: start.adding(seconds: 479))
        #expect(refresh.takeDrafts().isEmpty)
        refresh.refresh(now: start.adding(seconds: 480))
        let drafts = refresh.takeDrafts()
        #expect(drafts.map(\.type) == [.credentialIssued] && drafts.first?.details["exp"] == EventTime(start.adding(seconds: 1080)).rfc3339)
        let replaced = try String(contentsOfFile: directory + "/vault.jwt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(replaced != first.compact)
        let claims = try TokenVerifier(keys: [keys.records[0].kid: VerifyingKey(keys.records[0].publicKey)], issuer: Self.issuer,
                                       audience: "https://vault.example.com").verify(replaced, now: start.adding(seconds: 1000))
        #expect(claims["iat"] == .int(start.secondsSinceEpoch + 480))
        let status = try FileStatus(path: directory + "/vault.jwt", followingLinks: false)
        #expect(status.permissions & 0o777 == 0o400 && status.owner == me.uid)
        #expect(try FileStatus(path: directory, followingLinks: false).permissions & 0o777 == 0o500, "closed again")
        #expect(try FileSystem.entries(of: directory).count == 1, "no temporary file left")
        #expect(refresh.nextDue() == start.adding(seconds: 960))

        refresh.remove(runID: "run-1")
        #expect(refresh.nextDue() == nil)
        try SystemCalls.changeMode(path: directory, 0o700)
    }
}

/// Tokens and key rotation through the daemon, with the caller as principal.
@Suite(.serialized) struct DaemonTokenTests {
    let me = Principal.peer(pid: getpid(), uid: UInt32(getuid()))

    @Test func aRotationThroughTheDaemonIsAttributedAndItsKeySignsFromItsEffectiveTime() async throws {
        let harness = try DaemonHarness()
        defer { harness.remove() }
        try harness.job("tok", schedule: "0 0 1 1 *", command: #"test -r "$CREDENTIALS_DIRECTORY/vault.jwt""#,
                        ["shell = /bin/sh", "tokens = vault=https://vault.example.com"])
        let start = DaemonHarness.startOfHour()
        let settings = KeyStoreSettings(directory: harness.root + "/keys", checkpointKeyName: "testhost")
        var keys = try KeyStore.open(settings, create: true)
        let made = try keys.prepare(.token, now: start)
        let clock = FakeDaemonClock(now: start)
        let (daemon, task) = await harness.start(clock: clock) {
            $0.tokens = TokenAuthority(issuer: TokenRunTests.issuer, lifetime: 600, store: keys)
            $0.keys = settings
            $0.keysMadeAtStart = made
        }
        _ = try await harness.control(.run(job: "tok", reason: "before"))
        let replies = try await harness.control(.rotateKeys(.token, reason: "yearly rotation, CHG-2210"))
        guard case .done(let message, _)? = replies.last else { Issue.record("\(replies.map(\.json.rendered))"); return }
        #expect(message.contains("signs from \(EventTime(start.adding(seconds: 3600)).rfc3339)"))
        await clock.advance(by: 3600, settling: daemon)
        _ = try await harness.control(.run(job: "tok", reason: "after"))
        await DaemonHarness.waitUntilIdle(daemon)
        await daemon.stop()
        _ = await task.value

        let events = try harness.events()
        #expect(events.filter { $0.type == .keyCreated }.count == 3, "two at start, the new next key at the rotation")
        let rotated = try #require(events.first { $0.type == .keyRotated })
        #expect(rotated.principal == me.name && rotated.reason == "yearly rotation, CHG-2210")
        #expect(rotated.details["retired_kid"] == made[0].kid && rotated.details["activated_kid"] == made[1].kid)
        let issued = events.filter { $0.type == .credentialIssued }
        #expect(issued.map { $0.details["kid"] } == [made[0].kid, made[1].kid])
        #expect(events.filter { $0.type == .runSucceeded }.count == 2)
    }
}

/// `ascribe keys`, `oidc export` and `token verify` as a user runs them.
@Suite struct TokenCommandTests {
    @Test func rotateListExportAndVerify() throws {
        let scratch = try KeyStoreTests.Scratch()
        defer { scratch.remove() }
        let state = scratch.root + "/state", keys = scratch.keys, www = scratch.root + "/www"
        let rotate = try AscribeBinary.run(["keys", "rotate", "--purpose", "token", "--reason", "CHG-1", "--keys", keys, "--state", state])
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(rotate.stdout.contains("key.rotated") && rotate.stdout.components(separatedBy: "key.created").count == 4)
        let list = try AscribeBinary.run(["keys", "list", "--keys", keys, "--json"])
        let states = try list.stdout.split(separator: "\n").map { try JSONParser.parse(String($0))["state"]?.stringValue ?? "" }
        #expect(states == ["active", "next", "next"])
        let again = try AscribeBinary.run(["keys", "rotate", "--purpose", "token", "--reason", "CHG-2", "--keys", keys, "--state", state])
        #expect(again.status == 1 && again.stderr.contains("already scheduled"))

        let export = try AscribeBinary.run(["oidc", "export", www, "--issuer", TokenRunTests.issuer, "--keys", keys])
        #expect(export.status == 0, "\(export.stderr)")
        let store = try KeyStore.open(scratch.settings(), create: false)
        let signer = try TokenIssuer(issuer: TokenRunTests.issuer, lifetime: 600, store: store, now: SystemClock.now())
        let token = try signer.issue(for: IdentityTokenTests.subject, audience: "sts.amazonaws.com", at: SystemClock.now())
        let good = try AscribeBinary.run(["token", "verify", "-", "--audience", "sts.amazonaws.com", "--jwks", www + "/jwks.json"],
                                         input: token.compact + "\n")
        #expect(good.status == 0, "\(good.stderr)")
        #expect(try JSONParser.parse(good.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["jti"] == .string(IdentityTokenTests.subject.runID))
        let local = try AscribeBinary.run(["token", "verify", "-", "--audience", "sts.amazonaws.com", "--keys", keys, "--issuer", TokenRunTests.issuer],
                                          input: token.compact)
        #expect(local.status == 0, "\(local.stderr)")
        let wrong = try AscribeBinary.run(["token", "verify", "-", "--audience", "https://vault.example.com", "--jwks", www + "/jwks.json"],
                                          input: token.compact)
        #expect(wrong.status == 1 && wrong.stderr.contains("aud is \"sts.amazonaws.com\""))
        let noIssuer = try AscribeBinary.run(["token", "verify", "-", "--audience", "x", "--keys", keys], input: token.compact)
        #expect(noIssuer.status == 2 && noIssuer.stderr.contains("--issuer"))
        let badIssuer = try AscribeBinary.run(["oidc", "export", www, "--issuer", "http://ascribe.example.com", "--keys", keys])
        #expect(badIssuer.status == 2 && badIssuer.stderr.contains("https://"))
    }
}

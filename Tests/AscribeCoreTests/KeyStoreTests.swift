import AscribeCore
import AscribeSystem
import Glibc
import Testing
@testable import AscribeRuntime

/// The key store's life cycle and its refusal of directories others can reach.
@Suite struct KeyStoreTests {
    /// A scratch directory (mode 0700) holding `keys`, removed with everything in it.
    struct Scratch {
        let root: String
        var keys: String { root + "/keys" }

        init() throws {
            root = try SystemCalls.makeUniqueDirectory(prefix: "/tmp/ascribe-keys-\(getpid())-")
        }

        func settings(cachePeriod: Int64 = 3600, algorithm: KeyAlgorithm = .es256) -> KeyStoreSettings {
            KeyStoreSettings(directory: keys, tokenAlgorithm: algorithm, checkpointKeyName: "host.example/ascribe", cachePeriod: cachePeriod)
        }

        func remove() {
            _ = AscribeBinary.shell("rm -rf '\(root)'")
        }
    }

    static let start = Instant(secondsSinceEpoch: 1_800_000_000)

    @Test func firstStartMakesAnActiveAndANextKeyInAPrivateDirectory() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var store = try KeyStore.open(scratch.settings(), create: true)
        let made = try store.prepare(.token, now: Self.start)
        #expect(made.count == 2)
        #expect(made.map { $0.state(at: Self.start) } == [.active, .next])
        #expect(try store.prepare(.token, now: Self.start).isEmpty, "a second start makes nothing")
        #expect(try FileStatus(path: scratch.keys, followingLinks: false).permissions & 0o777 == 0o700)
        for record in made {
            #expect(record.kid == (try record.publicKey.thumbprint()))
            #expect(try FileStatus(path: scratch.keys + "/token-\(record.kid).pem", followingLinks: false).permissions & 0o777 == 0o600)
        }
        #expect(try FileStatus(path: scratch.keys + "/index.json", followingLinks: false).permissions & 0o777 == 0o600)

        let reopened = try KeyStore.open(scratch.settings(), create: false)
        #expect(reopened.records == store.records)
        let (record, key) = try reopened.signingKey(.token, at: Self.start)
        #expect(record == made[0])
        let message = Array("token".utf8)
        #expect(try VerifyingKey(record.publicKey).isValidSignature(key.sign(message), for: message))
    }

    @Test func rotationWaitsOneCachePeriodThenKeepsTheRetiredKeyPublishedUntilItsTokensExpire() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var store = try KeyStore.open(scratch.settings(), create: true)
        let first = try store.prepare(.token, now: Self.start)
        let (old, next) = (first[0], first[1])

        // Ten minutes after first start the next key has not been published for an hour yet.
        let asked = Self.start.adding(seconds: 600)
        let rotation = try store.rotate(.token, now: asked)
        #expect(rotation.retiring.kid == old.kid && rotation.activating.kid == next.kid)
        #expect(rotation.effective == Self.start.adding(seconds: 3600))
        #expect(try store.signingKey(.token, at: asked).record.kid == old.kid, "the old key signs until then")
        #expect(throws: KeyStoreError.self) { try store.rotate(.token, now: asked.adding(seconds: 1)) }

        let effective = rotation.effective
        #expect(try store.signingKey(.token, at: effective).record.kid == next.kid)
        let published = { (at: Instant) in Set(store.published(.token, at: at).map(\.kid)) }
        #expect(published(effective) == [old.kid, next.kid, rotation.created.kid])
        // Retired at `effective`: a token it signed then lives an hour at most, plus 60 s of leeway.
        #expect(published(effective.adding(seconds: 3600 + 59)).contains(old.kid))
        #expect(!published(effective.adding(seconds: 3600 + 60)).contains(old.kid))

        // Its private half goes once it is retired; its kid is never given again.
        try store.removeRetiredPrivateKeys(now: effective)
        #expect(throws: SystemError.self) { try FileStatus(path: scratch.keys + "/token-\(old.kid).pem", followingLinks: false) }
        let second = try store.rotate(.token, now: effective.adding(seconds: 7200))
        let kids = store.records.map(\.kid)
        #expect(Set(kids).count == kids.count)
        #expect(second.retiring.kid == next.kid && second.activating.kid == rotation.created.kid)
        #expect(store.records(.token).map { $0.state(at: effective.adding(seconds: 7200)) } == [.retired, .retired, .active, .next])
    }

    @Test func checkpointKeysAreEd25519NamedByTheirNoteKeyID() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var store = try KeyStore.open(scratch.settings(algorithm: .rs256), create: true)
        let tokens = try store.prepare(.token, now: Self.start)
        let checkpoints = try store.prepare(.checkpoint, now: Self.start)
        #expect(tokens.allSatisfy { $0.algorithm == .rs256 })
        #expect(checkpoints.allSatisfy { $0.algorithm == .ed25519 && $0.name == "host.example/ascribe" })
        for record in checkpoints {
            let id = try record.publicKey.noteKeyID(name: "host.example/ascribe")
            #expect(record.kid == id.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined())
        }
        #expect(try store.signingKey(.checkpoint, at: Self.start).record.kid == checkpoints[0].kid)
        #expect(try store.signingKey(.token, at: Self.start).key.algorithm == .rs256)
        // A retired checkpoint key stays published: old checkpoints stay checkable.
        let rotation = try store.rotate(.checkpoint, now: Self.start.adding(seconds: 3600))
        #expect(store.published(.checkpoint, at: rotation.effective.adding(seconds: 86400 * 365)).contains { $0.kid == rotation.retiring.kid })
    }

    @Test func aDirectoryOthersCanReadOrChangeIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        _ = try KeyStore.open(scratch.settings(), create: true)

        try SystemCalls.changeMode(path: scratch.keys, 0o750)
        #expect { try KeyStore.open(scratch.settings(), create: false) } throws: { error in
            "\(error)".contains("mode 0750 lets others in")
        }
        try SystemCalls.changeMode(path: scratch.keys, 0o700)

        // A world-writable parent: anyone could rename the directory and put their own in its place.
        try SystemCalls.changeMode(path: scratch.root, 0o777)
        #expect { try KeyStore.open(scratch.settings(), create: false) } throws: { error in
            "\(error)".contains("anyone can change \(scratch.root)")
        }
        try SystemCalls.changeMode(path: scratch.root, 0o700)

        // A symbolic link in place of the directory.
        let link = scratch.root + "/link"
        #expect(symlink(scratch.keys, link) == 0)
        var linked = scratch.settings()
        linked.directory = link
        #expect { try KeyStore.open(linked, create: false) } throws: { error in
            "\(error)".contains("symbolic link")
        }

        // A private key file others can read.
        var store = try KeyStore.open(scratch.settings(), create: false)
        let made = try store.prepare(.token, now: Self.start)
        try SystemCalls.changeMode(path: scratch.keys + "/token-\(made[0].kid).pem", 0o644)
        #expect { try store.signingKey(.token, at: Self.start) } throws: { error in
            "\(error)".contains("mode 0644")
        }
    }

    @Test func aDamagedIndexNamesTheFileAndTheProblem() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var store = try KeyStore.open(scratch.settings(), create: true)
        _ = try store.prepare(.token, now: Self.start)
        try FileSystem.replace(scratch.keys + "/index.json", with: Array(#"{"version":1,"keys":[{"kid":"x","purpose":"token"}]}"#.utf8), exactMode: 0o600)
        #expect { try KeyStore.open(scratch.settings(), create: false) } throws: { error in
            "\(error)".contains("index.json: key 1: x: no known \"algorithm\"")
        }
    }
}

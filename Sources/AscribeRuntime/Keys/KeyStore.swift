import AscribeCore
import AscribeSystem
import Glibc

/// How the daemon's signing keys are kept and rotated.
public struct KeyStoreSettings: Sendable {
    /// Root-only (or the scheduler user's only): `--keys`.
    public var directory: String
    /// The algorithm of new token keys (`--token-algorithm`); existing keys keep theirs.
    public var tokenAlgorithm: KeyAlgorithm
    /// The signer name of new checkpoint keys, which their note key ID covers.
    public var checkpointKeyName: String
    /// How long a key is published before it signs: relying parties that cache the JWKS for
    /// this long know it before they see a token it signed.
    public var cachePeriod: Int64
    /// The longest a token can be valid (PRODUCT.md §8's maximum `token-lifetime`): a retired
    /// token key stays published this long (plus the leeway) after it last signed.
    public var longestTokenLifetime: Int64

    public static let defaultCachePeriod: Int64 = 3600
    public static let defaultLongestTokenLifetime: Int64 = 3600
    /// The clock skew verifiers allow on `nbf` and `exp`.
    public static let leeway: Int64 = 60

    public init(directory: String, tokenAlgorithm: KeyAlgorithm = .es256, checkpointKeyName: String,
                cachePeriod: Int64 = defaultCachePeriod, longestTokenLifetime: Int64 = defaultLongestTokenLifetime) {
        self.directory = directory
        self.tokenAlgorithm = tokenAlgorithm
        self.checkpointKeyName = checkpointKeyName
        self.cachePeriod = cachePeriod
        self.longestTokenLifetime = longestTokenLifetime
    }

    public static let systemDirectory = "/etc/ascribe/keys"
    /// `/etc/ascribe/keys` as root, `<state>/keys` otherwise (PRODUCT.md §8).
    public static func defaultDirectory(stateDirectory: String) -> String {
        DefaultPaths.runningAsRoot ? systemDirectory : stateDirectory + "/keys"
    }
    public static let defaultDirectoryHelp = "\(systemDirectory) as root, <state>/keys otherwise"
}

/// Why the key store could not be used or changed.
public enum KeyStoreError: Error, Sendable, CustomStringConvertible {
    /// Someone other than root and the scheduler's user could read or change the keys.
    case unsafe(path: String, problem: String)
    case system(path: String, SystemError)
    case badIndex(path: String, problem: String)
    case crypto(CryptoError)
    /// The store has no key for the purpose yet (the daemon creates them when it starts).
    case noKeys(KeyPurpose, path: String)
    /// A rotation is already scheduled; a second one would retire a key before its successor
    /// was published for a whole cache period.
    case rotationPending(KeyPurpose, at: Instant)
    /// Another process is changing the store.
    case busy(path: String)

    public var description: String {
        switch self {
        case .unsafe(let path, let problem):
            "refusing the key directory \(path): \(problem)"
        case .system(let path, let error):
            "key directory \(path): \(error)"
        case .badIndex(let path, let problem):
            "\(path): \(problem)"
        case .crypto(let error):
            "signing key: \(error)"
        case .noKeys(let purpose, let path):
            "\(path) holds no \(purpose.rawValue) key yet; the daemon creates them when it starts"
        case .rotationPending(let purpose, let at):
            "a rotation of the \(purpose.rawValue) key is already scheduled for \(RFC3339.format(at, offsetSeconds: 0)); "
                + "rotate again after it (the new key must be published for a whole cache period first)"
        case .busy(let path):
            "another ascribe process is changing the keys in \(path); try again"
        }
    }
}

/// A rotation: the active key retires and the next one activates at `effective`, the moment
/// the next key has been published for a cache period (now, when it has); a new next key is made.
public struct KeyRotation: Sendable, Equatable {
    public var purpose: KeyPurpose
    public var retiring: KeyRecord
    public var activating: KeyRecord
    public var created: KeyRecord
    public var effective: Instant
}

/// The daemon's signing keys (PRODUCT.md §8, §9): a directory only root (or the scheduler's
/// user) can read or change, an index of every key ever made (`index.json`: kid, purpose,
/// algorithm, public key, created, activates, retires), and one PEM file per private key,
/// deleted when the key retires. A value is a snapshot; changes are written before they return.
public struct KeyStore: Sendable {
    public let settings: KeyStoreSettings
    public private(set) var records: [KeyRecord]

    static let indexName = "index.json"
    static let indexVersion: Int64 = 1
    /// The index and a PEM key are small; anything larger is not ours.
    static let fileLimit = 1 << 20

    private var directory: String { settings.directory }
    private var indexPath: String { directory + "/" + Self.indexName }

    /// Opens the store after checking who can reach it; with `create`, makes the directory
    /// (mode 0700, parents 0755) when missing. A missing directory without `create` is an empty store.
    public static func open(_ settings: KeyStoreSettings, create: Bool) throws(KeyStoreError) -> KeyStore {
        let path = settings.directory
        let exists: Bool
        do throws(SystemError) {
            _ = try FileStatus(path: path, followingLinks: false)
            exists = true
        } catch where error.code == ENOENT {
            exists = false
        } catch {
            throw .system(path: path, error)
        }
        if !exists {
            guard create else { return KeyStore(settings: settings, records: []) }
            do throws(SystemError) {
                let parent = FileSystem.split(path).directory
                try FileSystem.makeDirectories(parent, mode: 0o755)
                try SystemCalls.makeDirectory(path, mode: 0o700)
                try SystemCalls.changeMode(path: path, 0o700)
            } catch where error.code == EEXIST {
                // Made by someone else meanwhile: the checks below decide.
            } catch {
                throw .system(path: path, error)
            }
        }
        try checkDirectory(path)
        var store = KeyStore(settings: settings, records: [])
        store.records = try store.readIndex()
        return store
    }

    private init(settings: KeyStoreSettings, records: [KeyRecord]) {
        self.settings = settings
        self.records = records
    }

    /// Every key of `purpose`, oldest first.
    public func records(_ purpose: KeyPurpose) -> [KeyRecord] {
        records.filter { $0.purpose == purpose }
    }

    /// The keys relying parties must find at `now`: next, active, and retired ones whose
    /// signatures can still be valid.
    public func published(_ purpose: KeyPurpose, at now: Instant) -> [KeyRecord] {
        records(purpose).filter { record in
            guard let until = record.publishedUntil(longestTokenLifetime: settings.longestTokenLifetime, leeway: KeyStoreSettings.leeway)
            else { return true }
            return now < until
        }
    }

    /// The key that signs at `now`, with its private half.
    public func signingKey(_ purpose: KeyPurpose, at now: Instant) throws(KeyStoreError) -> (record: KeyRecord, key: SigningKey) {
        guard let record = records(purpose).last(where: { $0.state(at: now) == .active }) else {
            throw .noKeys(purpose, path: directory)
        }
        let path = directory + "/" + record.privateFileName
        let pem: [UInt8]
        do throws(FileReadError<KeyStoreError>) {
            pem = try FileSystem.read(path, limit: Self.fileLimit) { status throws(KeyStoreError) in
                try Self.checkPrivateFile(status, path: path)
            }
        } catch {
            switch error {
            case .system(let error): throw .system(path: path, error)
            case .refused(let error): throw error
            }
        }
        let key: SigningKey
        do throws(CryptoError) {
            key = try SigningKey(pem: pem)
            guard try key.publicParameters() == record.publicKey else {
                throw CryptoError(function: "key check", message: "\(path) does not hold the key the index names \(record.kid)")
            }
        } catch {
            throw .crypto(error)
        }
        return (record, key)
    }

    /// Makes what `purpose` lacks: an active key (signing at once: on first start there is
    /// nothing to publish ahead of) and an unscheduled next key. Returns the keys made.
    public mutating func prepare(_ purpose: KeyPurpose, now: Instant) throws(KeyStoreError) -> [KeyRecord] {
        let keys = records(purpose)
        var made: [KeyRecord] = []
        let hasSigner = keys.contains { $0.state(at: now) == .active || ($0.activates.map { $0 > now } ?? false) }
        if !hasSigner {
            made.append(try generate(purpose, now: now, activates: now))
        }
        if !records(purpose).contains(where: { $0.activates == nil }) {
            made.append(try generate(purpose, now: now, activates: nil))
        }
        if !made.isEmpty { try writeIndex() }
        return made
    }

    /// Active → retired, next → active, and a new next key: at once when the next key has been
    /// published for a cache period, otherwise when it will have been (the active key signs
    /// until then).
    public mutating func rotate(_ purpose: KeyPurpose, now: Instant) throws(KeyStoreError) -> KeyRotation {
        if let pending = records(purpose).compactMap(\.activates).first(where: { $0 > now }) {
            throw .rotationPending(purpose, at: pending)
        }
        _ = try prepare(purpose, now: now)
        guard let activeIndex = records.lastIndex(where: { $0.purpose == purpose && $0.state(at: now) == .active }),
              let nextIndex = records.firstIndex(where: { $0.purpose == purpose && $0.activates == nil }) else {
            throw .noKeys(purpose, path: directory)
        }
        let effective = max(now, records[nextIndex].created.adding(seconds: settings.cachePeriod))
        records[activeIndex].retires = effective
        records[nextIndex].activates = effective
        let retiring = records[activeIndex], activating = records[nextIndex]
        let created = try generate(purpose, now: now, activates: nil)
        try writeIndex()
        try removeRetiredPrivateKeys(now: now)
        return KeyRotation(purpose: purpose, retiring: retiring, activating: activating, created: created, effective: effective)
    }

    /// Deletes the private half of every key retired at `now`: it never signs again, and a
    /// key that no longer exists cannot leak.
    public func removeRetiredPrivateKeys(now: Instant) throws(KeyStoreError) {
        for record in records where record.state(at: now) == .retired {
            do throws(SystemError) {
                try SystemCalls.unlink(path: directory + "/" + record.privateFileName)
            } catch where error.code == ENOENT {
                continue
            } catch {
                throw .system(path: directory + "/" + record.privateFileName, error)
            }
        }
    }

    /// A new key for `purpose`: private half written first, then added to `records` (the caller writes the index).
    private mutating func generate(_ purpose: KeyPurpose, now: Instant, activates: Instant?) throws(KeyStoreError) -> KeyRecord {
        let algorithm: KeyAlgorithm = purpose == .token ? settings.tokenAlgorithm : .ed25519
        let name: String? = purpose == .checkpoint ? settings.checkpointKeyName : nil
        for _ in 0..<8 {
            let key: SigningKey, parameters: PublicKeyParameters, kid: String
            do throws(CryptoError) {
                key = try SigningKey.generate(algorithm)
                parameters = try key.publicParameters()
                if let name {
                    kid = lowercaseHex(try parameters.noteKeyID(name: name))
                } else {
                    kid = try parameters.thumbprint()
                }
            } catch {
                throw .crypto(error)
            }
            // A kid is never reused: a key whose kid was ever given (a 32-bit note key ID can
            // collide) is thrown away and another one made.
            guard !records.contains(where: { $0.kid == kid }) else { continue }
            let record = KeyRecord(kid: kid, purpose: purpose, algorithm: algorithm, publicKey: parameters,
                                   created: now, activates: activates, retires: nil, name: name)
            let pem: [UInt8]
            do throws(CryptoError) { pem = try key.pem() } catch { throw .crypto(error) }
            do throws(SystemError) {
                try FileSystem.replace(directory + "/" + record.privateFileName, with: pem, exactMode: 0o600)
            } catch {
                throw .system(path: directory + "/" + record.privateFileName, error)
            }
            records.append(record)
            return record
        }
        throw .crypto(CryptoError(function: "key generation", message: "eight new keys in a row had a kid already given"))
    }

    // MARK: - The directory and its files

    /// The directory must be a real directory of the scheduler's user, closed to group and
    /// others, on a path nobody but root and that user can change (the writer rule of job files).
    private static func checkDirectory(_ path: String) throws(KeyStoreError) {
        let me = SystemCalls.effectiveUID
        var scan = FileWriterScan()
        let linkStatus: FileStatus, result: FileWriterScan.Result
        do throws(SystemError) {
            linkStatus = try FileStatus(path: path, followingLinks: false)
            result = try scan.writers(of: path)
        } catch {
            throw .system(path: path, error)
        }
        guard linkStatus.kind == .directory else {
            throw .unsafe(path: path, problem: linkStatus.kind == .symbolicLink
                ? "it is a symbolic link; name the directory itself" : "it is not a directory")
        }
        let status = result.status
        guard status.owner == me else {
            throw .unsafe(path: path, problem: "it belongs to uid \(status.owner), not to this process's user (uid \(me)); chown it or choose another --keys")
        }
        guard status.permissions & 0o077 == 0 else {
            throw .unsafe(path: path, problem: "mode \(status.octalPermissions) lets others in; the private keys need chmod 700 \(path)")
        }
        if let open = result.writers.openToEveryone {
            throw .unsafe(path: path, problem: "anyone can change \(open), so anyone could replace the keys")
        }
        let others = result.writers.nonRootWriters.filter { $0.uid != me }
        guard others.isEmpty else {
            throw .unsafe(path: path, problem: "\(others.map(\.description).joined(separator: ", ")) could replace the keys: \(result.writers.explanation)")
        }
    }

    private static func checkPrivateFile(_ status: FileStatus, path: String) throws(KeyStoreError) {
        let me = SystemCalls.effectiveUID
        guard status.kind == .regular else { throw .unsafe(path: path, problem: "\(path) is not a regular file") }
        guard status.owner == me else { throw .unsafe(path: path, problem: "\(path) belongs to uid \(status.owner), not uid \(me)") }
        guard status.permissions & 0o077 == 0 else {
            throw .unsafe(path: path, problem: "\(path) has mode \(status.octalPermissions); chmod 600 it")
        }
    }

    private func readIndex() throws(KeyStoreError) -> [KeyRecord] {
        let path = indexPath
        let bytes: [UInt8]
        do throws(FileReadError<KeyStoreError>) {
            bytes = try FileSystem.read(path, limit: Self.fileLimit) { status throws(KeyStoreError) in
                try Self.checkPrivateFile(status, path: path)
            }
        } catch {
            switch error {
            case .system(let error) where error.code == ENOENT: return []
            case .system(let error): throw .system(path: path, error)
            case .refused(let error): throw error
            }
        }
        let document: JSONValue
        do throws(JSONParser.Failure) {
            document = try JSONParser.parse(bytes)
        } catch {
            throw .badIndex(path: path, problem: error.description)
        }
        guard document["version"]?.intValue == Self.indexVersion, let entries = document["keys"]?.arrayValue else {
            throw .badIndex(path: path, problem: "not a version \(Self.indexVersion) key index (\"version\" and \"keys\")")
        }
        var records: [KeyRecord] = []
        for (index, entry) in entries.enumerated() {
            do throws(JSONWebKeyError) {
                records.append(try Self.record(entry))
            } catch {
                throw .badIndex(path: path, problem: "key \(index + 1): \(error.message)")
            }
        }
        return records
    }

    private static func record(_ entry: JSONValue) throws(JSONWebKeyError) -> KeyRecord {
        func instant(_ name: String) throws(JSONWebKeyError) -> Instant? {
            guard let value = entry[name], value != .null else { return nil }
            guard let seconds = value.intValue else { throw JSONWebKeyError("\"\(name)\" is not a number of seconds") }
            return Instant(secondsSinceEpoch: seconds)
        }
        guard let kid = entry["kid"]?.stringValue, !kid.isEmpty else { throw JSONWebKeyError("no \"kid\"") }
        guard let purpose = entry["purpose"]?.stringValue.flatMap(KeyPurpose.init(rawValue:)) else {
            throw JSONWebKeyError("\(kid): no known \"purpose\"")
        }
        guard let algorithm = entry["algorithm"]?.stringValue.flatMap(KeyAlgorithm.init(rawValue:)) else {
            throw JSONWebKeyError("\(kid): no known \"algorithm\"")
        }
        guard let publicKey = entry["public"] else { throw JSONWebKeyError("\(kid): no \"public\" key") }
        let parameters = try PublicKeyParameters(jwk: publicKey)
        guard parameters.algorithm == algorithm else { throw JSONWebKeyError("\(kid): the public key is not \(algorithm.rawValue)") }
        guard let created = try instant("created") else { throw JSONWebKeyError("\(kid): no \"created\"") }
        return KeyRecord(kid: kid, purpose: purpose, algorithm: algorithm, publicKey: parameters, created: created,
                         activates: try instant("activates"), retires: try instant("retires"), name: entry["name"]?.stringValue)
    }

    private func writeIndex() throws(KeyStoreError) {
        let entries: [JSONValue] = records.map { record in
            var members: [(String, JSONValue)] = [
                ("kid", .string(record.kid)), ("purpose", .string(record.purpose.rawValue)),
                ("algorithm", .string(record.algorithm.rawValue)), ("public", .object(record.publicKey.requiredJWKMembers)),
                ("created", .int(record.created.secondsSinceEpoch)),
                ("activates", record.activates.map { .int($0.secondsSinceEpoch) } ?? .null),
                ("retires", record.retires.map { .int($0.secondsSinceEpoch) } ?? .null),
            ]
            if let name = record.name { members.append(("name", .string(name))) }
            return .object(members)
        }
        let document = JSONValue.object([("version", .int(Self.indexVersion)), ("keys", .array(entries))])
        do throws(SystemError) {
            try FileSystem.replace(indexPath, with: Array((document.rendered + "\n").utf8), exactMode: 0o600)
        } catch {
            throw .system(path: indexPath, error)
        }
    }
}

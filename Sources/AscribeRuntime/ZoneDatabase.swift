import AscribeCore
import Glibc
import AscribeSystem

/// The system's IANA zone files. Job files name zones, so an identifier is untrusted text: it is
/// checked before any path is built, and every failure reads as "no such zone".
public struct ZoneDatabase: Sendable {
    /// Directory holding the TZif files, e.g. `/usr/share/zoneinfo`.
    public let root: String
    /// The host's zone link or file; a parameter so tests need not touch `/etc`.
    public let localtimePath: String

    /// TZif files are a few kilobytes; the cap stops a mistaken path from being slurped.
    static let maximumFileSize = 1 << 20

    public init(root: String = "/usr/share/zoneinfo", localtimePath: String = "/etc/localtime") {
        self.root = root
        self.localtimePath = localtimePath
    }

    /// True for names shaped like IANA identifiers: `/`-separated components of
    /// `[A-Za-z0-9._+-]`, none empty, `.` or `..`, at most 255 bytes. This keeps lookups inside
    /// `root`.
    public static func isValidIdentifier(_ identifier: String) -> Bool {
        let bytes = Array(identifier.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        for component in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard !component.isEmpty, component.elementsEqual([0x2E]) == false,
                  component.elementsEqual([0x2E, 0x2E]) == false,
                  component.allSatisfy(isIdentifierByte) else { return false }
        }
        return true
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
             UInt8(ascii: "+"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// The zone's rules, or nil for an invalid name, a missing file, or unparsable data.
    /// `UTC` and `Etc/UTC` always work, so a host without tzdata can still run UTC schedules.
    public func rules(for identifier: String) -> ZoneRules? {
        if identifier == "UTC" || identifier == "Etc/UTC" {
            return ZoneRules.fixed(identifier: identifier, offsetSeconds: 0)
        }
        guard ZoneDatabase.isValidIdentifier(identifier),
              let bytes = ZoneDatabase.readRegularFile(root + "/" + identifier) else { return nil }
        return try? ZoneRules(identifier: identifier, tzif: bytes)
    }

    /// Why `identifier` did not resolve and what to write instead: a near name from this
    /// database, IANA zones for an abbreviation, or that the database itself is missing.
    public func advice(for identifier: String) -> ZoneNameAdvice {
        ZoneNameAdvice.advise(identifier, known: identifiers(), databaseRoot: root)
    }

    /// When `TZ` or `/etc/localtime` names a zone this database cannot resolve: the words for
    /// the daemon to say before it falls back to UTC. Nil when the system zone resolves, or
    /// when nothing names a zone (UTC by design).
    public func systemZoneProblem(environment: [String: String]) -> String? {
        if let tz = environment["TZ"] {
            let name = tz.hasPrefix(":") ? String(tz.dropFirst()) : tz
            guard !name.isEmpty, rules(for: name) == nil,
                  tz.hasPrefix(":") || (try? ZoneRules(identifier: tz, posixTZ: tz)) == nil else { return nil }
            return "TZ=\(tz): \(advice(for: name).message(for: name)); using UTC"
        }
        guard let name = linkedZoneName(), rules(for: name) == nil,
              ZoneDatabase.readRegularFile(localtimePath) == nil else { return nil }
        return "\(localtimePath) -> \(name): \(advice(for: name).message(for: name)); using UTC"
    }

    /// Every zone name the database holds: the TZif files under `root`, without the `posix/`
    /// and `right/` copies. Read only to explain a failed lookup, never on the scheduling path.
    public func identifiers() -> [String] {
        var found: [String] = []
        collect(directory: root, prefix: "", depth: 0, into: &found)
        return found.sorted()
    }

    /// The database nests two levels (`America/Argentina/Salta`); deeper is not a zone.
    private static let maximumDepth = 3

    private func collect(directory: String, prefix: String, depth: Int, into found: inout [String]) {
        guard depth < ZoneDatabase.maximumDepth,
              let handle = try? SystemCalls.open(directory, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC) else { return }
        defer { SystemCalls.close(handle) }
        for name in (try? SystemCalls.entries(of: handle))?.map({ String(decoding: $0, as: UTF8.self) }) ?? [] where !name.hasPrefix(".") {
            if depth == 0, name == "posix" || name == "right" { continue }
            let path = directory + "/" + name
            guard let status = try? FileStatus(path: path, followingLinks: true) else { continue }
            if status.kind == .directory {
                collect(directory: path, prefix: prefix + name + "/", depth: depth + 1, into: &found)
            } else if status.kind == .regular, ZoneDatabase.isValidIdentifier(prefix + name),
                      ZoneDatabase.startsWithTZifMagic(path) {
                found.append(prefix + name)
            }
        }
    }

    /// `TZif`, the first four bytes of every zone file; tables such as `zone.tab` lack it.
    private static func startsWithTZifMagic(_ path: String) -> Bool {
        do throws(SystemError) {
            let descriptor = try FileDescriptor.open(path, flags: O_RDONLY | O_NONBLOCK)
            var magic = [UInt8](repeating: 0, count: 4)
            return try SystemCalls.read(descriptor.rawValue, into: &magic) == .bytes(4) && magic == Array("TZif".utf8)
        } catch {
            return false
        }
    }

    /// The daemon's own zone, resolved as glibc does so schedules agree with `date`: `TZ` (a
    /// zone name, optionally after `:`, else a POSIX rule; empty or unusable means UTC), then
    /// the zone `/etc/localtime` links to, then that file's contents, then UTC.
    public func systemZone(environment: [String: String]) -> ZoneRules {
        if let tz = environment["TZ"] {
            let name = tz.hasPrefix(":") ? String(tz.dropFirst()) : tz
            if let rules = rules(for: name) { return rules }
            if !tz.hasPrefix(":"), let rules = try? ZoneRules(identifier: tz, posixTZ: tz) { return rules }
            return .utc
        }
        if let name = linkedZoneName(), let rules = rules(for: name) { return rules }
        if let bytes = ZoneDatabase.readRegularFile(localtimePath),
           let rules = try? ZoneRules(identifier: "localtime", tzif: bytes) {
            return rules
        }
        return .utc
    }

    /// The identifier `/etc/localtime` points at, taken relative to `root` (or, when the link
    /// goes through another copy of the database, relative to its last `zoneinfo` directory).
    func linkedZoneName() -> String? {
        guard let target = ZoneDatabase.readLink(localtimePath) else { return nil }
        let directory = localtimePath.lastIndex(of: "/").map { String(localtimePath[..<$0]) } ?? ""
        let absolute = ZoneDatabase.normalize(target.hasPrefix("/") ? target : directory + "/" + target)
        let rootPrefix = ZoneDatabase.normalize(root) + "/"
        if absolute.hasPrefix(rootPrefix) { return String(absolute.dropFirst(rootPrefix.count)) }
        let components = absolute.split(separator: "/")
        guard let index = components.lastIndex(of: "zoneinfo"), index + 1 < components.count else { return nil }
        return String(ZoneDatabase.slashSeparated(components[(index + 1)...]).dropFirst())
    }

    /// An absolute path with `.`, `..` and repeated slashes folded away, without touching disk.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return parts.isEmpty ? "/" : slashSeparated(parts)
    }

    /// `/a/b` from `[a, b]`. Written out because `joined(separator:)` over substrings is not
    /// specialized here and looks up protocol conformances at run time: a scan of every
    /// conformance in the binary, which is most of the cost of reading the system zone at start-up.
    static func slashSeparated(_ parts: some Collection<Substring>) -> String {
        var path = ""
        for part in parts {
            path += "/"
            path += part
        }
        return path
    }

    static func readLink(_ path: String) -> String? {
        try? SystemCalls.readLink(path)
    }

    /// The contents of a regular file, or nil. `O_NONBLOCK` keeps a FIFO at the path from
    /// hanging the open; `fstat` then refuses anything that is not a plain file.
    static func readRegularFile(_ path: String) -> [UInt8]? {
        do throws(SystemError) {
            let descriptor = try FileDescriptor.open(path, flags: O_RDONLY | O_NONBLOCK)
            let status = try SystemCalls.status(descriptor.rawValue)
            guard status.kind == .regular, status.size <= Int64(maximumFileSize) else { return nil }
            let contents = try SystemCalls.readToEnd(descriptor.rawValue, limit: maximumFileSize + 1)
            return contents.count <= maximumFileSize ? contents : nil
        } catch {
            return nil
        }
    }
}

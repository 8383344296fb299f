import Glibc
import AscribeSystem

/// Why a crontab could not be read: the import stops before writing anything.
public enum CrontabReadError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing(path: String)
    case isADirectory(path: String)
    case tooLarge(path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path): "crontab \(path) does not exist"
        case .isADirectory(let path): "\(path) is a directory; name the crontab files in it (e.g. \(path)/*)"
        case .tooLarge(let path): "\(path) is larger than \(CrontabReader.maximumBytes >> 20) MiB; that is not a crontab"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        }
    }
}

/// Reads the crontabs an import converts: named files (links followed, pipes such as
/// `<(crontab -l)` allowed) or standard input.
public enum CrontabReader {
    /// Debian's cron reads at most 10,000 lines per crontab; this is far above that.
    public static let maximumBytes = 4 << 20

    public static func read(path: String) throws(CrontabReadError) -> [UInt8] {
        let descriptor: FileDescriptor
        do throws(SystemError) {
            descriptor = try FileDescriptor.open(path, flags: O_RDONLY | O_NOCTTY)
        } catch {
            throw error.code == ENOENT ? .missing(path: path) : .unreadable(path: path, reason: SystemError(code: error.code).description)
        }
        let status: FileStatus
        let bytes: [UInt8]
        do throws(SystemError) {
            status = try FileStatus(descriptor: descriptor.rawValue)
            bytes = status.kind == .directory ? [] : try SystemCalls.readToEnd(descriptor.rawValue, limit: maximumBytes + 1)
        } catch {
            throw .unreadable(path: path, reason: error.description)
        }
        guard status.kind != .directory else { throw .isADirectory(path: path) }
        return try limited(bytes, path: path)
    }

    /// Everything on standard input, for `crontab -l | ascribe import`.
    public static func readStandardInput() throws(CrontabReadError) -> [UInt8] {
        let bytes: [UInt8]
        do throws(SystemError) {
            bytes = try SystemCalls.readToEnd(SystemCalls.standardInput, limit: maximumBytes + 1)
        } catch {
            throw .unreadable(path: "standard input", reason: error.description)
        }
        return try limited(bytes, path: "standard input")
    }

    /// True when standard input is a terminal: waiting for a crontab to be typed is never
    /// what someone who forgot the pipe wants.
    public static var standardInputIsTerminal: Bool { SystemCalls.isTerminal(SystemCalls.standardInput) }

    private static func limited(_ bytes: [UInt8], path: String) throws(CrontabReadError) -> [UInt8] {
        guard bytes.count <= maximumBytes else { throw .tooLarge(path: path) }
        return bytes
    }
}

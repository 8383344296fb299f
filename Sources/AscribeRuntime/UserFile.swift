import Glibc
import AscribeSystem

/// A file a person named on the command line (`ascribe plan --html FILE`), written by a
/// command that may run as root. What is at the path decides how:
/// - nothing, or a regular file: replaced in one step (`FileSystem.replace`);
/// - a device or a FIFO (`/dev/null`, `/dev/full`, a named pipe), directly or through a
///   symbolic link (`/dev/stdout`): written in place and never replaced, since replacing
///   `/dev/null` with a file would break the host; a write error (ENOSPC from `/dev/full`) is
///   an error;
/// - a symbolic link to a regular file: refused; name the file itself. Replacing would drop
///   the link, and writing through it would let whoever made the link choose what is written.
public enum UserFile {
    public static func write(_ bytes: [UInt8], to path: String) throws(SystemError) {
        let status: FileStatus
        do throws(SystemError) {
            status = try FileStatus(path: path, followingLinks: false)
        } catch where error.code == ENOENT {
            try FileSystem.replace(path, with: bytes, exactMode: nil)
            return
        } catch {
            throw SystemError(code: error.code, call: "lstat", context: path)
        }
        switch status.kind {
        case .regular: try FileSystem.replace(path, with: bytes, exactMode: nil)
        case .directory: throw SystemError(code: EISDIR, call: "open", context: path)
        case .symbolicLink, .socket, .other: try FileSystem.writeInPlace(path, bytes)
        }
    }
}

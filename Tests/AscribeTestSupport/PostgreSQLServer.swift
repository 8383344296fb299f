import Foundation
import Glibc

/// A real PostgreSQL 15 for one test (Debian's `postgresql-15`; `.ci/run` installs it):
/// `initdb` and `pg_ctl` in a fresh directory under /tmp, listening on 127.0.0.1 at a free port
/// and on a socket in that directory. PostgreSQL refuses to run as root, so as root it runs as
/// a throwaway system user made for it. `withServer` stops it (immediate shutdown), removes
/// the directory and the user on every path.
package struct PostgreSQLServer: Sendable {
    package static let binaries = "/usr/lib/postgresql/15/bin"
    /// Whether the server can be started here: its binaries are installed, and `runuser`
    /// (util-linux) is there to drop root.
    package static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: binaries + "/initdb")
            && FileManager.default.isExecutableFile(atPath: binaries + "/pg_ctl")
            && (!isRoot || FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")
                || FileManager.default.isExecutableFile(atPath: "/sbin/runuser"))
    }
    package static let requirement = "needs PostgreSQL 15 (apt-get install postgresql-15; .ci/run installs it)"

    package let directory: String
    package let port: Int
    /// The OS user the server runs as (a throwaway one as root, else the tester).
    package let osUser: String?

    /// The superuser's URI (trust authentication, only from this host).
    package var superuserURI: String { uri(user: "postgres") }

    package func uri(user: String, password: String? = nil, database: String = "postgres") -> String {
        "postgresql://\(user)\(password.map { ":" + $0 } ?? "")@127.0.0.1:\(port)/\(database)"
    }

    /// Runs `body` with a started server; everything made for it is removed afterwards, on
    /// every path (a thrown error, a failed start).
    package static func withServer<Result>(_ body: (PostgreSQLServer) async throws -> Result) async throws -> Result {
        let directory = ScratchSweep.directory(prefix: "ascribe-pg-")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        var osUser: String?
        defer {
            _ = sh("rm -rf '\(directory)'")
            if let osUser { _ = sh("userdel \(osUser) 2>/dev/null") }
        }
        if isRoot {
            let name = "ascpg-" + String(UInt32.random(in: 0..<UInt32.max), radix: 36)
            // useradd locks /etc/passwd; another test may hold it for a moment.
            guard (0..<10).contains(where: { _ in
                sh("useradd --system --no-create-home --shell /usr/sbin/nologin \(name)") == 0
                    || { usleep(100_000); return false }()
            }) else { throw ServerError(problem: "useradd \(name) failed") }
            osUser = name
            guard sh("chown \(name) '\(directory)' && chmod 700 '\(directory)'") == 0 else {
                throw ServerError(problem: "could not hand \(directory) to \(name)")
            }
        }
        let prefix = osUser.map { "runuser -u \($0) -- " } ?? ""
        guard sh("\(prefix)\(binaries)/initdb -D '\(directory)/data' -U postgres -A trust -E UTF8 --no-sync "
                                  + ">'\(directory)/initdb.log' 2>&1") == 0 else {
            throw ServerError(problem: "initdb failed: " + ((try? String(contentsOfFile: directory + "/initdb.log", encoding: .utf8)) ?? ""))
        }
        var started: PostgreSQLServer?
        // A port free when chosen may be taken before the server binds it: try a few.
        for _ in 0..<5 {
            let port = Int.random(in: 20_000..<60_000)
            let options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
            if sh("\(prefix)\(binaries)/pg_ctl -D '\(directory)/data' -l '\(directory)/server.log' -w -t 60 "
                                   + "-o '\(options)' start >/dev/null 2>&1") == 0 {
                started = PostgreSQLServer(directory: directory, port: port, osUser: osUser)
                break
            }
        }
        guard let server = started else {
            throw ServerError(problem: "pg_ctl start failed: " + ((try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""))
        }
        defer { _ = sh("\(prefix)\(binaries)/pg_ctl -D '\(directory)/data' -m immediate -w stop >/dev/null 2>&1") }
        return try await body(server)
    }

    /// Runs `sql` as the superuser with `psql` (setup a test needs outside the code under test:
    /// roles, grants); its output, or an error with psql's.
    @discardableResult
    package func psql(_ sql: String, user: String = "postgres") throws -> String {
        let output = directory + "/psql-" + UUID().uuidString + ".out"
        defer { unlink(output) }
        let quoted = "'" + sql.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let status = Self.sh("\(Self.binaries)/psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p \(port) -U \(user) -d postgres "
                             + "-c \(quoted) >'\(output)' 2>&1 </dev/null")
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else { throw ServerError(problem: "psql: \(text)") }
        return text
    }

    /// `/bin/sh -c command`'s exit status, waited for with waitpid: Foundation's `Process`
    /// never saw `pg_ctl start`'s shell exit (its daemonised server lives on), so it is not used.
    static func sh(_ command: String) -> Int32 {
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    package struct ServerError: Error, CustomStringConvertible {
        package var problem: String
        package var description: String { "test PostgreSQL: \(problem)" }
    }
}

import Glibc
import AscribeSystem

/// The launcher's side of the exec helper protocol; the helper's side, and the protocol's
/// definition, is `Sources/ascribe-exec/main.c`.
enum ExecHelper {
    static let fileName = "ascribe-exec"

    /// `ascribe-exec` in the directory of the running executable (`/proc/self/exe`). Never
    /// taken from the environment: whoever sets it would choose what runs as root.
    static func defaultPath() throws(SystemError) -> String {
        let executable = try SystemCalls.executablePath()
        let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/" + fileName
    }

    /// The helper's argv: identity fields are `-` when the run keeps the scheduler's identity.
    static func arguments(helperPath: String, decision: AccountDecision, workingDirectory: String,
                          executable: String, arguments: [String]) -> [String] {
        let account = decision.account
        let identity: [String] = decision.changesIdentity
            ? [String(account.uid), String(account.gid),
               account.supplementaryGroups.isEmpty ? "-" : account.supplementaryGroups.map(String.init).joined(separator: ","),
               workingDirectory, String(account.uid)]
            : ["-", "-", "-", workingDirectory, "-"]
        return [helperPath] + identity + ["--", executable] + arguments
    }

    /// `NAME=value` entries, each ending in NUL, as the helper reads them from descriptor 4.
    static func environmentBlock(_ environment: [String]) -> [UInt8] {
        environment.flatMap { Array($0.utf8) + [0] }
    }

    /// What the helper wrote on its report pipe before the job's exec (or its own exit).
    struct Report: Equatable {
        struct Step: Equatable {
            var name: String
            var code: Int32
        }

        /// The step that failed; nil when the job's exec succeeded.
        var failure: Step?
        var warnings: [Step]

        /// Lines `fail <step> <errno>` or `warn <step> <errno>`. Anything else means the helper
        /// is not the one this launcher was built with: a failure, never a silent success.
        init(parsing bytes: [UInt8]) {
            warnings = []
            failure = nil
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                let words = line.split(separator: " ")
                guard words.count == 3, let code = Int32(words[2]) else {
                    failure = Step(name: "report", code: EPROTO)
                    return
                }
                switch words[0] {
                case "fail": failure = Step(name: String(words[1]), code: code)
                case "warn": warnings.append(Step(name: String(words[1]), code: code))
                default:
                    failure = Step(name: "report", code: EPROTO)
                    return
                }
            }
        }

        var loginUIDWarning: String? {
            guard let warning = warnings.first(where: { $0.name == "loginuid" }) else { return nil }
            return "could not set the audit login uid: \(SystemError(code: warning.code).reason); the kernel's audit log will not attribute this run's actions to its user"
        }
    }

    /// The typed failure for a step the helper reported.
    static func failure(step: String, code: Int32, executable: String, workingDirectory: String) -> LaunchFailure {
        let error = SystemError(code: code, call: step)
        switch step {
        case "chdir":
            return .workingDirectory(path: workingDirectory, error: error)
        case "exec":
            switch code {
            case ENOENT, ENOTDIR: return .commandNotFound(path: executable)
            default: return .notExecutable(path: executable, reason: error.reason)
            }
        case "setgroups", "setresgid", "setresuid", "verify-uid", "verify-gid", "regain-root", "no-new-privs":
            return .privilegeDropFailed(step: step, error: error)
        default:
            return .helperFailed(step: step, error: error)
        }
    }
}

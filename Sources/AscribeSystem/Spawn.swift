import Glibc
internal import CAscribeShim

/// The parent's ends of what becomes the helper's descriptors 1–4. Descriptor 0 is always
/// `/dev/null`, and nothing else survives into the child.
public struct HelperDescriptors {
    public var standardOutput: Int32
    public var standardError: Int32
    public var report: Int32
    public var environment: Int32

    public init(standardOutput: Int32, standardError: Int32, report: Int32, environment: Int32) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.report = report
        self.environment = environment
    }

    /// In the order of the child's descriptors 1, 2, 3, 4.
    public var all: [Int32] { [standardOutput, standardError, report, environment] }
}

/// The one `posix_spawn` call that starts every run (PRODUCT.md section 4).
public enum Spawn {
    /// The lowest descriptor the child does not get: 0–2 standard streams, 3 report, 4 environment.
    public static let firstClosedDescriptor: Int32 = 5

    /// Spawns `path` with `arguments` and an empty environment, in a session and process group
    /// of its own, with no signal blocked and every signal at its default action (a Swift pool
    /// thread's mask would otherwise leak in, and with it a blocked SIGTERM), stdin from
    /// `/dev/null`, descriptors 1–4 from `descriptors` and every other descriptor closed.
    /// Returns the child's pid; throws posix_spawn's error.
    public static func spawn(path: String, arguments: [String], descriptors: HelperDescriptors) throws(SystemError) -> Int32 {
        // A source numbered 0–4 could be overwritten by an earlier dup2 in the child: move it up.
        var temporary: [Int32] = []
        defer { temporary.forEach(SystemCalls.close) }
        var sources: [Int32] = []
        for descriptor in descriptors.all {
            if descriptor >= firstClosedDescriptor {
                sources.append(descriptor)
            } else {
                let moved = try SystemCalls.duplicate(descriptor, atLeast: firstClosedDescriptor)
                temporary.append(moved)
                sources.append(moved)
            }
        }

        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw .current("posix_spawn_file_actions_init") }
        defer { posix_spawn_file_actions_destroy(&actions) }
        var code = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (target, source) in sources.enumerated() where code == 0 {
            code = posix_spawn_file_actions_adddup2(&actions, source, Int32(target + 1))
        }
        if code == 0 { code = ascribe_spawn_add_closefrom(&actions, firstClosedDescriptor) }
        guard code == 0 else { throw SystemError(code: code, call: "posix_spawn_file_actions") }

        var attributes = posix_spawnattr_t()
        guard posix_spawnattr_init(&attributes) == 0 else { throw .current("posix_spawnattr_init") }
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var everySignal = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&everySignal)
        let flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | ascribe_spawn_setsid_flag()
        code = posix_spawnattr_setflags(&attributes, flags)
        if code == 0 { code = posix_spawnattr_setsigmask(&attributes, &noSignals) }
        if code == 0 { code = posix_spawnattr_setsigdefault(&attributes, &everySignal) }
        guard code == 0 else { throw SystemError(code: code, call: "posix_spawnattr") }

        var pid: pid_t = 0
        code = withCStrings(arguments) { argv in
            var environment: [UnsafeMutablePointer<CChar>?] = [nil]
            return environment.withUnsafeMutableBufferPointer { envp in
                posix_spawn(&pid, path, &actions, &attributes, argv, envp.baseAddress)
            }
        }
        guard code == 0 else { throw SystemError(code: code, call: "posix_spawn", context: path) }
        return Int32(pid)
    }

    /// Calls `body` with a NULL-terminated `char *[]` that lives only for the call; ENOMEM
    /// without calling it when a copy cannot be made.
    private static func withCStrings(
        _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32
    ) -> Int32 {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        guard !pointers.contains(nil) else { return ENOMEM }
        pointers.append(nil)
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

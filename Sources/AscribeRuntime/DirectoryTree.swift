import Glibc
import AscribeSystem

/// Removing a directory tree someone else may have built (a run's credentials directory, an
/// entry planted in the state directory): only `*at` calls on open directories, never
/// following a symbolic link, and at most `window` directories open at once however deep the
/// tree is, so a hostile nesting can neither exhaust descriptors nor stop the removal.
enum DirectoryTree {
    /// Directories deeper than this below the top are moved up into the top directory (under a
    /// fresh name) and removed in a later pass, instead of being descended into.
    static let window = 32
    /// Each pass removes at least what it listed; a tree that still has entries after this
    /// many passes is being refilled as fast as it is emptied.
    static let maximumPasses = 100_000

    /// Empties the open directory `top`. A scheduler that is not root first gives itself back
    /// the permission a run may have taken away (`restoringPermission`); root needs none.
    static func removeContents(of top: Int32, restoringPermission: Bool) throws(SystemError) {
        var parked = 0
        for _ in 0..<maximumPasses {
            let names = try SystemCalls.entries(of: top).map { String(decoding: $0, as: UTF8.self) }
            if names.isEmpty { return }
            for name in names {
                try removeEntry(name, in: top, top: top, depth: 1, restoringPermission: restoringPermission, parked: &parked)
            }
        }
        throw SystemError(code: ENOTEMPTY, call: "remove", context: "a tree still refilled after \(maximumPasses) passes")
    }

    private static func removeEntry(_ name: String, in directory: Int32, top: Int32, depth: Int,
                                    restoringPermission: Bool, parked: inout Int) throws(SystemError) {
        let status: FileStatus
        do throws(SystemError) {
            status = try SystemCalls.status(of: name, in: directory)
        } catch where error.code == ENOENT {
            return
        }
        guard status.kind == .directory else {
            try SystemCalls.remove(name, in: directory, isDirectory: false)
            return
        }
        if restoringPermission { try SystemCalls.changeMode(of: name, in: directory, 0o700) }
        guard depth < window else {
            try park(name, in: directory, top: top, counter: &parked)
            return
        }
        let child = try FileDescriptor(owning: SystemCalls.open(name, in: directory, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW))
        for entry in try SystemCalls.entries(of: child.rawValue).map({ String(decoding: $0, as: UTF8.self) }) {
            try removeEntry(entry, in: child.rawValue, top: top, depth: depth + 1, restoringPermission: restoringPermission, parked: &parked)
        }
        try SystemCalls.remove(name, in: directory, isDirectory: true)
    }

    /// Moves a deep directory up into `top` under a name nothing there has yet.
    private static func park(_ name: String, in directory: Int32, top: Int32, counter: inout Int) throws(SystemError) {
        while true {
            counter += 1
            do throws(SystemError) {
                try SystemCalls.renameWithoutReplacing(name, in: directory, to: ".ascribe-removing-\(counter)", in: top)
                return
            } catch where error.code == EEXIST {
                continue
            }
        }
    }
}

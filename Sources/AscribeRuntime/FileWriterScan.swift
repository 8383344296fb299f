import AscribeCore
import Glibc
import AscribeSystem

/// Who runs the jobs a directory defines, which decides whom a job file may make a run act as
/// (PRODUCT.md principle 8): a root scheduler honours each `run-as`; any other scheduler (with
/// `--dev` or without) can only run jobs as its own user.
public enum JobRunner: Sendable, Equatable {
    case root
    case user(uid: UInt32)

    /// The scheduler this process would be: root, or its own effective user.
    public static var current: JobRunner {
        let uid = SystemCalls.effectiveUID
        return uid == 0 ? .root : .user(uid: uid)
    }
}

/// Finds who can change a file by walking its path from `/` the way the kernel resolves it:
/// every directory's owner, its group's members when it is group-writable, everyone when it
/// is world-writable — except that a sticky directory only lets an entry's owner (and its
/// own owner) replace that entry. Symbolic links are followed, and the directory holding each
/// link counts too: whoever can replace the link can point it elsewhere.
///
/// One value per load: it caches account lookups, so a group changed since is seen next time.
struct FileWriterScan {
    /// What the walk found: the writers, and the file itself as `lstat` saw it at the end.
    struct Result {
        var writers: FileWriters
        var resolvedPath: String
        var status: FileStatus
    }

    /// The kernel's own limit on links followed in one resolution.
    private static let maximumLinks = 40

    private var names: [UInt32: String?] = [:]
    private var groups: [UInt32: GroupRecord?] = [:]
    private var uidsByName: [String: UInt32?] = [:]
    /// Users by primary gid, read once per scan and only when a group-writable entry is met.
    private var primaryMembers: [UInt32: [UInt32]]?

    init() {}

    /// The writers of `path` (relative paths start at the working directory).
    mutating func writers(of path: String) throws(SystemError) -> Result {
        var pending = Self.components(path)
        if !path.hasPrefix("/") {
            pending = Self.components(try Self.workingDirectory()) + pending
        }
        var current = "/"
        var currentStatus = try Self.lstat("/")
        var grants: [FileWriters.Grant] = []
        func add(_ grant: FileWriters.Grant) {
            if !grants.contains(grant) { grants.append(grant) }
        }
        var links = 0
        while let component = pending.first {
            pending.removeFirst()
            if component == "." { continue }
            if component == ".." {
                current = Self.parent(of: current)
                currentStatus = try Self.lstat(current)
                continue
            }
            guard currentStatus.kind == .directory else { throw SystemError(code: ENOTDIR, call: "stat", context: current) }
            let child = JobDirectory.joined(current, component)
            let childStatus = try Self.lstat(child)
            for grant in directoryGrants(current, currentStatus, child: child, childStatus) { add(grant) }
            if childStatus.kind == .symbolicLink {
                links += 1
                guard links <= Self.maximumLinks else { throw SystemError(code: ELOOP, call: "stat", context: path) }
                let target = try Self.linkTarget(child)
                if target.hasPrefix("/") {
                    current = "/"
                    currentStatus = try Self.lstat("/")
                }
                pending = Self.components(target) + pending
                continue
            }
            current = child
            currentStatus = childStatus
        }
        for grant in entryGrants(current, currentStatus) { add(grant) }
        return Result(writers: FileWriters(owner: account(currentStatus.owner), grants: grants),
                      resolvedPath: current, status: currentStatus)
    }

    /// What a directory lets others do to one of its entries.
    private mutating func directoryGrants(_ path: String, _ status: FileStatus, child: String, _ childStatus: FileStatus) -> [FileWriters.Grant] {
        var grants: [FileWriters.Grant] = [.owner(account(status.owner), path: path, mode: status.permissions)]
        let groupWritable = status.permissions & 0o020 != 0, worldWritable = status.isWorldWritable
        if status.isSticky {
            // Only the entry's owner may replace it; for a link that is not on the resolved path.
            if groupWritable || worldWritable {
                grants.append(.owner(account(childStatus.owner), path: child, mode: childStatus.permissions))
            }
            return grants
        }
        if groupWritable { grants.append(groupGrant(status.group, path: path)) }
        if worldWritable { grants.append(.everyone(path: path)) }
        return grants
    }

    /// What the final entry's own owner and mode allow.
    private mutating func entryGrants(_ path: String, _ status: FileStatus) -> [FileWriters.Grant] {
        var grants: [FileWriters.Grant] = [.owner(account(status.owner), path: path, mode: status.permissions)]
        if status.permissions & 0o020 != 0 { grants.append(groupGrant(status.group, path: path)) }
        if status.isWorldWritable { grants.append(.everyone(path: path)) }
        return grants
    }

    private mutating func groupGrant(_ gid: UInt32, path: String) -> FileWriters.Grant {
        let record = group(gid)
        var uids = Set(primaryMembers(of: gid))
        for name in record?.members ?? [] {
            if let uid = uid(named: name) { uids.insert(uid) }
        }
        return .groupMembers(group: record?.name ?? String(gid), members: uids.sorted().map { account($0) }, path: path)
    }

    mutating func account(_ uid: UInt32) -> WriterAccount {
        if let known = names[uid] { return WriterAccount(uid: uid, name: known) }
        let name: String? = if case .success(let record?) = AccountDatabase.userRecord(uid: uid) { record.name } else { nil }
        names[uid] = name
        return WriterAccount(uid: uid, name: name)
    }

    mutating func group(_ gid: UInt32) -> GroupRecord? {
        if let known = groups[gid] { return known }
        let record: GroupRecord? = if case .success(let found?) = AccountDatabase.groupRecord(gid: gid) { found } else { nil }
        groups[gid] = record
        return record
    }

    private mutating func uid(named name: String) -> UInt32? {
        if let known = uidsByName[name] { return known }
        let uid: UInt32? = if case .found(let id) = AccountDatabase.user(named: name) { id } else { nil }
        uidsByName[name] = uid
        return uid
    }

    private mutating func primaryMembers(of gid: UInt32) -> [UInt32] {
        if primaryMembers == nil {
            var index: [UInt32: [UInt32]] = [:]
            for user in AccountDatabase.allUsers() { index[user.gid, default: []].append(user.uid) }
            primaryMembers = index
        }
        return primaryMembers?[gid] ?? []
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    private static func lstat(_ path: String) throws(SystemError) -> FileStatus {
        do throws(SystemError) {
            return try FileStatus(path: path, followingLinks: false)
        } catch {
            throw SystemError(code: error.code, call: "lstat", context: path)
        }
    }

    private static func linkTarget(_ path: String) throws(SystemError) -> String {
        try SystemCalls.readLink(path)
    }

    private static func workingDirectory() throws(SystemError) -> String {
        try SystemCalls.currentDirectory()
    }
}

extension FileWriterScan {
    /// Whom a job with `runAs` would run as under `runner`, as the writer rule needs it.
    mutating func target(_ runAs: RunAs?, runner: JobRunner) -> RunTarget {
        switch runner {
        case .user(let uid):
            let user = account(uid)
            return RunTarget(label: "it runs as the scheduler's user \(user)", user: .account(user))
        case .root:
            guard let runAs else { return RunTarget(label: "no run-as", user: .account(account(0))) }
            let label = "run-as \(runAs)"
            let numericUser = runAs.user.utf8.allSatisfy { (0x30...0x39).contains($0) }
            let lookup = numericUser ? AccountDatabase.userRecord(uid: UInt32(runAs.user) ?? UInt32.max)
                : AccountDatabase.userRecord(named: runAs.user)
            guard case .success(let record?) = lookup else {
                return RunTarget(label: label + " (no such user on this host)", user: .unknown)
            }
            let user = WriterAccount(uid: record.uid, name: record.name)
            guard let group = runAs.group else { return RunTarget(label: label, user: .account(user)) }
            let gid: UInt32?
            if group.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
                gid = UInt32(group)
            } else if case .found(let id) = AccountDatabase.group(named: group) {
                gid = id
            } else {
                gid = nil
            }
            let member = gid.map { AccountDatabase.groupList(user: record.name, primary: record.gid).contains($0) } ?? false
            return RunTarget(label: label, user: .account(user), foreignGroup: member ? nil : group)
        }
    }
}

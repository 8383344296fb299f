/// A Unix account as the kernel names it: a uid, and the name the user database gives it.
public struct WriterAccount: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var uid: UInt32
    /// Nil when the user database has no entry for the uid.
    public var name: String?

    public init(uid: UInt32, name: String?) {
        self.uid = uid
        self.name = name
    }

    public var isRoot: Bool { uid == 0 }
    public var description: String { name ?? "uid \(uid)" }
    /// `alice(1001)`, for event details: the name for people, the uid for machines.
    public var detailText: String { "\(name ?? String(uid))(\(uid))" }

    public static func < (lhs: WriterAccount, rhs: WriterAccount) -> Bool { lhs.uid < rhs.uid }
}

/// Who can change a file — a job file or a credential — and why (PRODUCT.md principle 8): the
/// owner of the file and of every directory on its path, the members of the group of each
/// group-writable one, everyone for a world-writable one. A sticky directory lets only its
/// owner and each entry's owner replace that entry, so its group and world bits grant nothing.
public struct FileWriters: Hashable, Sendable {
    /// One reason some accounts can change the file.
    public enum Grant: Hashable, Sendable {
        /// `account` owns `path`: it can change the mode and write, whatever the mode says.
        case owner(WriterAccount, path: String, mode: UInt32)
        /// `path` is group-writable: every member of `group` can replace what it holds.
        case groupMembers(group: String, members: [WriterAccount], path: String)
        /// `path` is writable by every user and not sticky.
        case everyone(path: String)
    }

    /// The file's owner as the kernel reports it: the writer of record.
    public var owner: WriterAccount
    /// Every reason, in path order (`/` first, the file last), without repeats.
    public var grants: [Grant]

    public init(owner: WriterAccount, grants: [Grant]) {
        self.owner = owner
        self.grants = grants
    }

    /// Every non-root account that can change the file, by uid.
    public var nonRootWriters: [WriterAccount] {
        var byUID: [UInt32: WriterAccount] = [:]
        for grant in grants {
            switch grant {
            case .owner(let account, _, _): byUID[account.uid] = account
            case .groupMembers(_, let members, _): for member in members { byUID[member.uid] = member }
            case .everyone: break
            }
        }
        byUID[0] = nil
        return byUID.values.sorted()
    }

    /// The first path anyone at all can change, if any.
    public var openToEveryone: String? {
        for case .everyone(let path) in grants { return path }
        return nil
    }

    /// The non-root writers and why, in words: `alice (owner of /srv/jobs.d, mode 0755) and the
    /// members of group ops (bob, carol; /srv/jobs.d is group-writable)`.
    public var explanation: String {
        var owners: [(account: WriterAccount, places: [String])] = []
        var groups: [(group: String, members: [WriterAccount], paths: [String])] = []
        var everyone: [String] = []
        for grant in grants {
            switch grant {
            case .owner(let account, let path, let mode):
                guard !account.isRoot else { continue }
                let place = "\(path), mode \(Self.octal(mode))"
                if let index = owners.firstIndex(where: { $0.account == account }) {
                    owners[index].places.append(place)
                } else {
                    owners.append((account, [place]))
                }
            case .groupMembers(let group, let members, let path):
                let people = members.filter { !$0.isRoot }
                guard !people.isEmpty else { continue }
                if let index = groups.firstIndex(where: { $0.group == group }) {
                    groups[index].paths.append(path)
                } else {
                    groups.append((group, people, [path]))
                }
            case .everyone(let path):
                everyone.append(path)
            }
        }
        let parts = owners.map { "\($0.account) (owner of \($0.places.joined(separator: ", and of ")))" }
            + groups.map { group in
                "the members of group \(group.group) (\(group.members.map(\.description).joined(separator: ", ")); "
                    + "\(Self.listed(group.paths)) \(group.paths.count == 1 ? "is" : "are") group-writable)"
            }
            + everyone.map { "every user (\($0) is writable by every user and not sticky)" }
        return Self.listed(parts)
    }

    /// The accounts alone, without the grants that explain them: what events name.
    public var accounts: WriterAccounts { WriterAccounts(owner: owner, nonRoot: nonRootWriters) }
    public var eventDetails: [String: String] { accounts.eventDetails }
    public var listEntry: String { accounts.listEntry }

    static func listed(_ items: [String]) -> String {
        switch items.count {
        case 0: ""
        case 1: items[0]
        default: items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
        }
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// The accounts a file's events name: its owner and every other non-root account that can
/// change it. A daemon keeps this for each loaded job, not the `FileWriters` it came from:
/// the grants (each directory's path, mode and group members) only serve to judge and explain
/// the file when it loads, and with 10,000 jobs they were 5.8 MB of the daemon's heap.
public struct WriterAccounts: Hashable, Sendable {
    public var owner: WriterAccount
    /// Every non-root account that can change the file, by uid (the owner among them unless root).
    public var nonRoot: [WriterAccount]

    public init(owner: WriterAccount, nonRoot: [WriterAccount]) {
        self.owner = owner
        self.nonRoot = nonRoot
    }

    /// Details for events: `writer_uid` and `writer` (the file's owner), and `writers` (every
    /// non-root account that can change it, `alice(1001),bob(1002)`) when there is one.
    public var eventDetails: [String: String] {
        var details = EventDetails([.writerUid: String(owner.uid), .writer: owner.description])
        if !nonRoot.isEmpty { details[.writers] = nonRoot.map(\.detailText).joined(separator: ",") }
        return details
    }

    /// One entry of `config.loaded`'s `writers` list: the owner, then `+` each other non-root
    /// writer (`root(0)+alice(1001)`).
    public var listEntry: String {
        ([owner] + nonRoot.filter { $0 != owner }).map(\.detailText).joined(separator: "+")
    }
}

/// Whom a job would run as, for the writer rule: its `run-as` as this host resolves it, or the
/// scheduler's own user when the scheduler is not root (it cannot run anyone else).
public struct RunTarget: Hashable, Sendable {
    public enum User: Hashable, Sendable {
        case account(WriterAccount)
        /// The `run-as` names no account on this host.
        case unknown
    }

    /// How messages name it: `run-as root`, `run-as alice:root`, `the scheduler's user bob`.
    public var label: String
    public var user: User
    /// A group the `run-as` chose that its user is not a member of.
    public var foreignGroup: String?

    public init(label: String, user: User, foreignGroup: String? = nil) {
        self.label = label
        self.user = user
        self.foreignGroup = foreignGroup
    }
}

/// What is being guarded, so a refusal says what cannot be trusted.
public enum WriterSubject: Hashable, Sendable {
    case jobFile
    case credential(name: String, path: String)
}

/// Why the writer rule refused.
public struct WriterRejection: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Cause: Hashable, Sendable {
        /// A directory on the path (or the file) is writable by every user and not sticky.
        case everyone(path: String)
        /// One non-root user can change it, and the run would be someone else.
        case otherUser(WriterAccount)
        /// The one non-root writer is the run's user, but the `run-as` adds a group that user
        /// is not a member of.
        case foreignGroup(WriterAccount, group: String)
        /// More than one non-root user can change it: no run can be all of them.
        case severalUsers([WriterAccount])
    }

    public var cause: Cause
    public var subject: WriterSubject
    public var writers: FileWriters
    public var target: RunTarget

    public var description: String {
        let (thing, rule): (String, String) = switch subject {
        case .jobFile:
            ("this job", "a job file that a non-root user can change may only run as that user")
        case .credential(let name, let path):
            ("credential `\(name)` (\(path))", "a credential that a non-root user can change may only be given to that user's runs")
        }
        switch cause {
        case .everyone(let path):
            return "every user can change \(thing): \(path) is writable by every user and not sticky (chmod o-w \(path))"
        case .otherUser:
            return "\(target.label), but \(writers.explanation) can change \(thing); \(rule)"
        case .foreignGroup(let writer, let group):
            return "\(target.label), but \(writers.explanation) can change \(thing), and \(writer) is not a member of group \(group); \(rule), with that user's own groups"
        case .severalUsers:
            return "\(target.label), but \(writers.explanation) can change \(thing); \(rule), so one that several users can change cannot run (make root or one user its only writer)"
        }
    }
}

/// The rule of PRODUCT.md principle 8, without any system call: a file that only root can
/// change may name any account; a file one non-root user can change may only act as that
/// user; a file several non-root users (or everyone) can change may not act at all.
public enum WriterRule {
    public static func check(_ writers: FileWriters, runsAs target: RunTarget, subject: WriterSubject) -> Result<Void, WriterRejection> {
        func reject(_ cause: WriterRejection.Cause) -> Result<Void, WriterRejection> {
            .failure(WriterRejection(cause: cause, subject: subject, writers: writers, target: target))
        }
        if let path = writers.openToEveryone { return reject(.everyone(path: path)) }
        let others = writers.nonRootWriters
        guard let writer = others.first else { return .success(()) }
        guard others.count == 1 else { return reject(.severalUsers(others)) }
        guard case .account(let account) = target.user, account.uid == writer.uid else { return reject(.otherUser(writer)) }
        if let group = target.foreignGroup { return reject(.foreignGroup(writer, group: group)) }
        return .success(())
    }
}

import Glibc
import AscribeSystem

/// Who a run executes as, and whether the helper must change identity to get there.
struct AccountDecision: Equatable {
    var account: ResolvedAccount
    /// False when the scheduler is not root: the run keeps the scheduler's own identity.
    var changesIdentity: Bool
    /// The job's run-as, when development mode set it aside.
    var ignoredRunAs: RunAsTarget?
}

/// The privilege rules of PRODUCT.md section 4, and the account lookups behind them.
enum RunAccounts {
    /// As root, `runAs` is required and honoured. Otherwise the run keeps the scheduler's user:
    /// a `runAs` naming anyone else is refused, unless `developmentMode` sets it aside.
    static func decide(_ runAs: RunAsTarget?, schedulerUID: UInt32, developmentMode: Bool) throws(LaunchFailure) -> AccountDecision {
        if schedulerUID == 0 {
            guard let runAs else { throw .runAsRequired }
            return AccountDecision(account: try resolve(runAs), changesIdentity: true, ignoredRunAs: nil)
        }
        let scheduler = try schedulerAccount(uid: schedulerUID)
        guard let runAs else { return AccountDecision(account: scheduler, changesIdentity: false, ignoredRunAs: nil) }
        if developmentMode {
            return AccountDecision(account: scheduler, changesIdentity: false, ignoredRunAs: runAs)
        }
        let target = try resolve(runAs)
        guard target.uid == scheduler.uid, target.gid == scheduler.gid else {
            throw .notPermitted(requestedUser: runAs.description, schedulerUser: scheduler.user)
        }
        return AccountDecision(account: scheduler, changesIdentity: false, ignoredRunAs: nil)
    }

    /// The user's passwd entry, the group (given, else the user's primary group), and the
    /// supplementary groups `initgroups` would set, without the primary group repeated.
    static func resolve(_ target: RunAsTarget) throws(LaunchFailure) -> ResolvedAccount {
        let lookup = isNumeric(target.user)
            ? AccountDatabase.userRecord(uid: UInt32(target.user) ?? UInt32.max)
            : AccountDatabase.userRecord(named: target.user)
        let record: UserRecord
        switch lookup {
        case .success(let found?): record = found
        case .success(nil): throw .unknownUser(target.user)
        case .failure(let error): throw .accountLookupFailed(name: target.user, error: error)
        }
        var gid = record.gid
        if let group = target.group {
            if isNumeric(group) {
                guard let number = UInt32(group), number != UInt32.max else { throw .unknownGroup(group) }
                gid = number
            } else {
                switch AccountDatabase.group(named: group) {
                case .found(let id): gid = id
                case .notFound: throw .unknownGroup(group)
                case .failed(let error): throw .accountLookupFailed(name: group, error: error)
                }
            }
        }
        let supplementary = AccountDatabase.groupList(user: record.name, primary: gid).filter { $0 != gid }
        return ResolvedAccount(user: record.name, uid: record.uid, gid: gid, supplementaryGroups: uniqued(supplementary),
                               home: record.home, shell: record.shell)
    }

    /// The scheduler's own account; a uid without a passwd entry (common in containers) still
    /// runs, with `/` as HOME and `/bin/sh` as SHELL.
    private static func schedulerAccount(uid: UInt32) throws(LaunchFailure) -> ResolvedAccount {
        let gid = SystemCalls.effectiveGID
        switch AccountDatabase.userRecord(uid: uid) {
        case .success(let record?):
            let groups = AccountDatabase.groupList(user: record.name, primary: gid).filter { $0 != gid }
            return ResolvedAccount(user: record.name, uid: uid, gid: gid, supplementaryGroups: uniqued(groups),
                                   home: record.home, shell: record.shell)
        case .success(nil):
            return ResolvedAccount(user: String(uid), uid: uid, gid: gid, supplementaryGroups: [], home: "/", shell: "/bin/sh")
        case .failure(let error):
            throw .accountLookupFailed(name: String(uid), error: error)
        }
    }

    /// Whether `account` may execute `path`, by the mode bits the kernel would check (owner,
    /// then group, then others; root needs any execute bit). Directories on the way are left
    /// to the helper's `execve`, which reports them precisely. Without an account (`check` of
    /// a job whose account is itself refused) any execute bit will do.
    static func checkExecutable(_ path: String, for account: ResolvedAccount?) throws(LaunchFailure) {
        let status: FileStatus
        do throws(SystemError) {
            status = try SystemCalls.status(path: path)
        } catch {
            switch error.code {
            case ENOENT, ENOTDIR: throw .commandNotFound(path: path)
            default: throw .notExecutable(path: path, reason: error.reason)
            }
        }
        guard status.kind == .regular else {
            throw .notExecutable(path: path, reason: status.kind == .directory ? "it is a directory" : "it is not a regular file")
        }
        let allowed: Bool
        guard let account else {
            guard status.isExecutableBySomeone else {
                throw .notExecutable(path: path, reason: "mode \(status.octalPermissions) gives no one execute permission")
            }
            return
        }
        if account.uid == 0 {
            allowed = status.isExecutableBySomeone
        } else if status.owner == account.uid {
            allowed = status.permissions & 0o100 != 0
        } else if status.group == account.gid || account.supplementaryGroups.contains(status.group) {
            allowed = status.permissions & 0o010 != 0
        } else {
            allowed = status.permissions & 0o001 != 0
        }
        guard allowed else {
            throw .notExecutable(path: path, reason: "mode \(status.octalPermissions) (owner uid \(status.owner), group \(status.group)) gives \(account.user) no execute permission")
        }
    }

    private static func isNumeric(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    private static func uniqued(_ ids: [UInt32]) -> [UInt32] {
        var seen = Set<UInt32>()
        return ids.filter { seen.insert($0).inserted }
    }
}

import AscribeSystem

/// What `Launcher.prepare` would refuse on this host, decided by the same code, with nothing
/// staged or spawned: `ascribe check` reports these as errors, so check and the daemon
/// cannot disagree about whether a job can start.
extension Launcher {
    /// Every reason `prepare` would refuse `request` as a scheduler running as `schedulerUID`
    /// (with `developmentMode`, as `daemon --dev`), where `prepare` stops at the first. Left
    /// out: the exec helper and the output location, which belong to the installation and
    /// the state directory rather than to a job.
    public static func refusals(of request: LaunchRequest, schedulerUID: UInt32, developmentMode: Bool) -> [LaunchFailure] {
        var refusals: [LaunchFailure] = []
        do throws(LaunchFailure) {
            try request.validate()
        } catch {
            refusals.append(error)
        }
        var account: ResolvedAccount?
        do throws(LaunchFailure) {
            account = try RunAccounts.decide(request.runAs, schedulerUID: schedulerUID, developmentMode: developmentMode).account
        } catch {
            refusals.append(error)
            // The lookup stops at the user; a missing group is worth knowing in the same run.
            if case .unknownUser = error, let group = request.runAs?.group,
               !group.utf8.allSatisfy({ (0x30...0x39).contains($0) }), case .notFound = AccountDatabase.group(named: group) {
                refusals.append(.unknownGroup(group))
            }
        }
        if request.executable.hasPrefix("/") {
            do throws(LaunchFailure) {
                try RunAccounts.checkExecutable(request.executable, for: account)
            } catch {
                refusals.append(error)
            }
        }
        for credential in request.credentials {
            do throws(LaunchFailure) {
                try CredentialStaging.check(credential, storeOwner: schedulerUID, for: account)
            } catch {
                refusals.append(error)
            }
        }
        return refusals
    }
}

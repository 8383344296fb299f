import Testing
@testable import AscribeCore

/// The pure rule of PRODUCT.md principle 8: whoever can change a file decides what it may do.
@Suite struct WriterRuleTests {
    static let root = WriterAccount(uid: 0, name: "root")
    static let alice = WriterAccount(uid: 1001, name: "alice")
    static let bob = WriterAccount(uid: 1002, name: "bob")
    static let carol = WriterAccount(uid: 1003, name: "carol")

    static func target(_ account: WriterAccount, foreignGroup: String? = nil) -> RunTarget {
        RunTarget(label: "run-as \(account)", user: .account(account), foreignGroup: foreignGroup)
    }

    static func message(_ result: Result<Void, WriterRejection>) -> String? {
        if case .failure(let rejection) = result { return rejection.description }
        return nil
    }

    @Test func onlyRootCanChangeItSoAnyRunAsIsAllowed() {
        let writers = FileWriters(owner: Self.root, grants: [
            .owner(Self.root, path: "/", mode: 0o755),
            .groupMembers(group: "root", members: [Self.root], path: "/etc/ascribe/jobs.d"),
            .owner(Self.root, path: "/etc/ascribe/jobs.d/x.job", mode: 0o644),
        ])
        #expect(writers.nonRootWriters.isEmpty)
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.root), subject: .jobFile)) == nil)
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.alice), subject: .jobFile)) == nil)
        #expect(writers.eventDetails == ["writer_uid": "0", "writer": "root"])
        #expect(writers.listEntry == "root(0)")
    }

    @Test func oneNonRootWriterMayOnlyRunAsThemselves() {
        let writers = FileWriters(owner: Self.root, grants: [
            .owner(Self.root, path: "/", mode: 0o755),
            .owner(Self.alice, path: "/srv/jobs.d", mode: 0o755),
            .owner(Self.root, path: "/srv/jobs.d/x.job", mode: 0o644),
        ])
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.root), subject: .jobFile))
            == "run-as root, but alice (owner of /srv/jobs.d, mode 0755) can change this job; a job file that a non-root user can change may only run as that user")
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.bob), subject: .jobFile)) != nil)
        #expect(Self.message(WriterRule.check(writers, runsAs: RunTarget(label: "run-as ghost", user: .unknown), subject: .jobFile)) != nil)
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.alice), subject: .jobFile)) == nil)
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.alice, foreignGroup: "root"), subject: .jobFile))
            == "run-as alice, but alice (owner of /srv/jobs.d, mode 0755) can change this job, and alice is not a member of group root; a job file that a non-root user can change may only run as that user, with that user's own groups")
        #expect(writers.eventDetails == ["writer_uid": "0", "writer": "root", "writers": "alice(1001)"])
        #expect(writers.listEntry == "root(0)+alice(1001)")
    }

    @Test func severalNonRootWritersMayNotRunAtAll() {
        let writers = FileWriters(owner: Self.alice, grants: [
            .owner(Self.alice, path: "/srv/jobs.d", mode: 0o775),
            .groupMembers(group: "ops", members: [Self.root, Self.bob, Self.carol], path: "/srv/jobs.d"),
            .owner(Self.alice, path: "/srv/jobs.d/x.job", mode: 0o644),
        ])
        #expect(writers.nonRootWriters == [Self.alice, Self.bob, Self.carol])
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.root), subject: .jobFile))
            == "run-as root, but alice (owner of /srv/jobs.d, mode 0775, and of /srv/jobs.d/x.job, mode 0644) and the members of group ops (bob, carol; /srv/jobs.d is group-writable) can change this job; a job file that a non-root user can change may only run as that user, so one that several users can change cannot run (make root or one user its only writer)")
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.alice), subject: .jobFile)) != nil)
        #expect(writers.eventDetails["writers"] == "alice(1001),bob(1002),carol(1003)")
        #expect(writers.listEntry == "alice(1001)+bob(1002)+carol(1003)")
    }

    @Test func aPathEveryoneCanChangeIsRefusedWhateverTheRunAs() {
        let writers = FileWriters(owner: Self.root, grants: [.everyone(path: "/srv"), .owner(Self.root, path: "/srv/x", mode: 0o600)])
        let subject = WriterSubject.credential(name: "token", path: "/srv/x")
        #expect(Self.message(WriterRule.check(writers, runsAs: Self.target(Self.root), subject: subject))
            == "every user can change credential `token` (/srv/x): /srv is writable by every user and not sticky (chmod o-w /srv)")
    }
}

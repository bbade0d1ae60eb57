import Foundation
@testable import SFGit
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import SFGitTrust
import Testing

/// Rate limits on the history clock, on histories built with plain git: the deferred set is a
/// function of the verified history and the policy, whatever each host's fetch times.
@Suite("Rate limits on the history clock")
struct RateLimitTests {
    /// A store whose policy allows 2 memories a day to everyone, with a flooder and a calm writer.
    static func store() throws -> StoreBuilder {
        let store = try StoreBuilder()
        try store.setRoles("flood@x", ["write"])
        try store.setRoles("calm@y", ["write"])
        try store.write(".sfgit/policy.yaml", store.policyText().replacingOccurrences(of: "per_day: 500", with: "per_day: 2"))
        try store.commit(as: "admin@hq")
        return store
    }

    /// Commits `count` memories by `principal` at `date` (the committer time).
    @discardableResult
    static func commit(_ store: StoreBuilder, _ count: Int, by principal: String, at date: String) throws -> ObjectID {
        store.git.date = date
        for _ in 0..<count { try store.addMemory(by: principal, title: "memory of \(principal)") }
        return ObjectID(hex: try store.commit(as: principal))!
    }

    static func deferred(_ indexer: StoreIndexer) throws -> Int { try indexer.index.counts().deferred }

    @Test("incremental syncs, a reindex and a fresh clone at the same commit defer the same memories")
    func sameEverywhere() throws {
        let store = try Self.store()
        let dir = try TemporaryDirectory()
        let everySync = try StoreIndexerTests.indexer(store, cache: dir.url("every.sqlite"))
        var sometimes = try StoreIndexerTests.indexer(store, cache: dir.url("some.sqlite"))
        sometimes.now = { 1_900_000_000 }  // another host's clock: it plays no part
        let checkpoints = [
            (try Self.commit(store, 3, by: "flood@x", at: "2026-02-01T00:00:00Z"), 1),
            (try Self.commit(store, 2, by: "flood@x", at: "2026-02-01T01:00:00Z"), 3),
            (try Self.commit(store, 1, by: "flood@x", at: "2026-02-02T01:00:00Z"), 2),  // a day on: two more served
            (try Self.commit(store, 1, by: "calm@y", at: "2026-02-04T00:00:00Z"), 0),
        ]
        for (index, (commit, expected)) in checkpoints.enumerated() {
            _ = try VerifiedIndexing.update(everySync, to: commit)
            if index % 2 == 1 { _ = try VerifiedIndexing.update(sometimes, to: commit) }
            let fresh = try StoreIndexerTests.indexer(store, cache: dir.url("fresh\(index).sqlite"))
            _ = try VerifiedIndexing.update(fresh, to: commit)
            #expect(try Self.deferred(everySync) == expected, "at checkpoint \(index)")
            #expect(try fresh.index.snapshot() == everySync.index.snapshot(), "at checkpoint \(index)")
            if index % 2 == 1 { #expect(try sometimes.index.snapshot() == everySync.index.snapshot(), "at checkpoint \(index)") }
        }
        let usage = try everySync.index.quotaUsage(signer: "flood@x", perDay: 2, clock: Timestamp("2026-02-04T00:00:00Z")!.secondsSinceEpoch)
        #expect(usage.deferred == 0)
    }

    @Test("attack: a flooder who backdates its commits gains nothing; the clock never runs backwards")
    func backdatingGainsNothing() throws {
        let store = try Self.store()
        try Self.commit(store, 1, by: "calm@y", at: "2026-03-01T00:00:00Z")
        // Each commit dated further back, a window of its own if times were taken as written.
        for date in ["2026-02-20T00:00:00Z", "2026-02-10T00:00:00Z", "2026-01-31T00:00:00Z"] {
            try Self.commit(store, 2, by: "flood@x", at: date)
        }
        let dir = try TemporaryDirectory()
        let indexer = try StoreIndexerTests.indexer(store, cache: dir.url("c.sqlite"))
        _ = try VerifiedIndexing.update(indexer, to: try StoreIndexerTests.head(store))
        #expect(try Self.deferred(indexer) == 4)  // two served at 2026-03-01, two a day after, two the day after that
        let usage = try indexer.index.quotaUsage(signer: "flood@x", perDay: 2, clock: Timestamp("2026-03-01T00:00:00Z")!.secondsSinceEpoch)
        #expect(usage.used == 6 && usage.left == 0 && usage.deferred == 4)
        #expect(usage.freesAt == "2026-03-04T00:00:00Z")  // as the next one would be released
    }

    @Test("attack: a stale branch with old dates, merged later, arrives at the merge's time")
    func staleBranchArrivesAtTheMerge() throws {
        let store = try Self.store()
        try store.git.run(["checkout", "-q", "-b", "stale"])
        for date in ["2026-01-02T00:00:00Z", "2026-01-05T00:00:00Z", "2026-01-09T00:00:00Z"] {
            try Self.commit(store, 2, by: "flood@x", at: date)
        }
        try store.git.run(["checkout", "-q", "main"])
        try Self.commit(store, 1, by: "calm@y", at: "2026-03-01T00:00:00Z")
        store.git.date = "2026-03-01T00:10:00Z"
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["admin@hq"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge the flooder's branch", "stale"])
        let dir = try TemporaryDirectory()
        let indexer = try StoreIndexerTests.indexer(store, cache: dir.url("c.sqlite"))
        let update = try VerifiedIndexing.update(indexer, to: try StoreIndexerTests.head(store))
        #expect(update.blocked == nil)
        #expect(try Self.deferred(indexer) == 4)
    }
}

/// The CLI: a flooder writing with plain git, backdating its commits; every host agrees.
@Suite("Rate limits across hosts")
struct RateLimitAcrossHostsTests {
    /// The ids of a signer's memories a host holds back, from `recall --include-untrusted`.
    static func deferredIDs(_ federation: Federation, _ member: Federation.Member) throws -> [String] {
        try federation.recallAnswers(member, ["--include-untrusted", "--signer", "flood@x", "--limit", "50"])
            .filter { $0["deferred"] as? Bool == true }.compactMap { $0["id"] as? String }.sorted()
    }

    @Test("under a backdating flooder, two hosts, a reindex and a fresh clone defer the same memories")
    func sameOnEveryHost() throws {
        let federation = try Federation()
        try federation.initialise()
        let flooder = try federation.join("flood@x", clone: false)
        #expect(try federation.run(federation.admin, ["trust", "add", "flood@x", flooder.key.publicPath, "--role", "write", "--quota", "2"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        let server = try federation.join("srv@server")
        let laptop = try federation.join("me@laptop")

        // The flooder bypasses sfgit: plain git, five memories in three signed commits, each
        // dated further back than the one before.
        let work = federation.scratch.url("flood-work")
        let home = federation.scratch.url("flood-git-home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        var git = GitCLI(directory: federation.scratch.path, home: home)
        try git.run(["clone", "-q", federation.remoteURL, work])
        git.directory = work
        var counter: UInt64 = 0
        for (date, count) in [("2026-11-20T00:00:00Z", 2), ("2026-11-10T00:00:00Z", 2), ("2026-11-01T00:00:00Z", 1)] {
            for _ in 0..<count {
                counter += 1
                let id = ULID(milliseconds: 1_790_000_000_000 + counter * 1_000, random: (UInt16(counter), counter))
                let path = MemoryPath(kind: .note, id: id).description
                try FileManager.default.createDirectory(atPath: (work + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try """
                    ---
                    schema: 1
                    id: \(id)
                    kind: note
                    author: flood
                    host: x
                    recorded_at: 2026-10-01T00:00:00Z
                    tags: [flood]
                    ---
                    title: flood \(counter)

                    """.write(toFile: work + "/" + path, atomically: true, encoding: .utf8)
            }
            git.date = date
            try git.run(["add", "-A"])
            try git.signedCommit("flood", key: flooder.key.privatePath)
        }
        try git.run(["push", "-q", "origin", "HEAD:main"])

        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let onServer = try Self.deferredIDs(federation, server)
        #expect(onServer.count == 3)  // two served now, on the history clock; three held back
        #expect(try Self.deferredIDs(federation, laptop) == onServer)
        #expect(try federation.run(server, ["reindex"]).exitCode == 0)
        #expect(try Self.deferredIDs(federation, server) == onServer)
        let fresh = try federation.join("ro@reader")
        #expect(try Self.deferredIDs(federation, fresh) == onServer)
        let status = try federation.json(fresh, ["status"]).1
        #expect(((status["data"] as? [String: Any])?["stores"] as? [[String: Any]])?.first.flatMap { ($0["counts"] as? [String: Any])?["deferred"] as? Int } == 3)
    }
}

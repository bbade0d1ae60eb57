import Foundation
import SFGit
import SFGitIndex
import SFGitRepository
import SFGitTestSupport
import SFGitTrust
import Testing

/// The cache fed from verified git history built with the git CLI.
@Suite("Indexing verified history")
struct StoreIndexerTests {
    static func indexer(_ store: StoreBuilder, cache: String) throws -> StoreIndexer {
        let repository = try Repository.open(store.gitDirectory)
        var indexer = StoreIndexer(
            repository: repository, introduction: Introduction(commit: ObjectID(hex: store.introduction)!, signer: store.introductionSigner),
            index: try MemoryIndex(path: cache))
        indexer.now = { 1_780_000_000 }
        return indexer
    }

    static func head(_ store: StoreBuilder) throws -> ObjectID { ObjectID(hex: try store.git.run(["rev-parse", "HEAD"]))! }

    @Test("incremental indexing equals a full rebuild, and deleting the cache gives identical answers")
    func incrementalEqualsRebuild() throws {
        let store = try StoreBuilder()
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.commit(as: "admin@hq")
        var checkpoints: [ObjectID] = []
        for round in 0..<4 {
            for _ in 0...round { try store.addMemory(by: "sf@mikki-bunker", title: "provider outage round \(round)") }
            try store.commit(as: "sf@mikki-bunker")
            checkpoints.append(try Self.head(store))
        }
        let dir = try TemporaryDirectory()
        let incremental = try Self.indexer(store, cache: dir.url("inc.sqlite"))
        var added = 0
        for checkpoint in checkpoints { added += try incremental.update(to: checkpoint).added }
        #expect(added == 10)
        #expect(try incremental.update(to: checkpoints.last!).added == 0)  // nothing new

        let full = try Self.indexer(store, cache: dir.url("full.sqlite"))
        #expect(try full.update(to: checkpoints.last!).added == 10)
        #expect(try incremental.index.snapshot() == full.index.snapshot())
        #expect(try incremental.index.state(StoreIndexer.indexedCommitKey) == checkpoints.last!.hex)

        // Delete the cache: it is rebuilt from git with identical answers.
        var query = RecallQuery(text: "provider outage", now: 1_780_000_000)
        query.perSignerCap = 20
        query.limit = 20
        let before = try incremental.index.recall(query)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dir.url("inc.sqlite") + suffix) }
        let rebuilt = try Self.indexer(store, cache: dir.url("inc.sqlite"))
        #expect(rebuilt.index.isFresh)
        _ = try rebuilt.update(to: checkpoints.last!)
        #expect(try rebuilt.index.recall(query) == before)
        #expect(before.count == 10)
        #expect(before.allSatisfy { $0.signer == "sf@mikki-bunker" && $0.tier == .authenticated && $0.key == store.keys["sf@mikki-bunker"]!.fingerprint })
    }

    @Test("nothing unverified is indexed; quarantined files are recorded, not served")
    func onlyVerified() throws {
        let store = try StoreBuilder()
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.commit(as: "admin@hq")
        try store.addMemory(by: "sf@mikki-bunker", title: "authentic memory")
        try store.addMemory(by: "admin@hq", title: "spoofed memory")  // signed by sf: provenance mismatch
        let good = try store.commit(as: "sf@mikki-bunker")
        try store.addMemory(by: "sf@mikki-bunker", title: "unsigned memory")
        try store.commitUnsigned()
        let dir = try TemporaryDirectory()
        let indexer = try Self.indexer(store, cache: dir.url("c.sqlite"))
        let update = try indexer.update(to: try Self.head(store))
        #expect(update.blocked?.status == .unsigned)
        #expect(update.indexedCommit?.hex == good)
        #expect(update.added == 1)
        let titles = try indexer.index.recall(RecallQuery(text: "memory", now: 1_780_000_000)).map(\.title)
        #expect(titles == ["authentic memory"])
        #expect(try indexer.index.quarantined().map(\.reason) == ["provenance_mismatch"])
        #expect(try indexer.index.counts().quarantined == 1)
    }

    @Test("memories merged by a reviewer are tier reviewed")
    func reviewedTier() throws {
        let store = try StoreBuilder(mode: "review")
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.setRoles("ana@laptop", ["review"])
        try store.commit(as: "admin@hq")
        try store.git.run(["checkout", "-q", "-b", "proposal"])
        try store.addMemory(by: "sf@mikki-bunker", title: "reviewed memory")
        try store.commit(as: "sf@mikki-bunker")
        try store.git.run(["checkout", "-q", "main"])
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["ana@laptop"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge", "proposal"])
        let dir = try TemporaryDirectory()
        let indexer = try Self.indexer(store, cache: dir.url("c.sqlite"))
        #expect(try indexer.update(to: try Self.head(store)).added == 1)
        let item = try #require(try indexer.index.recall(RecallQuery(text: "reviewed", now: 1_780_000_000)).first)
        #expect(item.tier == .reviewed)
        #expect(item.signer == "sf@mikki-bunker")
    }
}

@Suite("Rate limits in the indexer")
struct IndexerQuotaTests {
    @Test("a flood arriving between syncs is deferred by the policy's quota; a fresh cache takes history as it is")
    func floodBetweenSyncs() throws {
        let store = try StoreBuilder()
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.write(".sfgit/policy.yaml", store.policyText().replacingOccurrences(of: "per_day: 500", with: "per_day: 2"))
        try store.commit(as: "admin@hq")
        for _ in 0..<3 { try store.addMemory(by: "sf@mikki-bunker") }
        let first = try store.commit(as: "sf@mikki-bunker")
        let dir = try TemporaryDirectory()
        let indexer = try StoreIndexerTests.indexer(store, cache: dir.url("c.sqlite"))
        _ = try indexer.update(to: ObjectID(hex: first)!)
        #expect(try indexer.index.counts().deferred == 0)  // the past, as it is

        for _ in 0..<4 { try store.addMemory(by: "sf@mikki-bunker") }
        try store.commit(as: "sf@mikki-bunker")
        _ = try indexer.update(to: try StoreIndexerTests.head(store))
        #expect(try indexer.index.counts().deferred == 2)  // 2 per day admitted, 2 held back
    }
}

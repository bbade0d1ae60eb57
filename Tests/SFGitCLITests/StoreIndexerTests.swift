import Foundation
@testable import SFGit
import SFGitMemory
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
        for checkpoint in checkpoints { added += try VerifiedIndexing.update(incremental, to: checkpoint).added }
        #expect(added == 10)
        #expect(try VerifiedIndexing.update(incremental, to: checkpoints.last!).added == 0)  // nothing new

        let full = try Self.indexer(store, cache: dir.url("full.sqlite"))
        #expect(try VerifiedIndexing.update(full, to: checkpoints.last!).added == 10)
        #expect(try incremental.index.snapshot() == full.index.snapshot())
        #expect(try incremental.index.state(StoreIndexer.indexedCommitKey) == checkpoints.last!.hex)

        // Delete the cache: it is rebuilt from git with identical answers.
        var query = RecallQuery(text: "provider outage", now: 1_780_000_000)
        query.perSignerShare = 20
        query.limit = 20
        let before = try incremental.index.recall(query)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dir.url("inc.sqlite") + suffix) }
        let rebuilt = try Self.indexer(store, cache: dir.url("inc.sqlite"))
        #expect(rebuilt.index.isFresh)
        _ = try VerifiedIndexing.update(rebuilt, to: checkpoints.last!)
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
        let update = try VerifiedIndexing.update(indexer, to: try Self.head(store))
        #expect(update.blocked?.status == .unsigned)
        #expect(update.indexedCommit?.hex == good)
        #expect(update.added == 1)
        let titles = try indexer.index.recall(RecallQuery(text: "memory", now: 1_780_000_000)).map(\.title)
        #expect(titles == ["authentic memory"])
        #expect(try indexer.index.quarantined().map(\.reason) == ["provenance_mismatch"])
        #expect(try indexer.index.counts().quarantined == 1)
    }

    @Test("a fresh cache is written while verifying; a good side branch whose merge is refused rolls that back and stays out")
    func writtenWhileVerifying() throws {
        let store = try StoreBuilder()
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.commit(as: "admin@hq")
        try store.addMemory(by: "sf@mikki-bunker", title: "on the shared branch")
        let shared = try store.commit(as: "sf@mikki-bunker")
        let dir = try TemporaryDirectory()
        let early = try Self.indexer(store, cache: dir.url("early.sqlite"))
        let fresh = try VerifiedIndexing.update(early, to: try Self.head(store))
        #expect(fresh.writtenWhileVerifying)
        #expect(fresh.added == 1)

        // A good commit on a side branch, merged by a writer, who may not merge: the side
        // commit is authentic, but it is not in the verified tip's tree.
        try store.git.run(["checkout", "-q", "-b", "side"])
        try store.addMemory(by: "sf@mikki-bunker", title: "on a side branch")
        try store.commit(as: "sf@mikki-bunker")
        try store.git.run(["checkout", "-q", "main"])
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["sf@mikki-bunker"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge", "side"])
        let late = try Self.indexer(store, cache: dir.url("late.sqlite"))
        let refused = try VerifiedIndexing.update(late, to: try Self.head(store))
        #expect(refused.blocked?.status == .unauthorized)
        #expect(refused.indexedCommit?.hex == shared)
        #expect(!refused.writtenWhileVerifying)
        #expect(refused.added == 1)
        let titles = try late.index.recall(RecallQuery(text: "branch", now: 1_780_000_000)).map(\.title)
        #expect(titles == ["on the shared branch"])
        // The cache indexed before the merge arrived, brought up to the same tip, holds the same rows.
        let incremental = try VerifiedIndexing.update(early, to: try Self.head(store))
        #expect(incremental.added == 0 && !incremental.writtenWhileVerifying)
        #expect(try early.index.snapshot() == late.index.snapshot())
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
        let update = try VerifiedIndexing.update(indexer, to: try Self.head(store))
        #expect(update.added == 1)
        // Handed to the writer unreviewed, when its commit was judged; the merge raised it after.
        #expect(update.writtenWhileVerifying)
        let item = try #require(try indexer.index.recall(RecallQuery(text: "reviewed", now: 1_780_000_000)).first)
        #expect(item.tier == .reviewed)
        #expect(item.signer == "sf@mikki-bunker")
    }
}

@Suite("Handing memories from the verifier to the cache's writer")
struct MemoryHandOffTests {
    static let parsed = try! MemoryParser().parse(Array(MemoryFixtures.valid.utf8), storePath: MemoryFixtures.validPath).memory

    static func memory(_ n: Int) throws -> IndexedMemory {
        return IndexedMemory(memory: Self.parsed, path: "p\(n)", blob: "b", commit: "c", signer: "sf@box", key: "k", tier: .authenticated, firstSeen: 0)
    }

    @Test("the writer gets every memory in order, then the closing batch; without one it rolls back")
    func inOrder() throws {
        let handOff = MemoryHandOff(capacity: 8)
        let received = LockedPaths()
        let writer = WriterThread {
            defer { handOff.writerDidStop() }
            while let memory = handOff.next() { received.append(memory.path) }
            _ = try handOff.closing()
        }
        for n in 0..<200 { handOff.push(try Self.memory(n)) }
        var closing = IndexBatch()
        closing.state["indexed_commit"] = "tip"
        handOff.close(with: closing)
        #expect(throws: Never.self) { try writer.join().get() }
        #expect(received.paths == (0..<200).map { "p\($0)" })

        let abandoned = MemoryHandOff(capacity: 8)
        let rolledBack = WriterThread {
            defer { abandoned.writerDidStop() }
            while abandoned.next() != nil {}
            _ = try abandoned.closing()
        }
        abandoned.push(try Self.memory(0))
        abandoned.close(with: nil)
        #expect(throws: MemoryHandOff.Abandoned.self) { try rolledBack.join().get() }
    }

    @Test("a writer that stops early, on an error, no longer holds the verifier up")
    func writerStopsEarly() throws {
        let handOff = MemoryHandOff(capacity: 4)
        struct Failed: Error {}
        let writer = WriterThread {
            defer { handOff.writerDidStop() }
            _ = handOff.next()
            throw Failed()
        }
        // Far more than the queue holds: without the writer's stop, the tenth push would wait forever.
        for n in 0..<100 { handOff.push(try Self.memory(n)) }
        handOff.close(with: IndexBatch())
        #expect(throws: Failed.self) { try writer.join().get() }
    }
}

/// Paths collected from another thread.
final class LockedPaths: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []
    func append(_ path: String) { lock.withLock { collected.append(path) } }
    var paths: [String] { lock.withLock { collected } }
}

@Suite("Rate limits in the indexer")
struct IndexerQuotaTests {
    @Test("a flood is deferred by the policy's quota, the same between syncs and in a fresh cache")
    func floodBetweenSyncs() throws {
        let store = try StoreBuilder()
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.write(".sfgit/policy.yaml", store.policyText().replacingOccurrences(of: "per_day: 500", with: "per_day: 2"))
        try store.commit(as: "admin@hq")
        for _ in 0..<3 { try store.addMemory(by: "sf@mikki-bunker") }
        let first = try store.commit(as: "sf@mikki-bunker")
        let dir = try TemporaryDirectory()
        let indexer = try StoreIndexerTests.indexer(store, cache: dir.url("c.sqlite"))
        _ = try VerifiedIndexing.update(indexer, to: ObjectID(hex: first)!)
        #expect(try indexer.index.counts().deferred == 1)  // the past is scheduled like the present

        for _ in 0..<4 { try store.addMemory(by: "sf@mikki-bunker") }
        try store.commit(as: "sf@mikki-bunker")
        _ = try VerifiedIndexing.update(indexer, to: try StoreIndexerTests.head(store))
        #expect(try indexer.index.counts().deferred == 5)  // 2 a day on one history clock
        let fresh = try StoreIndexerTests.indexer(store, cache: dir.url("fresh.sqlite"))
        _ = try VerifiedIndexing.update(fresh, to: try StoreIndexerTests.head(store))
        #expect(try fresh.index.snapshot() == indexer.index.snapshot())
    }
}

import Foundation
@testable import SFGit
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import SFGitTrust
import Testing

/// Who may withdraw whose memory, judged from the policy of the parents of the commit that adds
/// the withdrawal, on histories built with plain git; and what a retracted correction means.
@Suite("Withdrawal authority")
struct WithdrawalAuthorityTests {
    static let now: Double = 1_780_000_000

    /// A memory file by `principal` that supersedes `targets`.
    static func superseding(_ store: StoreBuilder, by principal: String, _ targets: [ULID], title: String, kind: String = "learning") throws -> ULID {
        let id = store.nextID()
        let text = store.memoryText(id: id, kind: kind, principal: principal, title: title)
            .replacingOccurrences(of: "tags: [test]\n", with: "tags: [test]\nsupersedes: [\(targets.map(\.description).joined(separator: ", "))]\n")
        try store.write(MemoryPath(kind: MemoryKind(kind)!, id: id).description, text)
        return id
    }

    /// A retraction by `principal` of `target`.
    static func retraction(_ store: StoreBuilder, by principal: String, of target: ULID) throws -> ULID {
        let id = store.nextID()
        let text = store.memoryText(id: id, kind: "retraction", principal: principal, title: "retraction of \(target)",
                                    extraBody: "target: \(target)\nreason: wrong\n")
        try store.write(MemoryPath(kind: .retraction, id: id).description, text)
        return id
    }

    /// Adds a memory and returns its id.
    static func memory(_ store: StoreBuilder, by principal: String, title: String) throws -> ULID {
        let id = store.nextID()
        try store.addMemory(by: principal, id: id, title: title)
        return id
    }

    /// Indexes the store's head incrementally into `cache` and returns the item for `id`.
    static func shown(_ indexer: StoreIndexer, _ id: ULID) throws -> RecallItem {
        guard case .found(let item) = try indexer.index.show(id.description, now: now) else {
            Issue.record("\(id) is not indexed")
            throw CancellationError()
        }
        return item
    }

    /// A fresh cache of the store's head (what a reindex or a fresh clone serves).
    static func rebuilt(_ store: StoreBuilder, _ dir: TemporaryDirectory, _ name: String) throws -> StoreIndexer {
        let indexer = try StoreIndexerTests.indexer(store, cache: dir.url(name))
        _ = try VerifiedIndexing.update(indexer, to: try StoreIndexerTests.head(store))
        return indexer
    }

    @Test("an admin's retraction and supersede of a writer's memory are honoured, incrementally and rebuilt")
    func adminAndReviewerWithdraw() throws {
        let store = try StoreBuilder()
        try store.setRoles("w@one", ["write"])
        try store.commit(as: "admin@hq")
        let retracted = try Self.memory(store, by: "w@one", title: "wrong finding")
        let superseded = try Self.memory(store, by: "w@one", title: "outdated finding")
        try store.commit(as: "w@one")
        let dir = try TemporaryDirectory()
        let incremental = try StoreIndexerTests.indexer(store, cache: dir.url("inc.sqlite"))
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))

        let retraction = try Self.retraction(store, by: "admin@hq", of: retracted)
        try store.commit(as: "admin@hq")
        let correction = try Self.superseding(store, by: "admin@hq", [superseded], title: "the corrected finding")
        try store.commit(as: "admin@hq")
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))

        for indexer in [incremental, try Self.rebuilt(store, dir, "full.sqlite")] {
            let gone = try Self.shown(indexer, retracted)
            #expect(gone.retracted)
            #expect(gone.withdrawals.map(\.id) == [retraction.description])
            #expect(gone.withdrawals.first?.authority == .role)
            #expect(gone.withdrawals.first?.signer == "admin@hq")
            #expect(gone.withdrawals.first?.reason == "wrong")
            let old = try Self.shown(indexer, superseded)
            #expect(old.supersededBy == [correction.description])
            var query = RecallQuery(text: "finding", now: Self.now)
            query.perSignerShare = 0
            #expect(try indexer.index.recall(query).map(\.title) == ["the corrected finding"])
        }
        #expect(try incremental.index.snapshot() == Self.rebuilt(store, dir, "again.sqlite").index.snapshot())
    }

    @Test("a reviewer (with the write role to add the file) may retract another signer's memory")
    func reviewerRoleCounts() throws {
        let store = try StoreBuilder()
        try store.setRoles("rev@desk", ["review", "write"])
        try store.setRoles("w@one", ["write"])
        try store.commit(as: "admin@hq")
        let target = try Self.memory(store, by: "w@one", title: "a writer's finding")
        try store.commit(as: "w@one")
        _ = try Self.retraction(store, by: "rev@desk", of: target)
        try store.commit(as: "rev@desk")
        let dir = try TemporaryDirectory()
        #expect(try Self.shown(try Self.rebuilt(store, dir, "c.sqlite"), target).retracted)
    }

    @Test("attack: a writer's withdrawal of another writer's memory is ignored, and stays ignored after the writer is promoted")
    func writerCannotWithdrawOthers() throws {
        let store = try StoreBuilder()
        try store.setRoles("w@one", ["write"])
        try store.setRoles("w@two", ["write"])
        try store.commit(as: "admin@hq")
        let victim = try Self.memory(store, by: "w@one", title: "the victim's finding")
        let victim2 = try Self.memory(store, by: "w@one", title: "another finding of the victim")
        try store.commit(as: "w@one")
        _ = try Self.retraction(store, by: "w@two", of: victim)
        _ = try Self.superseding(store, by: "w@two", [victim2], title: "the attacker's version")
        try store.commit(as: "w@two")
        let dir = try TemporaryDirectory()
        let incremental = try StoreIndexerTests.indexer(store, cache: dir.url("inc.sqlite"))
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))
        #expect(try !Self.shown(incremental, victim).retracted)
        #expect(try Self.shown(incremental, victim2).supersededBy.isEmpty)

        // Promoted later: the old withdrawals were judged by the policy of their commit's parent.
        try store.setRoles("w@two", ["write", "review"])
        try store.commit(as: "admin@hq")
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))
        for indexer in [incremental, try Self.rebuilt(store, dir, "full.sqlite")] {
            #expect(try !Self.shown(indexer, victim).retracted)
            #expect(try Self.shown(indexer, victim2).supersededBy.isEmpty)
        }
    }

    @Test("an admin's retraction stays in force after the admin is retired")
    func retiredAdminsWithdrawalStays() throws {
        let store = try StoreBuilder()
        try store.setRoles("boss@two", ["admin", "write"])
        try store.setRoles("w@one", ["write"])
        try store.commit(as: "admin@hq")
        let target = try Self.memory(store, by: "w@one", title: "a writer's finding")
        try store.commit(as: "w@one")
        _ = try Self.retraction(store, by: "boss@two", of: target)
        try store.commit(as: "boss@two")
        try store.removePrincipal("boss@two")
        try store.commit(as: "admin@hq")
        let dir = try TemporaryDirectory()
        #expect(try Self.shown(try Self.rebuilt(store, dir, "c.sqlite"), target).retracted)
    }

    @Test("retracting a superseding memory brings back what it superseded; a retraction cannot be retracted")
    func retractedCorrectionRestores() throws {
        let store = try StoreBuilder()
        try store.setRoles("w@one", ["write"])
        try store.commit(as: "admin@hq")
        let original = try Self.memory(store, by: "w@one", title: "the original finding")
        try store.commit(as: "w@one")
        let correction = try Self.superseding(store, by: "w@one", [original], title: "a mistaken correction")
        try store.commit(as: "w@one")
        let dir = try TemporaryDirectory()
        let incremental = try StoreIndexerTests.indexer(store, cache: dir.url("inc.sqlite"))
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))
        #expect(try Self.shown(incremental, original).supersededBy == [correction.description])

        let retraction = try Self.retraction(store, by: "w@one", of: correction)
        try store.commit(as: "w@one")
        // A retraction of that retraction (by an admin, even) changes nothing.
        _ = try Self.retraction(store, by: "admin@hq", of: retraction)
        try store.commit(as: "admin@hq")
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))
        for indexer in [incremental, try Self.rebuilt(store, dir, "full.sqlite")] {
            let restored = try Self.shown(indexer, original)
            #expect(restored.supersededBy.isEmpty && !restored.retracted && restored.withdrawals.isEmpty)
            #expect(try Self.shown(indexer, correction).retracted)
            #expect(try Self.shown(indexer, retraction).withdrawals.isEmpty)
            var query = RecallQuery(text: "finding correction", now: Self.now)
            query.perSignerShare = 0
            #expect(try indexer.index.recall(query).map(\.title) == ["the original finding"])
        }
    }
}

/// The CLI: an admin retracts a writer's memory with a reason; every host honours it; what
/// would have no effect is refused at write time.
@Suite("Withdrawal authority across hosts")
struct WithdrawalAcrossHostsTests {
    static func id(_ result: (ProcessResult, [String: Any])) -> String? {
        (result.1["data"] as? [String: Any])?["id"] as? String
    }

    @Test("an admin's retraction with a reason is honoured on every host; show names who, when and why; no-effect withdrawals exit 7")
    func adminRetractsEverywhere() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let server = try federation.join("srv@server")
        let wrong = try #require(Self.id(try federation.json(laptop, ["remember", "anti-pattern", "--title", "a wrong anti-pattern", "--field", "instead=nothing"])))
        let outdated = try #require(Self.id(try federation.json(laptop, ["remember", "note", "--title", "an outdated note"])))
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)

        // An admin withdraws another signer's memory only with a reason.
        let bare = try federation.run(federation.admin, ["remember", "note", "--title", "the current note", "--supersedes", outdated])
        #expect(bare.exitCode == 7)
        #expect(bare.stderr.contains("reason"), "\(bare.stderr)")
        #expect(try federation.run(federation.admin, ["retract", wrong, "--reason", "the provider fixed it"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["remember", "note", "--title", "the current note", "--supersedes", outdated,
                                                      "--reason", "the old note names a retired endpoint"]).exitCode == 0)
        // Retracting again, or retracting a retraction, would change nothing.
        let again = try federation.run(federation.admin, ["retract", wrong, "--reason", "twice"])
        #expect(again.exitCode == 7)
        #expect(again.stderr.contains("already retracted"), "\(again.stderr)")
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)

        for member in [server, laptop] {
            #expect(try federation.run(member, ["sync"]).exitCode == 0)
            let shown = try federation.json(member, ["show", wrong])
            let withdrawal = try #require(((shown.1["data"] as? [String: Any])?["withdrawals"] as? [[String: Any]])?.first)
            #expect(withdrawal["signer"] as? String == "admin@hq")
            #expect(withdrawal["reason"] as? String == "the provider fixed it")
            #expect(withdrawal["authority"] as? String == "role")
            #expect(withdrawal["recorded_at"] as? String != nil)
            let text = try federation.run(member, ["show", wrong]).stdout
            #expect(text.contains("retracted by ") && text.contains("admin@hq (admin or reviewer)") && text.contains("reason: the provider fixed it"), "\(text)")
            let superseded = try federation.json(member, ["show", outdated])
            #expect(((superseded.1["data"] as? [String: Any])?["superseded_by"] as? [String])?.count == 1)
            let answers = try federation.recallAnswers(member, ["anti-pattern outdated note"]).compactMap { $0["title"] as? String }
            #expect(!answers.contains("a wrong anti-pattern") && !answers.contains("an outdated note"), "\(answers)")
        }
        let retraction = try #require((try federation.json(server, ["recall", "--kind", "retraction"]).1["data"] as? [[String: Any]])?.first?["id"] as? String)
        let retractRetraction = try federation.run(federation.admin, ["retract", retraction, "--reason", "undo"])
        #expect(retractRetraction.exitCode == 7)
        #expect(retractRetraction.stderr.contains("final"), "\(retractRetraction.stderr)")
        // A writer still may not withdraw the admin's memory.
        let corrected = try #require(try federation.recallAnswers(laptop, ["current note"]).first?["id"] as? String)
        let writer = try federation.run(laptop, ["retract", corrected, "--reason", "mine is better"])
        #expect(writer.exitCode == 7)
        #expect(writer.stderr.contains("neither"), "\(writer.stderr)")
    }
}

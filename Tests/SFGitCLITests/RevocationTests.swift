import Foundation
@testable import SFGit
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import SFGitTrust
import Testing

/// `trust revoke`: a key declared compromised from a point on (or always), on histories built with
/// plain git: the verifier refuses its later commits by any merge order, and hosts stop serving
/// its later memories (tier `revoked`), identically incrementally and rebuilt.
@Suite("Revoked keys")
struct RevocationTests {
    /// Removes `principal` and records its key as revoked after `since` (nil: always); not committed.
    static func revoke(_ store: StoreBuilder, _ principal: String, since: String?) throws {
        let key = store.keys[principal]!.fingerprint
        try store.removePrincipal(principal)
        let policy = try String(contentsOfFile: store.workTree + "/.sfgit/policy.yaml", encoding: .utf8)
        try store.write(".sfgit/policy.yaml", policy + "revoked:\n  - key: '\(key)'\n    principal: \(principal)\n" + (since.map { "    since: '\($0)'\n" } ?? ""))
    }

    static func verify(_ store: StoreBuilder, from: String, to: String) throws -> VerificationResult {
        let repository = try Repository.open(store.gitDirectory)
        let introduction = Introduction(commit: ObjectID(hex: store.introduction)!, signer: store.introductionSigner)
        return try Verifier(repository: repository, introduction: introduction).verify(from: ObjectID(hex: from)!, to: ObjectID(hex: to)!)
    }

    @Test("attack: a revoked key's commits on a stale branch cannot come back, whichever parent order the merge uses", arguments: [false, true])
    func revokedKeyOnStaleBranch(staleFirst: Bool) throws {
        let store = try StoreBuilder()
        try store.setRoles("p@x", ["write"])
        try store.commit(as: "admin@hq")
        try store.addMemory(by: "p@x", title: "trusted before the leak")
        let since = try store.commit(as: "p@x")
        try store.git.run(["checkout", "-q", "-b", "stale"])
        try store.addMemory(by: "p@x", title: "signed with the leaked key")
        let stale = try store.commit(as: "p@x", "written by whoever holds the leaked key")
        try store.git.run(["checkout", "-q", "main"])
        try Self.revoke(store, "p@x", since: since)
        let revocation = try store.commit(as: "admin@hq", "revoke p@x")
        if staleFirst { try store.git.run(["checkout", "-q", "stale"]) }
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["admin@hq"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge", staleFirst ? "main" : "stale"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        let result = try Self.verify(store, from: since, to: merge)
        #expect(result.outcomes.first { $0.commit.hex == stale }?.status == .good)  // authentic against its own parent
        let refused = try #require(result.outcomes.first { $0.commit.hex == merge })
        #expect(refused.status == .unauthorized)
        #expect(refused.reason.contains("(revoked key)"), "\(refused.reason)")
        #expect(result.verifiedTip?.hex == revocation)  // the host stays on the branch that revoked it
    }

    @Test("attack: a revoked key granted again on a stale branch (unknown where the branches forked) cannot come back either", arguments: [false, true])
    func revokedKeyGrantedOnStaleBranch(staleFirst: Bool) throws {
        let store = try StoreBuilder()
        let base = try store.git.run(["rev-parse", "HEAD"])
        try store.git.run(["checkout", "-q", "-b", "stale"])
        try store.setRoles("p@x", ["write"])
        try store.commit(as: "admin@hq", "grant p@x on the stale branch")
        try store.addMemory(by: "p@x", title: "signed with the leaked key on the stale branch")
        let stale = try store.commit(as: "p@x")
        try store.git.run(["checkout", "-q", "main"])
        try store.setRoles("p@x", ["write"])
        try store.commit(as: "admin@hq", "grant p@x")
        try store.addMemory(by: "p@x", title: "trusted before the leak")
        let since = try store.commit(as: "p@x")
        try Self.revoke(store, "p@x", since: since)
        let revocation = try store.commit(as: "admin@hq", "revoke p@x")
        if staleFirst { try store.git.run(["checkout", "-q", "stale"]) }
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["admin@hq"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge", staleFirst ? "main" : "stale"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        let result = try Self.verify(store, from: base, to: merge)
        #expect(result.outcomes.first { $0.commit.hex == stale }?.status == .good)
        let refused = try #require(result.outcomes.first { $0.commit.hex == merge })
        #expect(refused.status == .unauthorized)
        #expect(refused.reason.contains("(revoked key)"), "\(refused.reason)")
        #expect(result.verifiedTip?.hex == revocation)
    }

    @Test("attack: a commit by a revoked key that a hostile admin left listed is refused")
    func revokedButListed() throws {
        let store = try StoreBuilder()
        try store.setRoles("p@x", ["write"])
        let base = try store.commit(as: "admin@hq")
        let policy = try String(contentsOfFile: store.workTree + "/.sfgit/policy.yaml", encoding: .utf8)
        try store.write(".sfgit/policy.yaml", policy + "revoked:\n  - key: '\(store.keys["p@x"]!.fingerprint)'\n    principal: p@x\n")
        try store.commit(as: "admin@hq", "revoke, keeping the key listed")
        try store.addMemory(by: "p@x")
        let after = try store.commit(as: "p@x")
        let result = try Self.verify(store, from: base, to: after)
        #expect(result.outcomes.first { $0.commit.hex == after }?.status == .unauthorized)
        #expect(result.outcomes.first { $0.commit.hex == after }?.reason.contains("is revoked") == true)
    }

    @Test("attack: a leaked admin key's withdrawals after the revocation's point no longer hide anyone's memories")
    func leakedAdminsWithdrawalsUndone() throws {
        let store = try StoreBuilder()
        try store.setRoles("boss@two", ["admin", "write"])
        try store.setRoles("w@one", ["write"])
        try store.commit(as: "admin@hq")
        let victim = store.nextID()
        try store.addMemory(by: "w@one", id: victim, title: "a finding the thief wants gone")
        let since = try store.commit(as: "w@one")
        _ = try WithdrawalAuthorityTests.retraction(store, by: "boss@two", of: victim)
        try store.commit(as: "boss@two", "signed with the leaked admin key")
        let dir = try TemporaryDirectory()
        let incremental = try StoreIndexerTests.indexer(store, cache: dir.url("inc.sqlite"))
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))
        #expect(try WithdrawalAuthorityTests.shown(incremental, victim).retracted)
        try Self.revoke(store, "boss@two", since: since)
        try store.commit(as: "admin@hq", "revoke boss@two")
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))
        let fresh = try StoreIndexerTests.indexer(store, cache: dir.url("fresh.sqlite"))
        _ = try VerifiedIndexing.update(fresh, to: try StoreIndexerTests.head(store))
        for indexer in [incremental, fresh] {
            let item = try WithdrawalAuthorityTests.shown(indexer, victim)
            #expect(!item.retracted && item.withdrawals.isEmpty)
        }
    }

    @Test("hosts stop serving a revoked key's memories after --since (all of them without it); incremental equals rebuilt", arguments: [true, false])
    func servingStops(withSince: Bool) throws {
        let store = try StoreBuilder()
        try store.setRoles("p@x", ["write"])
        try store.commit(as: "admin@hq")
        try store.addMemory(by: "p@x", title: "finding before the leak")
        let since = try store.commit(as: "p@x")
        try store.addMemory(by: "p@x", title: "finding after the leak")
        let leaked = try store.commit(as: "p@x")
        let dir = try TemporaryDirectory()
        let incremental = try StoreIndexerTests.indexer(store, cache: dir.url("inc.sqlite"))
        _ = try VerifiedIndexing.update(incremental, to: ObjectID(hex: leaked)!)
        try Self.revoke(store, "p@x", since: withSince ? since : nil)
        try store.commit(as: "admin@hq", "revoke p@x")
        _ = try VerifiedIndexing.update(incremental, to: try StoreIndexerTests.head(store))
        let fresh = try StoreIndexerTests.indexer(store, cache: dir.url("fresh.sqlite"))
        _ = try VerifiedIndexing.update(fresh, to: try StoreIndexerTests.head(store))
        #expect(try fresh.index.snapshot() == incremental.index.snapshot())
        for indexer in [incremental, fresh] {
            var query = RecallQuery(text: "finding", now: 1_780_000_000)
            query.perSignerShare = 0
            #expect(try indexer.index.recall(query).map(\.title) == (withSince ? ["finding before the leak"] : []))
            query.includeRevoked = true
            let all = try indexer.index.recall(query)
            #expect(all.filter { $0.tier == .revoked }.map(\.title) == (withSince ? ["finding after the leak"] : ["finding after the leak", "finding before the leak"]))
            #expect(try indexer.index.counts().revoked == (withSince ? 1 : 2))
        }
    }
}

/// `sfgit trust revoke` end to end: every host stops serving the key's later memories and says so.
@Suite("Revocation across hosts")
struct RevocationAcrossHostsTests {
    @Test("trust revoke --since: the admin's signed statement is honoured by every host; status counts the revoked memories")
    func revokeEverywhere() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let server = try federation.join("srv@server")
        #expect(try federation.run(laptop, ["remember", "note", "--title", "a finding before the leak"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let since = try federation.remoteTip()
        #expect(try federation.run(laptop, ["remember", "note", "--title", "a finding after the leak"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "benchmark", "--title", "search p50 after the leak", "--field", "subject=search",
                                            "--field", "metric=p50", "--field", "value=120", "--field", "unit=ms"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        let bad = try federation.run(federation.admin, ["trust", "revoke", "me@laptop", "--since", "0000000000000000000000000000000000000000"])
        #expect(bad.exitCode == 2)
        #expect(try federation.run(federation.admin, ["trust", "revoke", "me@laptop", "--since", since]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        let titles = try federation.recallAnswers(server, ["finding"]).compactMap { $0["title"] as? String }
        #expect(titles == ["a finding before the leak"])
        // Left out, never silently: the answer says how many and how to see them.
        let answer = try federation.json(server, ["recall", "finding"])
        let recallWarnings = (answer.1["warnings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(recallWarnings.contains("REVOKED_HIDDEN"), "\(answer.0.stdout)")
        let recallText = try federation.run(server, ["recall", "finding"]).stdout
        #expect(recallText.contains("1 memories signed by a revoked key after its revocation match too (--include-revoked)"), "\(recallText)")
        let benchmarks = try federation.json(server, ["benchmarks", "search"])
        #expect(benchmarks.0.exitCode == 0, "\(benchmarks.0.stdout)")
        #expect(((benchmarks.1["data"] as? [String: Any])?["benchmarks"] as? [Any])?.isEmpty == true, "\(benchmarks.0.stdout)")
        let benchmarkWarnings = (benchmarks.1["warnings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(benchmarkWarnings.contains("REVOKED_HIDDEN"), "\(benchmarks.0.stdout)")
        let revoked = try federation.recallAnswers(server, ["finding", "--include-revoked"]).filter { $0["tier"] as? String == "revoked" }
        #expect(revoked.compactMap { $0["title"] as? String } == ["a finding after the leak"])
        let counts = try #require(((try federation.json(server, ["status"]).1["data"] as? [String: Any])?["stores"] as? [[String: Any]])?.first?["counts"] as? [String: Any])
        #expect(counts["revoked"] as? Int == 2)
        // Counted once: under revoked, not also under the tier they arrived at.
        #expect((counts["by_tier"] as? [String: Int]) == ["authenticated": 1, "revoked": 2], "\(counts)")
        let text = try federation.run(server, ["status"]).stdout
        #expect(text.contains("revoked 2 (not served; --include-revoked)"), "\(text)")
        // Revoking again changes nothing: said so, nothing signed.
        let again = try federation.json(federation.admin, ["trust", "revoke", "me@laptop"])
        #expect(again.0.exitCode == 0, "\(again.0.stdout) \(again.0.stderr)")
        #expect((again.1["data"] as? [String: Any])?["state"] as? String == "unchanged")
        // The revoked host itself is told, once it has synced, not only "no roles".
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let who = try federation.run(laptop, ["whoami"]).stdout
        #expect(who.contains("this key is REVOKED after \(since.prefix(12))"), "\(who)")
        let afterRevocation = try federation.run(laptop, ["remember", "note", "--title", "written after the revocation"])
        #expect(afterRevocation.stderr.contains("me@laptop's key is revoked in store shared"), "\(afterRevocation.stderr)")
        let listed = try federation.run(server, ["trust", "list"]).stdout
        #expect(listed.contains("me@laptop  []") && listed.contains("REVOKED SHA256:") && listed.contains("after \(since.prefix(12))"), "\(listed)")
        let shown = try federation.run(server, ["recall", "finding", "--include-revoked"]).stdout
        #expect(shown.contains("REVOKED key"), "\(shown)")
    }
}

import Foundation
import SFGitTestSupport
import Testing

/// The attacks of the issue "Trust holes", end to end through the built binary: a federation
/// of homes over file://, the attacker working with the plain git CLI and hand-written objects.
@Suite("trust holes: attacks end to end")
struct TrustHoleTests {
    static func data(_ envelope: [String: Any]) -> [String: Any] { envelope["data"] as? [String: Any] ?? [:] }
    static func stores(_ envelope: [String: Any]) -> [[String: Any]] { data(envelope)["stores"] as? [[String: Any]] ?? [] }

    /// Titles `recall --json` returns for a query; fails the test when recall itself fails.
    static func titles(_ federation: Federation, _ member: Federation.Member, _ query: String) throws -> [String] {
        let (result, envelope) = try federation.json(member, ["recall", query])
        #expect(result.exitCode == 0, "recall failed: \(result.stdout) \(result.stderr)")
        let items = try #require(envelope["data"] as? [[String: Any]], "recall answered no list: \(result.stdout)")
        return items.compactMap { $0["title"] as? String }
    }

    /// A clone of the remote for an attacker holding a writer's key.
    static func attackerClone(_ federation: Federation) throws -> GitCLI {
        let work = federation.scratch.url("attacker-\(UUID().uuidString.prefix(8))")
        let git = GitCLI(directory: work, home: federation.scratch.path)
        _ = try ProcessRunner.run("git", ["clone", "-q", federation.remotePath, work], environment: git.environment)
        return git
    }

    @Test("a root tree entry named with '/' shadowing another writer's memory: synced hosts and fresh clones keep the victim's text; sync and verify both exit 5")
    func slashNamedEntry() throws {
        let federation = try Federation()
        try federation.initialise()
        let victim = try federation.join("sf@lab")
        let evil = try federation.join("evil@x")
        let server = try federation.join("srv@server")
        #expect(try federation.run(victim, ["remember", "learning", "--title", "the victim's finding", "--body", "kimi drops requests"]).exitCode == 0)
        #expect(try federation.run(victim, ["sync"]).exitCode == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(try Self.titles(federation, server, "kimi") == ["the victim's finding"])
        let goodTip = try federation.remoteTip()

        // evil@x re-uses the victim's id and path, as a root entry whose name holds '/'.
        let path = try #require(try federation.remoteMemoryPaths().first)
        let git = try Self.attackerClone(federation)
        let victimText = try git.run(["cat-file", "blob", "HEAD:\(path)"])
        let impostor = victimText.replacingOccurrences(of: "author: sf", with: "author: evil")
            .replacingOccurrences(of: "host: lab", with: "host: x")
            .replacingOccurrences(of: "the victim's finding", with: "the impostor's text")
        let blob = try git.run(["hash-object", "-w", "--stdin"], stdin: Data(impostor.utf8))
        var entries = try git.rawEntries(of: "HEAD^{tree}")
        let after = try #require(entries.firstIndex { $0.name == Array("memories".utf8) })
        entries.insert(RawTreeEntry(mode: "100644", name: path, id: blob), at: after + 1)
        let tree = try git.writeRawTree(entries)
        let hostile = try git.commitTree(tree, key: evil.key.privatePath, parents: [goodTip], message: "a memory")
        _ = try git.run(["push", "-q", "origin", "\(hostile):refs/heads/main"])

        let synced = try federation.json(server, ["sync"])
        #expect(synced.0.exitCode == 5, "\(synced.0.stdout)")
        let blocked = try #require(Self.stores(synced.1).first?["blocked"] as? [String: Any])
        #expect(blocked["commit"] as? String == hostile)
        #expect((blocked["reason"] as? String)?.contains("not canonical") == true, "\(blocked)")
        #expect(try Self.titles(federation, server, "kimi") == ["the victim's finding"])

        let fresh = try federation.newMember("new@host")
        let cloned = try federation.run(fresh, ["clone", federation.remoteURL, "--introduction", federation.introduction, "--signer", federation.signer, "--store", "shared"])
        #expect(cloned.exitCode == 5, "\(cloned.stdout) \(cloned.stderr)")
        #expect(try Self.titles(federation, fresh, "kimi") == ["the victim's finding"])

        let verified = try PackagePaths.runSFGit(["verify", "--json", "--repo", federation.remotePath, "--introduction", federation.introduction, "--signer", federation.signer])
        #expect(verified.exitCode == 5, "\(verified.stdout)")
        #expect(verified.stdout.contains(hostile))
    }

    @Test("signer-chosen future times: a 2099 recorded_at is quarantined and never ranks first; a commit dated 2099 is refused (exit 5) by sync and verify")
    func futureTimes() throws {
        let federation = try Federation()
        try federation.initialise()
        let evil = try federation.join("evil@x")
        let server = try federation.join("srv@server")
        #expect(try federation.run(server, ["remember", "note", "--title", "an honest note about retries"]).exitCode == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)

        var git = try Self.attackerClone(federation)
        git.date = ISO8601DateFormatter().string(from: Date())
        let id = "01KB0000000000000000000000"
        let text = "---\nschema: 1\nid: \(id)\nkind: note\nauthor: evil\nhost: x\nrecorded_at: 2099-01-01T00:00:00Z\n---\ntitle: pinned first forever about retries\n"
        try FileManager.default.createDirectory(atPath: git.directory + "/memories/note/2025/11", withIntermediateDirectories: true)
        try text.write(toFile: git.directory + "/memories/note/2025/11/\(id).yaml", atomically: true, encoding: .utf8)
        try git.run(["add", "-A"])
        try git.signedCommit("a memory from the future", key: evil.key.privatePath)
        try git.run(["push", "-q", "origin", "HEAD:main"])

        let synced = try federation.json(server, ["sync"])
        #expect(synced.0.exitCode == 0, "\(synced.0.stdout)")
        #expect((Self.stores(synced.1).first?["indexed"] as? [String: Any])?["quarantined"] as? Int == 1)
        #expect(try Self.titles(federation, server, "retries") == ["an honest note about retries"])
        let status = try #require(Self.stores(try federation.json(server, ["status"]).1).first)
        let quarantined = try #require((status["quarantined"] as? [[String: Any]])?.first)
        #expect(quarantined["reason"] as? String == "future_recorded_at")

        // The same memory in a commit dated 2099 too: the commit is refused until 2099.
        git.date = "2099-01-01T00:00:00Z"
        let id2 = "01KB0000000000000000000001"
        try text.replacingOccurrences(of: id, with: id2).write(toFile: git.directory + "/memories/note/2025/11/\(id2).yaml", atomically: true, encoding: .utf8)
        try git.run(["add", "-A"])
        let dated = try git.signedCommit("a commit from the future", key: evil.key.privatePath)
        try git.run(["push", "-q", "origin", "HEAD:main"])
        let refused = try federation.json(server, ["sync"])
        #expect(refused.0.exitCode == 5, "\(refused.0.stdout)")
        let blocked = try #require(Self.stores(refused.1).first?["blocked"] as? [String: Any])
        #expect(blocked["commit"] as? String == dated)
        #expect((blocked["reason"] as? String)?.contains("future-dated") == true, "\(blocked)")
        let verified = try PackagePaths.runSFGit(["verify", "--repo", federation.remotePath, "--introduction", federation.introduction, "--signer", federation.signer])
        #expect(verified.exitCode == 5, "\(verified.stdout)")
        #expect(try Self.titles(federation, server, "retries") == ["an honest note about retries"])
    }

    /// The store repository of a member's home.
    static func storeGit(_ member: Federation.Member) -> String { member.home + "/stores/shared/repo.git" }

    /// The remote re-commits an honest host's unpublished memory under another writer's key
    /// (`sameBlob`), or puts another file at its path: the memory is held, never dropped.
    @Test("the outbox trusts no path: a memory whose path the shared branch holds otherwise is held (exit 6), never reported as published", arguments: [true, false])
    func outboxConflict(sameBlob: Bool) throws {
        let federation = try Federation()
        try federation.initialise()
        let honest = try federation.join("me@laptop")
        let evil = try federation.join("evil@x")
        let server = try federation.join("srv@server")
        let first = try #require(Self.data(try federation.json(honest, ["remember", "learning", "--title", "the honest finding about quotas"]).1)["path"] as? String)
        #expect(try federation.run(honest, ["remember", "learning", "--title", "a second finding about quotas"]).exitCode == 0)

        // The compromised remote got hold of the first file (a push it swallowed) and commits it,
        // or a file of its own at that path, signed by a writer key it has.
        let git = try Self.attackerClone(federation)
        let original = try ProcessRunner.run("git", ["--git-dir", Self.storeGit(honest), "cat-file", "blob", "refs/sfgit/outbox:\(first)"]).stdout
        let planted = sameBlob ? original
            : original.replacingOccurrences(of: "author: me", with: "author: evil").replacingOccurrences(of: "host: laptop", with: "host: x")
                .replacingOccurrences(of: "the honest finding", with: "the impostor's finding")
        let directory = git.directory + "/" + first.split(separator: "/").dropLast().joined(separator: "/")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try planted.write(toFile: git.directory + "/" + first, atomically: true, encoding: .utf8)
        try git.run(["add", "-A"])
        try git.signedCommit("a memory", key: evil.key.privatePath)
        try git.run(["push", "-q", "origin", "HEAD:main"])

        let synced = try federation.json(honest, ["sync"])
        #expect(synced.0.exitCode == 6, "\(synced.0.stdout)")
        let report = try #require(Self.stores(synced.1).first)
        #expect(report["result"] as? String == "conflict")
        #expect(report["pending"] as? Int == 1)
        #expect(report["pushed"] as? Int == 1)  // the second memory is published all the same
        let warnings = try #require(report["warnings"] as? [[String: Any]])
        let conflict = try #require(warnings.first { $0["code"] as? String == "OUTBOX_CONFLICT" })
        #expect((conflict["message"] as? String)?.contains(first) == true)
        #expect((conflict["message"] as? String)?.contains(sameBlob ? "peers quarantine it" : "another file") == true, "\(conflict)")

        // status says so every time, and exits non-zero as a check would want.
        let statusEnvelope = try federation.json(honest, ["status"])
        let status = try #require(Self.stores(statusEnvelope.1).first)
        #expect(status["pending"] as? Int == 1)
        #expect(statusEnvelope.0.exitCode == 6)
        #expect((status["attention"] as? [[String: Any]])?.compactMap { $0["code"] as? String } == ["OUTBOX_CONFLICT"])
        let held = try #require((status["outbox_conflicts"] as? [[String: Any]])?.first)
        #expect(held["path"] as? String == first)
        #expect(try federation.run(honest, ["sync"]).exitCode == 6)
        // Nothing is lost: the memory is still served here, as this host's own.
        let mine = try federation.json(honest, ["recall", "honest"])
        let item = try #require((mine.1["data"] as? [[String: Any]])?.first)
        #expect(item["tier"] as? String == "self")
        // Peers see the second memory, and never the honest one under the impostor's name.
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(try Self.titles(federation, server, "second") == ["a second finding about quotas"])
        #expect(try Self.titles(federation, server, "honest").isEmpty)
    }

    @Test("remember --author/--host/--key: a replay re-signs with that identity's key, so peers accept it; without the key it is held, never published under another signer")
    func replayKeepsTheWritersKey() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let bot = try federation.join("bot@laptop", clone: false)
        let helper = try federation.join("helper@laptop", clone: false)
        let server = try federation.join("srv@server")
        let spare = federation.scratch.url("helper-key")
        try FileManager.default.copyItem(atPath: helper.key.privatePath, toPath: spare)
        for (title, author, key) in [("written by the bot", "bot", bot.key.privatePath), ("written by the helper with a key that goes away", "helper", spare)] {
            let written = try federation.run(laptop, ["remember", "note", "--title", title, "--author", author, "--host", "laptop", "--key", key])
            #expect(written.exitCode == 0, "\(written.stderr)")
        }
        // Another host publishes first, so the laptop's outbox must be re-signed onto the new tip.
        #expect(try federation.run(server, ["remember", "note", "--title", "the server was first"]).exitCode == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        try FileManager.default.removeItem(atPath: spare)
        // Each was written with its principal's key; the helper's key file is gone now.
        let synced = try federation.json(laptop, ["sync"])
        let report = try #require(Self.stores(synced.1).first)
        #expect(synced.0.exitCode == 6, "\(synced.0.stdout)")
        #expect(report["pushed"] as? Int == 1)
        #expect(report["pending"] as? Int == 1)
        #expect((report["warnings"] as? [[String: Any]])?.contains { ($0["message"] as? String)?.contains("no signing key for helper@laptop") == true } == true, "\(report)")

        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        let recalled = try federation.json(server, ["recall", "written"])
        let items = try #require(recalled.1["data"] as? [[String: Any]])
        #expect(items.map { $0["title"] as? String } == ["written by the bot"])
        #expect(items.first?["signer"] as? String == "bot@laptop")
        let status = try #require(Self.stores(try federation.json(server, ["status"]).1).first)
        #expect((status["quarantined"] as? [Any])?.isEmpty == true, "\(status)")
    }

    @Test("review mode: proposal branches only fast-forward, so a forge that forbids force pushes takes every sync; a merged proposal continues from its merged tip")
    func proposalsFastForwardOnly() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        // The forge's protection: no force push on any branch.
        _ = try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "config", "receive.denyNonFastForwards", "true"])
        let admin = try Self.attackerClone(federation)
        let policyPath = admin.directory + "/.sfgit/policy.yaml"
        try String(contentsOfFile: policyPath, encoding: .utf8).replacingOccurrences(of: "mode: direct", with: "mode: review")
            .write(toFile: policyPath, atomically: true, encoding: .utf8)
        try admin.run(["add", "-A"])
        try admin.signedCommit("review mode", key: federation.admin.key.privatePath)
        try admin.run(["push", "-q", "origin", "HEAD:main"])
        let proposal = "sfgit/proposals/me@laptop"

        #expect(try federation.run(laptop, ["remember", "learning", "--title", "first proposal"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let firstTip = try federation.remoteTip(proposal)
        // The shared branch moves (an admin's own commit); the writer proposes again.
        try "# A store\n\nreviewed memories only\n".write(toFile: admin.directory + "/README.md", atomically: true, encoding: .utf8)
        try admin.run(["add", "-A"])
        try admin.signedCommit("readme", key: federation.admin.key.privatePath)
        try admin.run(["push", "-q", "origin", "HEAD:main"])
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "second proposal"]).exitCode == 0)
        let second = try federation.json(laptop, ["sync"])
        #expect(second.0.exitCode == 0, "\(second.0.stdout)")
        let secondTip = try federation.remoteTip(proposal)
        #expect(try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "merge-base", "--is-ancestor", firstTip, secondTip]).exitCode == 0)
        #expect(try federation.remoteMemoryPaths(proposal).count == 2)

        // The reviewer merges; the writer's next proposal continues from the merged tip.
        try admin.run(["fetch", "-q", "origin", proposal])
        try admin.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(federation.admin.key.privatePath)",
                       "merge", "-q", "--no-ff", "-S", "-m", "review: merge me@laptop", "FETCH_HEAD"])
        try admin.run(["push", "-q", "origin", "HEAD:main"])
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "third proposal"]).exitCode == 0)
        let third = try federation.json(laptop, ["sync"])
        #expect(third.0.exitCode == 0, "\(third.0.stdout)")
        #expect(Self.stores(third.1).first?["pending"] as? Int == 1)
        #expect(try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "merge-base", "--is-ancestor", secondTip, try federation.remoteTip(proposal)]).exitCode == 0)
        #expect(try federation.remoteMemoryPaths().count == 2)
    }
}

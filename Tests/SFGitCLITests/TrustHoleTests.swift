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
}

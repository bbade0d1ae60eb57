import Foundation
import SFGitTestSupport
import Testing

/// Resource bounds a remote controls (issue "Trust holes", item 6), end to end through the
/// built binary: huge objects, an endless ref advertisement, refused pushes piling up.
@Suite("resource bounds a remote controls")
struct ResourceBoundTests {
    static func stores(_ envelope: [String: Any]) -> [[String: Any]] {
        (envelope["data"] as? [String: Any])?["stores"] as? [[String: Any]] ?? []
    }

    static func attackerClone(_ federation: Federation) throws -> GitCLI {
        let work = federation.scratch.url("attacker-\(UUID().uuidString.prefix(8))")
        let git = GitCLI(directory: work, home: federation.scratch.path)
        _ = try ProcessRunner.run("git", ["clone", "-q", federation.remotePath, work], environment: git.environment)
        return git
    }

    static func verify(_ federation: Federation) throws -> ProcessResult {
        try PackagePaths.runSFGit(["verify", "--json", "--repo", federation.remotePath, "--introduction", federation.introduction, "--signer", federation.signer])
    }

    /// A commit on `parent` whose message is `bytes` long (repetitive: a few KB packed).
    static func hugeCommit(_ git: GitCLI, tree: String, parent: String, bytes: Int, key: String? = nil) throws -> String {
        let message = git.directory + "/../huge-message-\(bytes)"
        let line = String(repeating: "all work and no play makes a huge commit ", count: 24) + "\n"
        var text = ""
        text.reserveCapacity(bytes + line.utf8.count)
        text += "a huge commit\n\n"
        while text.utf8.count < bytes { text += line }
        try text.write(toFile: message, atomically: false, encoding: .utf8)
        let sign = key.map { ["-c", "gpg.format=ssh", "-c", "user.signingkey=\($0)"] } ?? []
        return try git.run(sign + ["commit-tree", tree, "-p", parent, "-F", message] + (key == nil ? [] : ["-S"]))
    }

    @Test("a huge commit object is refused from its header (exit 5, the cap named, nothing indexed) by sync and verify alike; so is a branch pointing at a tree")
    func hugeCommit() throws {
        let federation = try Federation()
        try federation.initialise()
        let evil = try federation.join("evil@x")
        let server = try federation.join("srv@server")
        let goodTip = try federation.remoteTip()
        let git = try Self.attackerClone(federation)
        // Both huge commits also add a valid memory by their signer.
        let id = "01KB0000000000000000000000"
        try FileManager.default.createDirectory(atPath: git.directory + "/memories/note/2025/11", withIntermediateDirectories: true)
        try "---\nschema: 1\nid: \(id)\nkind: note\nauthor: evil\nhost: x\nrecorded_at: 2025-11-01T00:00:00Z\n---\ntitle: carried by a huge commit\n"
            .write(toFile: git.directory + "/memories/note/2025/11/\(id).yaml", atomically: true, encoding: .utf8)
        try git.run(["add", "-A"])
        let tree = try git.run(["write-tree"])

        // Over the policy's max_commit_bytes (1 MiB by default), signed by a writer.
        let big = try Self.hugeCommit(git, tree: tree, parent: goodTip, bytes: 2 << 20, key: evil.key.privatePath)
        _ = try git.run(["push", "-q", "-f", "origin", "\(big):refs/heads/main"])
        let synced = try federation.json(server, ["sync"])
        #expect(synced.0.exitCode == 5, "\(synced.0.stdout)")
        let blocked = try #require(Self.stores(synced.1).first?["blocked"] as? [String: Any])
        #expect(blocked["commit"] as? String == big)
        #expect((blocked["reason"] as? String)?.contains("max_commit_bytes of 1048576") == true, "\(blocked)")
        let verified = try Self.verify(federation)
        #expect(verified.exitCode == 5, "\(verified.stdout)")
        #expect(verified.stdout.contains("max_commit_bytes of 1048576"), "\(verified.stdout)")

        // Far over any policy: refused before libgit2's revwalk would read it whole.
        let huge = try Self.hugeCommit(git, tree: tree, parent: goodTip, bytes: 40 << 20, key: evil.key.privatePath)
        _ = try git.run(["push", "-q", "-f", "origin", "\(huge):refs/heads/main"])
        let again = try federation.json(server, ["sync"])
        #expect(again.0.exitCode == 5, "\(again.0.stdout)")
        let hugeBlocked = try #require(Self.stores(again.1).first?["blocked"] as? [String: Any])
        #expect(hugeBlocked["commit"] as? String == huge)
        #expect((hugeBlocked["reason"] as? String)?.contains("over the cap of 16777216 bytes") == true, "\(hugeBlocked)")
        #expect(Self.stores(again.1).first?["verified_tip"] as? String == goodTip)
        // Not kept: every later fetch's negotiation would read it whole. Gone from disk too.
        let store = server.home + "/stores/shared/repo.git"
        #expect(try ProcessRunner.run("git", ["--git-dir", store, "cat-file", "-e", huge]).exitCode != 0)
        #expect(!(try ProcessRunner.run("git", ["--git-dir", store, "for-each-ref"]).stdout.contains(huge)))
        let status = try #require(Self.stores(try federation.json(server, ["status"]).1).first)
        #expect(((status["blocked"] as? [String: Any])?["reason"] as? String)?.contains("over the cap") == true)
        let counts = try #require(status["counts"] as? [String: Any])
        #expect(counts["by_kind"] as? [String: Int] == [:], "\(status)")
        #expect(try federation.run(server, ["recall", "huge"]).stdout.contains("carried by") == false)
        let verifiedHuge = try Self.verify(federation)
        #expect(verifiedHuge.exitCode == 5, "\(verifiedHuge.stdout)")
        #expect(verifiedHuge.stdout.contains("over the cap of 16777216 bytes"), "\(verifiedHuge.stdout)")

        // A branch that names a tree (git refuses to write one; the remote's disk does not care).
        let goodTree = try git.run(["rev-parse", "\(goodTip)^{tree}"])
        try (goodTree + "\n").write(toFile: federation.remotePath + "/refs/heads/main", atomically: true, encoding: .utf8)
        let treeTip = try federation.json(server, ["sync"])
        #expect(treeTip.0.exitCode == 5, "\(treeTip.0.stdout)")
        let treeBlocked = try #require(Self.stores(treeTip.1).first?["blocked"] as? [String: Any])
        #expect((treeBlocked["reason"] as? String)?.contains("should be a commit, but it is a tree") == true, "\(treeBlocked)")
    }

    @Test("a commit too big for git's own services over file://: upload-pack stops at its memory cap, sync exits 3 naming it and keeps its verified tip and answers")
    func hugeCommitOverFile() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")
        #expect(try federation.run(server, ["remember", "note", "--title", "written before the flood"]).exitCode == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        let goodTip = try federation.remoteTip()
        // Written straight into the remote's directory, as whoever controls it could: git's
        // upload-pack reads a commit it walks whole, so without a cap it would map 200 MiB.
        let remote = GitCLI(directory: federation.remotePath, home: federation.scratch.path)
        let huge = try Self.hugeCommit(remote, tree: try remote.run(["rev-parse", "\(goodTip)^{tree}"]), parent: goodTip, bytes: 200 << 20)
        _ = try remote.run(["update-ref", "refs/heads/main", huge])

        let synced = try federation.json(server, ["sync"])
        #expect(synced.0.exitCode == 3, "\(synced.0.stdout) \(synced.0.stderr)")
        let warning = try #require((synced.1["warnings"] as? [[String: Any]])?.first)
        #expect(warning["code"] as? String == "FETCH_FAILED", "\(warning)")
        #expect((warning["message"] as? String)?.contains("memory cap of 160 MiB") == true, "\(warning)")
        let status = try #require(Self.stores(try federation.json(server, ["status"]).1).first)
        #expect(status["verified_tip"] as? String == goodTip, "\(status)")
        #expect(try federation.run(server, ["recall", "flood"]).stdout.contains("written before the flood"))
        // Once the remote is sound again, the next sync is too.
        _ = try remote.run(["update-ref", "refs/heads/main", goodTip])
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
    }

    @Test("a tree where a memory blob should be: sync and verify both refuse it as malformed (exit 5)")
    func treeWhereBlob() throws {
        let federation = try Federation()
        try federation.initialise()
        let evil = try federation.join("evil@x")
        let server = try federation.join("srv@server")
        let git = try Self.attackerClone(federation)
        let id = "01KB0000000000000000000000"
        let directory = "memories/note/2025/11"
        try FileManager.default.createDirectory(atPath: git.directory + "/" + directory, withIntermediateDirectories: true)
        try "---\nschema: 1\nid: \(id)\nkind: note\nauthor: evil\nhost: x\nrecorded_at: 2025-11-01T00:00:00Z\n---\ntitle: a file that is a tree\n"
            .write(toFile: git.directory + "/\(directory)/\(id).yaml", atomically: true, encoding: .utf8)
        try git.run(["add", "-A"])
        let honest = try git.signedCommit("a memory", key: evil.key.privatePath)
        // The same commit, but the file's entry (mode 100644) names the directory's parent tree.
        var entries = try git.rawEntries(of: "\(honest):\(directory)")
        entries[0].id = try git.run(["rev-parse", "\(honest):memories/note"])
        let leaf = try git.writeRawTree(entries)
        let root = try git.replaceTree(at: directory, in: try git.run(["rev-parse", "\(honest)^{tree}"]), with: leaf)
        let hostile = try git.commitTree(root, key: evil.key.privatePath, parents: [try git.run(["rev-parse", "\(honest)^"])], message: "a memory")
        _ = try git.run(["push", "-q", "origin", "\(hostile):refs/heads/main"])

        let synced = try federation.json(server, ["sync"])
        #expect(synced.0.exitCode == 5, "\(synced.0.stdout)")
        let blocked = try #require(Self.stores(synced.1).first?["blocked"] as? [String: Any])
        #expect(blocked["commit"] as? String == hostile)
        #expect((blocked["reason"] as? String)?.contains("malformed") == true, "\(blocked)")
        #expect((blocked["reason"] as? String)?.contains("is named as a file but is a tree") == true, "\(blocked)")
        let verified = try Self.verify(federation)
        #expect(verified.exitCode == 5, "\(verified.stdout)")
        #expect(verified.stdout.contains("is named as a file but is a tree"), "\(verified.stdout)")
    }

    @Test("an endless ref advertisement over HTTP: the fetch step stops at its memory cap, sync exits 3 within the deadline and says so")
    func endlessAdvertisement() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let server = try EndlessAdvertisementServer(in: federation.scratch.url("endless"), seconds: 90)
        defer { withExtendedLifetime(server) {} }
        try federation.pointRemote(of: laptop, at: "\(server.url)")
        #expect(try federation.run(laptop, ["remember", "note", "--title", "written while the remote floods"]).exitCode == 0)

        let started = Date()
        let result = try federation.json(laptop, ["sync", "--timeout", "60s"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.0.exitCode == 3, "\(result.0.stdout) \(result.0.stderr)")
        let warning = try #require((result.1["warnings"] as? [[String: Any]])?.first)
        #expect(warning["code"] as? String == "FETCH_FAILED", "\(warning)")
        #expect((warning["message"] as? String)?.contains("memory cap of 160 MiB") == true, "\(warning)")
        #expect(elapsed < 60, "sync took \(elapsed) s")
        // The parent lived to write its state, and the local phases still work.
        let status = try #require(Self.stores(try federation.json(laptop, ["status"]).1).first)
        #expect((status["last_fetch_error"] as? String)?.contains("memory cap") == true, "\(status)")
        #expect(status["pending"] as? Int == 1)
        #expect(try federation.run(laptop, ["recall", "floods"]).stdout.contains("written while the remote floods"))
    }

    @Test("refused pushes piling up: only the newest 10 refused tips are kept, the rest pruned with their objects, and a tip refused again is kept once")
    func refusedPile() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")
        let goodTip = try federation.remoteTip()
        let git = try Self.attackerClone(federation)
        let store = server.home + "/stores/shared/repo.git"
        func quarantine() throws -> [(name: String, id: String)] {
            try ProcessRunner.run("git", ["--git-dir", store, "for-each-ref", "--format=%(refname) %(objectname)", "refs/sfgit/quarantine/"]).stdout
                .split(separator: "\n").map { let parts = $0.split(separator: " "); return (String(parts[0]), String(parts[1])) }
        }
        func objectBytes() throws -> Int {
            Int(try ProcessRunner.run("du", ["-sb", store + "/objects"]).stdout.split(separator: "\t")[0])!
        }
        let before = try objectBytes()
        var refused: [String] = []
        var randomBlobs: [String] = []
        for round in 0..<15 {
            // Each refused push brings 1 MB of incompressible data.
            let blob = try git.run(["hash-object", "-w", "--stdin"], stdin: Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) }))
            randomBlobs.append(blob)
            let tree = try git.writeRawTree(try git.rawEntries(of: "\(goodTip)^{tree}") + [RawTreeEntry(mode: "100644", name: "zz-junk-\(round)", id: blob)])
            let commit = try git.run(["-c", "commit.gpgsign=false", "commit-tree", tree, "-p", goodTip, "-m", "junk \(round)"])
            refused.append(commit)
            _ = try git.run(["push", "-q", "-f", "origin", "\(commit):refs/heads/main"])
            #expect(try federation.run(server, ["sync"]).exitCode == 5)
        }
        let kept = try quarantine()
        #expect(kept.count == 10, "\(kept)")
        #expect(Set(kept.map(\.id)) == Set(refused.suffix(10)))
        // The pruned tips' objects left the disk; the kept ones' are there.
        for blob in randomBlobs.prefix(5) {
            #expect(try ProcessRunner.run("git", ["--git-dir", store, "cat-file", "-e", blob]).exitCode != 0, "\(blob) is still on disk")
        }
        #expect(try ProcessRunner.run("git", ["--git-dir", store, "cat-file", "-e", randomBlobs.last!]).exitCode == 0)
        let grown = try objectBytes() - before
        #expect(grown < 13 << 20, "the store's objects grew by \(grown) bytes for 10 kept refused MB")
        // The same refused tip again: no new reference.
        #expect(try federation.run(server, ["sync"]).exitCode == 5)
        #expect(try quarantine().map(\.name) == kept.map(\.name))
        // status says what is kept and that older ones were pruned.
        let status = try #require(Self.stores(try federation.json(server, ["status"]).1).first)
        let history = try #require(status["refused_history"] as? [String: Any], "\(status)")
        #expect(history["kept"] as? Int == 10)
        #expect(history["pruned"] as? Int == 5)
        #expect((history["bytes"] as? Int ?? 0) > 10 << 20, "\(history)")
        #expect(try federation.run(server, ["status"]).stdout.contains("refused kept:  10 tips"))
    }
}

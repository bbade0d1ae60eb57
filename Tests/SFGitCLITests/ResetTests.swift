import Foundation
import SFGitTestSupport
import Testing

/// `sfgit admin reset`: a bad but authentic history undone by a signed reset statement that every
/// host follows (re-verified, re-indexed, own outbox kept), and statements that must not be
/// followed: forged (not an admin's key) and stale (naming another tip).
@Suite("admin reset: signed recovery instead of a force-push")
struct ResetTests {
    static func data(_ envelope: [String: Any]) -> [String: Any] { envelope["data"] as? [String: Any] ?? [:] }
    static func stores(_ envelope: [String: Any]) -> [[String: Any]] { data(envelope)["stores"] as? [[String: Any]] ?? [] }

    static func titles(_ federation: Federation, _ member: Federation.Member, _ query: String) throws -> [String] {
        try federation.recallAnswers(member, [query]).compactMap { $0["title"] as? String }
    }

    static func git(_ federation: Federation, _ arguments: [String]) throws -> String {
        try ProcessRunner.run("git", ["--git-dir", federation.remotePath] + arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A store where the laptop published a good memory, then a bad one (authentic: it passes
    /// every check), and the server and the admin have synced both.
    static func badHistory() throws -> (Federation, laptop: Federation.Member, server: Federation.Member, good: String, bad: String) {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let server = try federation.join("srv@server")
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "good finding about kimi"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let good = try federation.remoteTip()
        #expect(try federation.run(laptop, ["remember", "anti-pattern", "--title", "wrong advice about kimi", "--field", "instead=nothing"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let bad = try federation.remoteTip()
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        #expect(try Self.titles(federation, server, "kimi").count == 2)
        return (federation, laptop, server, good, bad)
    }

    /// A statement made with plain git: an empty commit on `to`, naming `from`, signed with `key`,
    /// force-pushed as main.
    static func handMadeStatement(_ federation: Federation, from: String, to: String, key: String) throws -> String {
        let work = federation.scratch.url("statement-\(UUID().uuidString.prefix(8))")
        var git = GitCLI(directory: work, home: federation.scratch.path)
        git.date = ISO8601DateFormatter().string(from: Date())
        _ = try ProcessRunner.run("git", ["clone", "-q", federation.remotePath, work], environment: git.environment)
        try git.run(["reset", "-q", "--hard", to])
        let commit = try git.signedCommit("sfgit: reset main\n\nhand made\n\nSfgit-Reset-From: \(from)\nSfgit-Reset-To: \(to)", key: key)
        try git.run(["push", "-q", "-f", "origin", "HEAD:main"])
        return commit
    }

    @Test("a reset statement is followed by every host: the bad memory is no longer served, the laptop's unpublished memory is kept and published, a fresh clone verifies the new history")
    func resetFollowedEverywhere() throws {
        let (federation, laptop, server, good, bad) = try Self.badHistory()
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "written offline about kimi"]).exitCode == 0)

        let reset = try federation.json(federation.admin, ["admin", "reset", "--to", good, "--reason", "the anti-pattern was wrong"])
        #expect(reset.0.exitCode == 0, "\(reset.0.stdout) \(reset.0.stderr)")
        let statement = try #require(Self.data(reset.1)["statement"] as? String)
        #expect(Self.data(reset.1)["from"] as? String == bad)
        #expect(Self.data(reset.1)["to"] as? String == good)
        #expect(try federation.remoteTip() == statement)
        #expect(try Self.git(federation, ["rev-parse", "\(statement)^"]) == good)
        #expect(try Self.git(federation, ["log", "-1", "--format=%B", statement]).contains("Sfgit-Reset-From: \(bad)"))

        // What a pre-receive hook runs (`verify --from OLD NEW`) lets the statement through.
        let hook = try federation.run(server, ["verify", "--repo", federation.remotePath, "--introduction", federation.introduction,
                                               "--signer", federation.signer, "--from", bad, statement])
        #expect(hook.exitCode == 0, "\(hook.stdout) \(hook.stderr)")

        let followed = try federation.json(server, ["sync"])
        #expect(followed.0.exitCode == 0, "\(followed.0.stdout)")
        #expect(Self.stores(followed.1).first?["verified_tip"] as? String == statement)
        #expect(try Self.titles(federation, server, "kimi") == ["good finding about kimi"])

        let laptopSync = try federation.json(laptop, ["sync"])
        #expect(laptopSync.0.exitCode == 0, "\(laptopSync.0.stdout)")
        #expect(Self.stores(laptopSync.1).first?["pending"] as? Int == 0)
        #expect(try federation.remoteMemoryPaths().count == 2)
        #expect(Set(try Self.titles(federation, laptop, "kimi")) == ["good finding about kimi", "written offline about kimi"])
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(Set(try Self.titles(federation, server, "kimi")) == ["good finding about kimi", "written offline about kimi"])

        let fresh = try federation.newMember("new@host")
        try federation.clone(fresh)
        #expect(Set(try Self.titles(federation, fresh, "kimi")) == ["good finding about kimi", "written offline about kimi"])
    }

    @Test("a host that verified only part of the replaced history follows the statement too: it lists the replaced tips, signed")
    func laggingHostFollows() throws {
        let (federation, laptop, server, good, bad) = try Self.badHistory()
        // The server stays at `bad` while more of the bad history is written.
        #expect(try federation.run(laptop, ["remember", "anti-pattern", "--title", "more wrong advice about kimi", "--field", "instead=nothing"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let reset = try federation.json(federation.admin, ["admin", "reset", "--to", good, "--reason", "both were wrong"])
        #expect(reset.0.exitCode == 0, "\(reset.0.stdout) \(reset.0.stderr)")
        #expect(Self.data(reset.1)["from"] as? String != bad)
        let statement = try #require(Self.data(reset.1)["statement"] as? String)
        #expect(try Self.git(federation, ["log", "-1", "--format=%B", statement]).contains("Sfgit-Reset-Replaces: \(bad)"))
        let followed = try federation.json(server, ["sync"])
        #expect(followed.0.exitCode == 0, "\(followed.0.stdout)")
        #expect(Self.stores(followed.1).first?["verified_tip"] as? String == statement)
        #expect(try Self.titles(federation, server, "kimi") == ["good finding about kimi"])
    }

    @Test("a forged statement (a writer's key) and a stale one (an admin's, naming another tip) are refused: the host stays on its verified tip, exit 5")
    func forgedAndStaleRefused() throws {
        let (federation, laptop, server, good, bad) = try Self.badHistory()
        let serverTip = bad

        // Forged: right shape, signed by the writer.
        let forged = try Self.handMadeStatement(federation, from: bad, to: good, key: laptop.key.privatePath)
        let refused = try federation.json(server, ["sync"])
        #expect(refused.0.exitCode == 5, "\(refused.0.stdout)")
        let blocked = Self.stores(refused.1).first?["blocked"] as? [String: Any] ?? [:]
        #expect(blocked["commit"] as? String == forged)
        #expect((blocked["reason"] as? String ?? "").contains("not an admin's key"), "\(blocked)")
        #expect(Self.stores(refused.1).first?["verified_tip"] as? String == serverTip)
        #expect(try Self.titles(federation, server, "kimi").count == 2)
        let hook = try federation.run(server, ["verify", "--repo", federation.remotePath, "--introduction", federation.introduction,
                                               "--signer", federation.signer, "--from", bad, forged])
        #expect(hook.exitCode == 5, "\(hook.stdout) \(hook.stderr)")
        #expect((hook.stdout + hook.stderr).contains("not an admin's key"))

        // Stale: signed by the admin, but naming a tip the host has moved past.
        _ = try Self.git(federation, ["update-ref", "refs/heads/main", bad])
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "later finding about kimi"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let later = try federation.remoteTip()
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        let stale = try Self.handMadeStatement(federation, from: bad, to: good, key: federation.admin.key.privatePath)
        let staleSync = try federation.json(server, ["sync"])
        #expect(staleSync.0.exitCode == 5, "\(staleSync.0.stdout)")
        let staleBlocked = Self.stores(staleSync.1).first?["blocked"] as? [String: Any] ?? [:]
        #expect(staleBlocked["commit"] as? String == stale)
        #expect((staleBlocked["reason"] as? String ?? "").contains("stale"), "\(staleBlocked)")
        #expect(Self.stores(staleSync.1).first?["verified_tip"] as? String == later)
        #expect(try Self.titles(federation, server, "kimi").count == 3)

        // A statement that changes files is refused too, even an admin's naming the right tip.
        _ = try Self.git(federation, ["update-ref", "refs/heads/main", later])
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        let work = federation.scratch.url("smuggle")
        var git = GitCLI(directory: work, home: federation.scratch.path)
        git.date = ISO8601DateFormatter().string(from: Date())
        _ = try ProcessRunner.run("git", ["clone", "-q", federation.remotePath, work], environment: git.environment)
        try git.run(["reset", "-q", "--hard", good])
        try "# smuggled\n".write(toFile: work + "/README.md", atomically: true, encoding: .utf8)
        try git.run(["add", "-A"])
        try git.signedCommit("sfgit: reset main\n\nSfgit-Reset-From: \(later)\nSfgit-Reset-To: \(good)", key: federation.admin.key.privatePath)
        try git.run(["push", "-q", "-f", "origin", "HEAD:main"])
        let smuggled = try federation.json(server, ["sync"])
        #expect(smuggled.0.exitCode == 5, "\(smuggled.0.stdout)")
        #expect(((Self.stores(smuggled.1).first?["blocked"] as? [String: Any])?["reason"] as? String ?? "").contains("changes files"))

        // The replayed statement of a reset the host already followed is a rollback.
        _ = try Self.git(federation, ["update-ref", "refs/heads/main", later])
        let reset = try federation.json(federation.admin, ["admin", "reset", "--to", good, "--reason", "undo"])
        #expect(reset.0.exitCode == 0, "\(reset.0.stdout) \(reset.0.stderr)")
        let statement = try #require(Self.data(reset.1)["statement"] as? String)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "after the reset about kimi"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        _ = try Self.git(federation, ["update-ref", "refs/heads/main", statement])
        #expect(try federation.run(server, ["sync"]).exitCode == 5)

        // Only admins sign statements: sfgit refuses before writing anything.
        let byWriter = try federation.run(laptop, ["admin", "reset", "--to", good, "--reason", "mine"])
        #expect(byWriter.exitCode == 2, "\(byWriter.stdout) \(byWriter.stderr)")
    }

    @Test("the replaced history's policy decides who may reset: an admin removed since the new tip cannot sign a statement every host follows")
    func removedAdminCannotReset() throws {
        let federation = try Federation()
        try federation.initialise()
        let former = try federation.join("root@ops", roles: ["admin"], clone: false)
        let laptop = try federation.join("me@laptop")
        let server = try federation.join("srv@server")
        let good = try federation.remoteTip()
        #expect(try federation.run(federation.admin, ["trust", "remove", former.principal]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "kept about kimi"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let tip = try federation.remoteTip()
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        // An admin at `good`, no longer at the tip it would replace.
        let statement = try Self.handMadeStatement(federation, from: tip, to: good, key: former.key.privatePath)
        let refused = try federation.json(server, ["sync"])
        #expect(refused.0.exitCode == 5, "\(refused.0.stdout)")
        let blocked = Self.stores(refused.1).first?["blocked"] as? [String: Any] ?? [:]
        #expect(blocked["commit"] as? String == statement)
        #expect((blocked["reason"] as? String ?? "").contains("not an admin's key"), "\(blocked)")
        #expect(try Self.titles(federation, server, "kimi") == ["kept about kimi"])
    }

    /// A review-mode store with a writer (the laptop) and a server, and the tip before any memory.
    static func reviewModeStore() throws -> (Federation, laptop: Federation.Member, server: Federation.Member, before: String) {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let server = try federation.join("srv@server")
        #expect(try federation.run(federation.admin, ["policy", "set", "mode", "review"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        return (federation, laptop, server, try federation.remoteTip())
    }

    static func warningCodes(_ envelope: [String: Any]) -> [String] {
        (envelope["warnings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
    }

    @Test("a memory a reset removed stays removed: review merge refuses the proposal that held it, and the writer's host, which never saw it merged, drops it from its outbox (RESET_REMOVED) instead of publishing it again")
    func resetRemovedStaysRemoved() throws {
        let (federation, laptop, server, before) = try Self.reviewModeStore()
        let admin = federation.admin

        // The writer proposes; an admin merges on another host; the writer's host never syncs meanwhile.
        let wrong = try federation.json(laptop, ["remember", "anti-pattern", "--title", "wrong advice about kimi", "--field", "instead=nothing"])
        let path = try #require(Self.data(wrong.1)["path"] as? String)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let merged = try federation.run(admin, ["review", "merge", "me@laptop", "--push"])
        #expect(merged.exitCode == 0, "\(merged.stdout) \(merged.stderr)")
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(try Self.titles(federation, server, "kimi") == ["wrong advice about kimi"])

        let reset = try federation.json(admin, ["admin", "reset", "--to", before, "--reason", "the merged anti-pattern was wrong"])
        #expect(reset.0.exitCode == 0, "\(reset.0.stdout) \(reset.0.stderr)")
        let statement = try #require(Self.data(reset.1)["statement"] as? String)
        #expect(try Self.git(federation, ["log", "-1", "--format=%B", statement]).contains("Sfgit-Reset-Removes: \(path)"))
        // A host that follows the reset says so in its text, not only in the JSON phases.
        let followed = try federation.run(server, ["sync"])
        #expect(followed.exitCode == 0, "\(followed.stdout) \(followed.stderr)")
        #expect(followed.stdout.contains("RESET: followed \(admin.principal)'s reset statement \(statement.prefix(12))"), "\(followed.stdout)")

        // The proposal branch still holds it: listed as removed by the reset, never merged again.
        let listed = try federation.json(admin, ["review", "list"])
        let check = ((Self.data(listed.1)["proposals"] as? [[String: Any]])?.first?["check"] as? [String: Any]) ?? [:]
        #expect(check["result"] as? String == "invalid", "\(listed.0.stdout)")
        #expect((check["reset_removed"] as? [[String: Any]])?.first?["path"] as? String == path, "\(listed.0.stdout)")
        let again = try federation.json(admin, ["review", "merge", "me@laptop", "--push"])
        #expect(again.0.exitCode == 7, "\(again.0.stdout)")
        let refusal = (again.1["error"] as? [String: Any])?["message"] as? String
        #expect(refusal?.contains("removed from the store") == true, "\(again.0.stdout)")

        // Back to direct mode (the admin's own change goes through review too).
        #expect(try federation.run(admin, ["policy", "set", "mode", "direct"]).exitCode == 0)
        #expect(try federation.run(admin, ["sync"]).exitCode == 0)
        let direct = try federation.run(admin, ["review", "merge", admin.principal, "--push"])
        #expect(direct.exitCode == 0, "\(direct.stdout) \(direct.stderr)")

        // The writer's host drops it and says so (a memory of its own not published: exit 3,
        // once), and publishes nothing; the next sync is quiet again.
        let synced = try federation.json(laptop, ["sync"])
        #expect(synced.0.exitCode == 3, "\(synced.0.stdout) \(synced.0.stderr)")
        #expect(Self.warningCodes(synced.1).contains("RESET_REMOVED"), "\(synced.0.stdout)")
        #expect(Self.stores(synced.1).first?["pending"] as? Int == 0, "\(synced.0.stdout)")
        #expect(!(try federation.remoteMemoryPaths()).contains(path))
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(try Self.titles(federation, server, "kimi").isEmpty)
    }

    @Test("review mode, on the writer's host: a proposal branch holding a memory a reset removed is refused with the fix (status says so), the removed memory is no longer served there, and once the branch is deleted the next sync proposes the rest afresh")
    func writersProposalAfterReset() throws {
        let (federation, laptop, server, before) = try Self.reviewModeStore()
        let admin = federation.admin
        #expect(try federation.run(laptop, ["remember", "note", "--title", "WRONG note about kimi"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(admin, ["review", "merge", "me@laptop", "--push"]).exitCode == 0)
        #expect(try federation.run(admin, ["admin", "reset", "--to", before, "--reason", "the note was wrong"]).exitCode == 0)

        // The writer syncs past the reset with a new, good memory pending.
        #expect(try federation.run(laptop, ["remember", "note", "--title", "good note about kimi"]).exitCode == 0)
        let refused = try federation.json(laptop, ["sync"])
        #expect(refused.0.exitCode == 6, "\(refused.0.stdout) \(refused.0.stderr)")
        let message = (refused.1["warnings"] as? [[String: Any]])?.first { $0["code"] as? String == "PROPOSAL_REFUSED" }?["message"] as? String ?? ""
        #expect(message.contains("removed from the store") && message.contains("git push origin --delete sfgit/proposals/me@laptop"), "\(refused.0.stdout)")
        let status = try federation.run(laptop, ["status"])
        #expect(status.exitCode == 6, "\(status.stdout)")
        #expect(status.stdout.contains("PROPOSAL_REFUSED"), "\(status.stdout)")
        #expect(try Self.titles(federation, laptop, "kimi") == ["good note about kimi"])

        // The branch is deleted on the forge: the good memory is proposed afresh, the wrong one dropped.
        _ = try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "branch", "-D", "sfgit/proposals/me@laptop"])
        let afresh = try federation.json(laptop, ["sync"])
        #expect(afresh.0.exitCode == 3, "\(afresh.0.stdout) \(afresh.0.stderr)")
        #expect(Self.warningCodes(afresh.1).contains("RESET_REMOVED"), "\(afresh.0.stdout)")
        #expect(try federation.run(laptop, ["status"]).exitCode == 0)
        #expect(try federation.run(admin, ["review", "merge", "me@laptop", "--push"]).exitCode == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(try Self.titles(federation, server, "kimi") == ["good note about kimi"])
    }

    @Test("a writer's commit dressed as a reset statement (Removes lines, an admin named as author) removes nothing: the victim's pending memory is still published")
    func forgedRemovesIgnored() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let attacker = try federation.join("srv@server")
        let pending = try federation.json(laptop, ["remember", "learning", "--title", "a finding the attacker wants gone"])
        let path = try #require(Self.data(pending.1)["path"] as? String)

        // An empty commit on the tip, signed by a writer, shaped like a statement naming the path.
        let tip = try federation.remoteTip()
        let work = federation.scratch.url("forger")
        var git = GitCLI(directory: work, home: federation.scratch.path)
        git.date = ISO8601DateFormatter().string(from: Date())
        _ = try ProcessRunner.run("git", ["clone", "-q", federation.remotePath, work], environment: git.environment)
        try git.signedCommit("sfgit: reset main\n\nforged\n\nSfgit-Reset-From: \(tip)\nSfgit-Reset-To: \(tip)\nSfgit-Reset-Removes: \(path)",
                             key: attacker.key.privatePath, extra: ["--author", "\(federation.admin.principal) <\(federation.admin.principal)>"])
        try git.run(["push", "-q", "origin", "HEAD:main"])

        let synced = try federation.json(laptop, ["sync"])
        #expect(synced.0.exitCode == 0, "\(synced.0.stdout) \(synced.0.stderr)")
        #expect(!Self.warningCodes(synced.1).contains("RESET_REMOVED"), "\(synced.0.stdout)")
        #expect(try federation.remoteMemoryPaths().contains(path))
    }

    @Test("an unsigned push every host refuses is undone by admin reset to the verified tip: the branch goes back, no statement needed, every host is unblocked")
    func refusedPushRestored() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        #expect(try federation.run(laptop, ["remember", "note", "--title", "a good finding"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        let good = try federation.remoteTip()

        // Someone with push rights pushes an unsigned commit with plain git.
        let work = federation.scratch.url("pusher")
        let git = GitCLI(directory: work, home: federation.scratch.path)
        _ = try ProcessRunner.run("git", ["clone", "-q", federation.remotePath, work], environment: git.environment)
        let unsigned = try git.unsignedCommit("not signed")
        try git.run(["push", "-q", "origin", "HEAD:main"])
        // Blocked: the reason is printed once (cron mails stdout and stderr alike), --quiet or not.
        for quiet in [[], ["--quiet"]] {
            let blocked = try federation.run(laptop, ["sync"] + quiet)
            #expect(blocked.exitCode == 5)
            #expect(blocked.stdout.contains("BLOCKED at \(unsigned.prefix(12))"), "\(blocked.stdout)")
            #expect(!blocked.stderr.contains("unsigned"), "the reason again on stderr: \(blocked.stderr)")
        }
        let status = try federation.run(laptop, ["status"])
        #expect(status.exitCode == 5)
        #expect(status.stdout.components(separatedBy: "is unsigned").count == 2, "the reason once: \(status.stdout)")
        #expect(!status.stderr.contains("unsigned"), "\(status.stderr)")

        // Only the verified tip is a target while the branch holds refused history.
        let wrongTarget = try federation.run(federation.admin, ["admin", "reset", "--to", "HEAD~1", "--reason", "undo the unsigned push"])
        #expect(wrongTarget.exitCode == 2, "\(wrongTarget.stdout) \(wrongTarget.stderr)")
        #expect(wrongTarget.stderr.contains("sfgit admin reset --to \(good.prefix(12))"), "\(wrongTarget.stderr)")
        #expect(try federation.remoteTip() == unsigned)

        let restored = try federation.json(federation.admin, ["admin", "reset", "--to", good, "--reason", "undo the unsigned push"])
        #expect(restored.0.exitCode == 0, "\(restored.0.stdout) \(restored.0.stderr)")
        #expect(Self.data(restored.1)["restored"] as? Bool == true)
        #expect(Self.data(restored.1)["statement"] is NSNull)
        #expect(Self.data(restored.1)["from"] as? String == unsigned)
        #expect(try federation.remoteTip() == good)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["status"]).exitCode == 0)
        #expect(try Self.titles(federation, laptop, "finding") == ["a good finding"])
    }
}

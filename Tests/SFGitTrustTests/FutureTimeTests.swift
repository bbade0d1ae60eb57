import Foundation
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import Testing
@testable import SFGitTrust

/// Times a signer chooses may not steer ranking or filters: `recorded_at` may not lie later than
/// the commit that adds it, and a commit may not be dated later than the verifying host's clock
/// (each with `Verifier.allowedClockSkew`).
@Suite("Verifier: future-dated times")
struct FutureTimeTests {
    static func verify(_ store: StoreBuilder, from: String, now: Int64) throws -> VerificationResult {
        let repository = try Repository.open(store.gitDirectory)
        var options = Verifier.Options()
        options.now = { now }
        let verifier = Verifier(repository: repository, introduction: Introduction(commit: ObjectID(hex: store.introduction)!, signer: store.introductionSigner), options: options)
        return try verifier.verify(from: ObjectID(hex: from)!, to: try repository.resolveCommit("HEAD"))
    }

    /// 2026-01-01T00:00:00Z, the test git's commit date.
    static let commitTime: Int64 = 1_767_225_600

    /// Writes a memory by sf@mikki-bunker recorded at `recordedAt`; returns its path.
    static func memory(_ store: StoreBuilder, recordedAt: String, title: String) throws -> String {
        let id = store.nextID()
        let text = store.memoryText(id: id, principal: "sf@mikki-bunker", title: title)
            .replacingOccurrences(of: "recorded_at: 2025-12-31T03:04:05Z", with: "recorded_at: \(recordedAt)")
        return try store.write(MemoryPath(kind: .learning, id: id).description, text)
    }

    @Test("recorded_at later than the adding commit plus the skew is quarantined; within the skew it is accepted")
    func recordedAtAfterCommit() throws {
        let (store, base) = try AttackTests.storeWithWriter()
        let far = try Self.memory(store, recordedAt: "2099-01-01T00:00:00Z", title: "always first")
        let justOver = try Self.memory(store, recordedAt: "2026-01-01T00:10:01Z", title: "a second over the skew")
        let within = try Self.memory(store, recordedAt: "2026-01-01T00:10:00Z", title: "a clock ten minutes fast")
        let past = try Self.memory(store, recordedAt: "2025-06-01T00:00:00Z", title: "an old finding written down late")
        let commit = try store.commit(as: "sf@mikki-bunker")
        let result = try Self.verify(store, from: base, now: Self.commitTime + 86_400)
        #expect(result.status(of: commit) == .good)
        #expect(Set(result.accepted.map(\.path)) == [within, past])
        let quarantined = Dictionary(uniqueKeysWithValues: result.quarantined.map { ($0.path, $0) })
        #expect(quarantined[far]?.reason == .futureRecordedAt)
        #expect(quarantined[justOver]?.reason == .futureRecordedAt)
        #expect(quarantined[far]?.detail.contains("2099-01-01T00:00:00Z") == true)
        #expect(quarantined.count == 2)
    }

    @Test("a commit dated later than the verifying host's clock plus the skew is refused until its time has come; then it is judged as any other")
    func commitFromTheFuture() throws {
        let (store, base) = try AttackTests.storeWithWriter()
        var future = store.git
        future.date = "2099-01-01T00:00:00Z"
        let path = try Self.memory(store, recordedAt: "2099-01-01T00:00:00Z", title: "dated in 2099")
        try future.run(["add", "-A"])
        let commit = try future.signedCommit("from the future", key: store.keys["sf@mikki-bunker"]!.privatePath)
        let in2099: Int64 = 4_070_908_800  // 2099-01-01T00:00:00Z

        let now = try Self.verify(store, from: base, now: Self.commitTime)
        #expect(now.blocked?.commit.hex == commit)
        #expect(now.blocked?.status == .futureDated)
        #expect(now.verifiedTip?.hex == base)
        #expect(now.accepted.isEmpty)
        // Ten minutes of skew are allowed, not eleven.
        #expect(try Self.verify(store, from: base, now: in2099 - 600).blocked == nil)
        #expect(try Self.verify(store, from: base, now: in2099 - 660).blocked?.status == .futureDated)
        // Once the time has come, the same commit (and its memory) are accepted.
        let later = try Self.verify(store, from: base, now: in2099)
        #expect(later.verifiedTip?.hex == commit)
        #expect(later.accepted.map(\.path) == [path])
    }
}

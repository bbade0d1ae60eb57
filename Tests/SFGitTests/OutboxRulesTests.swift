import Foundation
@testable import SFGit
@testable import SFGitRepository
import SFGitTestSupport
import Testing

/// The outbox's publication rule, in process: a pending memory leaves the outbox as published
/// only when the shared branch holds the same file, served as the pending commit's principal's.
/// Through the CLI the last case cannot be reached while the quarantine rule holds (a served file
/// signed by someone else than its front matter names is quarantined first); here the rule is
/// checked on its own, so that it still holds should that other rule ever break.
@Suite("outbox: what counts as published")
struct OutboxRulesTests {
    static let blob = ObjectID(hex: String(repeating: "ab", count: 20))!
    static let other = ObjectID(hex: String(repeating: "cd", count: 20))!
    static let path = "memories/learning/2026/12/01M8X7C7FB63AWX55YYC1P6126.yaml"

    static func verdict(current: ObjectID, shared: SharedFile?) throws -> String? {
        try Outbox.unpublishable(path, blob: blob, principal: "me@laptop", current: TreeEntry(nameBytes: Array("x.yaml".utf8), id: current, mode: .blob),
                                 shared: { _ in shared })
    }

    @Test("the same file, served as this principal's: published")
    func publishedAsOwn() throws {
        #expect(try Self.verdict(current: Self.blob, shared: .served(signer: "me@laptop", blob: Self.blob.hex)) == nil)
    }

    @Test("the same bytes served as someone else's, quarantined, unknown to the cache, or another file at the path: held, with the reason")
    func heldOtherwise() throws {
        let foreign = try Self.verdict(current: Self.blob, shared: .served(signer: "eve@evil", blob: Self.blob.hex))
        #expect(foreign?.contains("signed by eve@evil, not by me@laptop") == true, "\(foreign ?? "nil")")
        let quarantined = try Self.verdict(current: Self.blob, shared: .quarantined(reason: "provenance_mismatch", detail: "x"))
        #expect(quarantined?.contains("peers quarantine it") == true)
        #expect(try Self.verdict(current: Self.blob, shared: nil)?.contains("not as me@laptop's accepted memory") == true)
        #expect(try Self.verdict(current: Self.other, shared: .served(signer: "me@laptop", blob: Self.other.hex))?.contains("another file") == true)
    }
}

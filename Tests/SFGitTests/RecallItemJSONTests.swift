import Foundation
@testable import SFGit
@testable import SFGitIndex
import SFGitMemory
import SFGitTestSupport
import Testing

/// Recall's answers write their own JSON (`RecallItem.write(to:)`): the envelope must be the
/// same bytes `JSONEncoder` writes from the same values, or `--json` and MCP would drift from
/// the `Encodable` contract.
@Suite("recall answers: hand-written JSON equals JSONEncoder's")
struct RecallItemJSONTests {
    static let alphabet: [String] = ["a", "Z", " ", "/", "\"", "\\", "\n", "\t", "\u{1B}", "\u{7F}", "\u{9B}", "é", "\u{202E}", "\u{2028}", "日", "👩‍💻", "~"]

    static func text(_ generator: inout SeededGenerator, _ length: Int = 8) -> String {
        (0..<Int(generator.next() % UInt64(length + 1))).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
    }

    static func double(_ generator: inout SeededGenerator) -> Double {
        [0, 1, 0.5, 7, 30, 1e-7, 123_456.789, 1e21, -1.25, Double(generator.next() % 10_000) / 7][Int(generator.next() % 10)]
    }

    static func fields(_ generator: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch generator.next() % (depth > 2 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(generator.next() % 2 == 0)
        case 2: return .integer(Int64(generator.next() % 2_000) - 1_000)
        case 3: return .number(double(&generator))
        case 4: return .string(text(&generator))
        case 5: return .array((0..<Int(generator.next() % 3)).map { _ in fields(&generator, depth: depth + 1) })
        default:
            var seen = Set<String>()
            return .object((0..<Int(generator.next() % 4)).compactMap { _ in
                let key = text(&generator, 4)
                return seen.insert(key).inserted ? (key, fields(&generator, depth: depth + 1)) : nil
            })
        }
    }

    static func item(_ generator: inout SeededGenerator) -> RecallItem {
        func maybe(_ value: String) -> String? { generator.next() % 3 == 0 ? nil : value }
        let withdrawals = (0..<Int(generator.next() % 3)).map { _ in
            RecallItem.Withdrawal(id: text(&generator), kind: generator.next() % 2 == 0 ? "supersedes" : "retracts", signer: text(&generator),
                                  recordedAt: text(&generator), reason: maybe(text(&generator)), authority: generator.next() % 2 == 0 ? .signer : .role)
        }
        var item = RecallItem(
            id: text(&generator), kind: text(&generator), title: text(&generator, 30), body: text(&generator, 200),
            tags: (0..<Int(generator.next() % 4)).map { _ in text(&generator) }, fields: fields(&generator),
            author: text(&generator), host: text(&generator), instance: maybe(text(&generator)), agent: maybe(text(&generator)),
            recordedAt: text(&generator), expiresAt: maybe(text(&generator)), supersedes: (0..<Int(generator.next() % 3)).map { _ in text(&generator) },
            path: text(&generator), commit: text(&generator), signer: text(&generator), key: text(&generator),
            tier: Tier.allCases[Int(generator.next() % UInt64(Tier.allCases.count))], stale: generator.next() % 2 == 0,
            supersededBy: (0..<Int(generator.next() % 3)).map { _ in text(&generator) }, retracted: generator.next() % 2 == 0,
            withdrawals: withdrawals, deferred: generator.next() % 2 == 0, score: double(&generator),
            explanation: .init(relevance: double(&generator), recency: double(&generator), halfLifeDays: double(&generator),
                               bm25: generator.next() % 2 == 0 ? nil : -double(&generator), ageDays: double(&generator)))
        item.store = maybe(text(&generator))
        item.signerStatus = generator.next() % 2 == 0 ? .active : .retired
        return item
    }

    @Test("random answers, warnings and errors: the same bytes as through JSONEncoder", arguments: [1, 2, 3] as [UInt64])
    func sameBytes(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for round in 0..<300 {
            let items = (0..<Int(generator.next() % 5)).map { _ in Self.item(&generator) }
            let warnings = (0..<Int(generator.next() % 3)).map { _ in Envelope<[RecallItem]>.Warning(code: Self.text(&generator), message: Self.text(&generator)) }
            let exit: SFGit.ExitStatus = [.ok, .degraded, .notFound][round % 3]
            let envelope = Envelope(command: "recall", exit: exit, warnings: warnings, data: items, errorMessage: Self.text(&generator))
            #expect(String(decoding: envelope.encoded(), as: UTF8.self) == String(decoding: envelope.encodedByFoundation(), as: UTF8.self))
            let single = Envelope(command: "show", exit: .ok, data: items.first ?? Self.item(&generator))
            #expect(String(decoding: single.encoded(), as: UTF8.self) == String(decoding: single.encodedByFoundation(), as: UTF8.self))
        }
    }

    @Test("a value JSON cannot hold (NaN) falls back to JSONEncoder, which reports it")
    func notANumber() {
        var generator = SeededGenerator(seed: 9)
        var item = Self.item(&generator)
        item.score = .nan
        let envelope = Envelope(command: "recall", exit: .ok, data: [item])
        #expect(envelope.encoded() == envelope.encodedByFoundation())
        #expect(String(decoding: envelope.encoded(), as: UTF8.self).contains(#""code":"INTERNAL""#))
    }
}

import SFGitTestSupport
import Testing
@testable import SFGitMemory

/// One character rule for raw bytes and decoded scalars (`CharacterRules`).
@Suite("Character rules, raw and decoded")
struct CharacterRuleTests {
    /// Code points around every class the rule names, plus ordinary text, emoji and the top of Unicode.
    static let codePoints: [UInt32] = {
        var values = Array(UInt32(0)...0x2FF) + Array(UInt32(0x0600)...0x0700) + Array(UInt32(0x2000)...0x2070)
        values += Array(UInt32(0xFE00)...0xFFFF) + Array(UInt32(0x1F600)...0x1F610) + Array(UInt32(0xE0000)...0xE0080)
        values += [0x3000, 0xD7FF, 0xE000, 0x10FFFF]
        return values
    }()

    enum Verdict: Equatable {
        case accepted
        case refused(code: String, message: String)
    }

    static func verdict(_ text: String) -> Verdict {
        do {
            _ = try MemoryParser().parse(Array(text.utf8))
            return .accepted
        } catch {
            return .refused(code: error.problems[0].code, message: error.problems[0].message)
        }
    }

    /// For each code point, the same character written raw in a literal block (where nothing is
    /// an escape) and written as a `\U` escape in a double-quoted value: both accepted, or both
    /// refused naming that code point.
    @Test("raw and decoded checks agree on every code point of a wide sample")
    func rawAndDecodedAgree() {
        var disagreements: [String] = []
        var refused = 0
        for value in Self.codePoints {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let written = scalar == "\n" ? "\n  " : String(Character(scalar))
            let raw = Self.verdict(MemoryFixtures.withBody("title: a\nnote: |\n  a\(written)b"))
            let hex = String(value, radix: 16)
            let escaped = Self.verdict(MemoryFixtures.withBody("title: a\nnote: \"a\\U" + String(repeating: "0", count: 8 - hex.count) + hex + "b\""))
            let name = CharacterRules.codePoint(value)
            switch (raw, escaped) {
            case (.accepted, .accepted):
                break
            case (.refused("control-character", let rawMessage), .refused("decoded-control-character", let decodedMessage))
                where rawMessage.contains(name) && decodedMessage.contains(name):
                refused += 1
            default:
                disagreements.append("\(name): raw \(raw), escaped \(escaped)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
        // C0 (30 of them), DEL, C1 (32), the 12 bidi controls, LS, PS, FEFF, FFFE, FFFF.
        #expect(refused == 30 + 1 + 32 + 12 + 2 + 1 + 2)
    }

    @Test("the rule is the Unicode classes it names: every Cc but tab and line feed, every Bidi_Control")
    func ruleMatchesUnicodeProperties() {
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let properties = scalar.properties
            if properties.generalCategory == .control && value != 0x09 && value != 0x0A {
                #expect(!CharacterRules.isAllowed(value), "\(CharacterRules.codePoint(value)) is a control character")
            }
            if properties.isBidiControl {
                #expect(!CharacterRules.isAllowed(value), "\(CharacterRules.codePoint(value)) is a bidi control")
            }
            let named: Set<UInt32> = [0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF]
            if !CharacterRules.isAllowed(value) {
                #expect(properties.generalCategory == .control || properties.isBidiControl || named.contains(value),
                        "\(CharacterRules.codePoint(value)) is refused but in none of the named classes")
            }
        }
    }

    @Test("tab and line feed stay allowed in decoded values; a decoded line break stays refused in a title")
    func tabAndNewlineInValues() throws {
        let parsed = try MemoryParser().parse(Array(MemoryFixtures.withBody(#"title: "a\tb""# + "\n" + #"body: "one\ntwo\tthree""#).utf8))
        #expect(parsed.memory.body.title == "a\tb")
        #expect(parsed.memory.body.body == "one\ntwo\tthree")
        #expect(Self.verdict(MemoryFixtures.withBody(#"title: "one\ntwo""#)) != .accepted)
    }

    @Test("a message never carries a refused character, only its code point")
    func messagesNeverEchoTheCharacter() {
        for text in [#"title: "\e[2K""#, #"title: "\u202e""#, #"title: "\x9b""#, "title: a\u{202E}", "title: a\u{9B}"] {
            guard case .refused(_, let message) = Self.verdict(MemoryFixtures.withBody(text)) else {
                Issue.record("accepted \(text)")
                continue
            }
            #expect(message.unicodeScalars.allSatisfy { CharacterRules.isAllowed($0.value) && $0 != "\n" }, "\(message)")
        }
        // A value quoted in a message has anything refused made visible.
        #expect(MemoryProblem.quote("a\u{1B}b\u{202E}c\u{9B}") == #"a\u{001B}b\u{202E}c\u{009B}"#)
    }
}

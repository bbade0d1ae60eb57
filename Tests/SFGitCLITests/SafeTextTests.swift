import Foundation
import SFGit
import SFGitMemory
import SFGitTestSupport
import Testing

/// The one escaping renderer (`SafeText`).
@Suite("SafeText")
struct SafeTextTests {
    @Test("control, DEL, C1 and bidi characters are shown as escapes; printable text is untouched")
    func escapes() {
        #expect(SafeText.escape("a\u{1B}[2Kb") == #"a\u{001B}[2Kb"#)
        #expect(SafeText.escape("\u{1B}]0;title\u{07}") == #"\u{001B}]0;title\u{0007}"#)
        #expect(SafeText.escape("x\u{7F}\u{85}\u{9B}") == #"x\u{007F}\u{0085}\u{009B}"#)
        #expect(SafeText.escape("txt\u{202E}gpj.exe \u{2066}\u{200F}\u{061C}") == #"txt\u{202E}gpj.exe \u{2066}\u{200F}\u{061C}"#)
        #expect(SafeText.escape("zero\u{200B}width \u{FEFF} tag\u{E0041}") == #"zero\u{200B}width \u{FEFF} tag\u{E0041}"#)
        #expect(SafeText.escape("a\u{2028}b") == #"a\u{2028}b"#)
        for plain in ["kimi-coding/k2p5 drops requests around 03:00 UTC", "café — naïve ✓ 日本語 עברית العربية", "👩‍💻 🇫🇷", "tab\there", #"C:\path\u{1B}"#] {
            #expect(SafeText.escape(plain) == plain)
            #expect(!SafeText.needsEscaping(plain))
        }
    }

    @Test("one line: line feeds and carriage returns are escaped; several lines keep line feeds only")
    func contexts() {
        #expect(SafeText.escape("one\ntwo\r\nthree") == #"one\ntwo\r\nthree"#)
        #expect(SafeText.escape("one\ntwo\r\nthree", for: .lines) == "one\ntwo\\r\nthree")
        #expect(SafeText.escape("a\tb", for: .line) == "a\tb")
    }

    @Test("no character that needs escaping survives, for every code point; escaping twice changes nothing")
    func nothingSurvives() {
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = "a" + String(Character(scalar)) + "b"
            for context in [SafeText.Context.line, .lines] {
                let escaped = SafeText.escape(text, for: context)
                if !CharacterRules.isAllowed(value) || (value == 0x0A && context == .line) {
                    #expect(escaped != text, "\(CharacterRules.codePoint(value)) not escaped")
                }
                #expect(!escaped.unicodeScalars.contains { SafeText.needsEscape($0, in: context) })
                #expect(SafeText.escape(escaped, for: context) == escaped)
            }
        }
    }

    @Test("GitHub annotation values: escaped as one line, then with the runner's %, CR, LF, ':' and ',' escaping")
    func github() {
        #expect(SafeText.githubMessage("50% of\nrequests\r\u{1B}[2K") == #"50%25 of\nrequests\r\u{001B}[2K"#)
        #expect(SafeText.githubProperty("dir/a:b,c%.yaml") == "dir/a%3Ab%2Cc%25.yaml")
        let forged = SafeText.githubProperty("x.yaml\n::error file=y::forged")
        #expect(!forged.contains("\n") && !forged.contains("::"))
    }

    @Test("JSON keeps exact values but writes what a terminal must not see as \\u escapes")
    func json() throws {
        let value = "a\u{1B}b\u{9B}c\u{202E}d\u{7F}e\u{E0041}f é 👩‍💻"
        let encoded = try JSONEncoder().encode(["title": value])
        let safe = SafeText.escapeJSON(encoded)
        let text = String(decoding: safe, as: UTF8.self)
        #expect(!text.unicodeScalars.contains { SafeText.needsEscape($0, in: .line) }, "\(text)")
        #expect(text.contains(#"\u009b"#) && text.contains(#"\u202e"#) && text.contains(#"\udb40\udc41"#))
        #expect(try JSONDecoder().decode([String: String].self, from: safe)["title"] == value)
        let plain = try JSONEncoder().encode(["title": "plain é"])
        #expect(SafeText.escapeJSON(plain) == plain)
    }

    @Test("the byte scan decides as the scalar rule does, for random text of every kind of character")
    func byteScanMatchesScalars() throws {
        // Plain ASCII, controls, C1, bidi and format characters, other scripts, emoji, astral.
        let alphabet: [Unicode.Scalar] = ["a", "Z", " ", "\t", "\n", "\r", "\u{0}", "\u{1B}", "\u{7F}", "\u{80}", "\u{9F}", "\u{A0}", "\u{AD}", "é",
                                          "\u{61C}", "\u{600}", "\u{200B}", "\u{200C}", "\u{200D}", "\u{200E}", "\u{2028}", "\u{202E}", "\u{2066}",
                                          "\u{FEFF}", "\u{FFFD}", "\u{FFFE}", "日", "ע", "👩", "\u{E0041}", "\u{1D173}", "\"", "\\", "<", "&"]
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2_000 {
            let length = Int(generator.next() % 24)
            var text = String.UnicodeScalarView()
            for _ in 0..<length { text.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            let string = String(text)
            for context in [SafeText.Context.line, .lines] {
                #expect(SafeText.needsEscaping(string, for: context) == string.unicodeScalars.contains { SafeText.needsEscape($0, in: context) })
            }
            // escapeJSON against the scalar-by-scalar rule it replaced.
            let encoded = try JSONEncoder().encode([string])
            var expected = ""
            for scalar in String(decoding: encoded, as: UTF8.self).unicodeScalars {
                guard scalar.value != 0x0A, SafeText.needsEscape(scalar, in: .lines) else { expected.unicodeScalars.append(scalar); continue }
                for unit in String(scalar).utf16 { expected += String(format: "\\u%04x", unit) }
            }
            #expect(String(decoding: SafeText.escapeJSON(encoded), as: UTF8.self) == expected)
            #expect(try JSONDecoder().decode([String].self, from: SafeText.escapeJSON(encoded)) == [string])
        }
        // Bytes that are not UTF-8 are left as they are.
        let broken = Data([0x22, 0xC3, 0x22, 0xE2, 0x80, 0xAE, 0x22])
        #expect(SafeText.escapeJSON(broken) == broken)
    }
}

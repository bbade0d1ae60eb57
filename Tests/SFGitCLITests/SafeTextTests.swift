import Foundation
import SFGit
import SFGitMemory
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
}

import Foundation
import SFGit
import SFGitTestSupport
@testable import sfgit
import Testing

/// The MCP loop's own JSON writer: what it writes is one line of JSON any parser reads back.
@Suite("MCP: the JSON writer")
struct MCPValueTests {
    // (U+FEFF is left out of the alphabet: Foundation's JSON parser on Linux sometimes drops it.)
    @Test("strings with quotes, backslashes, every C0 control, DEL, C1, bidi and non-BMP characters read back as written, on one line",
          arguments: [1, 2, 3, 4, 5] as [UInt64])
    func stringsRoundTrip(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let alphabet: [Unicode.Scalar] = (0..<0x20).map { Unicode.Scalar($0)! } + ["\"", "\\", "/", "a", "Z", " ", "\u{7F}", "\u{85}", "\u{9B}",
                                                                                  "\u{202E}", "\u{2028}", "é", "漢", "\u{1F600}"]
        for _ in 0..<200 {
            var text = ""
            for _ in 0..<Int.random(in: 0...40, using: &generator) { text.unicodeScalars.append(alphabet.randomElement(using: &generator)!) }
            let value = MCPValue.object([("text", .string(text)), ("list", .array([.string(text), .integer(7)]))])
            let data = value.serialized()
            #expect(!data.contains(0x0A) && !data.contains(0x0D), "a raw line break in \(String(decoding: data, as: UTF8.self))")
            // Nothing a terminal must not see raw (DEL, C1, bidi, U+2028): the reply is not scanned again.
            #expect(!String(decoding: data, as: UTF8.self).unicodeScalars.contains { SafeText.needsEscape($0, in: .line) },
                    "a raw control in \(String(decoding: data, as: UTF8.self))")
            let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(parsed["text"] as? String == text)
            #expect((parsed["list"] as? [Any])?.first as? String == text)
        }
    }
}

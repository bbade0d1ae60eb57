import Foundation
import SFGitMemory
import SFGitTestSupport
import Testing

/// `JSONText` and `JSONWriter`: the same values and bytes as Foundation's JSON with sfgit's
/// settings, over random values; strict about what is not JSON.
@Suite("JSON text read and written by hand")
struct JSONTextTests {
    /// Strings with every kind of character an escape or a sort can trip on.
    static let alphabet: [String] = ["a", "Z", "0", " ", "/", "\"", "\\", "\u{0}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1B}", "\u{1F}",
                                     "\u{7F}", "\u{85}", "é", "e\u{301}", "\u{2028}", "\u{202E}", "日本", "～", "👩‍💻", "\u{10000}", "\u{FEFF}", "_", "~"]

    static func randomString(_ generator: inout SeededGenerator) -> String {
        (0..<Int(generator.next() % 6)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
    }

    static let doubles: [Double] = [0, -0.0, 0.5, 7, 100, 764.37, 1e15, 2.5e15, 1e16, 1e20, 1e21, 1e-7, 5e-324, 1e300, -1.5, 0.1 + 0.2,
                                    123_456_789_012_345_678, 9.223372036854776e18, -9.223372036854776e18]

    static func randomValue(_ generator: inout SeededGenerator, depth: Int = 0) -> JSONValue {
        switch generator.next() % (depth > 3 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(generator.next() % 2 == 0)
        case 2: return .integer([0, 1, -1, 42, Int64.max, Int64.min, Int64(generator.next() % 1_000_000)][Int(generator.next() % 7)])
        case 3: return .number(doubles[Int(generator.next() % UInt64(doubles.count))] * (generator.next() % 2 == 0 ? 1 : 1.000001))
        case 4: return .string(randomString(&generator))
        case 5: return .array((0..<Int(generator.next() % 4)).map { _ in randomValue(&generator, depth: depth + 1) })
        default:
            var pairs: [(String, JSONValue)] = []
            var keys = Set<String>()
            for _ in 0..<Int(generator.next() % 5) {
                let key = randomString(&generator)
                if keys.insert(key).inserted { pairs.append((key, randomValue(&generator, depth: depth + 1))) }
            }
            return .object(pairs)
        }
    }

    /// How the cache's values were read before: JSONDecoder, strings first, then integers.
    struct FoundationRead: Decodable {
        let value: JSONValue
        init(from decoder: Decoder) throws {
            let data = try decoder.singleValueContainer()
            if data.decodeNil() { value = .null; return }
            if let string = try? data.decode(String.self) { value = .string(string); return }
            if let int = try? data.decode(Int64.self) { value = .integer(int); return }
            if let double = try? data.decode(Double.self) { value = .number(double); return }
            if let bool = try? data.decode(Bool.self) { value = .bool(bool); return }
            if let array = try? data.decode([FoundationRead].self) { value = .array(array.map(\.value)); return }
            let object = try data.decode([String: FoundationRead].self)
            value = .object(object.sorted { $0.key < $1.key }.map { ($0.key, $0.value.value) })
        }
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    @Test("written byte for byte as JSONEncoder writes it, and read back as JSONDecoder reads it, for random values")
    func sameAsFoundation() throws {
        var generator = SeededGenerator(seed: 2026)
        for _ in 0..<3_000 {
            let value = Self.randomValue(&generator)
            let expected = try Self.encoder().encode(value)
            var writer = JSONWriter()
            writer.value(value)
            #expect(!writer.failed)
            #expect(String(decoding: writer.bytes, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
            let read = try JSONText.parse(String(decoding: expected, as: UTF8.self))
            let foundation = try JSONDecoder().decode(FoundationRead.self, from: expected).value
            #expect(read == foundation, "\(String(decoding: expected, as: UTF8.self)): \(read) vs \(foundation)")
        }
    }

    @Test("numbers read as JSONDecoder reads them into Int64 or Double")
    func numbers() throws {
        let cases: [(String, JSONValue)] = [
            ("100", .integer(100)), ("100.0", .integer(100)), ("1e2", .integer(100)), ("1E2", .integer(100)), ("1e+16", .integer(10_000_000_000_000_000)),
            ("1e+20", .number(1e20)), ("-0", .integer(0)), ("-0.0", .integer(0)), ("9223372036854775807", .integer(.max)),
            ("-9223372036854775808", .integer(.min)), ("9223372036854775808", .number(9.223372036854776e18)), ("0.5", .number(0.5)),
            ("1.2345691246913469e+17", .integer(123_456_912_469_134_690)), ("1.50e1", .integer(15)),
            ("9.223372036854775808e18", .number(9.223372036854775808e18)), ("0.0e5", .integer(0)), ("12e-1", .number(1.2)),
        ]
        for (text, value) in cases {
            #expect(try JSONText.parse(text) == value, "\(text)")
            #expect(try JSONDecoder().decode(FoundationRead.self, from: Data(text.utf8)).value == value, "\(text)")
        }
        // Where Foundation's reading is not exact (JSONEncoder never writes these), the rule
        // stays the exact decimal value.
        #expect(try JSONText.parse("-9.223372036854775808e18") == .integer(.min))
        #expect(try JSONText.parse("1e-400") == .number(0))
    }

    @Test("what is not JSON is refused, with where", arguments: [
        #""\ud800""#, #""\udc00\ud800""#, "\"a\u{0}\"", "\"a\nb\"", "01", "-", "1.", ".5", "1e", "tru", "nul", "+1",
        #"{"a" 1}"#, #"{1:2}"#, #"[1 2]"#, #""\x""#, #""\u12G4""#, #""abc"#, "[", "", " ", "1 2", "1e400", "NaN", #"'a'"#,
    ])
    func refused(_ text: String) {
        #expect(throws: JSONText.Malformed.self) { try JSONText.parse(text) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(FoundationRead.self, from: Data(text.utf8)) }
    }

    @Test("trailing commas are refused, stricter than JSONDecoder (which takes them)", arguments: [#"[1,]"#, #"{"a":1,}"#])
    func trailingCommas(_ text: String) throws {
        #expect(throws: JSONText.Malformed.self) { try JSONText.parse(text) }
        _ = try JSONDecoder().decode(FoundationRead.self, from: Data(text.utf8))
    }

    @Test("bytes that are not UTF-8 inside a string are refused; nesting stops at 512")
    func limits() throws {
        for bytes: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22], [0x22, 0x5C, 0x6E, 0xC3, 0x28, 0x22]] {
            #expect(throws: JSONText.Malformed.self) { try bytes.withUnsafeBufferPointer { try JSONText.parse($0) } }
        }
        let deep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(try JSONText.parse(deep) != .null)
        let deeper = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(throws: JSONText.Malformed.self) { try JSONText.parse(deeper) }
        let hostile = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONText.Malformed.self) { try JSONText.parse(hostile) }
    }

    @Test("escapes and surrogate pairs read; the first of equal keys wins, as JSONDecoder keeps it")
    func escapesAndKeys() throws {
        #expect(try JSONText.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#) == .string("a\"b\\c/d\u{8}\u{C}\n\r\té😀"))
        #expect(try JSONText.parse(#" {"b":1, "a":[true,false,null], "b":2} "#) == .object([("a", .array([.bool(true), .bool(false), .null])), ("b", .integer(1))]))
        #expect(try JSONDecoder().decode([String: Int].self, from: Data(#"{"a":1,"a":2}"#.utf8)) == ["a": 1])
    }

    @Test("NaN and infinity are not written as JSON: the writer says so")
    func nonFinite() {
        for value in [Double.nan, .infinity, -.infinity] {
            var writer = JSONWriter()
            writer.value(.array([.number(value)]))
            #expect(writer.failed)
        }
    }
}

import SFGitTestSupport
import Testing
@testable import SFGitMemory

/// Every error class, each with its exact position. The fixture's front matter is lines 1–9.
@Suite("Memory parser errors")
struct ParserErrorTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var storePath: String?
        var code: String
        var line: Int
        var column: Int
        var messageContains: String
        var testDescription: String { name }

        init(_ name: String, _ text: String, path: String? = nil, code: String, _ line: Int, _ column: Int, _ message: String) {
            self.init(name, bytes: Array(text.utf8), path: path, code: code, line, column, message)
        }

        init(_ name: String, bytes: [UInt8], path: String? = nil, code: String, _ line: Int, _ column: Int, _ message: String) {
            self.name = name
            self.bytes = bytes
            self.storePath = path
            self.code = code
            self.line = line
            self.column = column
            self.messageContains = message
        }
    }

    static let fm = MemoryFixtures.frontMatter
    static let id = MemoryFixtures.id

    static let cases: [Case] = [
        Case("duplicate key", MemoryFixtures.withBody("title: a\ntitle: b"), code: "duplicate-key", 11, 1, "duplicate key 'title' (first defined on line 10)"),
        Case("1 and '1' are the same key", MemoryFixtures.withBody("title: a\n1: x\n'1': y"), code: "duplicate-key", 12, 1, "duplicate key '1'"),
        Case("nested duplicate key", MemoryFixtures.withBody("title: a\nx:\n  k: 1\n  k: 2"), code: "duplicate-key", 13, 3, "duplicate key 'k' (first defined on line 12)"),
        Case("anchor", MemoryFixtures.withBody("title: a\nbody: &b text"), code: "anchor", 11, 7, "anchor '&b'"),
        Case("alias", MemoryFixtures.withBody("title: a\nbody: *b"), code: "alias", 11, 7, "alias '*b'"),
        Case("explicit tag", MemoryFixtures.withBody("title: !!str a"), code: "explicit-tag", 10, 8, "explicit tag 'tag:yaml.org,2002:str'"),
        Case("local tag", MemoryFixtures.withBody("title: a\nx: !custom {a: 1}"), code: "explicit-tag", 11, 4, "explicit tag '!custom'"),
        Case("too deep", MemoryFixtures.withBody("title: a\nx: " + String(repeating: "[", count: 16) + String(repeating: "]", count: 16)), code: "too-deep", 11, 19, "nesting deeper than 16 levels"),
        Case("complex key", MemoryFixtures.withBody("title: a\n? [k]\n: v"), code: "complex-key", 11, 3, "plain string"),
        Case("empty key", MemoryFixtures.withBody("title: a\n'': v"), code: "empty-key", 11, 1, "must not be empty"),
        Case("null key", MemoryFixtures.withBody("title: a\n~: v"), code: "empty-key", 11, 1, "must not be empty"),
        Case("merge key", MemoryFixtures.withBody("title: a\n<<: {body: x}"), code: "merge-key", 11, 1, "merge key '<<'"),
        Case("three documents", MemoryFixtures.withBody("title: a\n---\nx: 1"), code: "too-many-documents", 11, 1, "more than 2 YAML documents"),
        Case("only front matter", fm.replacingOccurrences(of: "\n---", with: "") + "\n", code: "missing-document", 9, 1, "missing the body document"),
        Case("empty file", "", code: "missing-document", 1, 1, "missing the front matter document"),
        Case("front matter not a mapping", "---\n- a\n---\ntitle: x\n", code: "not-a-mapping", 2, 1, "front matter must be a mapping, found a list"),
        Case("body not a mapping", fm + "\njust text\n", code: "not-a-mapping", 10, 1, "body must be a mapping, found string 'just text'"),
        Case("missing author", fm.replacingOccurrences(of: "author: claude\n", with: "") + "\ntitle: a\n", code: "missing-field", 2, 1, "missing required field 'author'"),
        Case("missing title", MemoryFixtures.withBody("body: text"), code: "missing-field", 10, 1, "missing required field 'title'"),
        Case("schema as string", fm.replacingOccurrences(of: "schema: 1", with: "schema: '1'") + "\ntitle: a\n", code: "wrong-type", 2, 9, "field 'schema' must be an integer, found string '1'"),
        Case("tags not a list", fm.replacingOccurrences(of: "tags: [postgres]", with: "tags: postgres") + "\ntitle: a\n", code: "wrong-type", 8, 7, "field 'tags' must be a list, found string 'postgres'"),
        Case("title as a number", MemoryFixtures.withBody("title: 404"), code: "wrong-type", 10, 8, "field 'title' must be a string, found integer '404'"),
        Case("title as a boolean", MemoryFixtures.withBody("title: true"), code: "wrong-type", 10, 8, "found boolean 'true'"),
        Case("lower-case id", fm.replacingOccurrences(of: id, with: id.lowercased()) + "\ntitle: a\n", code: "invalid-value", 3, 5, "field 'id' has invalid value '\(id.lowercased())'"),
        Case("bad kind", fm.replacingOccurrences(of: "kind: learning", with: "kind: Learning") + "\ntitle: a\n", code: "invalid-value", 4, 7, "field 'kind' has invalid value 'Learning'"),
        Case("upper-case host", fm.replacingOccurrences(of: "host: build-07", with: "host: Build-07") + "\ntitle: a\n", code: "invalid-value", 6, 7, "field 'host' has invalid value 'Build-07'"),
        Case("author with @", fm.replacingOccurrences(of: "author: claude", with: "author: claude@x") + "\ntitle: a\n", code: "invalid-value", 5, 9, "field 'author' has invalid value 'claude@x'"),
        Case("two-line title", MemoryFixtures.withBody("title: \"a\\nb\""), code: "invalid-value", 10, 8, "a non-empty single line"),
        Case("breaker state", fm.replacingOccurrences(of: "kind: learning", with: "kind: circuit-breaker") + "\ntitle: a\nsubject: s\nstate: ajar\n", code: "invalid-value", 12, 8, "open, half-open or closed"),
        Case("offset timestamp", fm.replacingOccurrences(of: "09:30:00Z", with: "11:30:00+02:00") + "\ntitle: a\n", code: "invalid-timestamp", 7, 14, "field 'recorded_at' has invalid value '2026-04-12T11:30:00+02:00'"),
        Case("impossible date", fm.replacingOccurrences(of: "2026-04-12", with: "2026-02-30") + "\ntitle: a\n", code: "invalid-timestamp", 7, 14, "2026-02-30T09:30:00Z"),
        Case("schema 0", fm.replacingOccurrences(of: "schema: 1", with: "schema: 0") + "\ntitle: a\n", code: "unsupported-schema", 2, 9, "schema '0' is not supported"),
        Case("id differs from path", MemoryFixtures.valid, path: "memories/learning/2026/04/01KP0GDKE0R84P57VFQVC2R1YE.yaml", code: "id-path-mismatch", 3, 5, "does not match the file name's id '01KP0GDKE0R84P57VFQVC2R1YE'"),
        Case("kind differs from path", MemoryFixtures.valid, path: "memories/note/2026/04/\(id).yaml", code: "kind-path-mismatch", 4, 7, "kind 'learning' does not match the path's kind 'note'"),
        Case("month differs from id", MemoryFixtures.valid, path: "memories/learning/2026/05/\(id).yaml", code: "date-path-mismatch", 1, 1, "expected '2026/04'"),
        Case("bad file name", MemoryFixtures.valid, path: "memories/learning/2026/04/\(id).yml", code: "invalid-path", 1, 1, "is not <ULID>.yaml"),
        Case("tab indentation", MemoryFixtures.withBody("title: a\nx:\n\ty: 1"), code: "tab-indentation", 12, 1, "tab used as indentation"),
        Case("tab after spaces", MemoryFixtures.withBody("title: a\nx:\n  \ty: 1"), code: "tab-indentation", 12, 3, "tab used as indentation"),
        Case("syntax error", MemoryFixtures.withBody("title: [a"), code: "yaml-syntax", 11, 1, "YAML syntax:"),
        Case("BOM", bytes: [0xEF, 0xBB, 0xBF] + Array(MemoryFixtures.valid.utf8), code: "byte-order-mark", 1, 1, "byte order mark"),
        Case("NUL", bytes: Array(MemoryFixtures.withBody("title: a\u{0}b").utf8), code: "control-character", 10, 9, "U+0000"),
        Case("escape character", bytes: Array(MemoryFixtures.withBody("title: é\u{1B}").utf8), code: "control-character", 10, 9, "U+001B"),
        Case("lone carriage return", bytes: Array(MemoryFixtures.withBody("title: a\rb").utf8), code: "control-character", 10, 9, "U+000D"),
        Case("C1 control", bytes: Array(MemoryFixtures.withBody("title: a\u{85}").utf8), code: "control-character", 10, 9, "C1 control character U+0085"),
        Case("raw bidi override", bytes: Array(MemoryFixtures.withBody("title: a\u{202E}b").utf8), code: "control-character", 10, 9, "bidi control character U+202E is not allowed"),
        Case("raw bidi isolate", bytes: Array(MemoryFixtures.withBody("title: a\nbody: x\u{2066}y").utf8), code: "control-character", 11, 8, "bidi control character U+2066"),
        Case("raw right-to-left mark", bytes: Array(MemoryFixtures.withBody("title: a\u{200F}").utf8), code: "control-character", 10, 9, "U+200F"),
        Case("raw DEL", bytes: Array(MemoryFixtures.withBody("title: a\u{7F}").utf8), code: "control-character", 10, 9, "control character U+007F"),
        // Decoded scalars obey the same rule: escapes in double-quoted scalars are refused at the scalar's start.
        Case("escaped ESC (cursor up, erase line)", MemoryFixtures.withBody(#"title: "a\e[1A\e[2Kb""#), code: "decoded-control-character", 10, 8, "the value starting here decodes to control character U+001B"),
        Case("escaped carriage return", MemoryFixtures.withBody(#"title: "a\rb""#), code: "decoded-control-character", 10, 8, "U+000D"),
        Case("escaped BEL", MemoryFixtures.withBody("title: a\n" + #"body: "ding\a""#), code: "decoded-control-character", 11, 7, "control character U+0007"),
        Case("OSC title sequence", MemoryFixtures.withBody(#"title: "\e]0;pwned\a""#), code: "decoded-control-character", 10, 8, "U+001B"),
        Case("escaped NUL", MemoryFixtures.withBody(#"title: "a\0""#), code: "decoded-control-character", 10, 8, "U+0000"),
        Case("escaped DEL", MemoryFixtures.withBody(#"title: "a\x7f""#), code: "decoded-control-character", 10, 8, "control character U+007F"),
        Case("escaped C1 \\x85", MemoryFixtures.withBody(#"title: "a\x85""#), code: "decoded-control-character", 10, 8, "C1 control character U+0085"),
        Case("escaped next line \\N", MemoryFixtures.withBody(#"title: "a\Nb""#), code: "decoded-control-character", 10, 8, "U+0085"),
        Case("escaped CSI \\u009b", MemoryFixtures.withBody(#"title: "\u009b2K""#), code: "decoded-control-character", 10, 8, "C1 control character U+009B"),
        Case("escaped bidi override", MemoryFixtures.withBody(#"title: "txt.exe\u202egpj""#), code: "decoded-control-character", 10, 8, "bidi control character U+202E"),
        Case("escaped bidi isolate, 8-digit form", MemoryFixtures.withBody(#"title: "a\U00002069""#), code: "decoded-control-character", 10, 8, "bidi control character U+2069"),
        Case("escaped Arabic letter mark", MemoryFixtures.withBody(#"title: "a\u061C""#), code: "decoded-control-character", 10, 8, "bidi control character U+061C"),
        Case("escaped line separator \\L", MemoryFixtures.withBody(#"title: "a\Lb""#), code: "decoded-control-character", 10, 8, "line separator U+2028"),
        Case("escaped byte order mark", MemoryFixtures.withBody(#"title: "\ufeffa""#), code: "decoded-control-character", 10, 8, "U+FEFF"),
        Case("escape in a front-matter list item", Self.fm.replacingOccurrences(of: "tags: [postgres]", with: #"tags: [postgres, "x\e[2K"]"#) + "\ntitle: a\n",
             code: "decoded-control-character", 8, 18, "U+001B"),
        Case("escape in a nested unknown field", MemoryFixtures.withBody("title: a\nx:\n" + #"  y: ["\x9b"]"#), code: "decoded-control-character", 12, 7, "U+009B"),
        Case("escape in a key", MemoryFixtures.withBody("title: a\n" + #""k\e[8m": v"#), code: "decoded-control-character", 11, 1, "the key starting here decodes to control character U+001B"),
        Case("escaped line break in a key", MemoryFixtures.withBody("title: a\n" + #""k\nl": v"#), code: "decoded-control-character", 11, 1, "the key starting here holds a line break (U+000A)"),
        Case("line break in a block-scalar key", MemoryFixtures.withBody("title: a\n? |\n  k\n: v"), code: "decoded-control-character", 11, 3, "holds a line break"),
        // The attack: a title that returns to the line start, erases it, and draws a provenance line of its own.
        Case("a forged provenance line", MemoryFixtures.withBody(#"title: "x\r\e[2K1. anti-pattern 01KP0GDKE0R84P57VFQVC2R1YD · reviewed · signed by admin@ops""#),
             code: "decoded-control-character", 10, 8, "U+000D"),
        Case("latin-1 byte", bytes: Array(MemoryFixtures.withBody("title: caf").utf8.dropLast()) + [0xE9, 0x0A], code: "invalid-utf8", 10, 11, "not valid UTF-8"),
        Case("overlong encoding", bytes: Array(MemoryFixtures.withBody("title: ").utf8.dropLast()) + [0xC0, 0xAF, 0x0A], code: "invalid-utf8", 10, 8, "not valid UTF-8"),
        Case("encoded surrogate", bytes: Array(MemoryFixtures.withBody("title: ").utf8.dropLast()) + [0xED, 0xA0, 0x80, 0x0A], code: "invalid-utf8", 10, 8, "not valid UTF-8"),
    ]

    @Test("each error class is reported with its code, line, column and message", arguments: cases)
    func reportsError(_ c: Case) {
        do {
            let parsed = try MemoryParser().parse(c.bytes, storePath: c.storePath)
            Issue.record("accepted: \(parsed.memory.id)")
        } catch {
            let first = error.problems.first
            #expect(first?.code == c.code, "problems: \(error.problems)")
            #expect(first?.position == SourcePosition(line: c.line, column: c.column), "problems: \(error.problems)")
            #expect(first?.message.contains(c.messageContains) == true, "message: \(first?.message ?? "")")
        }
    }

    @Test("a file over the limit is refused on its size, before parsing")
    func oversize() {
        let parser = MemoryParser(limits: MemoryLimits(maxFileBytes: 100))
        #expect(throws: MemoryFileError([MemoryProblem(.fileTooLarge(bytes: 101, limit: 100), at: .start)])) {
            try parser.checkSize(101)
        }
        // Garbage over the limit still yields the size error: nothing was parsed.
        #expect(throws: MemoryFileError([MemoryProblem(.fileTooLarge(bytes: 200, limit: 100), at: .start)])) {
            try parser.parse([UInt8](repeating: 0xFF, count: 200))
        }
    }

    @Test("field problems are all reported, in position order")
    func collectsEveryFieldProblem() {
        let text = Self.fm.replacingOccurrences(of: "author: claude", with: "author: Claude")
            .replacingOccurrences(of: "2026-04-12T09:30:00Z", with: "yesterday") + "\ntitle: 7\n"
        do {
            _ = try MemoryParser().parse(Array(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.map(\.code) == ["invalid-value", "invalid-timestamp", "wrong-type"])
            #expect(error.problems.map(\.position.line) == [5, 7, 10])
        }
    }

    @Test("tabs inside a literal block are content, not indentation")
    func tabsInBlockScalar() throws {
        let text = MemoryFixtures.withBody("title: go code\nbody: |\n  func f() {\n  \treturn\n  }")
        let parsed = try MemoryParser().parse(Array(text.utf8))
        #expect(parsed.memory.body.body == "func f() {\n\treturn\n}\n")
    }

    @Test("CRLF line ends are accepted")
    func crlf() throws {
        let text = MemoryFixtures.valid.replacingOccurrences(of: "\n", with: "\r\n")
        let parsed = try MemoryParser().parse(Array(text.utf8))
        #expect(parsed.memory.body.title == "a valid learning")
    }

    /// README, "Strict parsing": tabs in indentation are judged once the YAML is read (inside a
    /// block scalar a tab is text), so a file that breaks a YAML rule too reports that rule; when
    /// libyaml itself gives up, the tab is named as the likely cause.
    @Test("a tab in indentation is reported after the YAML rules, and instead of libyaml's syntax error")
    func tabIndentationOrder() {
        func codes(_ body: String) -> [String] {
            do {
                _ = try MemoryParser().parse(Array(MemoryFixtures.withBody(body).utf8))
                return []
            } catch {
                return error.problems.map(\.code)
            }
        }
        #expect(codes("title: t\nx:\n\t- a") == ["tab-indentation"])
        #expect(codes("title: t\nbody: |\n  text\n  \tafter the block's indentation a tab is text\n") == [])
        // An anchor before a tab-indented line: the anchor is reported, the tab is not reached.
        #expect(codes("title: t\nz: &anchor 1\nx:\n\t- a") == ["anchor"])
    }
}

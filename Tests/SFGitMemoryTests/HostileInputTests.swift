import Foundation
import PropertyBased
import SFGitTestSupport
import Testing
@testable import SFGitMemory

@Suite("Hostile input")
struct HostileInputTests {
    /// Nine levels of nine aliases each: 9^9 leaves if anything expanded it.
    static let billionLaughs: String = {
        var lines = [MemoryFixtures.frontMatter, "title: lol", "l0: &l0 [lol]"]
        for level in 1...9 {
            lines.append("l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test("an alias bomb is refused at its first anchor, before any alias is read")
    func billionLaughsRefused() {
        do {
            _ = try MemoryParser().parse(Array(Self.billionLaughs.utf8))
            Issue.record("accepted an alias bomb")
        } catch {
            #expect(error.problems == [MemoryProblem(.yaml(.anchor(name: "l0")), at: SourcePosition(line: 11, column: 5))])
        }
    }

    @Test("aliases used as mapping keys (the hash bomb) are refused at the first alias")
    func hashBombRefused() {
        let text = MemoryFixtures.withBody("title: x\n? [*l7, 0]\n: v")
        do {
            _ = try MemoryParser().parse(Array(text.utf8))
            Issue.record("accepted")
        } catch {
            // The sequence key is refused first: keys must be plain strings.
            #expect(error.problems.first?.code == "complex-key")
        }
        let scalarAliasKey = MemoryFixtures.withBody("title: x\n*l7 : v")
        do {
            _ = try MemoryParser().parse(Array(scalarAliasKey.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.first?.code == "alias")
            #expect(error.problems.first?.position == SourcePosition(line: 11, column: 1))
        }
    }

    @Test("flow nesting far beyond the limit is refused at the limit, not by libyaml's stack")
    func deepFlowNesting() {
        let text = MemoryFixtures.withBody("title: x\nx: " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000))
        do {
            _ = try MemoryParser().parse(Array(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.first?.code == "too-deep")
        }
    }

    /// Every outcome is either a memory or at least one problem at a real position.
    static func assertWellFormedOutcome(_ bytes: [UInt8]) {
        do {
            let parsed = try MemoryParser().parse(bytes)
            // Whatever is accepted must survive the writer.
            let written = try MemorySerializer().serialize(parsed.memory)
            #expect(try MemoryParser().parse(written).memory == parsed.memory)
        } catch let error as MemoryFileError {
            #expect(!error.problems.isEmpty)
            for problem in error.problems {
                #expect(problem.position.line >= 1 && problem.position.column >= 1)
                #expect(!problem.message.isEmpty)
            }
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    /// Random bytes almost never get past the byte checks (BOM, UTF-8, control characters): this
    /// exercises those checks; the YAML-shaped inputs below exercise libyaml and the reader.
    @Test("10,000 random byte strings never crash the byte checks")
    func randomBytes() async {
        await propertyCheck(count: 10_000, input: Gen.uint8().array(of: 0...400)) { bytes in
            Self.assertWellFormedOutcome(bytes)
        }
    }

    /// Codes a file gets before libyaml sees it.
    static let byteLevelCodes: Set<String> = ["byte-order-mark", "invalid-utf8", "control-character", "file-too-large"]

    @Test("10,000 random YAML-shaped files of allowed characters reach libyaml and never crash the parser")
    func randomYAMLShapedFiles() {
        var reachedYAML = 0, accepted = 0, refusedByYAMLRules = 0, longest = 0
        var codes: Set<String> = []
        for seed in 0..<10_000 {
            var generator = YAMLShapedFiles(seed: UInt64(seed))
            let bytes = Array(generator.file().utf8)
            Self.assertWellFormedOutcome(bytes)
            do {
                _ = try MemoryParser().parse(bytes)
                accepted += 1
                reachedYAML += 1
                longest = max(longest, bytes.count)
            } catch {
                let code = error.problems.first?.code ?? ""
                codes.insert(code)
                if !Self.byteLevelCodes.contains(code) {
                    reachedYAML += 1
                    longest = max(longest, bytes.count)
                }
                if ["yaml-syntax", "anchor", "alias", "explicit-tag", "duplicate-key", "complex-key", "empty-key", "too-deep",
                    "decoded-control-character", "too-many-documents", "tab-indentation"].contains(code) {
                    refusedByYAMLRules += 1
                }
            }
        }
        // Every input is made of allowed characters: each one must reach libyaml. And the mix is
        // broad: many accepted, many refused by the YAML rules, long files among them.
        #expect(reachedYAML == 10_000, "only \(reachedYAML) of 10,000 reached libyaml; codes: \(codes.sorted())")
        #expect(accepted >= 400, "accepted \(accepted)")
        #expect(refusedByYAMLRules >= 1_000, "refused by YAML rules \(refusedByYAMLRules)")
        #expect(longest >= 1_000, "longest input reaching libyaml: \(longest) bytes")
        #expect(codes.count >= 8, "\(codes.sorted())")
    }

    @Test("random YAML-ish token soups never crash the parser")
    func randomTokens() async {
        let tokens = ["---\n", "a: ", "b:", "\n", "  ", "- ", "[", "]", "{", "}", ", ", "&x ", "*x", "!t ", "? ", ": ",
                      "|\n", ">\n", "'", "\"", "\\", "#", "\t", "é", "title: t", "schema: 1", "\r\n", "...\n", "%YAML 1.1\n"]
        await propertyCheck(count: 5_000, input: Gen.element(of: tokens).compactMap { $0 }.array(of: 0...60)) { parts in
            Self.assertWellFormedOutcome(Array(MemoryFixtures.frontMatter.utf8) + Array(parts.joined().utf8))
        }
    }

    @Test("random mutations of valid files never crash the parser")
    func mutations() async throws {
        let store = PackagePaths.examples + "/store/memories"
        let files = try FileManager.default.subpathsOfDirectory(atPath: store).filter { $0.hasSuffix(".yaml") }.sorted()
        let originals = try files.map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: store + "/" + $0))) }
        let mutation = Gen.int(in: 0..<originals.count)
            .map { index -> [UInt8] in originals[index] }
        await propertyCheck(count: 3_000, input: mutation, Gen.int(in: 0...4), Gen.int(in: 0...100_000), Gen.uint8()) { original, op, where_, byte in
            var bytes = original
            let i = where_ % max(bytes.count, 1)
            switch op {
            case 0: bytes[i] ^= byte | 1  // flip bits
            case 1: bytes.insert(byte, at: i)  // insert a byte
            case 2: bytes.remove(at: i)  // delete a byte
            case 3: bytes = Array(bytes[..<i])  // truncate
            default:  // duplicate a line
                let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
                var mutated = Array(lines)
                let line = where_ % lines.count
                mutated.insert(lines[line], at: line)
                bytes = Array(mutated.joined(separator: [0x0A]))
            }
            Self.assertWellFormedOutcome(bytes)
        }
    }
}

/// Files of a valid front matter followed by random YAML-shaped lines written only with characters
/// the byte checks allow (printable ASCII, accented and CJK letters, emoji), so that every one
/// reaches libyaml. SplitMix64 from a seed, so a failing case is named by its seed.
struct YAMLShapedFiles {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    static let keys = ["title", "body", "instead", "subject", "tags", "note", "a", "b", "x-y", "é", "日本", "k1", "'q'", "\"dq\"",
                       "title", "body", "<<", "? a", "1", "true", "null", ""]
    var counter = 0

    /// Mostly a fresh key (so that most files have no duplicate key), sometimes a hostile or repeated one.
    mutating func key() -> String {
        counter += 1
        return below(5) == 0 ? pick(Self.keys) : pick(["field", "ключ", "名前", "x"]) + "\(counter)"
    }
    static let words = ["kimi", "503", "timeout", "retry", "naïve", "café", "数据", "🙂", "👩‍💻", "a b", "x:y", "#not", "50%",
                        "2026-04-29T03:12:44Z", "0x1F", "-", "~", "yes", "[", "]", "{", "}", ",", "&a", "*a", "!t", "|", ">", "'", "\"", "\\"]
    static let escapes = ["\\u00e9", "\\n", "\\t", "\\x41", "\\\"", "\\u263A", "\\e", "\\x85", "\\u202e", "\\0"]

    mutating func text(_ maxWords: Int) -> String {
        (0..<(1 + below(maxWords))).map { _ in pick(Self.words) }.joined(separator: pick([" ", " ", "", "  "]))
    }

    mutating func value() -> String {
        switch below(12) {
        case 0: return "'" + text(4).replacingOccurrences(of: "'", with: "''") + "'"
        case 1: return "\"" + text(3).replacingOccurrences(of: "\\", with: "").replacingOccurrences(of: "\"", with: "") + (below(3) == 0 ? pick(Self.escapes) : "") + "\""
        case 2: return "[" + (0..<below(4)).map { _ in pick(["a", "b", "é", "1", "'x'", "[c]", "{k: v}"]) }.joined(separator: ", ") + "]"
        case 3: return "{" + (0..<below(3)).map { _ in pick(["a", "b", "é"]) + ": " + pick(["1", "v", "'w'"]) }.joined(separator: ", ") + "}"
        case 4: return pick(["1", "12.5", "true", "null", "~", "2026-04-29T03:12:44Z", "-3", "0o17"])
        case 5: return ""
        default: return text(6)
        }
    }

    mutating func lines(depth: Int) -> [String] {
        var out: [String] = []
        let indent = String(repeating: " ", count: depth * 2 + (below(8) == 0 ? 1 : 0))
        for _ in 0..<(1 + below(depth == 0 ? 14 : 4)) {
            switch below(10) {
            case 0 where depth < 4:
                out.append(indent + key() + ":")
                out += lines(depth: depth + 1)
            case 1:
                out.append(indent + key() + ": " + pick(["|", ">", "|-", ">+"]))
                for _ in 0..<(1 + below(4)) { out.append(indent + "  " + text(8) + (below(6) == 0 ? "\t" + text(2) : "")) }
            case 2:
                out.append(indent + "- " + value())
            case 3:
                out.append(indent + "# " + text(5))
            case 4 where below(6) == 0:
                out.append(pick(["---", "...", "--- x"]))
            default:
                out.append(indent + key() + ": " + value() + (below(10) == 0 ? " # " + text(2) : ""))
            }
        }
        return out
    }

    mutating func file() -> String {
        var body = lines(depth: 0)
        if below(8) != 0 { body.insert("title: " + text(5).replacingOccurrences(of: ": ", with: " "), at: 0) }
        if below(8) == 0 { body = Array(repeating: body, count: 1 + below(6)).flatMap { $0 } }
        return MemoryFixtures.frontMatter + "\n" + body.joined(separator: pick(["\n", "\n", "\r\n"])) + "\n"
    }
}

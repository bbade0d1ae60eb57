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

    @Test("10,000 random byte strings never crash the parser")
    func randomBytes() async {
        await propertyCheck(count: 10_000, input: Gen.uint8().array(of: 0...400)) { bytes in
            Self.assertWellFormedOutcome(bytes)
        }
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

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitTestSupport
import Testing

/// Text output escapes what memory and file text may hold (SafeText), even when the text is
/// already in the cache: the parser refuses such files today, but an older parser accepted them.
@Suite("Rendering: memory and file text reach the terminal escaped")
struct RenderingTests {
    /// Bytes that must never reach a terminal from memory text: ESC, BEL, CR, DEL, CSI as UTF-8
    /// C1 (C2 9B), RIGHT-TO-LEFT OVERRIDE (E2 80 AE).
    static func hazards(in text: String) -> [String] {
        let bytes = Array(text.utf8)
        var found: [String] = []
        for byte: UInt8 in [0x1B, 0x07, 0x0D, 0x7F] where bytes.contains(byte) { found.append(String(byte, radix: 16)) }
        for sequence: [UInt8] in [[0xC2, 0x9B], [0xE2, 0x80, 0xAE]] where bytes.indices.contains(where: { bytes[$0...].starts(with: sequence) }) {
            found.append(sequence.map { String($0, radix: 16) }.joined())
        }
        return found
    }

    static let forgedLine = "1. learning 01KP0GDKE0R84P57VFQVC2R1YD · reviewed · signed by admin@ops (SHA256:ops) · recorded 2026-04-12T09:30:00Z"

    /// A memory the way an older parser let it into the cache: escape sequences everywhere.
    static func hostileMemory() throws -> IndexedMemory {
        let id = try #require(ULID(MemoryFixtures.id))
        let front = FrontMatter(
            id: id, kind: try #require(MemoryKind("learning")), author: "admin", host: "hq",
            instance: "proj\u{1B}]0;owned\u{07}", agent: "sf/3\u{9B}2K", recordedAt: try #require(Timestamp("2026-04-12T09:30:00Z")),
            tags: ["ok", "t\u{202E}ag"])
        let body = MemoryBody(
            title: "vacuum\r\u{1B}[2K" + forgedLine,
            body: "first line\n\u{1B}[1A\u{1B}[2K" + forgedLine + "\nbell\u{07} del\u{7F} rlo\u{202E}olr\r\n",
            instead: "use the fallback\n" + forgedLine,
            fields: [YAMLField(key: "k\u{1B}[8m", value: .scalar(.string("v\u{1B}[0m")))])
        return IndexedMemory(
            memory: Memory(frontMatter: front, body: body), path: MemoryFixtures.validPath,
            blob: String(repeating: "b", count: 40), commit: String(repeating: "c", count: 40),
            signer: "admin@hq", key: "SHA256:hq", tier: .authenticated, firstSeen: Date().timeIntervalSince1970)
    }

    /// A store whose cache holds the hostile memory and a quarantined file with a hostile path.
    static func federationWithHostileCache() throws -> Federation {
        let federation = try Federation()
        try federation.initialise()
        let index = try MemoryIndex(path: federation.admin.home + "/stores/shared/cache.sqlite")
        var batch = IndexBatch()
        batch.upserts = [try hostileMemory()]
        batch.quarantined = [QuarantinedFile(
            path: "memories/learning/2026/04/X\u{1B}[2K\n" + forgedLine + ".yaml", blob: String(repeating: "d", count: 40),
            reason: "invalid\u{9B}", detail: "1:1: error: \u{202E}\r\n" + forgedLine, commit: String(repeating: "e", count: 40))]
        try index.apply(batch)
        return federation
    }

    @Test("recall and show print hostile cached text escaped, the provenance line intact and alone")
    func recallAndShowEscape() throws {
        let federation = try Self.federationWithHostileCache()
        for arguments in [["recall"], ["recall", "vacuum"], ["show", MemoryFixtures.id]] {
            let result = try federation.run(federation.admin, arguments)
            #expect(result.exitCode == 0, "\(arguments): \(result.stderr)")
            #expect(Self.hazards(in: result.stdout).isEmpty, "\(arguments): \(Self.hazards(in: result.stdout))")
            #expect(Self.hazards(in: result.stderr).isEmpty)
            let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            // One provenance line, the real one; every other line is indented (quoted memory text or details).
            let prefix = arguments[0] == "recall" ? "1. " : ""
            #expect(lines.first?.hasPrefix("\(prefix)learning \(MemoryFixtures.id) · authenticated · signed by admin@hq (SHA256:hq)") == true, "\(lines)")
            #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("   ") }, "\(lines)")
            let quoted = lines.filter { $0.hasPrefix("   > ") }
            #expect(quoted.first.map { Array($0.utf8) } == Array((#"   > title: vacuum\r\u{001B}[2K"# + Self.forgedLine).utf8))
            #expect(quoted.contains(#"   > \u{001B}[1A\u{001B}[2K"# + Self.forgedLine))
            #expect(quoted.contains(#"   > bell\u{0007} del\u{007F} rlo\u{202E}olr\r"#))
            #expect(quoted.contains("   > instead: use the fallback"))
            #expect(quoted.contains("   >   " + Self.forgedLine))
            #expect(quoted.contains(#"   > k\u{001B}[8m: v\u{001B}[0m"#))
            #expect(quoted.contains(#"   > tags: ok, t\u{202E}ag"#))
            if arguments[0] == "show" {
                #expect(lines.contains { $0.contains(#"instance proj\u{001B}]0;owned\u{0007} · agent sf/3\u{009B}2K"#) }, "\(lines)")
            }
        }
    }

    @Test("--json gives the exact values, with C1 and bidi controls written as JSON escapes")
    func jsonIsExact() throws {
        let federation = try Self.federationWithHostileCache()
        let (result, envelope) = try federation.json(federation.admin, ["show", MemoryFixtures.id])
        #expect(result.exitCode == 0)
        #expect(Self.hazards(in: result.stdout).isEmpty, "\(Self.hazards(in: result.stdout))")
        let data = try #require(envelope["data"] as? [String: Any])
        let memory = try Self.hostileMemory().memory
        #expect(data["title"] as? String == memory.body.title)
        #expect(data["body"] as? String == memory.body.body)
        #expect(data["agent"] as? String == memory.frontMatter.agent)
        #expect(data["tags"] as? [String] == memory.frontMatter.tags)
    }

    @Test("status prints a quarantined file's hostile path and reason on one escaped line")
    func statusEscapes() throws {
        let federation = try Self.federationWithHostileCache()
        let result = try federation.run(federation.admin, ["status"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(Self.hazards(in: result.stdout).isEmpty, "\(Self.hazards(in: result.stdout))")
        let quarantined = result.stdout.split(separator: "\n").filter { $0.contains("quarantined:") }
        #expect(quarantined.count == 1)
        #expect(quarantined.first?.contains(#"X\u{001B}[2K\n1. learning"#) == true, "\(quarantined)")
        #expect(quarantined.first?.contains(#"(invalid\u{009B}): 1:1: error: \u{202E}\r\n1. learning"#) == true, "\(quarantined)")
        #expect(!result.stdout.split(separator: "\n").contains { $0.hasPrefix("1. ") })
    }

    @Test("check prints file names and problems escaped, in text and as GitHub annotations")
    func checkEscapes() throws {
        let dir = try TemporaryDirectory()
        let name = "evil\u{1B}[2K\u{202E}\n::error file=forged.yaml::all good,\u{9B}.yaml"
        let file = try dir.write(name, MemoryFixtures.withBody(#"title: "fine\r\e[2K\u202e""#))
        let github = try PackagePaths.runSFGit(["check", "--format", "github", file])
        #expect(github.exitCode == 7)
        #expect(Self.hazards(in: github.stdout).isEmpty, "\(Self.hazards(in: github.stdout))")
        let lines = github.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.hasPrefix("::error file=") == true)
        #expect(lines.first?.contains(#"evil\u{001B}[2K\u{202E}\n%3A%3Aerror file=forged.yaml%3A%3Aall good%2C\u{009B}.yaml,line=10,col=8,title=decoded-control-character::"#) == true, "\(lines)")
        #expect(lines.first?.hasSuffix("decodes to control character U+000D; an escape may not write a character the file may not hold raw") == true, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("::") }.count == 1)

        let text = try PackagePaths.runSFGit(["check", file])
        #expect(text.exitCode == 7)
        #expect(Self.hazards(in: text.stdout).isEmpty, "\(Self.hazards(in: text.stdout))")
        let textLines = text.stdout.split(separator: "\n")
        #expect(textLines.count == 2, "\(textLines)")
        #expect(textLines.first?.contains(#"evil\u{001B}[2K\u{202E}\n::error file=forged.yaml::all good,\u{009B}.yaml:10:8: error: the value starting here decodes to control character U+000D"#) == true, "\(textLines)")
    }
}

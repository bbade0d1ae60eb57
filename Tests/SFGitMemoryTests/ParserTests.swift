import SFGitTestSupport
import Testing
@testable import SFGitMemory

@Suite("Memory parsing and writing")
struct ParserTests {
    @Test("the SPEC example reads into every field")
    func specExample() throws {
        let text = """
            ---
            schema: 1
            id: 01KQBKK0Z0V3RS3DTR98H6BCFN
            kind: anti-pattern
            author: sf                      # with host, must equal the signing principal sf@mikki-bunker
            host: mikki-bunker
            instance: proj-a                # which agent instance on that host (a claim, not proven)
            agent: sf/3.2.0                 # product and version that wrote it
            recorded_at: 2026-04-29T03:12:44Z
            tags: [provider, kimi-coding]
            expires_at: 2026-07-29T00:00:00Z   # optional: not served after this (unless asked)
            supersedes: []                     # optional: ids this memory replaces
            ---
            title: kimi-coding/k2p5 drops requests around 03:00 UTC
            body: |
              Between 02:55 and 03:20 UTC the provider answers 502 for most requests.
            instead: Route dispatches to the fallback provider between 02:50 and 03:25 UTC.

            """
        let parsed = try MemoryParser().parse(Array(text.utf8), storePath: "memories/anti-pattern/2026/04/01KQBKK0Z0V3RS3DTR98H6BCFN.yaml")
        let m = parsed.memory
        #expect(parsed.warnings.isEmpty)
        #expect(m.frontMatter.schema == 1)
        #expect(m.id.description == "01KQBKK0Z0V3RS3DTR98H6BCFN")
        #expect(m.kind == .antiPattern)
        #expect(m.frontMatter.principal == "sf@mikki-bunker")
        #expect(m.frontMatter.instance == "proj-a")
        #expect(m.frontMatter.agent == "sf/3.2.0")
        #expect(m.frontMatter.recordedAt.text == "2026-04-29T03:12:44Z")
        #expect(m.frontMatter.recordedAt.secondsSinceEpoch == 1_777_432_364)
        #expect(m.frontMatter.tags == ["provider", "kimi-coding"])
        #expect(m.frontMatter.expiresAt?.text == "2026-07-29T00:00:00Z")
        #expect(m.frontMatter.supersedes.isEmpty)
        #expect(m.body.title == "kimi-coding/k2p5 drops requests around 03:00 UTC")
        #expect(m.body.body == "Between 02:55 and 03:20 UTC the provider answers 502 for most requests.\n")
        #expect(m.body.instead == "Route dispatches to the fallback provider between 02:50 and 03:25 UTC.")
        #expect(m.unknownFields.isEmpty)
        #expect(m.path.description == "memories/anti-pattern/2026/04/01KQBKK0Z0V3RS3DTR98H6BCFN.yaml")
    }

    @Test("unknown fields in both documents are kept verbatim, in order")
    func unknownFieldsKept() throws {
        let text = MemoryFixtures.frontMatter.replacingOccurrences(of: "tags: [postgres]", with: "tags: [postgres]\nreviewed_by: ana\npriority: 3")
            + "\ntitle: a\nlinks:\n  - https://example.invalid/a\n  - {rel: doc, n: 1.5}\nflag: true\n"
        let m = try MemoryParser().parse(Array(text.utf8)).memory
        #expect(m.frontMatter.fields.map(\.key) == ["reviewed_by", "priority"])
        #expect(m.frontMatter.fields[1].value == .scalar(YAMLScalar(text: "3", kind: .integer)))
        #expect(m.body.fields.map(\.key) == ["links", "flag"])
        #expect(m.body.fields[1].value.jsonObject == .bool(true))
        #expect(m.body.fields[0].value.jsonObject == .array([
            .string("https://example.invalid/a"),
            .object([("rel", .string("doc")), ("n", .number(1.5))]),
        ]))
    }

    @Test("per-kind fields of one kind are unknown fields of another")
    func perKindFields() throws {
        let text = MemoryFixtures.withBody("title: a\ninstead: b")
        let m = try MemoryParser().parse(Array(text.utf8)).memory
        #expect(m.body.instead == nil)
        #expect(m.body.fields == [YAMLField(key: "instead", value: .string("b"))])
    }

    @Test("a newer schema is read with a warning, never an error")
    func newerSchema() throws {
        let text = MemoryFixtures.frontMatter.replacingOccurrences(of: "schema: 1", with: "schema: 2\nsignals: [x]") + "\ntitle: a\n"
        let parsed = try MemoryParser().parse(Array(text.utf8))
        #expect(parsed.memory.frontMatter.schema == 2)
        #expect(parsed.warnings.map(\.code) == ["newer-schema"])
        #expect(parsed.warnings.first?.position == SourcePosition(line: 2, column: 9))
        #expect(parsed.memory.frontMatter.fields.map(\.key) == ["signals"])
    }

    @Test("an unknown kind is accepted and keeps its body fields as unknown fields")
    func unknownKind() throws {
        let text = MemoryFixtures.frontMatter.replacingOccurrences(of: "kind: learning", with: "kind: postmortem") + "\ntitle: a\nseverity: sev2\n"
        let m = try MemoryParser().parse(Array(text.utf8), storePath: "memories/postmortem/2026/04/\(MemoryFixtures.id).yaml").memory
        #expect(m.kind.name == "postmortem")
        #expect(!m.kind.isKnown)
        #expect(m.body.fields.map(\.key) == ["severity"])
    }

    @Test("required per-kind fields are enforced", arguments: [
        ("benchmark", "metric"), ("contract", "subject"), ("circuit-breaker", "state"), ("retraction", "target"),
    ])
    func requiredKindFields(kind: String, missing: String) {
        var body = ["title: a", "subject: s", "metric: m", "value: 1", "state: open", "target: \(MemoryFixtures.id)", "reason: r"]
        body.removeAll { $0.hasPrefix(missing + ":") }
        let text = MemoryFixtures.frontMatter.replacingOccurrences(of: "kind: learning", with: "kind: \(kind)") + "\n" + body.joined(separator: "\n") + "\n"
        #expect(throws: MemoryFileError.self) { try MemoryParser().parse(Array(text.utf8)) }
        do { _ = try MemoryParser().parse(Array(text.utf8)) } catch {
            #expect(error.problems.map(\.reason).contains(.missingField(missing)))
        }
    }

    @Test("benchmarks and breakers get a default expiry")
    func defaultExpiry() throws {
        let benchmark = MemoryFixtures.frontMatter.replacingOccurrences(of: "kind: learning", with: "kind: benchmark")
            + "\ntitle: a\nsubject: s\nmetric: m\nvalue: 1.5\nsamples: 3\n"
        let b = try MemoryParser().parse(Array(benchmark.utf8)).memory
        #expect(b.body.value == 1.5)
        #expect(b.body.samples == 3)
        #expect(b.effectiveExpiry?.text == "2026-05-12T09:30:00Z")
        let breaker = MemoryFixtures.frontMatter.replacingOccurrences(of: "kind: learning", with: "kind: circuit-breaker")
            + "\ntitle: a\nsubject: s\nstate: half-open\nresets_at: 2026-04-12T10:00:00Z\n"
        let c = try MemoryParser().parse(Array(breaker.utf8)).memory
        #expect(c.body.state == .halfOpen)
        #expect(c.effectiveExpiry?.text == "2026-04-12T10:00:00Z")
        let learning = try MemoryParser().parse(Array(MemoryFixtures.valid.utf8)).memory
        #expect(learning.effectiveExpiry == nil)
    }

    @Test("null optional fields read as absent")
    func nullOptional() throws {
        let text = MemoryFixtures.frontMatter.replacingOccurrences(of: "tags: [postgres]", with: "tags:\nexpires_at: ~\ninstance: null") + "\ntitle: a\nbody:\n"
        let m = try MemoryParser().parse(Array(text.utf8)).memory
        #expect(m.frontMatter.tags.isEmpty)
        #expect(m.frontMatter.expiresAt == nil)
        #expect(m.frontMatter.instance == nil)
        #expect(m.body.body == nil)
    }

    // MARK: - Writing

    static func sampleMemories() -> [Memory] {
        let id = ULID("01KQBKK0Z0V3RS3DTR98H6BCFN")!
        let t = Timestamp("2026-04-29T03:12:44Z")!
        return [
            Memory(
                frontMatter: FrontMatter(id: id, kind: .antiPattern, author: "sf", host: "mikki-bunker", instance: "proj-a",
                                         agent: "sf/3.2.0", recordedAt: t, tags: ["provider", "kimi-coding"],
                                         expiresAt: Timestamp("2026-07-29T00:00:00Z"), supersedes: [ULID("01KP0GDKE0R84P57VFQVC2R1YD")!]),
                body: MemoryBody(title: "kimi-coding/k2p5 drops requests around 03:00 UTC",
                                 body: "Between 02:55 and 03:20 UTC\nthe provider answers 502.\n", instead: "Route elsewhere.")),
            // Strings that look like other types, quotes, colons, leading spaces, unicode, trailing spaces in a block.
            Memory(
                frontMatter: FrontMatter(id: id, kind: .note, author: "a", host: "b", instance: "123", agent: "true",
                                         recordedAt: Timestamp("2026-04-29T03:12:44.250Z")!, tags: ["null", "1.5", "#hash", "-dash"],
                                         fields: [YAMLField(key: "extra", value: .mapping([YAMLField(key: "k", value: .sequence([.string("~"), .scalar(YAMLScalar(text: "0x1F", kind: .integer))]))]))]),
                body: MemoryBody(title: "'quoted' \"double\": colon # not a comment", body: "  leading spaces\ntrailing  \n\ttab line\nünïcødé ✓\n",
                                 fields: [YAMLField(key: "yes", value: .string("no")), YAMLField(key: "empty", value: .string(""))])),
            Memory(
                frontMatter: FrontMatter(id: id, kind: .benchmark, author: "sf", host: "h", recordedAt: t),
                body: MemoryBody(title: "bench", subject: "s", metric: "m", value: 0.000012, unit: "s", samples: 10)),
            Memory(
                frontMatter: FrontMatter(id: id, kind: .circuitBreaker, author: "sf", host: "h", recordedAt: t),
                body: MemoryBody(title: "breaker", subject: "kimi", state: .halfOpen, resetsAt: t)),
            Memory(
                frontMatter: FrontMatter(id: id, kind: .retraction, author: "sf", host: "h", recordedAt: t),
                body: MemoryBody(title: "withdrawn", target: ULID("01KP0GDKE0R84P57VFQVC2R1YD"), reason: "wrong")),
            Memory(
                frontMatter: FrontMatter(id: id, kind: .contract, author: "sf", host: "h", recordedAt: t),
                body: MemoryBody(title: "no trailing newline", body: "keep\n\nblank lines\n\n", subject: "api")),
        ]
    }

    @Test("write → read gives the same memory, and write → read → write the same bytes")
    func roundTrip() throws {
        for memory in Self.sampleMemories() {
            let bytes = try MemorySerializer().serialize(memory)
            let reread = try MemoryParser().parse(bytes, storePath: memory.path.description).memory
            #expect(reread == memory, "\(String(decoding: bytes, as: UTF8.self))")
            #expect(try MemorySerializer().serialize(reread) == bytes)
        }
    }

    @Test("written files are block style, start with ---, and keep the documented key order")
    func writtenShape() throws {
        let text = String(decoding: try MemorySerializer().serialize(Self.sampleMemories()[0]), as: UTF8.self)
        #expect(text == """
            ---
            schema: 1
            id: 01KQBKK0Z0V3RS3DTR98H6BCFN
            kind: anti-pattern
            author: sf
            host: mikki-bunker
            instance: proj-a
            agent: sf/3.2.0
            recorded_at: 2026-04-29T03:12:44Z
            tags: [provider, kimi-coding]
            expires_at: 2026-07-29T00:00:00Z
            supersedes: [01KP0GDKE0R84P57VFQVC2R1YD]
            ---
            title: kimi-coding/k2p5 drops requests around 03:00 UTC
            body: |
              Between 02:55 and 03:20 UTC
              the provider answers 502.
            instead: Route elsewhere.

            """)
    }

    @Test("every file of the sample store round-trips through the writer")
    func sampleStoreRoundTrips() throws {
        let store = PackagePaths.examples + "/store"
        let files = try FileManager.default.subpathsOfDirectory(atPath: store + "/memories").filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 8)
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: store + "/memories/" + file)))
            let memory = try MemoryParser().parse(bytes, storePath: "memories/" + file).memory
            let written = try MemorySerializer().serialize(memory)
            #expect(try MemoryParser().parse(written).memory == memory, "\(file)")
        }
    }
}

import Foundation

import Foundation
import GRDB
import SFGitMemory
import SFGitTestSupport
import Testing
@testable import SFGitIndex

/// `sfgit_bm25`: FTS5's BM25 with remembered document counts. Same scores as `bm25()`, and
/// never a count from another state of the cache.
@Suite("ranking: sfgit_bm25 and its remembered document counts")
struct TermStatisticsTests {
    static let vocabulary = ["provider", "outage", "latency", "timeout", "retry", "budget", "kimi-coding/k2p5", "gpt-4.1", "cache",
                             "eviction", "postgres", "deadlock", "webhook", "quota", "rollback", "schema"]

    /// Memories whose titles and bodies draw words from the vocabulary, the common ones often.
    static func corpus(_ count: Int, seed: UInt64, from start: Int = 0) -> [IndexedMemory] {
        var generator = SeededGenerator(seed: seed)
        var fixture = Fixture(counter: UInt64(start))
        return (0..<count).map { _ in
            func words(_ n: Int) -> String {
                (0..<n).map { _ in vocabulary[min(Int(generator.next() % 64), Int(generator.next() % UInt64(vocabulary.count)))] }.joined(separator: " ")
            }
            return fixture.memory(title: words(1 + Int(generator.next() % 4)), body: words(Int(generator.next() % 30)),
                                  daysAgo: Double(generator.next() % 400) / 10)
        }
    }

    /// Every match's score by both functions, in one read (the counts prepared first, as recall
    /// does): ours with each row's length from the joined `memory_fts_docsize` record (as recall
    /// scores), and with none (FTS5's `xColumnSize`), which must agree too.
    static func scores(_ index: MemoryIndex, _ text: String) throws -> [(builtin: Double, ours: Double)] {
        let pattern = try #require(MemoryIndex.ftsPattern(for: text))
        let phrases = MemoryIndex.ftsPhrases(for: text).joined(separator: "\u{1F}")
        return try index.read { db in
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM memory")
            try TermStatistics.prepare(db)
            let rows = try Row.fetchAll(db, sql: """
                SELECT bm25(memory_fts, 5.0, 1.0, 2.0) AS builtin, sfgit_bm25(memory_fts, ?, d.sz, 5.0, 1.0, 2.0) AS ours,
                    sfgit_bm25(memory_fts, ?, NULL, 5.0, 1.0, 2.0) AS asked
                FROM memory_fts JOIN memory_fts_docsize d ON d.id = memory_fts.rowid WHERE memory_fts MATCH ? ORDER BY memory_fts.rowid
                """, arguments: [phrases, phrases, pattern])
            #expect(rows.allSatisfy { ($0["ours"] as Double) == ($0["asked"] as Double) }, "\(text): the stored lengths and FTS5's differ")
            return rows.map { ($0["builtin"], $0["ours"]) }
        }
    }

    @Test("the same score as bm25() for every match of every query, bit for bit; and again after memories arrive", arguments: [1, 2, 3] as [UInt64])
    func sameAsBuiltin(seed: UInt64) throws {
        let (dir, index) = try makeIndex(Self.corpus(400, seed: seed))
        defer { withExtendedLifetime(dir) {} }
        let queries = ["provider", "provider outage", "latency timeout retry", "kimi-coding/k2p5", "gpt-4.1 schema", "nothing-matches",
                       "Provider OUTAGE", "deadlock \"quota\""]
        for round in 0..<2 {
            for _ in 0..<2 {  // the second pass answers from the remembered counts
                for query in queries {
                    let scores = try Self.scores(index, query)
                    #expect(scores.allSatisfy { $0.builtin == $0.ours }, "round \(round), \(query): \(scores.prefix(3))")
                    if query != "nothing-matches" { #expect(!scores.isEmpty, "\(query)") }
                }
            }
            // New memories change every count: none remembered from before may be used.
            var batch = IndexBatch()
            batch.upserts = Self.corpus(150, seed: seed &+ 99, from: 10_000)
            try index.apply(batch)
        }
    }

    @Test("a row length is read from its docsize record as FTS5 reads it; a record that is not one is refused")
    func rowLengths() {
        // Records as FTS5 writes them (one SQLite varint per column), and damaged ones.
        let cases: [(bytes: [UInt8], length: Int32?)] = [
            ([3, 0, 5], 8), ([0x81, 0x00, 1, 2], 131), ([0x81, 0x80, 0x00, 0, 0], 16_384), ([0, 0, 0], 0),
            ([1, 2], nil), ([1, 2, 3, 4], nil), ([0x80], nil), ([], nil), ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0], nil),
        ]
        for (bytes, length) in cases {
            #expect(bytes.withUnsafeBufferPointer { TermStatistics.rowLength($0, columns: 3) } == length, "\(bytes)")
        }
    }

    @Test("a recall through another connection sees a sync's new memories in its counts")
    func countsFollowOtherConnections() throws {
        let (dir, index) = try makeIndex(Self.corpus(200, seed: 7))
        defer { withExtendedLifetime(dir) {} }
        let reader = try #require(MemoryIndex.openForReading(path: dir.url("cache.sqlite")))
        let before = try Self.scores(reader, "provider outage")
        #expect(before.allSatisfy { $0.builtin == $0.ours })
        var batch = IndexBatch()
        batch.upserts = Self.corpus(300, seed: 8, from: 20_000)
        try index.apply(batch)
        let after = try Self.scores(reader, "provider outage")
        #expect(after.count > before.count)
        #expect(after.allSatisfy { $0.builtin == $0.ours }, "\(after.prefix(3))")
    }
}

import Foundation
import GRDB
import SFGitMemory

extension MemoryIndex {
    /// Half-lives of recency, per kind, in days: benchmarks and breakers decay fast, contracts slowly.
    public static func halfLifeDays(of kind: String) -> Double {
        switch kind {
        case "circuit-breaker": return 1
        case "benchmark": return 7
        case "note": return 60
        case "anti-pattern": return 90
        case "learning": return 180
        case "contract", "retraction": return 365
        default: return 90
        }
    }

    /// How many BM25 candidates are re-ranked by recency.
    static let candidateLimit = 500
    /// What ranking reads of each candidate.
    static let rankingColumns = "m.rowid AS rowid, m.id AS id, m.kind AS kind, m.recorded_epoch AS recorded_epoch, m.signer AS signer"

    /// BM25 is computed over the newest matches only, this many: scoring every match of a very
    /// common word is what makes a query slow, and recency re-ranks anyway. A word with fewer
    /// matches has all of them scored. (Counting matches first, from the FTS5 vocabulary, walked
    /// a common word's whole document list: ≈ 5 ms per word in a fresh process.)
    static let commonTermWindow = 3_000

    /// Turns user text into an FTS5 pattern that can never be a syntax error: every
    /// whitespace-separated word becomes a quoted string, which FTS5 splits with the table's own
    /// tokenizer into a phrase (so `kimi-coding/k2p5` matches the phrase kimi coding k2p5), and
    /// the words are OR-ed so that BM25 ranks documents matching more of them first. Words with
    /// no letter or digit are dropped; nil when nothing is left.
    public static func ftsPattern(for text: String) -> String? {
        let words = text.split(whereSeparator: { $0.isWhitespace }).filter {
            $0.unicodeScalars.contains { CharacterSet.alphanumerics.contains($0) }
        }
        guard !words.isEmpty else { return nil }
        return words.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " OR ")
    }

    /// Ranked answers: BM25 over title (×5), body and searchable fields (×2), blended with per-kind
    /// recency; filters in SQL; at most `perSignerCap` items per signer. No text: newest first.
    public func recall(_ query: RecallQuery) throws -> [RecallItem] {
        try read { db in
            var filters: [String] = []
            var arguments: [DatabaseValueConvertible?] = []
            if !query.kinds.isEmpty {
                filters.append("m.kind IN (\(Self.placeholders(query.kinds.count)))")
                arguments += query.kinds
            } else {
                filters.append("m.kind <> 'retraction'")  // withdrawals are shown only when asked for
            }
            if !query.tags.isEmpty {
                filters.append("EXISTS (SELECT 1 FROM memory_tag t WHERE t.memory_rowid = m.rowid AND t.tag IN (\(Self.placeholders(query.tags.count))))")
                arguments += query.tags
            }
            if !query.authors.isEmpty {
                filters.append("(m.author IN (\(Self.placeholders(query.authors.count))) OR m.signer IN (\(Self.placeholders(query.authors.count))))")
                arguments += query.authors + query.authors
            }
            if let host = query.host {
                filters.append("m.host = ?")
                arguments.append(host)
            }
            if let since = query.since {
                filters.append("m.recorded_epoch >= ?")
                arguments.append(since)
            }
            if !query.includeStale {
                filters.append("(m.expiry_epoch IS NULL OR m.expiry_epoch > ?)")
                arguments.append(query.now)
            }
            if !query.includeDeferred { filters.append("m.deferred = 0") }
            if !query.includeSuperseded {
                // Only the same signer may supersede or retract a memory.
                filters.append("""
                    NOT EXISTS (SELECT 1 FROM link l JOIN memory s ON s.rowid = l.from_rowid
                                WHERE l.kind IN ('supersedes', 'retracts') AND l.to_id = m.id AND s.signer = m.signer AND s.deferred = 0)
                    """)
            }
            let whereClause = filters.joined(separator: " AND ")

            var candidates: [(row: Row, bm25: Double?)] = []
            if let text = query.text, let pattern = Self.ftsPattern(for: text) {
                // BM25 scores the newest matches (FTS5 yields rowids in order cheaply). Without
                // filters, the best of them are ranked before any memory row is read (joining all
                // of them made a cold process read thousands of pages); with filters, the best
                // allowed ones. A window of -1 scores every match: the full query, which runs only
                // when a full window leaves too few candidates.
                let filtered = !query.kinds.isEmpty || !query.tags.isEmpty || !query.authors.isEmpty || query.host != nil || query.since != nil
                let sql = filtered
                    ? """
                        WITH newest AS (
                            SELECT rowid, bm25(memory_fts, 5.0, 1.0, 2.0) AS rank FROM memory_fts
                            WHERE memory_fts MATCH ? ORDER BY rowid DESC LIMIT ?
                        )
                        SELECT \(Self.rankingColumns), newest.rank AS rank, (SELECT count(*) FROM newest) AS scored
                        FROM newest JOIN memory m ON m.rowid = newest.rowid
                        WHERE \(whereClause) ORDER BY newest.rank LIMIT ?
                        """
                    : """
                        WITH newest AS (
                            SELECT rowid, bm25(memory_fts, 5.0, 1.0, 2.0) AS rank FROM memory_fts
                            WHERE memory_fts MATCH ? ORDER BY rowid DESC LIMIT ?
                        ), best AS (SELECT rowid, rank FROM newest ORDER BY rank LIMIT ?)
                        SELECT \(Self.rankingColumns), best.rank AS rank, (SELECT count(*) FROM newest) AS scored
                        FROM best JOIN memory m ON m.rowid = best.rowid
                        WHERE \(whereClause) ORDER BY best.rank
                        """
                func ranked(window: Int) throws -> [Row] {
                    let values: [DatabaseValueConvertible?] = filtered
                        ? [pattern, window] + arguments + [Self.candidateLimit]
                        : [pattern, window, Self.candidateLimit] + arguments
                    return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(values))
                }
                var rows = try ranked(window: query.scoredWindow)
                // A window that held every match already gave the full query's answer.
                let everyMatchScored = rows.first.map { ($0["scored"] as Int) < query.scoredWindow } ?? false
                if rows.count < query.limit, !everyMatchScored { rows = try ranked(window: -1) }
                candidates = rows.map { ($0, $0["rank"] as Double) }
            } else {
                let sql = "SELECT \(Self.rankingColumns) FROM memory m WHERE \(whereClause) ORDER BY m.recorded_epoch DESC, m.id DESC LIMIT ?"
                let rows = try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments + [max(query.limit * 4, query.limit + query.perSignerCap * 8)]))
                candidates = rows.map { ($0, nil) }
            }

            let best = candidates.compactMap(\.bm25).min() ?? -1
            var scored: [(row: Row, score: Double, explanation: RecallItem.Explanation)] = candidates.map { candidate in
                let kind: String = candidate.row["kind"]
                let halfLife = Self.halfLifeDays(of: kind)
                let ageDays = max(0, query.now - (candidate.row["recorded_epoch"] as Double)) / 86_400
                let recency = pow(0.5, ageDays / halfLife)
                let relevance = candidate.bm25.map { best < 0 ? $0 / best : 0 } ?? 0  // bm25 is negative: best is the most negative
                let score = candidate.bm25 == nil ? recency : 0.7 * relevance + 0.3 * recency
                return (candidate.row, score, .init(relevance: relevance, recency: recency, halfLifeDays: halfLife, bm25: candidate.bm25))
            }
            if query.text != nil { scored.sort { ($0.score, $0.row["id"] as String) > ($1.score, $1.row["id"] as String) } }

            var perSigner: [String: Int] = [:]
            var items: [RecallItem] = []
            for entry in scored {
                let signer: String = entry.row["signer"]
                guard perSigner[signer, default: 0] < query.perSignerCap else { continue }
                perSigner[signer, default: 0] += 1
                // Only the answers are read whole (bodies, fields): a cold process pays for every
                // page it touches, and ranking needs none of them.
                let whole = try db.cachedStatement(sql: "SELECT * FROM memory WHERE rowid = ?")
                guard let row = try Row.fetchOne(whole, arguments: [entry.row["rowid"] as Int64]) else { continue }
                items.append(try Self.item(row, score: entry.score, explanation: entry.explanation, now: query.now, db))
                if items.count == query.limit { break }
            }
            return items
        }
    }

    /// One memory by id or unambiguous id prefix (case-insensitive).
    public func show(_ idOrPrefix: String, now: Double) throws -> ShowResult {
        let prefix = idOrPrefix.uppercased()
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isLetter || $0.isNumber }) else { return .notFound }
        return try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM memory WHERE id >= ? AND id < ? ORDER BY id LIMIT 20",
                                        arguments: [prefix, prefix + "\u{7F}"])
            if rows.isEmpty { return .notFound }
            if let exact = rows.first(where: { ($0["id"] as String) == prefix }) ?? (rows.count == 1 ? rows.first : nil) {
                let halfLife = Self.halfLifeDays(of: exact["kind"])
                let recency = pow(0.5, max(0, now - (exact["recorded_epoch"] as Double)) / 86_400 / halfLife)
                return .found(try Self.item(exact, score: recency, explanation: .init(relevance: 0, recency: recency, halfLifeDays: halfLife, bm25: nil), now: now, db))
            }
            return .ambiguous(rows.map { $0["id"] })
        }
    }

    private static func item(_ row: Row, score: Double, explanation: RecallItem.Explanation, now: Double, _ db: Database) throws -> RecallItem {
        let id: String = row["id"]
        let signer: String = row["signer"]
        let linkers = try Row.fetchAll(db, sql: """
            SELECT s.id, l.kind FROM link l JOIN memory s ON s.rowid = l.from_rowid
            WHERE l.kind IN ('supersedes', 'retracts') AND l.to_id = ? AND s.signer = ? AND s.deferred = 0 ORDER BY s.id
            """, arguments: [id, signer])
        let expiry: Double? = row["expiry_epoch"]
        return RecallItem(
            id: id, kind: row["kind"], title: row["title"], body: row["body"],
            tags: decode([String].self, row["tags"]) ?? [],
            fields: (try? JSONDecoder().decode(AnyJSON.self, from: Data((row["fields"] as String).utf8)).value) ?? .object([]),
            author: row["author"], host: row["host"], instance: row["instance"], agent: row["agent"],
            recordedAt: row["recorded_at"], expiresAt: row["expires_at"],
            supersedes: decode([String].self, row["supersedes"]) ?? [],
            path: row["path"], commit: row["commit_id"], signer: signer, key: row["key"],
            tier: Tier(rawValue: row["tier"]) ?? .authenticated,
            stale: expiry.map { $0 <= now } ?? false,
            supersededBy: linkers.filter { ($0["kind"] as String) == "supersedes" }.map { $0["id"] },
            retracted: linkers.contains { ($0["kind"] as String) == "retracts" },
            deferred: (row["deferred"] as Int) != 0,
            score: (score * 10_000).rounded() / 10_000,
            explanation: explanation)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? JSONDecoder().decode(type, from: Data(text.utf8))
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}

/// Decodes the stored `fields` JSON back into a `JSONValue` (object keys come back sorted, as
/// every JSON output of sfgit prints them).
private struct AnyJSON: Decodable {
    let value: JSONValue

    init(from decoder: Decoder) throws {
        let data = try decoder.singleValueContainer()
        if data.decodeNil() { value = .null; return }
        if let bool = try? data.decode(Bool.self) { value = .bool(bool); return }
        if let int = try? data.decode(Int64.self) { value = .integer(int); return }
        if let double = try? data.decode(Double.self) { value = .number(double); return }
        if let string = try? data.decode(String.self) { value = .string(string); return }
        if let array = try? data.decode([AnyJSON].self) { value = .array(array.map(\.value)); return }
        let object = try data.decode([String: AnyJSON].self)
        value = .object(object.sorted { $0.key < $1.key }.map { ($0.key, $0.value.value) })
    }
}

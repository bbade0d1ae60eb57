import Foundation
import GRDB
import SFGitMemory

extension MemoryIndex {
    /// Half-lives of recency, per kind, in days, where the store's policy sets none.
    public static func halfLifeDays(of kind: String) -> Double {
        Double(MemoryKind.defaultHalfLifeDays(of: kind))
    }

    /// How many BM25 candidates are re-ranked by recency.
    static let candidateLimit = 100
    /// What ranking reads of each candidate; the columns of what may set it aside
    /// (`RecallHidden`) follow it. Read by position (`RankingRow`): a by-name lookup lowercases
    /// the name, for every row.
    static let rankingColumns = "m.rowid AS rowid, m.id AS id, m.kind AS kind, m.recorded_epoch AS recorded_epoch, m.signer AS signer"

    /// What ranking read of one candidate: `rankingColumns`, then the columns of what may set it
    /// aside, by position, copied out of the statement's row (a copied `Row` also copies every
    /// column's name).
    struct RankingRow {
        var rowid: Int64
        var id: String
        var kind: String
        var recordedEpoch: Double
        var signer: String
        var expired: Bool
        var deferred: Bool
        var withdrawn: Bool
        var revoked: Bool

        init(_ row: Row) {
            rowid = row[0]
            id = row[1]
            kind = row[2]
            recordedEpoch = row[3]
            signer = row[4]
            expired = row[5]
            deferred = row[6]
            withdrawn = row[7]
            revoked = row[8]
        }
    }

    /// BM25 is computed over the newest matches only, this many: scoring every match of a very
    /// common word is what makes a query slow, and recency re-ranks anyway. A word with fewer
    /// matches has all of them scored. (Counting matches first, from the FTS5 vocabulary, walked
    /// a common word's whole document list: ≈ 5 ms per word in a fresh process.)
    static let commonTermWindow = 500

    /// Turns user text into an FTS5 pattern that can never be a syntax error: every
    /// whitespace-separated word becomes a quoted string, which FTS5 splits with the table's own
    /// tokenizer into a phrase (so `kimi-coding/k2p5` matches the phrase kimi coding k2p5), and
    /// the words are OR-ed so that BM25 ranks documents matching more of them first. Words with
    /// no letter or digit are dropped; nil when nothing is left.
    public static func ftsPattern(for text: String) -> String? {
        let words = ftsPhrases(for: text)
        guard !words.isEmpty else { return nil }
        return words.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " OR ")
    }

    /// The phrases of `ftsPattern`, in its order: the words of `text` that hold a letter or digit.
    static func ftsPhrases(for text: String) -> [String] {
        text.split(whereSeparator: { $0.isWhitespace }).filter {
            $0.unicodeScalars.contains { CharacterSet.alphanumerics.contains($0) }
        }.map(String.init)
    }

    /// Ranked answers: the items of `recallPage`.
    public func recall(_ query: RecallQuery) throws -> [RecallItem] {
        try recallPage(query).items
    }

    /// Ranked answers: BM25 over title (×5), body and searchable fields (×2), blended with per-kind
    /// recency; no text: newest first. Filters run in SQL; expired, superseded, retracted and
    /// deferred memories are set aside in the ranking pass and counted, so that the answer says
    /// what it left out. Candidates come in blocks (`candidateBlock`); within each, each signer's
    /// share (`perSignerShare`) comes first in rank order and the rest follows it (`RecallOrder`),
    /// so the first k items never depend on `limit`, and `offset` pages through everything.
    public func recallPage(_ query: RecallQuery) throws -> RecallPage {
        try read { db in
            var filters: [String] = []
            var arguments: [DatabaseValueConvertible?] = []
            if !query.kinds.isEmpty {
                filters.append("m.kind IN (\(Self.placeholders(query.kinds.count)))")
                arguments += query.kinds
            } else {
                filters.append("m.kind <> 'retraction'")  // withdrawals are shown only when asked for
            }
            // Revoked memories are set aside and counted below, like deferred ones, not filtered.
            let (more, values) = try Self.filterClauses(query, db, revokedInSQL: false)
            filters += more
            arguments += values
            let whereClause = filters.joined(separator: " AND ")
            // What the answer may leave out, as columns: counted, then set aside in Swift.
            // Only the same signer may supersede or retract a memory.
            let hiddenColumns = """
                (m.expiry_epoch IS NOT NULL AND m.expiry_epoch <= ?) AS expired, m.deferred AS deferred,
                \(Self.withdrawnColumn) AS withdrawn, m.revoked AS revoked
                """
            let settings = try Self.storeSettings(db)
            // After the transaction's first read: the ranking's document counts are this snapshot's.
            try TermStatistics.prepare(db)
            let need = query.offset + query.limit
            var ranked: [RecallCandidate] = []
            var hidden = RecallHidden()
            var exhausted = true
            // The kind filter is always there; alone, it does not make a query "filtered" (which
            // ranks only allowed rows, a slower plan for common words).
            let filtered = filters.count > 1 || !query.kinds.isEmpty
            // Candidates come in blocks, each ordered by score with the signers' shares applied
            // within it (`RecallOrder`); the first `need` places are known once the blocks read
            // hold more than `need` candidates, whatever signers the later blocks hold.
            var blocks: [Range<Int>] = []
            func closeBlock(from start: Int) -> Bool {
                blocks.append(start..<ranked.count)
                return ranked.count > need
            }

            if let text = query.text, let pattern = Self.ftsPattern(for: text) {
                // The order: the matches in segments (the newest `scoredWindow` of them, then the
                // older ones; or all at once, below), each segment by BM25 in blocks of
                // `candidateBlock`, each block re-ranked by the blend with recency. BM25 over the
                // newest matches only keeps a common word cheap (FTS5 yields rowids in order
                // cheaply), and blocks make every match reachable by paging while the first
                // block alone answers a first page. Without filters, a block is chosen before
                // any memory row is read; with filters, among the allowed rows. The order never
                // depends on the page asked for: a later block or segment is read only when the
                // places asked for are not known yet.
                let phraseList = Self.ftsPhrases(for: text).joined(separator: "\u{1F}")
                let block = query.candidateBlock
                /// A segment's matches (`limit` from the newest `skip`; -1: all), best first.
                func segment(skip: Int, limit: Int) throws -> [ScoredMatch] {
                    try Self.scoredMatches(db, phrases: phraseList, pattern: pattern, skip: skip, limit: limit)
                }
                /// The ranking and hidden columns of `matches`, in their order; with filters, of
                /// the allowed ones only.
                func candidateRows(_ matches: ArraySlice<ScoredMatch>) throws -> [(row: RankingRow, rank: Double)] {
                    let sql = """
                        SELECT \(Self.rankingColumns), \(hiddenColumns)
                        FROM json_each(?) j JOIN memory_head m ON m.rowid = j.value
                        \(filtered ? "WHERE " + whereClause : "")
                        """
                    let rowids = "[" + matches.map { String($0.rowid) }.joined(separator: ",") + "]"
                    var found: [Int64: RankingRow] = [:]
                    found.reserveCapacity(matches.count)
                    let cursor = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: StatementArguments([query.now, rowids] + arguments))
                    while let row = try cursor.next() {
                        let candidate = RankingRow(row)
                        found[candidate.rowid] = candidate
                    }
                    return matches.compactMap { match in found[match.rowid].map { ($0, match.rank) } }
                }
                let window = try segment(skip: 0, limit: query.scoredWindow)
                // A window that held every match is the whole answer. With filters, one that holds
                // fewer than a block of allowed rows is replaced by all matches at once (a rule
                // that does not depend on the page asked for, so neither does the order).
                let allowedInWindow = filtered ? try candidateRows(window[...]) : nil
                // Each segment's matches (nil: the older matches, read when reached) and, with
                // filters, its allowed rows once known.
                var segments: [(matches: [ScoredMatch]?, allowed: [(row: RankingRow, rank: Double)]?)] = [(window, allowedInWindow)]
                if window.count < query.scoredWindow {
                    // The window held every match.
                } else if let allowedInWindow, allowedInWindow.count < block {
                    segments = [(try segment(skip: 0, limit: -1), nil)]
                } else {
                    segments.append((nil, nil))
                }
                var best = 0.0
                segmentLoop: for number in segments.indices {
                    let matches = try segments[number].matches ?? segment(skip: query.scoredWindow, limit: -1)
                    let allowed = filtered ? try segments[number].allowed ?? candidateRows(matches[...]) : nil
                    let available = allowed?.count ?? matches.count
                    var index = 0
                    while true {
                        let range = min(index * block, available)..<min((index + 1) * block, available)
                        let found = try allowed.map { Array($0[range]) } ?? candidateRows(matches[range])
                        let lastBlock = range.count < block
                        // Relevance is BM25 over the best seen so far: the first block's best for
                        // the first page, as before blocks.
                        best = min(best, found.map(\.rank).min() ?? best)
                        var candidates: [RecallCandidate] = []
                        // Unfiltered blocks are chosen before the kind filter: withdrawals are
                        // shown only when asked for by kind.
                        for (row, rank) in found where (filtered || row.kind != MemoryKind.retraction.name) && hidden.admit(row, query) {
                            candidates.append(Self.candidate(row, bm25: rank, best: best, now: query.now, settings: settings))
                        }
                        candidates.sort { ($0.score, $0.id) > ($1.score, $1.id) }
                        let start = ranked.count
                        ranked += candidates
                        if closeBlock(from: start) {
                            exhausted = lastBlock && number == segments.count - 1
                            break segmentLoop
                        }
                        if lastBlock { break }
                        index += 1
                    }
                }
            } else {
                // Newest first: rows stream in rank order, in blocks of `candidateBlock` served
                // memories, so the scan stops after the block that holds the page and one item
                // beyond it.
                let sql = """
                    SELECT \(Self.rankingColumns), \(hiddenColumns) FROM memory m WHERE \(whereClause)
                    ORDER BY m.recorded_epoch DESC, m.id DESC
                    """
                let cursor = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: StatementArguments([query.now] + arguments))
                var start = 0
                while let row = try cursor.next().map(RankingRow.init) {
                    guard hidden.admit(row, query) else { continue }
                    ranked.append(Self.candidate(row, bm25: nil, best: -1, now: query.now, settings: settings))
                    if ranked.count - start == query.candidateBlock {
                        if closeBlock(from: start) {
                            exhausted = false
                            break
                        }
                        start = ranked.count
                    }
                }
                if exhausted, start < ranked.count { _ = closeBlock(from: start) }
            }

            let order = RecallOrder(ranked.map(\.signer), share: query.effectiveShare, blocks: blocks)
            let pageRange = min(query.offset, order.positions.count)..<min(need, order.positions.count)
            let page = order.positions[pageRange]
            let current = try Self.currentPrincipalSet(db)
            var items: [RecallItem] = []
            for position in page {
                let candidate = ranked[position]
                // Only the answers are read whole (bodies, fields): a cold process pays for every
                // page it touches, and ranking needs none of them.
                let whole = try db.cachedStatement(sql: "SELECT \(Self.itemColumns) FROM memory WHERE rowid = ?")
                guard let row = try Row.fetchOne(whole, arguments: [candidate.rowid]) else { continue }
                var item = try Self.item(row, score: candidate.score, explanation: candidate.explanation, now: query.now, db)
                item.signerStatus = Self.signerStatus(item, current: current)
                items.append(item)
            }
            var omissions: [RecallOmission] = []
            let beyond = ranked.count - min(ranked.count, need)
            if beyond > 0 || !exhausted {
                omissions.append(RecallOmission(code: "MORE_RESULTS", count: beyond, atLeast: !exhausted,
                                                what: "more memories match; page with --offset \(need)"))
            }
            let displaced = order.displaced(after: pageRange)
            if displaced > 0 {
                omissions.append(RecallOmission(code: "CAPPED_BY_SIGNER", count: displaced, atLeast: false,
                                                what: "better-ranked memories were placed after other signers' because their signer already has \(query.effectiveShare) in this answer (--per-signer)"))
            }
            omissions += hidden.omissions(atLeast: !exhausted)
            return RecallPage(items: items, omissions: omissions)
        }
    }

    /// One match of a text query and its BM25 score (lower is better).
    struct ScoredMatch {
        var rowid: Int64
        var rank: Double
    }

    /// The matches of `pattern`, `limit` of them from the newest `skip` (-1: all), scored by
    /// `sfgit_bm25` and ordered best first (rank, then rowid). The order is made here rather
    /// than by SQL's sorter, which cost more than the scoring it follows.
    static func scoredMatches(_ db: Database, phrases: String, pattern: String, skip: Int, limit: Int) throws -> [ScoredMatch] {
        let statement = try db.cachedStatement(sql: """
            SELECT f.rowid, \(TermStatistics.functionName)(memory_fts, ?, d.sz, 5.0, 1.0, 2.0)
            FROM memory_fts f JOIN memory_fts_docsize d ON d.id = f.rowid
            WHERE memory_fts MATCH ? ORDER BY f.rowid DESC LIMIT ? OFFSET ?
            """)
        var matches: [ScoredMatch] = []
        matches.reserveCapacity(limit > 0 ? limit : 512)
        let cursor = try Row.fetchCursor(statement, arguments: [phrases, pattern, limit, skip])
        while let row = try cursor.next() { matches.append(ScoredMatch(rowid: row[0], rank: row[1])) }
        matches.sort { ($0.rank, $0.rowid) < ($1.rank, $1.rowid) }
        return matches
    }

    /// The SQL filters of a query other than its kinds, over `memory m`, with their arguments:
    /// tags, tier, instance, agent, fields, signers (excluded, retired, named), authors, hosts, since.
    /// The clause that leaves out memories signed by a revoked key after its revocation's point.
    static let notRevokedClause = "m.revoked = 0"

    /// The SQL filters of a query's trust and provenance filters. `revokedInSQL: false` leaves
    /// the revoked-key filter to the caller, which sets such rows aside and counts them.
    static func filterClauses(_ query: RecallQuery, _ db: Database, revokedInSQL: Bool = true) throws -> ([String], [DatabaseValueConvertible?]) {
        var filters: [String] = []
        var arguments: [DatabaseValueConvertible?] = []
        if !query.tags.isEmpty {
            // Tags match whatever their case.
            filters.append("EXISTS (SELECT 1 FROM memory_tag t WHERE t.memory_rowid = m.rowid AND lower(t.tag) IN (\(Self.placeholders(query.tags.count))))")
            arguments += query.tags.map { $0.lowercased() }
        }
        if !query.includeRevoked, revokedInSQL {
            // Signed by a revoked key after its revocation's point: never served unless asked
            // for; the views count what they leave out.
            filters.append(notRevokedClause)
        }
        if let tier = query.minTier, tier != .own {
            filters.append("m.tier IN (\(Self.placeholders(tier.andAbove.count)))")
            arguments += tier.andAbove.map(\.rawValue)
        }
        for (column, values) in [("instance", query.instances), ("agent", query.agents)] where !values.isEmpty {
            filters.append("m.\(column) IN (\(Self.placeholders(values.count)))")
            arguments += values
        }
        for (name, value) in query.fieldEquals {
            // A string field of the body (`subject`, `metric`, a field a newer writer added).
            // `m` may be the narrow `memory_head`, which has no `fields`.
            filters.append("json_extract((SELECT fields FROM memory WHERE rowid = m.rowid), ?) = ?")
            arguments += ["$.\"" + name.replacingOccurrences(of: "\"", with: "") + "\"", value]
        }
        if !query.excludeSigners.isEmpty {
            filters.append("m.signer NOT IN (\(Self.placeholders(query.excludeSigners.count)))")
            arguments += query.excludeSigners
        }
        if query.excludeRetired, let principals = try Self.currentPrincipals(db) {
            filters.append("(m.tier = 'self' OR m.signer IN (SELECT value FROM json_each(?)))")
            arguments.append(principals)
        }
        if !query.authors.isEmpty {
            filters.append("(m.author IN (\(Self.placeholders(query.authors.count))) OR m.signer IN (\(Self.placeholders(query.authors.count))))")
            arguments += query.authors + query.authors
        }
        if !query.signers.isEmpty {
            filters.append("m.signer IN (\(Self.placeholders(query.signers.count)))")
            arguments += query.signers
        }
        if !query.hosts.isEmpty {
            filters.append("m.host IN (\(Self.placeholders(query.hosts.count)))")
            arguments += query.hosts
        }
        if let since = query.since {
            filters.append("m.recorded_epoch >= ?")
            arguments.append(since)
        }
        return (filters, arguments)
    }

    /// Whether a memory `m` is withdrawn: superseded or retracted by an effective withdrawal
    /// (`withdrawingSource`). A retraction is final: nothing withdraws it.
    static let withdrawnColumn = """
        (m.kind <> 'retraction' AND EXISTS (SELECT 1 FROM link l JOIN memory_head s ON s.rowid = l.from_rowid
                WHERE l.kind IN ('supersedes', 'retracts') AND l.to_id = m.id AND \(withdrawingSource("s", targetSigner: "m.signer"))))
        """

    /// The conditions under which memory `source` (linked by `supersedes` or a retraction's
    /// `target` to a memory signed by `targetSigner`) withdraws it: it is served (not held back
    /// by the rate limits, not signed by a revoked key after its revocation's point); its signer is the target's, or held the admin or review role where it
    /// was added; and it is not itself retracted the same way. A retracted correction withdraws
    /// nothing, so retracting a superseding memory brings back what it superseded; a retraction
    /// cannot be retracted, which keeps the rule one level deep.
    /// docs/TRUST.md § Withdrawal authority.
    static func withdrawingSource(_ source: String, targetSigner: String) -> String {
        """
        \(source).deferred = 0 AND \(source).revoked = 0 AND (\(source).signer = \(targetSigner) OR \(source).may_withdraw_any = 1)
        AND NOT (\(source).kind <> 'retraction' AND EXISTS (SELECT 1 FROM link r JOIN memory t ON t.rowid = r.from_rowid
            WHERE r.kind = 'retracts' AND r.to_id = \(source).id AND t.deferred = 0 AND t.revoked = 0
              AND (t.signer = \(source).signer OR t.may_withdraw_any = 1)))
        """
    }

    /// The store-state key of the verified tip's policy's half-lives (a JSON object, kind → days).
    public static let halfLivesKey = "half_lives"
    /// The store-state key of the verified tip's policy's benchmark age limit (seconds).
    public static let benchmarkMaxAgeKey = "benchmark_max_age"

    /// The verified tip's policy settings the cache recorded (defaults where none were recorded).
    static func storeSettings(_ db: Database) throws -> StoreSettings {
        var settings = StoreSettings()
        let rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT key, value FROM store_state WHERE key IN (?, ?)"),
                                    arguments: [Self.halfLivesKey, Self.benchmarkMaxAgeKey])
        for row in rows {
            let value: String = row[1]
            switch row[0] as String {
            case Self.halfLivesKey:
                // A JSON object, kind → days; anything else in it is ignored.
                guard case .object(let pairs)? = try? JSONText.parse(value) else { break }
                for (kind, days) in pairs {
                    switch days {
                    case .integer(let whole) where whole > 0: settings.halfLives[kind] = Double(whole)
                    case .number(let fraction) where fraction > 0: settings.halfLives[kind] = fraction
                    default: continue
                    }
                }
            default:
                if let seconds = Double(value), seconds > 0 { settings.benchmarkMaxAge = seconds }
            }
        }
        return settings
    }

    /// The store settings recall and the fleet views read (`storeSettings`).
    public func settings() throws -> StoreSettings {
        try read { try Self.storeSettings($0) }
    }

    /// The store-state key of the principals the verified tip's policy lists (a JSON array).
    public static let principalsKey = "principals"

    /// The store-state key of when memories were last written to or removed from the cache
    /// (seconds since the epoch; every load that does so sets it): what `status` and `doctor`
    /// call the cache's age. A file's modification time is no guide: opening the cache touches
    /// its write-ahead log.
    public static let updatedAtKey = "updated_at"

    /// The principals the verified tip's policy lists, as stored JSON; nil when not recorded.
    static func currentPrincipals(_ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM store_state WHERE key = ?"), arguments: [Self.principalsKey])
    }

    /// The principals the verified tip's policy lists; nil when not recorded or not a JSON array
    /// of strings (then nobody is called retired: "can't tell" is not "retired").
    static func currentPrincipalSet(_ db: Database) throws -> Set<String>? {
        guard let stored = try currentPrincipals(db), case .array(let items)? = try? JSONText.parse(stored) else { return nil }
        var principals = Set<String>()
        for item in items {
            guard case .string(let principal) = item else { return nil }
            principals.insert(principal)
        }
        return principals
    }

    /// `retired` when the signer is no longer in the current policy (own memories are active).
    static func signerStatus(_ item: RecallItem, current: Set<String>?) -> RecallItem.SignerStatus {
        guard item.tier != .own, let current else { return .active }
        return current.contains(item.signer) ? .active : .retired
    }

    /// One ranked candidate: what ranking read of it, and its score.
    struct RecallCandidate {
        var rowid: Int64
        var id: String
        var signer: String
        var score: Double
        var explanation: RecallItem.Explanation
    }

    private static func candidate(_ row: RankingRow, bm25: Double?, best: Double, now: Double, settings: StoreSettings) -> RecallCandidate {
        let halfLife = settings.halfLifeDays(of: row.kind)
        let ageDays = max(0, now - row.recordedEpoch) / 86_400
        let recency = pow(0.5, ageDays / halfLife)
        let relevance = bm25.map { best < 0 ? $0 / best : 0 } ?? 0  // bm25 is negative: best is the most negative
        let score = bm25 == nil ? recency : 0.7 * relevance + 0.3 * recency
        return RecallCandidate(rowid: row.rowid, id: row.id, signer: row.signer, score: score,
                               explanation: .init(relevance: relevance, recency: recency, halfLifeDays: halfLife, bm25: bm25, ageDays: ageDays))
    }

    /// One memory by id or unambiguous id prefix (case-insensitive).
    /// The ids that start with `prefix` (any case), newest first, at most `limit`: what shell
    /// completion offers for `show`, `retract` and `--supersedes`.
    public func ids(withPrefix prefix: String, limit: Int) throws -> [String] {
        let prefix = prefix.uppercased()
        guard prefix.allSatisfy({ $0.isLetter || $0.isNumber }) else { return [] }
        return try read { db in
            try String.fetchAll(db, sql: "SELECT id FROM memory WHERE id >= ? AND id < ? ORDER BY id DESC LIMIT ?",
                                arguments: [prefix, prefix + "\u{7F}", limit])
        }
    }

    /// The memory with this id, or the only one starting with this prefix (case-insensitive):
    /// found, ambiguous (with the candidates) or not found.
    public func show(_ idOrPrefix: String, now: Double) throws -> ShowResult {
        let prefix = idOrPrefix.uppercased()
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isLetter || $0.isNumber }) else { return .notFound }
        return try read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT \(Self.itemColumns) FROM memory WHERE id >= ? AND id < ? ORDER BY id LIMIT 20",
                                        arguments: [prefix, prefix + "\u{7F}"])
            if rows.isEmpty { return .notFound }
            if let exact = rows.first(where: { ($0[ItemColumn.id] as String) == prefix }) ?? (rows.count == 1 ? rows.first : nil) {
                let halfLife = try Self.storeSettings(db).halfLifeDays(of: exact[ItemColumn.kind])
                let ageDays = max(0, now - (exact[ItemColumn.recordedEpoch] as Double)) / 86_400
                let recency = pow(0.5, ageDays / halfLife)
                var item = try Self.item(exact, score: recency, explanation: .init(relevance: 0, recency: recency, halfLifeDays: halfLife, bm25: nil, ageDays: ageDays), now: now, db)
                item.signerStatus = Self.signerStatus(item, current: try Self.currentPrincipalSet(db))
                return .found(item)
            }
            return .ambiguous(rows.map { $0[ItemColumn.id] })
        }
    }

    /// The columns `item` reads, in the order of `ItemColumn`: by position, since a by-name
    /// lookup lowercases the name for every column of every row.
    static let itemColumns = """
        id, kind, title, body, tags, fields, author, host, instance, agent, recorded_at, expires_at, supersedes, path, commit_id,
        signer, key, revoked, tier, expiry_epoch, deferred, recorded_epoch
        """

    /// The positions of `itemColumns`.
    enum ItemColumn {
        static let id = 0, kind = 1, title = 2, body = 3, tags = 4, fields = 5, author = 6, host = 7, instance = 8, agent = 9
        static let recordedAt = 10, expiresAt = 11, supersedes = 12, path = 13, commit = 14, signer = 15, key = 16, revoked = 17
        static let tier = 18, expiryEpoch = 19, deferred = 20, recordedEpoch = 21
    }

    /// The memories that withdraw memory `?` (id) signed by `?`: id, kind, signer, recorded_at, reason.
    static let withdrawalsSQL = """
        SELECT s.id, l.kind, s.signer, s.recorded_at, json_extract(s.fields, '$.reason') AS reason
        FROM link l JOIN memory s ON s.rowid = l.from_rowid
        WHERE l.kind IN ('supersedes', 'retracts') AND l.to_id = ? AND \(withdrawingSource("s", targetSigner: "?")) ORDER BY s.id
        """

    /// One answer from a row of `itemColumns`, with who withdrew it.
    private static func item(_ row: Row, score: Double, explanation: RecallItem.Explanation, now: Double, _ db: Database) throws -> RecallItem {
        typealias Column = ItemColumn
        let id: String = row[Column.id]
        let signer: String = row[Column.signer]
        let kind: String = row[Column.kind]
        let linkers = kind == MemoryKind.retraction.name ? [] : try Row.fetchAll(db.cachedStatement(sql: withdrawalsSQL), arguments: [id, signer])
        let expiry: Double? = row[Column.expiryEpoch]
        return RecallItem(
            id: id, kind: kind, title: row[Column.title], body: row[Column.body],
            tags: strings(row[Column.tags]),
            fields: (try? JSONText.parse(row[Column.fields] as String)) ?? .object([]),
            author: row[Column.author], host: row[Column.host], instance: row[Column.instance], agent: row[Column.agent],
            recordedAt: row[Column.recordedAt], expiresAt: row[Column.expiresAt],
            supersedes: strings(row[Column.supersedes]),
            path: row[Column.path], commit: row[Column.commit], signer: signer, key: row[Column.key],
            tier: (row[Column.revoked] as Int) != 0 ? .revoked : Tier(rawValue: row[Column.tier]) ?? .authenticated,
            stale: expiry.map { $0 <= now } ?? false,
            supersededBy: linkers.filter { ($0[1] as String) == "supersedes" }.map { $0[0] },
            retracted: linkers.contains { ($0[1] as String) == "retracts" },
            withdrawals: linkers.map {
                RecallItem.Withdrawal(id: $0[0], kind: $0[1], signer: $0[2], recordedAt: $0[3], reason: $0[4],
                                      authority: ($0[2] as String) == signer ? .signer : .role)
            },
            deferred: (row[Column.deferred] as Int) != 0,
            score: (score * 10_000).rounded() / 10_000,
            explanation: explanation)
    }

    /// A JSON array of strings the cache stored (tags, supersedes); empty if it is not one.
    static func strings(_ json: String) -> [String] {
        guard case .array(let items)? = try? JSONText.parse(json) else { return [] }
        return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}

import Foundation
import GRDB
internal import GRDBSQLite
import Synchronization

/// `sfgit_bm25(memory_fts, phrases, sizes, w1, w2, …)`: FTS5's BM25, with the number of documents
/// that hold each phrase remembered per connection, and each row's length read by the query.
///
/// Why: FTS5's own `bm25()` counts those documents (for the inverse document frequency) by
/// walking each phrase's whole doclist, once per query. For a word most memories hold, that walk
/// was four fifths of a recall at 100,000 memories (5 ms of 6), while the newest 500 matches
/// that are scored cost 0.2 ms. A process that answers many recalls (`sfgit mcp`) now pays the
/// walk once per phrase and per state of the cache.
///
/// The score is the same as `bm25()`'s, term for term: k1 = 1.2, b = 0.75, IDF =
/// ln((N − n + 0.5) / (n + 0.5)) floored at 1e-6, per-column weights from the trailing
/// arguments, the row's length in tokens over the average; negated, so that lower is better.
/// `phrases` names the query's phrases in order, separated by U+001F: the cache's keys.
/// `sizes` is the row's `sz` from FTS5's own `memory_fts_docsize` table (joined by the query), or
/// NULL. Why: FTS5 looks that row up through a statement of its own for every row scored
/// (`xColumnSize`), which was more than half of scoring the newest 500 matches; a join reads the
/// same record for a third of that. The lengths are the same numbers, so the score is too.
///
/// Exactness: the counts are valid for one state of the database only. `TermStatistics.prepare`
/// runs in the read transaction before each ranking query and empties the connection's counts
/// whenever `PRAGMA data_version` (a commit by another connection) or this connection's own
/// change count moved.
final class TermStatistics: @unchecked Sendable {  // @unchecked Sendable: used only by its connection's thread, inside SQLite's calls on it
    /// The SQL function's name.
    static let functionName = "sfgit_bm25"

    /// Documents holding each phrase, for the state `stamp` names.
    private var documents: [String: Int64] = [:]
    private var stamp: (dataVersion: Int64, changes: Int64) = (-1, -1)

    /// The statistics of each open connection, by its SQLite handle: `prepare` finds its
    /// connection's from inside a read.
    private static let registry = Mutex<[UInt: TermStatistics]>([:])

    /// Registers `sfgit_bm25` on a new connection (`Configuration.prepareDatabase`).
    static func register(_ db: Database) {
        guard let connection = db.sqliteConnection else { return }
        let statistics = TermStatistics()
        let key = UInt(bitPattern: connection)
        registry.withLock { $0[key] = statistics }
        let api = FTS5.api(db)
        let context = Unmanaged.passRetained(Registration(statistics: statistics, key: key)).toOpaque()
        _ = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), functionName, context, rankFunction, { context in
            // The connection closes: its statistics go with it.
            guard let context else { return }
            let registration = Unmanaged<Registration>.fromOpaque(context).takeRetainedValue()
            TermStatistics.registry.withLock { $0[registration.key] = nil }
        })
    }

    /// Readies the connection's counts for the read transaction `db` is in (call it after the
    /// transaction's first read, so that the stamp is its snapshot's).
    static func prepare(_ db: Database) throws {
        guard let connection = db.sqliteConnection,
              let statistics = registry.withLock({ $0[UInt(bitPattern: connection)] }) else { return }
        let dataVersion = try Int64.fetchOne(db.cachedStatement(sql: "PRAGMA data_version")) ?? -1
        let changes = Int64(sqlite3_total_changes64(connection))
        if statistics.stamp != (dataVersion, changes) {
            statistics.documents.removeAll(keepingCapacity: true)
            statistics.stamp = (dataVersion, changes)
        }
    }

    /// How many documents hold `phrase` (number `index` of the query), remembered or counted.
    fileprivate func documents(holding phrase: String?, index: Int32, _ api: UnsafePointer<Fts5ExtensionApi>, _ fts: OpaquePointer) -> Int64? {
        if let phrase, let known = documents[phrase] { return known }
        var count: Int64 = 0
        let status = api.pointee.xQueryPhrase(fts, index, &count) { _, _, counter in
            counter?.assumingMemoryBound(to: Int64.self).pointee += 1
            return SQLITE_OK
        }
        guard status == SQLITE_OK else { return nil }
        if let phrase { documents[phrase] = count }
        return count
    }

    /// What `xCreateFunction` holds for one connection.
    private final class Registration {
        let statistics: TermStatistics
        let key: UInt
        init(statistics: TermStatistics, key: UInt) {
            self.statistics = statistics
            self.key = key
        }
    }

    /// One query's constants: every phrase's IDF and the average row length; and the phrases'
    /// counts in the current row, reused from row to row (no allocation per row).
    private final class QueryConstants {
        let inverseFrequencies: [Double]
        let averageLength: Double
        var frequencies: [Double]
        init(inverseFrequencies: [Double], averageLength: Double) {
            self.inverseFrequencies = inverseFrequencies
            self.averageLength = averageLength
            frequencies = [Double](repeating: 0, count: inverseFrequencies.count)
        }
    }

    /// The function SQLite calls for each row.
    private static let rankFunction: fts5_extension_function = { api, fts, context, count, values in
        guard let api, let fts, let context else { return }
        guard let registration = api.pointee.xUserData(fts).map({ Unmanaged<Registration>.fromOpaque($0).takeUnretainedValue() }) else {
            sqlite3_result_error(context, "sfgit_bm25: no statistics", -1)
            return
        }
        let constants: QueryConstants
        if let stored = api.pointee.xGetAuxdata(fts, 0) {
            constants = Unmanaged<QueryConstants>.fromOpaque(stored).takeUnretainedValue()
        } else {
            guard let made = queryConstants(api, fts, count > 0 ? values?[0] : nil, registration.statistics) else {
                sqlite3_result_error_code(context, SQLITE_ERROR)
                return
            }
            constants = made
            let retained = Unmanaged.passRetained(made).toOpaque()
            guard api.pointee.xSetAuxdata(fts, retained, { Unmanaged<QueryConstants>.fromOpaque($0!).release() }) == SQLITE_OK else {
                sqlite3_result_error_code(context, SQLITE_ERROR)
                return
            }
        }
        // Each phrase's weighted count in this row, then the row's length.
        for phrase in constants.frequencies.indices { constants.frequencies[phrase] = 0 }
        var instances: Int32 = 0
        guard api.pointee.xInstCount(fts, &instances) == SQLITE_OK else { sqlite3_result_error_code(context, SQLITE_ERROR); return }
        for instance in 0..<instances {
            var phrase: Int32 = 0, column: Int32 = 0, offset: Int32 = 0
            guard api.pointee.xInst(fts, instance, &phrase, &column, &offset) == SQLITE_OK else { sqlite3_result_error_code(context, SQLITE_ERROR); return }
            // Weights follow the phrase list and the sizes (arguments 0 and 1): column c's weight is argument c + 2.
            let weight = count > column + 2 ? sqlite3_value_double(values![Int(column + 2)]) : 1.0
            constants.frequencies[Int(phrase)] += weight
        }
        var tokens: Int32 = 0
        if count > 1, let sizes = values?[1], let length = rowLength(sizes, columns: api.pointee.xColumnCount(fts)) {
            tokens = length
        } else {
            guard api.pointee.xColumnSize(fts, -1, &tokens) == SQLITE_OK else { sqlite3_result_error_code(context, SQLITE_ERROR); return }
        }
        let k1 = 1.2, b = 0.75
        let length = Double(tokens)
        var score = 0.0
        for (phrase, frequency) in constants.frequencies.enumerated() {
            score += constants.inverseFrequencies[phrase] * ((frequency * (k1 + 1.0)) / (frequency + k1 * (1 - b + b * length / constants.averageLength)))
        }
        sqlite3_result_double(context, -1.0 * score)
    }

    /// A row's length in tokens from its `memory_fts_docsize.sz` record: one SQLite varint per
    /// column, summed as `xColumnSize(-1)` sums them. Nil when the value is not such a record
    /// (NULL, or damaged): the caller asks FTS5 instead.
    static func rowLength(_ sizes: OpaquePointer, columns: Int32) -> Int32? {
        guard sqlite3_value_type(sizes) == SQLITE_BLOB, let blob = sqlite3_value_blob(sizes) else { return nil }
        return rowLength(UnsafeBufferPointer(start: blob.assumingMemoryBound(to: UInt8.self), count: Int(sqlite3_value_bytes(sizes))), columns: columns)
    }

    /// A row's length from the bytes of its docsize record (`rowLength(_:columns:)`).
    static func rowLength(_ bytes: UnsafeBufferPointer<UInt8>, columns: Int32) -> Int32? {
        var position = 0
        var total: Int64 = 0
        for _ in 0..<columns {
            // A varint: seven bits a byte, most significant first, while the high bit is set (a
            // column's token count never needs the nine-byte form).
            var value: Int64 = 0
            var length = 0
            while true {
                guard position < bytes.count, length < 5 else { return nil }
                let byte = bytes[position]
                position += 1
                length += 1
                value = value << 7 | Int64(byte & 0x7F)
                if byte & 0x80 == 0 { break }
            }
            total += value
        }
        // FTS5 reads the record the same way and calls one with bytes left over damaged.
        guard position == bytes.count, total <= Int64(Int32.max) else { return nil }
        return Int32(total)
    }

    /// The query's IDFs and average row length, from the remembered counts where there are some.
    private static func queryConstants(_ api: UnsafePointer<Fts5ExtensionApi>, _ fts: OpaquePointer, _ phraseList: OpaquePointer?,
                                       _ statistics: TermStatistics) -> QueryConstants? {
        var rows: Int64 = 0, totalTokens: Int64 = 0
        guard api.pointee.xRowCount(fts, &rows) == SQLITE_OK, api.pointee.xColumnTotalSize(fts, -1, &totalTokens) == SQLITE_OK, rows > 0 else { return nil }
        let phraseCount = api.pointee.xPhraseCount(fts)
        var names: [String] = []
        if let phraseList, let text = sqlite3_value_text(phraseList) {
            names = String(cString: text).split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        }
        // Names that do not line up with the query's phrases are not used as keys.
        let keyed = names.count == Int(phraseCount)
        var inverse: [Double] = []
        for index in 0..<phraseCount {
            guard let holding = statistics.documents(holding: keyed ? names[Int(index)] : nil, index: index, api, fts) else { return nil }
            let idf = log((Double(rows) - Double(holding) + 0.5) / (Double(holding) + 0.5))
            inverse.append(idf <= 0 ? 1e-6 : idf)
        }
        return QueryConstants(inverseFrequencies: inverse, averageLength: Double(totalTokens) / Double(rows))
    }
}

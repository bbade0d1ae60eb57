import Foundation
import GRDB
import Logging
import SFGitMemory

/// The rate limits' schedule, on the history clock. Per signer, memories are taken in the order
/// they entered the shared branch (position on the first-parent chain, then path); the k-th is
/// released at `max(its arrival clock, the release of the one before it, the release of the
/// (k − Q)-th + 1 day)`, Q being its quota: at most Q releases in any 24 hours, first in, first out.
/// A function of the verified history and the policy alone: every host, a reindex and a fresh
/// clone compute the same times. Records normally come in that order; one that comes before an
/// earlier-loaded record of its signer (a merge's side branch streamed during a rebuild) marks the
/// signer, whose schedule `settle` then recomputes from there.
/// docs/TRUST.md § Rate limits.
final class QuotaSchedule {
    private final class Signer {
        /// The releases of the signer's memories scheduled before this batch's first one, oldest
        /// first: the newest `olderLimit` of them.
        var older: [Double] = []
        var olderLimit = 0
        /// This batch's releases, in the order loaded.
        var loaded: [Double] = []
        var first: (position: Int64, path: String)
        var last: (position: Int64, path: String)
        var recomputeFrom: (position: Int64, path: String)?

        init(older: [Double], olderLimit: Int, first: (position: Int64, path: String)) {
            self.older = older
            self.olderLimit = olderLimit
            self.first = first
            self.last = first
        }

        /// The i-th release of the signer's schedule as far as it is known here.
        subscript(index: Int) -> Double { index < older.count ? older[index] : loaded[index - older.count] }
        var count: Int { older.count + loaded.count }
    }
    private var signers: [String: Signer] = [:]
    /// The release time of every memory scheduled in this load, by path (after `settle`, final).
    private(set) var releases: [String: Double] = [:]

    static func isBefore(_ a: (position: Int64, path: String), _ b: (position: Int64, path: String)) -> Bool {
        a.position != b.position ? a.position < b.position : a.path < b.path
    }

    /// The release time of a memory, given the `count` releases before it (`at(i)`, oldest first).
    static func release(_ arrival: HistoryArrival, count: Int, at: (Int) -> Double) -> Double {
        var time = arrival.clock
        if count > 0 { time = max(time, at(count - 1)) }
        if arrival.quotaPerDay > 0, count >= arrival.quotaPerDay {
            time = max(time, at(count - arrival.quotaPerDay) + 86_400)
        }
        return time
    }

    /// The release time of a memory loaded now (provisional when it comes out of order).
    func release(_ signer: String, path: String, _ arrival: HistoryArrival, _ db: Database) throws -> Double {
        let key = (position: arrival.position, path: path)
        let state: Signer
        if let known = signers[signer] {
            state = known
        } else {
            state = Signer(older: try Self.releases(of: signer, before: key, limit: arrival.quotaPerDay, db), olderLimit: arrival.quotaPerDay, first: key)
            signers[signer] = state
        }
        // A larger quota looks further back, when the cache may hold more than was read.
        if arrival.quotaPerDay > state.olderLimit, state.older.count == state.olderLimit {
            state.older = try Self.releases(of: signer, before: state.first, limit: arrival.quotaPerDay, db)
            state.olderLimit = arrival.quotaPerDay
        }
        if Self.isBefore(key, state.last) {
            if state.recomputeFrom.map({ Self.isBefore(key, $0) }) ?? true { state.recomputeFrom = key }
        } else {
            state.last = key
        }
        let time = Self.release(arrival, count: state.count) { state[$0] }
        state.loaded.append(time)
        releases[path] = time
        return time
    }

    /// Recomputes the schedule of every signer whose records came out of order, from the first
    /// of them on.
    func settle(_ db: Database) throws {
        for (signer, state) in signers {
            guard let from = state.recomputeFrom else { continue }
            let rows = try Row.fetchAll(db, sql: """
                SELECT rowid, path, arrival, arrival_clock, quota_per_day, release_at FROM memory
                WHERE signer = ? AND arrival IS NOT NULL AND tier <> 'self' AND (arrival > ? OR (arrival = ? AND path >= ?))
                ORDER BY arrival, path
                """, arguments: [signer, from.position, from.position, from.path])
            let deepest = rows.map { $0["quota_per_day"] as Int }.max() ?? 0
            var earlier = try Self.releases(of: signer, before: from, limit: deepest, db)
            for row in rows {
                let arrival = HistoryArrival(position: row["arrival"], clock: row["arrival_clock"], quotaPerDay: row["quota_per_day"])
                let time = Self.release(arrival, count: earlier.count) { earlier[$0] }
                earlier.append(time)
                releases[row["path"] as String] = time
                if (row["release_at"] as Double?) != time {
                    try db.execute(sql: "UPDATE memory SET release_at = ?, admitted_at = ?, deferred = 0 WHERE rowid = ?", arguments: [time, time, row["rowid"] as Int64])
                }
            }
        }
    }

    /// Releases of a signer's memories scheduled before `key`, oldest first (the newest `limit`).
    private static func releases(of signer: String, before key: (position: Int64, path: String), limit: Int, _ db: Database) throws -> [Double] {
        try Double.fetchAll(db, sql: """
            SELECT release_at FROM memory WHERE signer = ? AND arrival IS NOT NULL AND tier <> 'self'
            AND (arrival < ? OR (arrival = ? AND path < ?)) ORDER BY arrival DESC, path DESC LIMIT ?
            """, arguments: [signer, key.position, key.position, key.path, limit]).reversed()
    }
}

/// The local SQLite cache of verified memories: derived from the bare repository, disposable,
/// rebuilt from git whenever it is missing, corrupt or of an unknown version.
///
/// One writer (sync) and any number of readers (recall, an MCP server) share it through WAL:
/// reads never wait for a write transaction and never take the store's sync lock.
public final class MemoryIndex: Sendable {
    /// The cache format this sfgit reads and writes; any other value means "rebuild".
    public static let cacheVersion = 6

    /// A pool (one writer, many readers) or, opened for reading only, one read-only connection.
    private let database: any DatabaseWriter
    /// The database file.
    public let path: String
    /// Whether the file was (re)created on open, so the caller must index from scratch.
    public let isFresh: Bool

    /// Opens (or creates) the cache. A file that is not a database, or of another version, is
    /// deleted and recreated empty; `isFresh` then tells the caller to rebuild it from git.
    public init(path: String) throws {
        self.path = path
        Self.discardIfForeign(path)
        OwnerOnly.createFile(path)
        do {
            let (pool, fresh) = try Self.openChecked(path)
            self.database = pool
            self.isFresh = fresh
        } catch {
            // Anything unreadable is rebuilt from the repository: the cache holds nothing else.
            Self.deleteFiles(path)
            OwnerOnly.createFile(path)
            let (pool, _) = try Self.openChecked(path)
            self.database = pool
            self.isFresh = true
        }
    }

    private init(path: String, readOnly: DatabaseQueue) {
        self.path = path
        self.database = readOnly
        self.isFresh = false
    }

    /// Opens an existing cache of this version for reading only: one read-only connection and
    /// none of a writer's set-up, which a recall process would pay on every call. Nil when there
    /// is no such cache (missing, unreadable, of another version): the caller then opens it the
    /// ordinary way, which creates or rebuilds it.
    /// `resident`: the cache stays open in a long-lived process (`sfgit mcp`): its pages are read
    /// into SQLite's page cache, bounded at 16 MiB, rather than memory-mapped, so that the
    /// process's resident memory does not grow with every page of a growing cache it ever touched
    /// (a mapped 100k cache showed 221 MiB resident after a sync, nearly all of it mapped file
    /// pages; with a 32 MiB page cache, 69 MiB).
    public static func openForReading(path: String, resident: Bool = false) -> MemoryIndex? {
        guard FileManager.default.fileExists(atPath: path), foreignWriter(path) == nil else { return nil }
        var configuration = Self.configuration
        configuration.readonly = true
        if resident {
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA mmap_size = 0; PRAGMA cache_size = -16384") }
        }
        guard let queue = try? DatabaseQueue(path: path, configuration: configuration),
              (try? queue.read({ try Int.fetchOne($0, sql: "PRAGMA user_version") })) == Self.cacheVersion else { return nil }
        return MemoryIndex(path: path, readOnly: queue)
    }

    /// Why another user could have written the cache (its database, WAL or shared-memory file),
    /// or nil. What such a user wrote would be served as verified, so the file is not read.
    static func foreignWriter(_ path: String) -> String? {
        for suffix in ["", "-wal", "-shm"] {
            if let problem = OwnerOnly.foreignWriter(path + suffix) { return "\(path + suffix): \(problem)" }
        }
        return nil
    }

    /// Deletes a cache another user could have written: it is rebuilt from git like a damaged one.
    private static func discardIfForeign(_ path: String) {
        guard let problem = foreignWriter(path) else { return }
        logger.debug("discarding the cache, rebuilt from git: \(problem)")
        deleteFiles(path)
    }

    private static let logger = Logger(label: "sfgit.index")

    private static func deleteFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Every connection's settings.
    private static var configuration: Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            // Reads come from memory-mapped pages, not a read(2) per page; a larger page cache
            // keeps the FTS index's hot pages between queries.
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -32768")
            TermStatistics.register(db)
        }
        return configuration
    }

    private static func openChecked(_ path: String) throws -> (DatabasePool, Bool) {
        let pool = try DatabasePool(path: path, configuration: Self.configuration)
        // A cache of this version opens with one read and no write transaction: opening must
        // neither scan the file nor wait for a sync's write. A damaged page shows up later as a
        // corruption error (see `isCorruption`).
        let (version, tables) = try pool.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") ?? 0)
        }
        if version == Self.cacheVersion { return (pool, false) }
        // Version 1 put primary-key columns of WITHOUT ROWID tables out of declaration order, which
        // SQLite 3.40's quick_check misreports as NULLs: such a cache is rebuilt, like any other version.
        if version != 0 || tables > 0 { throw IndexError.unknownVersion(version) }
        try migrator.migrate(pool)
        try pool.write { db in try db.execute(sql: "PRAGMA user_version = \(Self.cacheVersion)") }
        return (pool, true)
    }

    /// Whether an error means the cache file is damaged: the caller discards it and rebuilds.
    public static func isCorruption(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_CORRUPT || error.resultCode == .SQLITE_NOTADB
    }

    /// Puts a complete cache built at `source` in the place of the one at `path`, in one
    /// rename: a reader sees the old answers or the new ones, never an empty cache. The new
    /// cache must be closed (no WAL of its own); the old one's WAL and shared memory go first,
    /// so that they are never taken for the new file's. Readers that had the old file open keep
    /// reading it (a resident reader should reopen when the file at `path` changes).
    public static func install(_ source: String, at path: String) throws {
        if let size = (try? FileManager.default.attributesOfItem(atPath: source + "-wal"))?[.size] as? Int, size > 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: source, NSLocalizedDescriptionKey: "the new cache is still open (its WAL holds pages)"])
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        guard rename(source, path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: source + suffix) }
    }

    /// Deletes a cache's files (a damaged cache is rebuilt from git; it holds nothing else).
    public static func discard(path: String) {
        deleteFiles(path)
    }

    /// Why the cache could not be used as it was.
    enum IndexError: Error {
        case unknownVersion(Int)
    }

    /// Named migrations; the schema's integrity (NOT NULL, foreign keys, CHECKs) lives here.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v2: memories, tags, links, full-text index, quarantine, state") { db in
            try db.execute(sql: """
                CREATE TABLE memory (
                    rowid INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    title TEXT NOT NULL,
                    body TEXT NOT NULL,
                    extra TEXT NOT NULL,
                    author TEXT NOT NULL,
                    host TEXT NOT NULL,
                    instance TEXT,
                    agent TEXT,
                    recorded_at TEXT NOT NULL,
                    recorded_epoch REAL NOT NULL,
                    expires_at TEXT,
                    expiry_epoch REAL,
                    tags TEXT NOT NULL,
                    supersedes TEXT NOT NULL,
                    fields TEXT NOT NULL,
                    path TEXT NOT NULL UNIQUE,
                    blob TEXT NOT NULL,
                    commit_id TEXT NOT NULL,
                    signer TEXT NOT NULL,
                    key TEXT NOT NULL,
                    tier TEXT NOT NULL CHECK (tier IN ('self', 'authenticated', 'reviewed')),
                    first_seen REAL NOT NULL,
                    admitted_at REAL,
                    deferred INTEGER NOT NULL DEFAULT 0 CHECK (deferred IN (0, 1)),
                    CHECK ((deferred = 1) = (admitted_at IS NULL))
                );
                CREATE INDEX memory_signer_admitted ON memory(signer, admitted_at);
                CREATE INDEX memory_recorded ON memory(recorded_epoch);
                CREATE INDEX memory_kind_recorded ON memory(kind, recorded_epoch);
                CREATE INDEX memory_signer ON memory(signer);
                CREATE TABLE memory_tag (
                    tag TEXT NOT NULL,
                    memory_rowid INTEGER NOT NULL REFERENCES memory(rowid) ON DELETE CASCADE,
                    PRIMARY KEY (tag, memory_rowid)
                ) WITHOUT ROWID;
                CREATE INDEX memory_tag_memory ON memory_tag(memory_rowid);
                CREATE TABLE link (
                    kind TEXT NOT NULL CHECK (kind IN ('supersedes', 'retracts')),
                    to_id TEXT NOT NULL,
                    from_rowid INTEGER NOT NULL REFERENCES memory(rowid) ON DELETE CASCADE,
                    PRIMARY KEY (kind, to_id, from_rowid)
                ) WITHOUT ROWID;
                CREATE INDEX link_from ON link(from_rowid);
                CREATE TABLE quarantine (
                    path TEXT PRIMARY KEY,
                    blob TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    commit_id TEXT NOT NULL
                );
                CREATE TABLE store_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE VIRTUAL TABLE memory_fts USING fts5(
                    title, body, extra, content='memory', content_rowid='rowid',
                    tokenize = 'unicode61 remove_diacritics 2'
                );
                CREATE VIRTUAL TABLE memory_fts_vocab USING fts5vocab(memory_fts, 'row');
                """)
        }
        // The fleet views (`breakers`, `benchmarks`) read one kind by subject, by time, or by
        // expiry: each through an index, never a scan of the whole table.
        migrator.registerMigration("v3: fleet views: subject and expiry indexes") { db in
            try db.execute(sql: """
                CREATE INDEX memory_kind_subject ON memory(kind, json_extract(fields, '$.subject'), recorded_epoch);
                CREATE INDEX memory_kind_expiry ON memory(kind, expiry_epoch);
                """)
        }
        // Withdrawal authority: whether a memory's signer was an admin or reviewer where it was
        // added, so that its retractions and supersedes apply to other signers' memories too.
        migrator.registerMigration("v4: withdrawal authority") { db in
            try db.execute(sql: """
                ALTER TABLE memory ADD COLUMN may_withdraw_any INTEGER NOT NULL DEFAULT 0 CHECK (may_withdraw_any IN (0, 1));
                """)
        }
        // Rate limits on the history clock: where each memory entered the shared branch (its
        // position on the first-parent chain) and when its signer's quota releases it; and
        // whether its key was revoked after the point a revocation names.
        migrator.registerMigration("v5: rate limits on the history clock, revoked keys") { db in
            try db.execute(sql: """
                ALTER TABLE memory ADD COLUMN arrival INTEGER;
                ALTER TABLE memory ADD COLUMN arrival_clock REAL;
                ALTER TABLE memory ADD COLUMN quota_per_day INTEGER;
                ALTER TABLE memory ADD COLUMN release_at REAL;
                ALTER TABLE memory ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1));
                CREATE INDEX memory_signer_arrival ON memory(signer, arrival, path);
                CREATE INDEX memory_deferred_release ON memory(release_at) WHERE deferred = 1;
                """)
        }
        // The narrow copy of every memory that ranking and the fleet views read: a memory row
        // carries its title and body (about a kilobyte), so reading thousands of them for a few
        // columns each was most of a recall's or a fleet view's time. Triggers keep it equal to
        // `memory` whatever statement writes there; it holds nothing of its own. Its indexes
        // serve the fleet views, so they hold only memories with a subject (a query names
        // `subject IS NOT NULL` to use them, and each holds `subject` so that a count reads the
        // index alone): the other kinds' inserts pay nothing for them.
        migrator.registerMigration("v6: memory_head, the columns ranking and the fleet views read") { db in
            try db.execute(sql: """
                DROP INDEX memory_kind_subject;
                DROP INDEX memory_kind_expiry;
                CREATE TABLE memory_head (
                    rowid INTEGER PRIMARY KEY,
                    id TEXT NOT NULL, kind TEXT NOT NULL, author TEXT NOT NULL, host TEXT NOT NULL, instance TEXT, agent TEXT,
                    recorded_at TEXT NOT NULL, recorded_epoch REAL NOT NULL, expiry_epoch REAL, signer TEXT NOT NULL,
                    tier TEXT NOT NULL, deferred INTEGER NOT NULL, may_withdraw_any INTEGER NOT NULL, revoked INTEGER NOT NULL,
                    subject TEXT, metric TEXT, value REAL, unit TEXT, state TEXT, resets_at TEXT
                );
                \(MemoryIndex.headMaintenance)
                """)
        }
        return migrator
    }()

    /// A `memory_head` row from the `memory` row `NEW`: the columns ranking, filters and the
    /// fleet views read, with the fleet fields taken out of the `fields` JSON once, on write.
    static let headProjection = headColumns(of: "NEW")

    /// The `memory_head` columns of the `memory` row named `row`.
    static func headColumns(of row: String) -> String {
        """
        \(row).rowid, \(row).id, \(row).kind, \(row).author, \(row).host, \(row).instance, \(row).agent, \(row).recorded_at,
        \(row).recorded_epoch, \(row).expiry_epoch, \(row).signer, \(row).tier, \(row).deferred, \(row).may_withdraw_any, \(row).revoked,
        json_extract(\(row).fields, '$.subject'), json_extract(\(row).fields, '$.metric'), json_extract(\(row).fields, '$.value'),
        json_extract(\(row).fields, '$.unit'), json_extract(\(row).fields, '$.state'), json_extract(\(row).fields, '$.resets_at')
        """
    }

    /// What keeps `memory_head` equal to `memory` and indexed: dropped during a cold load, which
    /// fills the table and builds its indexes once at the end instead (row by row, they cost a
    /// cold index of 100,000 memories a third more time).
    static let headMaintenance = """
        CREATE INDEX memory_head_kind_subject ON memory_head(kind, subject, recorded_epoch) WHERE subject IS NOT NULL;
        CREATE INDEX memory_head_kind_recorded ON memory_head(kind, recorded_epoch, subject) WHERE subject IS NOT NULL;
        CREATE INDEX memory_head_kind_expiry ON memory_head(kind, expiry_epoch, subject) WHERE subject IS NOT NULL;
        CREATE TRIGGER memory_head_insert AFTER INSERT ON memory BEGIN
            INSERT INTO memory_head VALUES (\(headProjection));
        END;
        CREATE TRIGGER memory_head_update AFTER UPDATE OF id, kind, author, host, instance, agent, recorded_at,
            recorded_epoch, expiry_epoch, signer, tier, deferred, may_withdraw_any, revoked, fields ON memory BEGIN
            DELETE FROM memory_head WHERE rowid = OLD.rowid;
            INSERT INTO memory_head VALUES (\(headProjection));
        END;
        CREATE TRIGGER memory_head_delete AFTER DELETE ON memory BEGIN
            DELETE FROM memory_head WHERE rowid = OLD.rowid;
        END;
        """

    /// Drops `headMaintenance` and empties `memory_head` (the start of a cold load).
    static let suspendHead = """
        DROP TRIGGER memory_head_insert; DROP TRIGGER memory_head_update; DROP TRIGGER memory_head_delete;
        DROP INDEX memory_head_kind_subject; DROP INDEX memory_head_kind_recorded; DROP INDEX memory_head_kind_expiry;
        DELETE FROM memory_head;
        """

    /// Fills `memory_head` from `memory` in one pass, then restores `headMaintenance` (the end
    /// of a cold load).
    static let resumeHead = "INSERT INTO memory_head SELECT \(headColumns(of: "m")) FROM memory m;\n" + headMaintenance

    // MARK: - Writing

    /// Applies a batch in one transaction: all of it, or (on any error) none of it.
    public func apply(_ batch: IndexBatch) throws {
        try load(batch, reset: false) { nil }
    }

    /// Empties the cache and fills it from `batch` in the same transaction.
    public func reset(with batch: IndexBatch) throws {
        try load(batch, reset: true) { nil }
    }

    /// Applies `batch` plus the memories `next` produces (until it returns nil), taken one at a
    /// time inside the transaction so that a whole store never has to sit in memory; an error from
    /// `next` rolls everything back. With `reset`, the cache is emptied first and the full-text
    /// index is filled in one pass at the end (a cold index).
    public func load(_ batch: IndexBatch, reset: Bool, next: () throws -> IndexedMemory?) throws {
        try load(batch, reset: reset, streaming: false, next: next, closing: { IndexBatch() })
    }

    /// A cold rebuild fed while it runs, for an indexer that verifies on another thread: empties
    /// the cache, adds what `next` produces (it may wait for each), then applies the batch
    /// `closing` returns (quarantine, state, reviewed paths) in the same transaction. An error
    /// from either rolls everything back, leaving the cache as it was.
    public func rebuild(next: () throws -> IndexedMemory?, closing: () throws -> IndexBatch) throws {
        try load(IndexBatch(), reset: true, streaming: true, next: next, closing: closing)
    }

    private func load(_ batch: IndexBatch, reset: Bool, streaming: Bool, next: () throws -> IndexedMemory?, closing: () throws -> IndexBatch) throws {
        try database.writeWithoutTransaction { db in
            // A cold load is a rebuild of a disposable cache: a crash midway only means rebuilding
            // again, so it skips the syncs that protect incremental updates.
            // Its page cache is kept small too: every page a rebuild writes is dirty and would
            // stay in memory up to the cache's size, which is sized for queries.
            if reset { try db.execute(sql: "PRAGMA synchronous = OFF; PRAGMA cache_size = -8192") }
            defer { if reset { try? db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768") } }
            try db.inTransaction {
                let schedule = QuotaSchedule()
                try loadInTransaction(batch, reset: reset, streaming: streaming, schedule: schedule, next: next, db)
                let last = try closing()
                try record(last, db)
                try schedule.settle(db)
                if let clock = last.historyClock ?? batch.historyClock { try Self.holdBack(after: clock, loaded: schedule.releases, db) }
                if reset { try db.execute(sql: Self.resumeHead) }
                return .commit
            }
        }
        // The rebuild wrote the whole file and its WAL without syncing: checkpoint, sync and
        // empty the WAL now, or flushing them lands on the next small update (≈ 100 ms at 100k).
        // A reader holding an old snapshot only makes this wait, then give up, harmlessly.
        if reset { _ = try? database.writeWithoutTransaction { try $0.checkpoint(.truncate) } }
    }

    private func loadInTransaction(_ batch: IndexBatch, reset: Bool, streaming: Bool, schedule: QuotaSchedule, next: () throws -> IndexedMemory?, _ db: Database) throws {
        if reset {
            try db.execute(sql: Self.suspendHead)
            try db.execute(sql: "DELETE FROM memory; DELETE FROM quarantine; DELETE FROM store_state;")
            try db.execute(sql: "INSERT INTO memory_fts(memory_fts) VALUES('delete-all')")
        }
        for path in batch.removedPaths { try Self.delete(path: path, db) }
        // A large batch (a cold index) fills the full-text index in one pass afterwards, unless
        // memories stream in while another thread verifies: then each goes in as it comes, in the
        // time the writer would otherwise wait, so FTS5's smaller default buffer costs nothing.
        let bulk = !streaming && (reset || batch.upserts.count >= 2_000)
        if reset {
            let hashSize = bulk ? Self.bulkHashSize : Self.defaultHashSize
            try db.execute(sql: "INSERT INTO memory_fts(memory_fts, rank) VALUES('hashsize', \(hashSize))")
        }
        func add(_ record: IndexedMemory) throws {
            if !reset { try Self.delete(path: record.path, db) }
            // Two authentic branches can each add the same id under different kinds; the first
            // one indexed keeps it, the other is quarantined rather than failing the batch.
            if let other = try String.fetchOne(
                db.cachedStatement(sql: "SELECT path FROM memory WHERE id = ?"), arguments: [record.memory.id.description]) {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO quarantine(path, blob, reason, detail, commit_id) VALUES (?, ?, ?, ?, ?)")
                    .execute(arguments: [record.path, record.blob, "duplicate_id", "id \(record.memory.id) is already indexed at \(other)", record.commit])
                return
            }
            // Served for now; `holdBack(after:)` holds back what the history clock has not reached.
            let release = try record.tier == .own ? nil : record.arrival.map { try schedule.release(record.signer, path: record.path, $0, db) }
            try Self.insert(record, release: release, updateFullText: !bulk, db)
        }
        var written = reset || !batch.upserts.isEmpty || !batch.removedPaths.isEmpty
        for record in batch.upserts { try add(record) }
        while let record = try next() {
            try add(record)
            written = true
        }
        // After a cold fill, the full-text index is merged into one segment: left as the fill
        // wrote it, the next small updates set off FTS5's merges of its segments (+100 memories
        // after a one-pass fill of 100k took 160-1,070 ms, merged 35-150 ms; the index phase of
        // an incremental sync after a streamed clone of 10k, 76-95 ms, merged 58-61 ms).
        if bulk {
            try db.execute(sql: "INSERT INTO memory_fts(memory_fts) VALUES('rebuild'); INSERT INTO memory_fts(memory_fts) VALUES('optimize')")
        } else if reset {
            try db.execute(sql: "INSERT INTO memory_fts(memory_fts) VALUES('optimize')")  // a streamed fill too
        }
        try record(batch, db)
        if written {
            try db.execute(sql: "INSERT OR REPLACE INTO store_state(key, value) VALUES (?, ?)",
                           arguments: [Self.updatedAtKey, String(Date().timeIntervalSince1970)])
        }
    }

    /// The bytes of pending full-text terms a cold fill buffers. FTS5 flushes them to a new
    /// segment every `hashsize` bytes (1 MB by default), and its buffer takes several times that
    /// in memory: at 4 MB the one-pass fill of 100,000 memories (a reindex) stays fast while a
    /// sync's peak memory keeps within its bound.
    static let bulkHashSize = 4 << 20
    /// FTS5's own default, for a fill that streams in while verification runs.
    static let defaultHashSize = 1 << 20

    /// Records a batch's quarantined files, reviewed paths and store state.
    private func record(_ batch: IndexBatch, _ db: Database) throws {
        for file in batch.quarantined {
            try db.execute(
                sql: "INSERT OR REPLACE INTO quarantine(path, blob, reason, detail, commit_id) VALUES (?, ?, ?, ?, ?)",
                arguments: [file.path, file.blob, file.reason, file.detail, file.commit])
        }
        for path in batch.reviewedPaths {
            try db.execute(sql: "UPDATE memory SET tier = 'reviewed' WHERE path = ? AND tier = 'authenticated'", arguments: [path])
        }
        if let revoked = batch.revokedPaths {
            // Every memory is judged again against the verified tip's revocations (few rows change).
            try db.execute(sql: "UPDATE memory SET revoked = 0 WHERE revoked = 1 AND path NOT IN (SELECT value FROM json_each(?))",
                           arguments: [Self.json(.array(revoked.sorted().map(JSONValue.string)))])
            for path in revoked { try db.execute(sql: "UPDATE memory SET revoked = 1 WHERE path = ? AND tier <> 'self'", arguments: [path]) }
        }
        for (key, value) in batch.state {
            try db.execute(sql: "INSERT OR REPLACE INTO store_state(key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    private static func delete(path: String, _ db: Database) throws {
        let lookup = try db.cachedStatement(sql: "SELECT rowid, title, body, extra FROM memory WHERE path = ?")
        guard let row = try Row.fetchOne(lookup, arguments: [path]) else { return }
        let rowid: Int64 = row["rowid"]
        try db.cachedStatement(sql: "INSERT INTO memory_fts(memory_fts, rowid, title, body, extra) VALUES('delete', ?, ?, ?, ?)")
            .execute(arguments: [rowid, row["title"] as String, row["body"] as String, row["extra"] as String])
        try db.cachedStatement(sql: "DELETE FROM memory WHERE rowid = ?").execute(arguments: [rowid])
    }

    /// Holds back every memory whose release time the history clock has not reached, and serves
    /// every one it has: the deferred set is a function of the verified history alone. Only this
    /// load's memories can be released later than the clock (the clock never runs backwards), and
    /// the deferred ones are read through a partial index: never a scan of the whole store.
    /// docs/TRUST.md § The history clock.
    private static func holdBack(after clock: Double, loaded: [String: Double], _ db: Database) throws {
        let hold = try db.cachedStatement(sql: "UPDATE memory SET deferred = 1, admitted_at = NULL WHERE path = ? AND deferred = 0")
        for (path, release) in loaded where release > clock { try hold.execute(arguments: [path]) }
        try db.execute(sql: "UPDATE memory SET deferred = 0, admitted_at = release_at WHERE deferred = 1 AND release_at <= ?", arguments: [clock])
    }

    private static func insert(_ record: IndexedMemory, release: Double?, updateFullText: Bool, _ db: Database) throws {
        let memory = record.memory
        let fm = memory.frontMatter
        let body = memory.body
        let expiry = memory.effectiveExpiry
        let extra = Self.searchableExtra(memory)
        try db.cachedStatement(sql: """
                INSERT INTO memory(id, kind, title, body, extra, author, host, instance, agent, recorded_at, recorded_epoch,
                    expires_at, expiry_epoch, tags, supersedes, fields, path, blob, commit_id, signer, key, tier, first_seen,
                    admitted_at, deferred, may_withdraw_any, arrival, arrival_clock, quota_per_day, release_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(
            arguments: [
                fm.id.description, fm.kind.name, body.title, body.body ?? "", extra,
                fm.author, fm.host, fm.instance, fm.agent, fm.recordedAt.text, fm.recordedAt.secondsSinceEpoch,
                expiry?.text, expiry?.secondsSinceEpoch, Self.json(.array(fm.tags.map(JSONValue.string))),
                Self.json(.array(fm.supersedes.map { .string($0.description) })), Self.json(Self.fields(of: memory)),
                record.path, record.blob, record.commit, record.signer, record.key, record.tier.rawValue, record.firstSeen,
                release ?? record.firstSeen, 0, record.mayWithdrawAny ? 1 : 0,
                record.arrival?.position, record.arrival?.clock, record.arrival?.quotaPerDay, release,
            ])
        let rowid = db.lastInsertedRowID
        let tagInsert = try db.cachedStatement(sql: "INSERT INTO memory_tag(memory_rowid, tag) VALUES (?, ?)")
        for tag in Set(fm.tags) { try tagInsert.execute(arguments: [rowid, tag]) }
        let linkInsert = try db.cachedStatement(sql: "INSERT INTO link(from_rowid, to_id, kind) VALUES (?, ?, ?)")
        for target in Set(fm.supersedes) { try linkInsert.execute(arguments: [rowid, target.description, "supersedes"]) }
        if memory.kind == .retraction, let target = body.target {
            try linkInsert.execute(arguments: [rowid, target.description, "retracts"])
        }
        if updateFullText {
            try db.cachedStatement(sql: "INSERT INTO memory_fts(rowid, title, body, extra) VALUES (?, ?, ?, ?)")
                .execute(arguments: [rowid, body.title, body.body ?? "", extra])
        }
    }

    /// Per-kind text fields, tags and unknown string fields: searchable, weighted below title and body.
    static func searchableExtra(_ memory: Memory) -> String {
        let body = memory.body
        var parts = [body.instead, body.subject, body.metric, body.unit, body.reason].compactMap { $0 }
        parts += memory.frontMatter.tags
        func strings(_ value: YAMLValue) -> [String] {
            switch value {
            case .scalar(let s): return s.kind == .string ? [s.text] : []
            case .sequence(let items): return items.flatMap(strings)
            case .mapping(let fields): return fields.flatMap { strings($0.value) }
            }
        }
        parts += memory.unknownFields.flatMap { strings($0.value) }
        return parts.joined(separator: "\n")
    }

    /// The `fields` object of a recall item: per-kind fields, then unknown fields verbatim.
    static func fields(of memory: Memory) -> JSONValue {
        let body = memory.body
        var pairs: [(String, JSONValue)] = []
        func add(_ key: String, _ value: String?) { if let value { pairs.append((key, .string(value))) } }
        add("instead", body.instead)
        add("subject", body.subject)
        add("metric", body.metric)
        if let value = body.value { pairs.append(("value", .number(value))) }
        add("unit", body.unit)
        if let samples = body.samples { pairs.append(("samples", .integer(Int64(samples)))) }
        add("state", body.state?.rawValue)
        add("resets_at", body.resetsAt?.text)
        add("target", body.target?.description)
        add("reason", body.reason)
        pairs += memory.unknownFields.map { ($0.key, $0.value.jsonObject) }
        return .object(pairs)
    }

    static func json(_ value: JSONValue) -> String {
        // Arrays of strings (tags, supersedes) are most rows' only JSON: write them directly.
        if case .array(let items) = value, items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
            return "[" + items.map { item -> String in
                guard case .string(let text) = item else { return "" }
                return JSONValue.stringLiteral(text)
            }.joined(separator: ",") + "]"
        }
        if case .object(let pairs) = value, pairs.isEmpty { return "{}" }
        let encoder = JSONEncoder()
        // Sorted, so that the same memory is stored with the same bytes by every load (a rebuild
        // equals an incremental index).
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    // MARK: - Reading

    /// A value of the store state (`indexed_commit`, `verified_tip`, …).
    public func state(_ key: String) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM store_state WHERE key = ?", arguments: [key]) }
    }

    /// The quarantined files with their reasons.
    public func quarantined() throws -> [QuarantinedFile] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT path, blob, reason, detail, commit_id FROM quarantine ORDER BY path").map {
                QuarantinedFile(path: $0["path"], blob: $0["blob"], reason: $0["reason"], detail: $0["detail"], commit: $0["commit_id"])
            }
        }
    }

    /// Counts per kind and tier.
    public func counts() throws -> IndexCounts {
        try database.read { db in
            var byKind: [String: Int] = [:], byTier: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, count(*) AS n FROM memory GROUP BY kind") { byKind[row["kind"]] = row["n"] }
            // A memory signed by a revoked key after its revocation counts under `revoked`, not the
            // tier it arrived at: the tiers add up to the whole cache, and none is counted twice.
            for row in try Row.fetchAll(db, sql: "SELECT CASE WHEN revoked = 1 THEN 'revoked' ELSE tier END AS shown, count(*) AS n FROM memory GROUP BY shown") {
                byTier[row["shown"]] = row["n"]
            }
            let deferred = try Int.fetchOne(db, sql: "SELECT count(*) FROM memory WHERE deferred = 1") ?? 0
            let quarantined = try Int.fetchOne(db, sql: "SELECT count(*) FROM quarantine") ?? 0
            let revoked = try Int.fetchOne(db, sql: "SELECT count(*) FROM memory WHERE revoked = 1") ?? 0
            return IndexCounts(byKind: byKind, byTier: byTier, deferred: deferred, quarantined: quarantined, revoked: revoked)
        }
    }

    /// The signer and blob of the memory served at `path` from the shared branch (tier
    /// authenticated or reviewed; this host's own unpublished rows do not count), or nil.
    public func servedFile(path: String) throws -> (signer: String, blob: String)? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT signer, blob FROM memory WHERE path = ? AND tier != 'self'", arguments: [path])
                .map { ($0["signer"], $0["blob"]) }
        }
    }

    /// The quarantine record of `path`, if the file there was quarantined.
    public func quarantined(path: String) throws -> QuarantinedFile? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT path, blob, reason, detail, commit_id FROM quarantine WHERE path = ?", arguments: [path]).map {
                QuarantinedFile(path: $0["path"], blob: $0["blob"], reason: $0["reason"], detail: $0["detail"], commit: $0["commit_id"])
            }
        }
    }

    /// The paths and commits of the memories signed by a key (tier authenticated or reviewed).
    public func signed(byKey key: String) throws -> [(path: String, commit: String)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT path, commit_id FROM memory WHERE key = ? AND tier <> 'self'", arguments: [key]).map { ($0["path"], $0["commit_id"]) }
        }
    }

    /// Whether a memory is indexed at `path`.
    public func contains(path: String) throws -> Bool {
        try database.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM memory WHERE path = ?)", arguments: [path]) ?? false }
    }

    /// How much of `signer`'s daily quota is used in the 24 hours up to `clock`: its served and
    /// deferred memories by their release time (deferred ones are released later, so they count),
    /// and this host's unpublished ones by when they were written. The next place frees a day
    /// after the `perDay`-th newest of them, as the schedule would release the next memory.
    public func quotaUsage(signer: String, perDay: Int, clock: Double) throws -> QuotaUsage {
        try database.read { db in
            let times = try Double.fetchAll(db, sql: """
                SELECT CASE WHEN tier = 'self' THEN first_seen ELSE release_at END AS t FROM memory
                WHERE signer = ? AND (tier = 'self' OR release_at IS NOT NULL) AND t > ? ORDER BY t
                """, arguments: [signer, clock - 86_400])
            let deferred = try Int.fetchOne(db, sql: "SELECT count(*) FROM memory WHERE signer = ? AND deferred = 1", arguments: [signer]) ?? 0
            let frees = times.count >= perDay ? times[times.count - perDay] + 86_400 : nil
            return QuotaUsage(principal: signer, perDay: perDay, used: times.count, left: max(0, perDay - times.count),
                              freesAt: frees.map { Timestamp(secondsSinceEpoch: Int64($0.rounded(.up))).text }, deferred: deferred)
        }
    }

    /// Every indexed row as comparable text, for tests that a rebuild equals an incremental index.
    public func snapshot() throws -> [String] {
        try database.read { db in
            let memories = try Row.fetchAll(db, sql: """
                SELECT id, kind, title, body, extra, author, host, instance, agent, recorded_at, expires_at, tags, supersedes,
                       fields, path, blob, commit_id, signer, key, tier, deferred, may_withdraw_any, arrival, release_at, revoked FROM memory ORDER BY id
                """).map { $0.description }
            let tags = try Row.fetchAll(db, sql: "SELECT m.id, t.tag FROM memory_tag t JOIN memory m ON m.rowid = t.memory_rowid ORDER BY m.id, t.tag").map { $0.description }
            let links = try Row.fetchAll(db, sql: "SELECT m.id, l.to_id, l.kind FROM link l JOIN memory m ON m.rowid = l.from_rowid ORDER BY m.id, l.kind, l.to_id").map { $0.description }
            let quarantine = try Row.fetchAll(db, sql: "SELECT * FROM quarantine ORDER BY path").map { $0.description }
            // The narrow copy must equal what the triggers would make of `memory` now.
            let heads = try Row.fetchAll(db, sql: """
                SELECT id, kind, author, host, instance, agent, recorded_at, recorded_epoch, expiry_epoch, signer, tier, deferred,
                       may_withdraw_any, revoked, subject, metric, value, unit, state, resets_at FROM memory_head ORDER BY id
                """).map { "head " + $0.description }
            return memories + tags + links + quarantine + heads
        }
    }

    /// Runs a read (for the recall engine).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }
}

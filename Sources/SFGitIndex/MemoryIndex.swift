import Foundation
import GRDB
import Logging
import SFGitMemory

/// The local SQLite cache of verified memories: derived from the bare repository, disposable,
/// rebuilt from git whenever it is missing, corrupt or of an unknown version.
///
/// One writer (sync) and any number of readers (recall, an MCP server) share it through WAL:
/// reads never wait for a write transaction and never take the store's sync lock.
public final class MemoryIndex: Sendable {
    /// The cache format this sfgit reads and writes; any other value means "rebuild".
    public static let cacheVersion = 4

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
    public static func openForReading(path: String) -> MemoryIndex? {
        guard FileManager.default.fileExists(atPath: path), foreignWriter(path) == nil else { return nil }
        var configuration = Self.configuration
        configuration.readonly = true
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
        return migrator
    }()

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
            if reset { try db.execute(sql: "PRAGMA synchronous = OFF") }
            defer { if reset { try? db.execute(sql: "PRAGMA synchronous = NORMAL") } }
            try db.inTransaction {
                try loadInTransaction(batch, reset: reset, streaming: streaming, next: next, db)
                try record(try closing(), db)
                return .commit
            }
        }
        // The rebuild wrote the whole file and its WAL without syncing: checkpoint, sync and
        // empty the WAL now, or flushing them lands on the next small update (≈ 100 ms at 100k).
        // A reader holding an old snapshot only makes this wait, then give up, harmlessly.
        if reset { _ = try? database.writeWithoutTransaction { try $0.checkpoint(.truncate) } }
    }

    private func loadInTransaction(_ batch: IndexBatch, reset: Bool, streaming: Bool, next: () throws -> IndexedMemory?, _ db: Database) throws {
        if reset {
            try db.execute(sql: "DELETE FROM memory; DELETE FROM quarantine; DELETE FROM store_state;")
            try db.execute(sql: "INSERT INTO memory_fts(memory_fts) VALUES('delete-all')")
        }
        if reset { try db.execute(sql: "INSERT INTO memory_fts(memory_fts, rank) VALUES('hashsize', \(Self.bulkHashSize))") }
        for path in batch.removedPaths { try Self.delete(path: path, db) }
        // A large batch (a cold index) fills the full-text index in one pass afterwards, unless
        // memories stream in while another thread verifies: then each goes in as it comes, in the
        // time the writer would otherwise wait.
        let bulk = !streaming && (reset || batch.upserts.count >= 2_000)
        // Held-back memories are released first, oldest first, as the budget has refilled.
        if let quota = batch.quota { try Self.releaseDeferred(quota: quota, now: batch.now, db) }
        var admittedInWindow: [String: Int] = [:]
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
            var admitted = true
            if let quota = batch.quota, record.tier != .own {
                let used = try admittedInWindow[record.signer] ?? Self.admittedCount(signer: record.signer, now: batch.now, db)
                admitted = used < quota.quota(of: record.signer)
                if admitted { admittedInWindow[record.signer] = used + 1 }
            }
            // Without a rate limit (a fresh cache taking history as it is) nothing counts against a budget.
            try Self.insert(record, admittedAt: admitted ? (batch.quota == nil ? 0 : batch.now) : nil, updateFullText: !bulk, db)
        }
        for record in batch.upserts { try add(record) }
        while let record = try next() { try add(record) }
        if bulk { try db.execute(sql: "INSERT INTO memory_fts(memory_fts) VALUES('rebuild')") }
        try record(batch, db)
    }

    /// The bytes of pending full-text terms a cold fill buffers. FTS5 flushes them to a new
    /// segment every `hashsize` bytes (1 MB by default); at 16 MB the one-pass fill of 100,000
    /// memories takes ≈ 1.9 s instead of ≈ 3.2 s, for ≈ 10–17 MB more resident memory.
    static let bulkHashSize = 16 << 20

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

    /// Memories of a signer admitted in the 24 hours before `now`.
    private static func admittedCount(signer: String, now: Double, _ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT count(*) FROM memory WHERE signer = ? AND admitted_at > ? AND tier <> 'self'",
                         arguments: [signer, now - 86_400]) ?? 0
    }

    /// Admits deferred memories in the order they arrived while each signer's budget allows.
    private static func releaseDeferred(quota: QuotaRule, now: Double, _ db: Database) throws {
        let waiting = try Row.fetchAll(db, sql: "SELECT rowid, signer FROM memory WHERE deferred = 1 ORDER BY rowid")
        var used: [String: Int] = [:]
        for row in waiting {
            let signer: String = row["signer"]
            let count = try used[signer] ?? admittedCount(signer: signer, now: now, db)
            guard count < quota.quota(of: signer) else { continue }
            used[signer] = count + 1
            try db.execute(sql: "UPDATE memory SET deferred = 0, admitted_at = ? WHERE rowid = ?", arguments: [now, row["rowid"] as Int64])
        }
    }

    private static func insert(_ record: IndexedMemory, admittedAt: Double?, updateFullText: Bool, _ db: Database) throws {
        let memory = record.memory
        let fm = memory.frontMatter
        let body = memory.body
        let expiry = memory.effectiveExpiry
        let extra = Self.searchableExtra(memory)
        try db.cachedStatement(sql: """
                INSERT INTO memory(id, kind, title, body, extra, author, host, instance, agent, recorded_at, recorded_epoch,
                    expires_at, expiry_epoch, tags, supersedes, fields, path, blob, commit_id, signer, key, tier, first_seen,
                    admitted_at, deferred, may_withdraw_any)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(
            arguments: [
                fm.id.description, fm.kind.name, body.title, body.body ?? "", extra,
                fm.author, fm.host, fm.instance, fm.agent, fm.recordedAt.text, fm.recordedAt.secondsSinceEpoch,
                expiry?.text, expiry?.secondsSinceEpoch, Self.json(.array(fm.tags.map(JSONValue.string))),
                Self.json(.array(fm.supersedes.map { .string($0.description) })), Self.json(Self.fields(of: memory)),
                record.path, record.blob, record.commit, record.signer, record.key, record.tier.rawValue, record.firstSeen,
                admittedAt, admittedAt == nil ? 1 : 0, record.mayWithdrawAny ? 1 : 0,
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
            for row in try Row.fetchAll(db, sql: "SELECT tier, count(*) AS n FROM memory GROUP BY tier") { byTier[row["tier"]] = row["n"] }
            let deferred = try Int.fetchOne(db, sql: "SELECT count(*) FROM memory WHERE deferred = 1") ?? 0
            let quarantined = try Int.fetchOne(db, sql: "SELECT count(*) FROM quarantine") ?? 0
            return IndexCounts(byKind: byKind, byTier: byTier, deferred: deferred, quarantined: quarantined)
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

    /// Whether a memory is indexed at `path`.
    public func contains(path: String) throws -> Bool {
        try database.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM memory WHERE path = ?)", arguments: [path]) ?? false }
    }

    /// How many memories signed by `signer` were recorded after `since`: what `remember`'s local
    /// quota counts for this host's own principal. Its own clock wrote those dates, so they can be
    /// trusted here (peers count by their first-seen time instead); a fresh clone's view of the
    /// writer's old history does not count against today's budget.
    public func countRecorded(signer: String, since: Double) throws -> Int {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM memory WHERE signer = ? AND recorded_epoch > ?", arguments: [signer, since]) ?? 0
        }
    }

    /// Every indexed row as comparable text, for tests that a rebuild equals an incremental index.
    public func snapshot() throws -> [String] {
        try database.read { db in
            let memories = try Row.fetchAll(db, sql: """
                SELECT id, kind, title, body, extra, author, host, instance, agent, recorded_at, expires_at, tags, supersedes,
                       fields, path, blob, commit_id, signer, key, tier, deferred, may_withdraw_any FROM memory ORDER BY id
                """).map { $0.description }
            let tags = try Row.fetchAll(db, sql: "SELECT m.id, t.tag FROM memory_tag t JOIN memory m ON m.rowid = t.memory_rowid ORDER BY m.id, t.tag").map { $0.description }
            let links = try Row.fetchAll(db, sql: "SELECT m.id, l.to_id, l.kind FROM link l JOIN memory m ON m.rowid = l.from_rowid ORDER BY m.id, l.kind, l.to_id").map { $0.description }
            let quarantine = try Row.fetchAll(db, sql: "SELECT * FROM quarantine ORDER BY path").map { $0.description }
            return memories + tags + links + quarantine
        }
    }

    /// Runs a read (for the recall engine).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }
}

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// What `status` reports for one store.
public struct StoreStatus: Sendable, Codable {
    public struct QuarantinedPath: Sendable, Codable {
        public var path: String
        public var reason: String
        public var detail: String
        public var commit: String
    }

    public var store: String
    public var remote: String
    @Nullable public var verifiedTip: String? = nil
    @Nullable public var remoteTip: String? = nil
    @Nullable public var cacheCommit: String? = nil
    /// When the cache last changed (a sync indexed, or this host remembered), ISO 8601 UTC.
    @Nullable public var cacheUpdatedAt: String? = nil
    /// Seconds since then: how old what `recall` answers from may be.
    @Nullable public var cacheAgeSeconds: Int? = nil
    public var pending: Int
    @Nullable public var lastFetchAt: String? = nil
    @Nullable public var lastFetchError: String? = nil
    @Nullable public var lastPushAt: String? = nil
    @Nullable public var lastPushError: String? = nil
    @Nullable public var blocked: BlockedCommit? = nil
    public var quarantined: [QuarantinedPath]
    public var parked: [String]
    /// The consumer's trust filter applied to every recall of this store (`trust:` in config.yaml).
    public var consumerPolicy: ConsumerPolicy
    /// This host's memories the shared branch cannot take, held until a human acts.
    public var outboxConflicts: [OutboxConflict]
    public var counts: IndexCounts
    /// Refused history kept for forensics (nil: none was ever refused).
    @Nullable public var refusedHistory: RefusedHistorySummary? = nil
    /// When the store last synced successfully (ISO 8601 UTC; null: never).
    @Nullable public var lastSuccessAt: String? = nil
    /// What needs a person, judged against `--alert-after`: empty when all is well.
    public var attention: [Attention] = []
    /// The last sync's phases with their times.
    public var lastPhases: [StoreSyncReport.Phase] = []
    /// This host's principal's daily quota: used, left, when the next place frees (nil without
    /// an identity).
    @Nullable public var quota: QuotaUsage? = nil

    enum CodingKeys: String, CodingKey {
        case store, remote, verifiedTip = "verified_tip", remoteTip = "remote_tip", cacheCommit = "cache_commit"
        case cacheUpdatedAt = "cache_updated_at", cacheAgeSeconds = "cache_age_seconds", pending
        case lastFetchAt = "last_fetch_at", lastFetchError = "last_fetch_error", lastPushAt = "last_push_at"
        case lastPushError = "last_push_error", blocked, quarantined, parked, consumerPolicy = "consumer_policy", outboxConflicts = "outbox_conflicts", counts
        case refusedHistory = "refused_history", lastSuccessAt = "last_success_at", attention, lastPhases = "last_phases", quota
    }

    /// Whether anything needs a person (`status --quiet` stays silent otherwise, and `status`
    /// exits 0).
    public var needsAttention: Bool { !attention.isEmpty }
}

/// A recall's answer and what it left out (`warnings` of the envelope).
public struct RecallAnswer: Sendable {
    /// The page, best first.
    public var items: [RecallItem]
    /// What matched but is not on the page, and stores that could not answer.
    public var warnings: [SyncWarning]
    /// Whether a store could not answer (its cache is being rebuilt): exit DEGRADED.
    public var degraded: Bool
}

/// The settings a fleet view was judged by, per store.
public struct FleetSettings: Sendable, Hashable, Encodable {
    /// The benchmark half-life (weights), in days.
    public var halfLifeDays: Double
    /// The breaker half-life (recall ranking), in days.
    public var breakerHalfLifeDays: Double
    /// The policy's `benchmark_max_age`, in seconds.
    public var benchmarkMaxAgeSeconds: Double
    /// The age limit in force (narrowed by `--max-age`), in seconds.
    public var maxAgeSeconds: Double

    enum CodingKeys: String, CodingKey {
        case halfLifeDays = "benchmark_half_life_days", breakerHalfLifeDays = "breaker_half_life_days"
        case benchmarkMaxAgeSeconds = "benchmark_max_age_seconds", maxAgeSeconds = "max_age_seconds"
    }
}

/// A fleet view's rows across the chosen stores, and what they left out.
public struct FleetAnswer<Row: Sendable>: Sendable {
    /// The rows, each naming its store.
    public var rows: [Row]
    /// What was left out, and stores that could not answer.
    public var warnings: [SyncWarning]
    /// Whether a store could not answer: exit DEGRADED.
    public var degraded: Bool
    /// The settings each store's rows were judged by.
    public var settings: [String: FleetSettings]
}

extension Workspace {
    /// Ranked answers from the caches of the chosen stores, merged by score. Reads never touch
    /// the network and never wait for the sync lock; a missing or damaged cache is rebuilt from
    /// the verified tip first (locally, through the verifier). A store whose cache cannot answer
    /// now (another process is rebuilding it) is named in the warnings: "can't tell" is never
    /// an empty "ok".
    public func recall(_ query: RecallQuery, store name: String?, consumerPolicy: Bool = true) throws(SFGitError) -> RecallAnswer {
        let stores = try self.stores(named: name)
        if stores.isEmpty {
            throw SFGitError(.usage, "no store yet in \(home.path): create one with sfgit init or join one with sfgit clone")
        }
        // Each store answers its first offset + limit (its own order); the merge orders them again.
        var perStore = query
        if stores.count > 1 {
            perStore.offset = 0
            perStore.limit = query.offset + query.limit
        }
        var items: [RecallItem] = []
        var omissions: [String: RecallOmission] = [:]
        var warnings: [SyncWarning] = []
        var degraded = false
        for store in stores {
            // The store's consumer policy fills in what the call did not say.
            var perStore = perStore
            if consumerPolicy, let warning = Self.applyConsumerPolicy(store, to: &perStore, asked: query) { warnings.append(warning) }
            // A cache that cannot answer yet (a sync holds the lock to rebuild it, or a resident
            // reader has none) is named, never an empty answer.
            let page: RecallPage
            do {
                page = try workflow("store \(store.name)") { try reading(store) { try $0.recallPage(perStore) } }
            } catch where error.status == .degraded {
                degraded = true
                warnings.append(SyncWarning(code: "CACHE_REBUILDING", message: error.message))
                continue
            }
            items += page.items.map { item in
                var item = item
                item.store = store.name
                return item
            }
            for omission in page.omissions where !(stores.count > 1 && omission.code == "CAPPED_BY_SIGNER") {
                var merged = omissions[omission.code] ?? RecallOmission(code: omission.code, count: 0, atLeast: false, what: omission.what)
                merged.count += omission.count
                merged.atLeast = merged.atLeast || omission.atLeast
                omissions[omission.code] = merged
            }
        }
        if stores.count > 1 {
            // Merged by score, then ordered again so that the share holds across stores too.
            let ranked = items.sorted { ($0.score, $0.id) > ($1.score, $1.id) }
            let order = RecallOrder(ranked.map(\.signer), share: query.effectiveShare)
            let pageRange = min(query.offset, ranked.count)..<min(query.offset + query.limit, ranked.count)
            items = order.positions[pageRange].map { ranked[$0] }
            // What each store answered beyond the merged page is more, too.
            let leftOver = ranked.count - pageRange.upperBound
            if leftOver > 0 {
                var more = omissions["MORE_RESULTS"] ?? RecallOmission(code: "MORE_RESULTS", count: 0, atLeast: false,
                                                                       what: "more memories match; page with --offset \(pageRange.upperBound)")
                more.count += leftOver
                omissions["MORE_RESULTS"] = more
            }
            let displaced = order.displaced(after: pageRange)
            if displaced > 0 {
                omissions["CAPPED_BY_SIGNER"] = RecallOmission(code: "CAPPED_BY_SIGNER", count: displaced, atLeast: false,
                    what: "better-ranked memories were placed after other signers' because their signer already has \(query.effectiveShare) in this answer (--per-signer)")
            }
        }
        let order = ["MORE_RESULTS", "CAPPED_BY_SIGNER", "STALE_HIDDEN", "WITHDRAWN_HIDDEN", "DEFERRED_HIDDEN"]
        warnings = omissions.values.sorted { (order.firstIndex(of: $0.code) ?? 9) < (order.firstIndex(of: $1.code) ?? 9) }
            .map { SyncWarning(code: $0.code, message: $0.message) } + warnings
        return RecallAnswer(items: items, warnings: warnings, degraded: degraded)
    }

    /// Fills in from the store's consumer policy (`trust:` in config.yaml) what the call did not
    /// say; the warning that says so, or nil when the store has none.
    static func applyConsumerPolicy(_ store: Store, to query: inout RecallQuery, asked: RecallQuery) -> SyncWarning? {
        let consumer = store.config.consumer
        guard !consumer.isEmpty else { return nil }
        query.minTier = query.minTier ?? consumer.minTier
        if query.signers.isEmpty { query.signers = consumer.signers }
        query.excludeSigners += consumer.exclude.filter { !asked.signers.contains($0) }
        query.excludeRetired = query.excludeRetired || consumer.excludeRetired
        return SyncWarning(code: "CONSUMER_POLICY", message: "store \(store.name)'s trust filter applies (\(consumer.summary)); --ignore-consumer-policy shows everything")
    }

    /// The fleet's breaker state per subject, per store (`MemoryIndex.breakers`), newest first,
    /// with the same consumer policy as recall.
    public func breakers(_ query: FleetQuery, store name: String?, consumerPolicy: Bool = true) throws(SFGitError) -> FleetAnswer<FleetBreaker> {
        var answer = try fleet(query, store: name, consumerPolicy: consumerPolicy, read: { try $0.breakers($1) }, tag: { $0.store = $1 })
        answer.rows.sort { ($0.reports[0].recordedEpoch, $1.subject) > ($1.reports[0].recordedEpoch, $0.subject) }
        return answer
    }

    /// The fleet's benchmark estimates, per store (`MemoryIndex.benchmarks`), with the same
    /// consumer policy as recall.
    public func benchmarks(_ query: FleetQuery, store name: String?, consumerPolicy: Bool = true) throws(SFGitError) -> FleetAnswer<FleetBenchmark> {
        try fleet(query, store: name, consumerPolicy: consumerPolicy, read: { try $0.benchmarks($1) }, tag: { $0.store = $1 })
    }

    private func fleet<Row: Sendable>(
        _ query: FleetQuery, store name: String?, consumerPolicy: Bool,
        read: (MemoryIndex, FleetQuery) throws -> FleetView<Row>, tag: (inout Row, String) -> Void
    ) throws(SFGitError) -> FleetAnswer<Row> {
        let stores = try self.stores(named: name)
        if stores.isEmpty {
            throw SFGitError(.usage, "no store yet in \(home.path): create one with sfgit init or join one with sfgit clone")
        }
        var answer = FleetAnswer<Row>(rows: [], warnings: [], degraded: false, settings: [:])
        var omissions: [String: RecallOmission] = [:]
        var notes: [SyncWarning] = []
        for store in stores {
            var perStore = query
            if consumerPolicy, let warning = Self.applyConsumerPolicy(store, to: &perStore.filters, asked: query.filters) { notes.append(warning) }
            // Read as recall reads: a cache that cannot answer yet is named, never empty.
            let view: FleetView<Row>
            do {
                view = try workflow("store \(store.name)") { try reading(store) { try read($0, perStore) } }
            } catch where error.status == .degraded {
                answer.degraded = true
                notes.append(SyncWarning(code: "CACHE_REBUILDING", message: error.message))
                continue
            }
            answer.settings[store.name] = FleetSettings(halfLifeDays: view.settings.halfLifeDays(of: "benchmark"),
                                                        breakerHalfLifeDays: view.settings.halfLifeDays(of: "circuit-breaker"),
                                                        benchmarkMaxAgeSeconds: view.settings.benchmarkMaxAge, maxAgeSeconds: view.maxAge)
            answer.rows += view.rows.map { row in
                var row = row
                tag(&row, store.name)
                return row
            }
            for omission in view.omissions {
                var merged = omissions[omission.code] ?? RecallOmission(code: omission.code, count: 0, atLeast: false, what: omission.what)
                if merged.what != omission.what { merged.what = omission.what + " (and more in other stores)" }
                merged.count += omission.count
                omissions[omission.code] = merged
            }
        }
        let order = ["STALE_HIDDEN", "WITHDRAWN_HIDDEN", "DEFERRED_HIDDEN"]
        answer.warnings = omissions.values.sorted { (order.firstIndex(of: $0.code) ?? 9) < (order.firstIndex(of: $1.code) ?? 9) }
            .map { SyncWarning(code: $0.code, message: $0.message) } + notes
        return answer
    }

    /// One memory by id or unambiguous prefix, across the chosen stores.
    public func show(_ id: String, store name: String?) throws(SFGitError) -> RecallItem {
        var found: [RecallItem] = []
        var candidates: [String] = []
        let now = Date().timeIntervalSince1970
        for store in try stores(named: name) {
            switch try workflow("store \(store.name)", { try reading(store) { try $0.show(id, now: now) } }) {
            case .found(var item):
                item.store = store.name
                found.append(item)
            case .ambiguous(let ids): candidates += ids
            case .notFound: break
            }
        }
        if found.count == 1, candidates.isEmpty { return found[0] }
        if found.isEmpty, candidates.isEmpty { throw SFGitError(.notFound, "no memory \(id)") }
        let all = (found.map(\.id) + candidates).sorted()
        throw SFGitError(.usage, "\(id) is ambiguous; candidates: \(all.joined(separator: ", "))")
    }

    /// The state of each chosen store, with what needs a person once no sync has succeeded for
    /// `alertAfter` seconds.
    public func status(store name: String?, alertAfter: Double = Monitoring.defaultAlertAfter) throws(SFGitError) -> [StoreStatus] {
        try stores(named: name).map { (store) throws(SFGitError) in
            try workflow("store \(store.name)") {
                let repository = try store.openRepository()
                let state = store.loadState()
                let verified = try repository.reference(Store.verifiedRef)
                let outbox = Outbox(repository: repository)
                let me = try? identity.requirePrincipal()
                let perDay = try me.flatMap { principal in try verified.map { try currentPolicy(repository, verified: $0).quotaPerDay(of: principal) } }
                let (cacheCommit, quarantined, counts, conflicts, quota) = try reading(store) { index in
                    (try index.state(StoreIndexer.indexedCommitKey), try index.quarantined(), try index.counts(),
                     try outbox.conflicts(verified: verified, shared: SyncRun.sharedFiles(index)),
                     try me.flatMap { principal in try perDay.map { try index.quotaUsage(signer: principal, perDay: $0, clock: Date().timeIntervalSince1970) } })
                }
                let updated = Self.cacheUpdated(store)
                let parked = try repository.references(matching: Store.parkedPrefix + "*").map(\.name)
                let now = Date().timeIntervalSince1970
                return StoreStatus(
                    store: store.name, remote: store.config.remote, verifiedTip: verified?.hex,
                    remoteTip: state.fetchedTip, cacheCommit: cacheCommit,
                    cacheUpdatedAt: updated.map { Timestamp(secondsSinceEpoch: Int64($0)).text },
                    cacheAgeSeconds: updated.map { max(0, Int(Date().timeIntervalSince1970 - $0)) },
                    pending: try outbox.unpublished(verified: verified).count,
                    lastFetchAt: state.lastFetchAt, lastFetchError: state.lastFetchError,
                    lastPushAt: state.lastPushAt, lastPushError: state.lastPushError, blocked: state.blocked,
                    quarantined: quarantined.map { .init(path: $0.path, reason: $0.reason, detail: $0.detail, commit: $0.commit) },
                    parked: parked,
                    consumerPolicy: store.config.consumer, outboxConflicts: conflicts, counts: counts, refusedHistory: state.refusedHistory,
                    lastSuccessAt: state.lastSuccessSeconds.map { Timestamp(secondsSinceEpoch: Int64($0)).text },
                    attention: attention(store, state: state, conflicts: conflicts, parked: parked, alertAfter: alertAfter, now: now),
                    lastPhases: state.lastPhases ?? [], quota: quota)
            }
        }
    }

    /// When the cache's files last changed (seconds since the epoch): the database or its WAL,
    /// where a sync's updates land until a checkpoint.
    static func cacheUpdated(_ store: Store) -> Double? {
        let dates = ["", "-wal"].compactMap { suffix in
            (try? FileManager.default.attributesOfItem(atPath: store.cachePath + suffix))?[.modificationDate] as? Date
        }
        return dates.max()?.timeIntervalSince1970
    }

    /// Rebuilds each chosen store's cache from its verified tip (the cache is disposable).
    public func reindex(store name: String?, wait: Double = 30) throws(SFGitError) -> [StoreStatus] {
        for store in try stores(named: name) {
            let progress = self.progress
            guard let lock = try StoreLock.acquire(store.lockPath, wait: wait, waiting: { progress?.emit("\(store.name): waiting for a sync to finish (sync.lock)") }) else {
                throw SFGitError(.busy, "a sync holds \(store.lockPath); try again, or pass --wait")
            }
            try withExtendedLifetime(lock) { () throws(SFGitError) in
                // Built beside the old cache and swapped in whole: readers keep the old answers
                // until the new ones are complete.
                let building = store.cachePath + ".rebuild"
                MemoryIndex.discard(path: building)
                try workflow("store \(store.name)") {
                    do {
                        let index = try MemoryIndex(path: building)
                        try rebuild(store, index)
                    }  // closed here: the new cache leaves no WAL behind
                    try MemoryIndex.install(building, at: store.cachePath)
                }
            }
        }
        return try status(store: name)
    }

    /// Runs a read on a store's cache. A cache that turns out damaged is discarded, rebuilt from
    /// the verified tip and read again, once.
    func reading<T>(_ store: Store, _ body: (MemoryIndex) throws -> T) throws -> T {
        if let residentCaches {
            // A resident reader never rebuilds (that takes the sync lock): a damaged cache is
            // dropped here and reported; the next sync or `sfgit reindex` replaces it.
            guard let index = residentCaches.index(path: store.cachePath) else {
                throw SFGitError(.degraded, "store \(store.name) has no usable cache yet: run sfgit sync (or sfgit reindex)")
            }
            do {
                return try body(index)
            } catch {
                if MemoryIndex.isCorruption(error) { residentCaches.invalidate(path: store.cachePath) }
                throw error
            }
        }
        do {
            return try body(try readyIndex(store))
        } catch {
            guard MemoryIndex.isCorruption(error) else { throw error }
            MemoryIndex.discard(path: store.cachePath)
            return try body(try readyIndex(store))
        }
    }

    /// The store's cache, rebuilt first when it reflects no commit (new, deleted, damaged, of
    /// another version, or recreated by a reader that could not rebuild it). The rebuild takes
    /// the sync lock only if it is free: a sync holding it rebuilds the cache itself, and a read
    /// never waits for a sync.
    private func readyIndex(_ store: Store) throws -> MemoryIndex {
        // The common case, on every recall: a cache that reflects a commit, read through one
        // read-only connection.
        if let index = MemoryIndex.openForReading(path: store.cachePath), try index.state(StoreIndexer.indexedCommitKey) != nil {
            return index
        }
        let index = try store.openIndex()
        let reflectsNothing = try index.isFresh || index.state(StoreIndexer.indexedCommitKey) == nil
        guard reflectsNothing, FileManager.default.fileExists(atPath: store.repositoryPath + "/HEAD") else { return index }
        // A verified tip the cache does not reflect yet, with the lock held elsewhere: a sync is
        // rebuilding it. Until then the cache cannot tell "nothing matches" from "not indexed
        // yet": fail DEGRADED rather than answer empty. (With nothing verified, empty is true.)
        guard let lock = try StoreLock.acquire(store.lockPath, wait: 0) else {
            guard try store.openRepository().reference(Store.verifiedRef) == nil else {
                throw SFGitError(.degraded, "store \(store.name): the cache has to be rebuilt and a sync holds the lock (\(store.lockPath)); "
                    + "it rebuilds the cache itself: ask again when it has finished")
            }
            return index
        }
        try withExtendedLifetime(lock) { try rebuild(store, index) }
        return index
    }

    private func rebuild(_ store: Store, _ index: MemoryIndex) throws {
        let repository = try store.openRepository()
        let verified = try repository.reference(Store.verifiedRef)
        if let verified {
            var indexer = StoreIndexer(repository: repository, introduction: try store.introduction(), index: index)
            let name = store.name
            indexer.progress = progress.map { sink in ProgressSink { sink.emit("\(name): \($0)") } }
            _ = try indexer.update(to: verified)
        }
        if let principal = identity.principal {
            try OwnMemories.index(repository, index, verified: verified, principal: principal, key: (try? signer())?.publicKey.fingerprint)
        }
    }
}

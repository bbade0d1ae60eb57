import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// What `status` reports for one store.
public struct StoreStatus: Sendable, Codable {
    /// A quarantined file of the store, with the reason.
    public struct QuarantinedPath: Sendable, Codable {
        /// The file's store path.
        public var path: String
        /// The quarantine reason code.
        public var reason: String
        /// What exactly is wrong, for people.
        public var detail: String
        /// The commit that added it (hex).
        public var commit: String
    }

    /// The store's name.
    public var store: String
    /// Its remote URL.
    public var remote: String
    /// The verified tip (null before the first verified fetch).
    @Nullable public var verifiedTip: String? = nil
    /// The remote's tip as the last fetch saw it.
    @Nullable public var remoteTip: String? = nil
    /// The commit the cache reflects.
    @Nullable public var cacheCommit: String? = nil
    /// When the cache last changed (a sync indexed, or this host remembered), ISO 8601 UTC.
    @Nullable public var cacheUpdatedAt: String? = nil
    /// Seconds since then: how old what `recall` answers from may be.
    @Nullable public var cacheAgeSeconds: Int? = nil
    /// Outbox commits not yet published.
    public var pending: Int
    /// When the last fetch ran (ISO 8601 UTC).
    @Nullable public var lastFetchAt: String? = nil
    /// Why the last fetch failed (null when it succeeded).
    @Nullable public var lastFetchError: String? = nil
    /// When the last push ran (ISO 8601 UTC).
    @Nullable public var lastPushAt: String? = nil
    /// Why the last push failed (null when it succeeded).
    @Nullable public var lastPushError: String? = nil
    /// The first refused commit of the fetched history, if any.
    @Nullable public var blocked: BlockedCommit? = nil
    /// Files quarantined inside authentic commits.
    public var quarantined: [QuarantinedPath]
    /// Refs under `refs/sfgit/parked/`: pending changes that no longer applied.
    public var parked: [String]
    /// The consumer's trust filter applied to every recall of this store (`trust:` in config.yaml).
    public var consumerPolicy: ConsumerPolicy
    /// This host's memories the shared branch cannot take, held until a human acts.
    public var outboxConflicts: [OutboxConflict]
    /// The cache's counts by kind and tier, and of deferred, quarantined and revoked memories.
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

extension Workspace {
    /// The state of each chosen store, with what needs a person once no sync has succeeded for
    /// `alertAfter` seconds.
    public func status(store name: String?, alertAfter: Double = Monitoring.defaultAlertAfter) throws(SFGitError) -> [StoreStatus] {
        try chosenStores(named: name).map { (store) throws(SFGitError) in
            try workflow("store \(store.name)") {
                let repository = try store.openRepository()
                let state = store.loadState()
                let verified = try repository.reference(Store.verifiedRef)
                let outbox = Outbox(repository: repository)
                let me = try? identity.requirePrincipal()
                let perDay = try me.flatMap { principal in try verified.map { try currentPolicy(repository, verified: $0).quotaPerDay(of: principal) } }
                let (cacheCommit, updatedAt, quarantined, counts, conflicts, quota) = try reading(store) { index in
                    (try index.state(StoreIndexer.indexedCommitKey), try index.state(MemoryIndex.updatedAtKey).flatMap(Double.init), try index.quarantined(), try index.counts(),
                     try outbox.conflicts(verified: verified, shared: SyncRun.sharedFiles(index)),
                     try me.flatMap { principal in try perDay.map { try index.quotaUsage(signer: principal, perDay: $0, clock: Date().timeIntervalSince1970) } })
                }
                let updated = updatedAt ?? Self.cacheUpdated(store)
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
    /// The cache files' modification time: for a cache written before `updated_at` was kept.
    static func cacheUpdated(_ store: Store) -> Double? {
        let dates = ["", "-wal"].compactMap { suffix in
            (try? FileManager.default.attributesOfItem(atPath: store.cachePath + suffix))?[.modificationDate] as? Date
        }
        return dates.max()?.timeIntervalSince1970
    }
}

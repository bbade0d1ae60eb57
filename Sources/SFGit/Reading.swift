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
    /// This host's memories the shared branch cannot take, held until a human acts.
    public var outboxConflicts: [OutboxConflict]
    public var counts: IndexCounts

    enum CodingKeys: String, CodingKey {
        case store, remote, verifiedTip = "verified_tip", remoteTip = "remote_tip", cacheCommit = "cache_commit"
        case cacheUpdatedAt = "cache_updated_at", cacheAgeSeconds = "cache_age_seconds", pending
        case lastFetchAt = "last_fetch_at", lastFetchError = "last_fetch_error", lastPushAt = "last_push_at"
        case lastPushError = "last_push_error", blocked, quarantined, parked, outboxConflicts = "outbox_conflicts", counts
    }

    /// Whether anything needs attention (`--quiet` stays silent otherwise).
    public var needsAttention: Bool {
        blocked != nil || lastFetchError != nil || lastPushError != nil || !parked.isEmpty || !outboxConflicts.isEmpty
    }
}

extension Workspace {
    /// Ranked answers from the caches of the chosen stores, merged by score. Reads never touch
    /// the network and never wait for the sync lock; a missing or damaged cache is rebuilt from
    /// the verified tip first (locally, through the verifier).
    public func recall(_ query: RecallQuery, store name: String?) throws(SFGitError) -> [RecallItem] {
        var items: [RecallItem] = []
        for store in try stores(named: name) {
            let answers = try workflow("store \(store.name)") { try reading(store) { try $0.recall(query) } }
            items += answers.map { item in
                var item = item
                item.store = store.name
                return item
            }
        }
        // Each store already caps per signer; merged, the cap holds across stores too.
        var perSigner: [String: Int] = [:]
        return items.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id > $1.id }.filter { item in
            perSigner[item.signer, default: 0] += 1
            return perSigner[item.signer]! <= query.perSignerCap
        }.prefix(query.limit).map { $0 }
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

    /// The state of each chosen store.
    public func status(store name: String?) throws(SFGitError) -> [StoreStatus] {
        try stores(named: name).map { (store) throws(SFGitError) in
            try workflow("store \(store.name)") {
                let repository = try store.openRepository()
                let state = store.loadState()
                let verified = try repository.reference(Store.verifiedRef)
                let outbox = Outbox(repository: repository)
                let (cacheCommit, quarantined, counts, conflicts) = try reading(store) { index in
                    (try index.state(StoreIndexer.indexedCommitKey), try index.quarantined(), try index.counts(),
                     try outbox.conflicts(verified: verified, shared: SyncRun.sharedFiles(index)))
                }
                let updated = Self.cacheUpdated(store)
                return StoreStatus(
                    store: store.name, remote: store.config.remote, verifiedTip: verified?.hex,
                    remoteTip: state.fetchedTip, cacheCommit: cacheCommit,
                    cacheUpdatedAt: updated.map { Timestamp(secondsSinceEpoch: Int64($0)).text },
                    cacheAgeSeconds: updated.map { max(0, Int(Date().timeIntervalSince1970 - $0)) },
                    pending: try outbox.unpublished(verified: verified).count,
                    lastFetchAt: state.lastFetchAt, lastFetchError: state.lastFetchError,
                    lastPushAt: state.lastPushAt, lastPushError: state.lastPushError, blocked: state.blocked,
                    quarantined: quarantined.map { .init(path: $0.path, reason: $0.reason, detail: $0.detail, commit: $0.commit) },
                    parked: try repository.references(matching: Store.parkedPrefix + "*").map(\.name),
                    outboxConflicts: conflicts, counts: counts)
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
            guard let lock = try StoreLock.acquire(store.lockPath, wait: wait) else {
                throw SFGitError(.busy, "a sync holds \(store.lockPath); try again, or pass --wait")
            }
            try withExtendedLifetime(lock) { () throws(SFGitError) in
                MemoryIndex.discard(path: store.cachePath)
                try workflow("store \(store.name)") { try rebuild(store, try store.openIndex()) }
            }
        }
        return try status(store: name)
    }

    /// Runs a read on a store's cache. A cache that turns out damaged is discarded, rebuilt from
    /// the verified tip and read again, once.
    private func reading<T>(_ store: Store, _ body: (MemoryIndex) throws -> T) throws -> T {
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
        if reflectsNothing, FileManager.default.fileExists(atPath: store.repositoryPath + "/HEAD"),
           let lock = try StoreLock.acquire(store.lockPath, wait: 0) {
            try withExtendedLifetime(lock) { try rebuild(store, index) }
        }
        return index
    }

    private func rebuild(_ store: Store, _ index: MemoryIndex) throws {
        let repository = try store.openRepository()
        let verified = try repository.reference(Store.verifiedRef)
        if let verified {
            _ = try StoreIndexer(repository: repository, introduction: try store.introduction(), index: index).update(to: verified)
        }
        if let principal = identity.principal {
            try OwnMemories.index(repository, index, verified: verified, principal: principal, key: (try? signer())?.publicKey.fingerprint)
        }
    }
}

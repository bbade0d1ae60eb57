import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// A recall's answer and what it left out (`warnings` of the envelope).
public struct RecallAnswer: Sendable {
    /// The page, best first.
    public var items: [RecallItem]
    /// What matched but is not on the page, and stores that could not answer.
    public var warnings: [SyncWarning]
    /// Whether a store could not answer (its cache is being rebuilt): exit DEGRADED.
    public var degraded: Bool
}

extension Workspace {
    /// The stores' answers as one order: each store's items stay in its own order (whose first k
    /// never depend on the limit, signers' shares applied within it), and the next item is always
    /// the better-scored of the stores' next ones. So the first k of the merged order are made of
    /// each store's first k, and they too never depend on the limit: pages concatenate.
    static func mergeStores<Item>(_ answers: [[Item]], rank: (Item) -> (score: Double, id: String)) -> [Item] {
        var next = [Int](repeating: 0, count: answers.count)
        var merged: [Item] = []
        merged.reserveCapacity(answers.reduce(0) { $0 + $1.count })
        while true {
            var best: Int?
            for store in answers.indices where next[store] < answers[store].count {
                let candidate = rank(answers[store][next[store]])
                if let chosen = best {
                    let current = rank(answers[chosen][next[chosen]])
                    if (candidate.score, candidate.id) > (current.score, current.id) { best = store }
                } else {
                    best = store
                }
            }
            guard let store = best else { return merged }
            merged.append(answers[store][next[store]])
            next[store] += 1
        }
    }

    /// Ranked answers from the caches of the chosen stores, merged by score (`mergeStores`). Reads never touch
    /// the network and never wait for the sync lock; a missing or damaged cache is rebuilt from
    /// the verified tip first (locally, through the verifier). A store whose cache cannot answer
    /// now (another process is rebuilding it) is named in the warnings: "can't tell" is never
    /// an empty "ok".
    public func recall(_ query: RecallQuery, store name: String?, consumerPolicy: Bool = true) throws(SFGitError) -> RecallAnswer {
        let stores = try chosenStores(named: name)
        // Each store answers its first offset + limit (its own order); the merge orders them again.
        var perStore = query
        if stores.count > 1 {
            perStore.offset = 0
            perStore.limit = query.offset + query.limit
        }
        var items: [RecallItem] = []
        var answers: [[RecallItem]] = []
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
            answers.append(page.items.map { item in
                var item = item
                item.store = store.name
                return item
            })
            // Each store's counts add up; a signer's share applies within each store's answer.
            for omission in page.omissions {
                var merged = omissions[omission.code] ?? RecallOmission(code: omission.code, count: 0, atLeast: false, what: omission.what)
                merged.count += omission.count
                merged.atLeast = merged.atLeast || omission.atLeast
                omissions[omission.code] = merged
            }
        }
        if stores.count == 1 {
            items = answers.first ?? []
        } else {
            let merged = Self.mergeStores(answers) { ($0.score, $0.id) }
            let pageRange = min(query.offset, merged.count)..<min(query.offset + query.limit, merged.count)
            items = Array(merged[pageRange])
            // What each store answered beyond the merged page is more, too.
            let leftOver = merged.count - pageRange.upperBound
            if leftOver > 0 {
                var more = omissions["MORE_RESULTS"] ?? RecallOmission(code: "MORE_RESULTS", count: 0, atLeast: false,
                                                                       what: "more memories match; page with --offset \(pageRange.upperBound)")
                more.count += leftOver
                omissions["MORE_RESULTS"] = more
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

}

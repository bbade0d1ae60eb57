import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

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
        let stores = try chosenStores(named: name)
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
}

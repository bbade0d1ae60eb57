import Foundation
import GRDB
import SFGitMemory

// The fleet views: the circuit breakers' current state per subject, and the benchmarks'
// recency-weighted estimates. Both read the cache only (offline), from the narrow `memory_head`
// table through its (kind, …) indexes, and say what they left out. The rules, precisely (README, "Fleet views"):
//
// Breakers. Per subject, the reports that count are those that pass the query's filters, are
// not expired (past `resets_at`, or the explicit or default expiry), not signed by a revoked key
// after its revocation, not withdrawn (`MemoryIndex.withdrawnColumn`) and not deferred (over the
// store's rate limit); the left out ones are counted, each under the first of these reasons. The newest report that counts (by `recorded_at`, then id) gives the
// current state. Its *run* is the newest reports back to the first one of another state: `since`
// is the oldest `recorded_at` of the run, `until` the latest `resets_at` in it, `hosts` the
// distinct hosts that reported it, and `reports` its memories, newest first. Subjects come
// newest report first.
//
// Benchmarks. An observation is stale when (a) it was recorded more than `benchmark_max_age`
// (the policy's, narrowed by `--max-age`) before now, or (b) a breaker on its subject tripped
// after it was recorded: an `open` report, recorded later, that would count as a breaker report
// above except that expiry does not matter (the outage happened, whether or not it is over) and
// neither do host filters (an outage seen from any host ends the world every host measured).
// Stale observations stay stale; the estimate comes back when newer observations arrive. This
// is the ADR's "reject stale data older than circuit_breaker_resets_at + N": N is
// `benchmark_max_age`, and an observation from before the outage is rejected outright rather
// than kept until `resets_at + N`, since the outage ended the world it measured.
//
// The rest are counted, each under the first reason that applies in the order: older than the
// age limit, signed by a revoked key after its revocation, withdrawn, deferred, expired, recorded
// before a trip. Per subject, metric and unit, the estimate is the weighted median of `value` with weights
// 0.5^(age / half-life) (the policy's benchmark half-life, 7 days by default); p10 and p90 are
// the weighted 10th and 90th percentiles, min and max the plain extremes. A weighted q-quantile
// is the smallest value whose cumulative weight, values in ascending order, reaches q × the total.

/// What the fleet views look at: the subject, metric, age limit, and the same trust filters as
/// recall (`filters`: signers, tier, excluded and retired signers, hosts, …; its text, kinds,
/// paging and include flags are ignored).
public struct FleetQuery: Sendable {
    /// Trust and provenance filters, and the time the views are judged at (`filters.now`).
    public var filters: RecallQuery
    /// Only this subject.
    public var subject: String?
    /// Only this metric (benchmarks).
    public var metric: String?
    /// Per-host estimates too (benchmarks).
    public var byHost = false
    /// An age limit in seconds: narrows the policy's `benchmark_max_age`, never widens it.
    public var maxAge: Double?

    /// The time the views are judged at.
    public var now: Double { filters.now }

    /// A query at time `now`.
    public init(now: Double) {
        filters = RecallQuery(now: now)
    }
}

/// One report behind a breaker state (provenance).
public struct FleetBreakerReport: Sendable, Hashable, Encodable {
    /// The report's memory id.
    public var id: String
    /// The state it reports: `open`, `half-open` or `closed`.
    public var state: String
    /// The signing principal.
    public var signer: String
    /// The host the front matter names.
    public var host: String
    /// Its `recorded_at`.
    public var recordedAt: String
    /// Its `resets_at`, when it gives one.
    @Nullable public var resetsAt: String? = nil
    /// How the report reached this host.
    public var tier: Tier
    /// Seconds since the epoch of `recordedAt` and `resetsAt` (not encoded).
    public var recordedEpoch: Double
    /// Seconds since the epoch of `resetsAt` (not encoded).
    public var resetsEpoch: Double?

    /// Creates a report.
    public init(id: String, state: String, signer: String, host: String, recordedAt: String, resetsAt: String?, tier: Tier, recordedEpoch: Double, resetsEpoch: Double?) {
        self.id = id
        self.state = state
        self.signer = signer
        self.host = host
        self.recordedAt = recordedAt
        self.resetsAt = resetsAt
        self.tier = tier
        self.recordedEpoch = recordedEpoch
        self.resetsEpoch = resetsEpoch
    }

    enum CodingKeys: String, CodingKey { case id, state, signer, host, recordedAt = "recorded_at", resetsAt = "resets_at", tier }
}

/// The fleet's current breaker state for one subject.
public struct FleetBreaker: Sendable, Hashable, Encodable {
    /// The subject the breaker guards (`subject:` of its reports).
    public var subject: String
    /// `open`, `half-open` or `closed`: the newest report's.
    public var state: String
    /// The oldest report of the current run of that state.
    public var since: String
    /// The latest `resets_at` in the run (nil when none says).
    @Nullable public var until: String? = nil
    /// How many distinct hosts reported the run.
    public var hosts: Int
    /// Those hosts, sorted.
    public var hostNames: [String]
    /// The newest report's `recorded_at`.
    public var latestAt: String
    /// The run's reports, newest first.
    public var reports: [FleetBreakerReport]
    /// The store (set by the workspace).
    @Nullable public var store: String? = nil

    enum CodingKeys: String, CodingKey {
        case subject, state, since, until, hosts, hostNames = "host_names", latestAt = "latest_at", reports, store
    }
}

/// One benchmark observation behind an estimate (provenance), with its weight.
public struct FleetObservation: Sendable, Hashable, Encodable {
    /// The observation's memory id.
    public var id: String
    /// The measured `value`.
    public var value: Double
    /// The signing principal.
    public var signer: String
    /// The host the front matter names.
    public var host: String
    /// Its `recorded_at`.
    public var recordedAt: String
    /// How the observation reached this host.
    public var tier: Tier
    /// 0.5^(age / half-life).
    public var weight: Double
    /// Seconds since the epoch of `recordedAt` (not encoded).
    public var recordedEpoch: Double

    /// Creates an observation.
    public init(id: String, value: Double, signer: String, host: String, recordedAt: String, tier: Tier, weight: Double, recordedEpoch: Double) {
        self.id = id
        self.value = value
        self.signer = signer
        self.host = host
        self.recordedAt = recordedAt
        self.tier = tier
        self.weight = weight
        self.recordedEpoch = recordedEpoch
    }

    enum CodingKeys: String, CodingKey { case id, value, signer, host, recordedAt = "recorded_at", tier, weight }
}

/// A recency-weighted estimate over some observations.
public struct FleetEstimate: Sendable, Hashable, Encodable {
    /// The weighted median.
    public var estimate: Double
    /// Weighted 10th and 90th percentiles.
    public var p10: Double
    /// The weighted 90th percentile.
    public var p90: Double
    /// Plain extremes.
    public var min: Double
    /// The largest value observed.
    public var max: Double
    /// Observations.
    public var n: Int
    /// Distinct hosts.
    public var hosts: Int
    /// The newest observation's `recorded_at`.
    public var newestAt: String

    enum CodingKeys: String, CodingKey { case estimate, p10, p90, min, max, n, hosts, newestAt = "newest_at" }

    /// The estimate of non-empty observations.
    public init?(_ observations: [FleetObservation]) {
        guard let newest = observations.max(by: { ($0.recordedEpoch, $0.id) < ($1.recordedEpoch, $1.id) }) else { return nil }
        let sorted = observations.sorted { ($0.value, $0.id) < ($1.value, $1.id) }
        estimate = Self.quantile(sorted, 0.5)
        p10 = Self.quantile(sorted, 0.1)
        p90 = Self.quantile(sorted, 0.9)
        min = sorted.first!.value
        max = sorted.last!.value
        n = observations.count
        hosts = Set(observations.map(\.host)).count
        newestAt = newest.recordedAt
    }

    /// The smallest value whose cumulative weight (ascending values) reaches q × the total.
    static func quantile(_ sorted: [FleetObservation], _ q: Double) -> Double {
        let total = sorted.reduce(0) { $0 + $1.weight }
        var cumulative = 0.0
        for observation in sorted {
            cumulative += observation.weight
            if cumulative >= q * total { return observation.value }
        }
        return sorted.last!.value
    }
}

/// The estimate for one host (`--by-host`).
public struct FleetHostEstimate: Sendable, Hashable, Encodable {
    /// The host.
    public var host: String
    /// Its estimate from its own observations.
    public var estimate: FleetEstimate

    /// Encodes one flat row: the host beside the estimate's fields.
    public func encode(to encoder: Encoder) throws {
        // Flat: the host next to the estimate's fields.
        enum Key: String, CodingKey { case host }
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(host, forKey: .host)
        try estimate.encode(to: encoder)
    }
}

/// The fleet's estimate for one subject, metric and unit.
public struct FleetBenchmark: Sendable, Hashable, Encodable {
    /// The benchmark's subject.
    public var subject: String
    /// The metric measured (`p50`, …).
    public var metric: String
    /// The unit, when the observations give one.
    @Nullable public var unit: String? = nil
    /// The estimate over every host's observations.
    public var estimate: FleetEstimate
    /// Per host, with `--by-host` (sorted by host).
    @Nullable public var byHost: [FleetHostEstimate]? = nil
    /// The observations, newest first.
    public var observations: [FleetObservation]
    /// The store (set by the workspace).
    @Nullable public var store: String? = nil

    enum CodingKeys: String, CodingKey { case subject, metric, unit, estimate, byHost = "by_host", observations, store }

    /// Encodes one row: the estimate's fields beside the subject.
    public func encode(to encoder: Encoder) throws {
        // The estimate's fields sit beside the subject, as one row.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(subject, forKey: .subject)
        try container.encode(metric, forKey: .metric)
        try container.encode(_unit, forKey: .unit)
        try estimate.encode(to: encoder)
        try container.encode(_byHost, forKey: .byHost)
        try container.encode(observations, forKey: .observations)
        try container.encode(_store, forKey: .store)
    }
}

/// A view's rows and what it left out.
public struct FleetView<Row: Sendable>: Sendable {
    /// The rows, in the view's order.
    public var rows: [Row]
    /// What matched but was left out, with counts (the warnings).
    public var omissions: [RecallOmission]
    /// The settings it was judged by.
    public var settings: StoreSettings
    /// The age limit in force, in seconds (benchmarks).
    public var maxAge: Double
}

/// The pure combination rules, apart from how rows are read (tests check them against a
/// reference implementation).
public enum FleetRules {
    /// One breaker report as read, with why it may not count.
    public struct BreakerInput: Sendable {
        /// The report.
        public var report: FleetBreakerReport
        /// The subject it is about.
        public var subject: String
        /// Whether it is past its `resets_at` or expiry.
        public var expired: Bool
        /// Whether a served memory supersedes or retracts it.
        public var withdrawn: Bool
        /// Whether the rate limits hold it back.
        public var deferred: Bool

        /// Creates an input.
        public init(report: FleetBreakerReport, subject: String, expired: Bool, withdrawn: Bool, deferred: Bool) {
            self.report = report
            self.subject = subject
            self.expired = expired
            self.withdrawn = withdrawn
            self.deferred = deferred
        }
    }

    /// The current state per subject, and counts of reports left out.
    public static func breakers(_ inputs: [BreakerInput]) -> (rows: [FleetBreaker], expired: Int, withdrawn: Int, deferred: Int) {
        var expired = 0, withdrawn = 0, deferred = 0
        var bySubject: [String: [FleetBreakerReport]] = [:]
        for input in inputs {
            if input.withdrawn { withdrawn += 1; continue }
            if input.deferred { deferred += 1; continue }
            if input.expired { expired += 1; continue }
            bySubject[input.subject, default: []].append(input.report)
        }
        var rows: [FleetBreaker] = []
        for (subject, reports) in bySubject {
            let newestFirst = reports.sorted { ($0.recordedEpoch, $0.id) > ($1.recordedEpoch, $1.id) }
            let state = newestFirst[0].state
            let run = Array(newestFirst.prefix { $0.state == state })
            let until = run.filter { $0.resetsEpoch != nil }.max { $0.resetsEpoch! < $1.resetsEpoch! }?.resetsAt
            let hosts = Set(run.map(\.host)).sorted()
            rows.append(FleetBreaker(subject: subject, state: state, since: run.last!.recordedAt, until: until, hosts: hosts.count,
                                     hostNames: hosts, latestAt: run[0].recordedAt, reports: run))
        }
        rows.sort { ($0.reports[0].recordedEpoch, $1.subject) > ($1.reports[0].recordedEpoch, $0.subject) }
        return (rows, expired, withdrawn, deferred)
    }

    /// Why a benchmark observation is left out, in the order the reasons are checked.
    public enum Exclusion: String, Sendable, CaseIterable { case tooOld, tripped, withdrawn, deferred, expired }

    /// One benchmark observation as read, with why it may not count.
    public struct BenchmarkInput: Sendable {
        /// The observation.
        public var observation: FleetObservation
        /// The subject it is about.
        public var subject: String
        /// The metric it measures.
        public var metric: String
        /// Its unit, if any.
        public var unit: String?
        /// Whether it has expired.
        public var expired: Bool
        /// Whether a served memory supersedes or retracts it.
        public var withdrawn: Bool
        /// Whether the rate limits hold it back.
        public var deferred: Bool

        /// Creates an input.
        public init(observation: FleetObservation, subject: String, metric: String, unit: String?, expired: Bool, withdrawn: Bool, deferred: Bool) {
            self.observation = observation
            self.subject = subject
            self.metric = metric
            self.unit = unit
            self.expired = expired
            self.withdrawn = withdrawn
            self.deferred = deferred
        }
    }

    /// Why an observation is left out, or nil when it counts: the first reason that applies, in
    /// the order age, trip, withdrawn, deferred, expired (the two staleness rules first, so that
    /// the index counts them without reading the rows). `lastTrip`: per subject, the latest
    /// `recorded_at` (epoch) of an open report that counts as a trip.
    public static func exclusion(_ input: BenchmarkInput, now: Double, maxAge: Double, lastTrip: [String: Double]) -> Exclusion? {
        exclusion(recorded: input.observation.recordedEpoch, subject: input.subject, withdrawn: input.withdrawn, deferred: input.deferred,
                  expired: input.expired, now: now, maxAge: maxAge, lastTrip: lastTrip)
    }

    /// The same, from the fields alone (before an observation is built from its row).
    public static func exclusion(recorded: Double, subject: String, withdrawn: Bool, deferred: Bool, expired: Bool,
                                 now: Double, maxAge: Double, lastTrip: [String: Double]) -> Exclusion? {
        if recorded < now - maxAge { return .tooOld }
        if let trip = lastTrip[subject], trip > recorded { return .tripped }
        if withdrawn { return .withdrawn }
        if deferred { return .deferred }
        if expired { return .expired }
        return nil
    }

    /// Estimates per subject, metric and unit (sorted so), and counts of what was left out.
    public static func benchmarks(_ inputs: [BenchmarkInput], now: Double, maxAge: Double, lastTrip: [String: Double], byHost: Bool)
        -> (rows: [FleetBenchmark], excluded: [Exclusion: Int])
    {
        var excluded: [Exclusion: Int] = [:]
        struct Key: Hashable { var subject: String, metric: String, unit: String? }
        var groups: [Key: [FleetObservation]] = [:]
        for input in inputs {
            if let reason = exclusion(input, now: now, maxAge: maxAge, lastTrip: lastTrip) {
                excluded[reason, default: 0] += 1
                continue
            }
            groups[Key(subject: input.subject, metric: input.metric, unit: input.unit), default: []].append(input.observation)
        }
        var rows: [FleetBenchmark] = []
        for (key, observations) in groups {
            guard let estimate = FleetEstimate(observations) else { continue }
            var perHost: [FleetHostEstimate]?
            if byHost {
                perHost = Dictionary(grouping: observations, by: \.host).sorted { $0.key < $1.key }
                    .compactMap { host, own in FleetEstimate(own).map { FleetHostEstimate(host: host, estimate: $0) } }
            }
            rows.append(FleetBenchmark(subject: key.subject, metric: key.metric, unit: key.unit, estimate: estimate, byHost: perHost,
                                       observations: observations.sorted { ($0.recordedEpoch, $0.id) > ($1.recordedEpoch, $1.id) }))
        }
        rows.sort { ($0.subject, $0.metric, $0.unit ?? "") < ($1.subject, $1.metric, $1.unit ?? "") }
        return (rows, excluded)
    }
}

extension MemoryIndex {
    static let subjectExpression = "m.subject"
    /// Every breaker and benchmark has a subject (the format requires it); the term lets a query
    /// use `memory_head`'s indexes, which hold only memories with one.
    static let hasSubject = "m.subject IS NOT NULL"

    /// The breakers' current state per subject (`FleetRules.breakers`), read through the
    /// (kind, expiry) index: only reports that have not expired are read whole; the expired ones
    /// are counted through the same index.
    public func breakers(_ query: FleetQuery) throws -> FleetView<FleetBreaker> {
        try read { db in
            let settings = try Self.storeSettings(db)
            // Revoked reports are read and counted here, not filtered in SQL: a second query for
            // them would read every row again. Every breaker has a subject (the format requires
            // it), so the counts below go through the (kind, expiry) index alone when no filter
            // needs the row.
            var (filters, arguments) = try Self.filterClauses(query.filters, db, revokedInSQL: false)
            filters.insert(contentsOf: ["m.kind = 'circuit-breaker'", Self.hasSubject], at: 0)
            if let subject = query.subject {
                filters.append("\(Self.subjectExpression) = ?")
                arguments.append(subject)
            }
            let whereClause = filters.joined(separator: " AND ")
            let now = query.now
            // Columns are read by position: a by-name lookup lowercases the name for every row.
            let reports = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT m.id, m.signer, m.host, m.recorded_at, m.recorded_epoch, m.tier, m.deferred, \(Self.subjectExpression),
                       m.state, m.resets_at, \(Self.withdrawnColumn), m.revoked
                FROM memory_head m WHERE \(whereClause) AND m.expiry_epoch > ?
                """), arguments: StatementArguments(arguments + [now]))
            var revoked = 0
            var inputs: [FleetRules.BreakerInput] = []
            while let row = try reports.next() {
                guard let subject: String = row[7], let state: String = row[8] else { continue }
                if !query.filters.includeRevoked, (row[11] as Int) != 0 {
                    revoked += 1
                    continue
                }
                let resetsAt: String? = row[9]
                let report = FleetBreakerReport(
                    id: row[0], state: state, signer: row[1], host: row[2], recordedAt: row[3],
                    resetsAt: resetsAt, tier: Tier(rawValue: row[5]) ?? .authenticated, recordedEpoch: row[4],
                    resetsEpoch: resetsAt.flatMap(Timestamp.init)?.secondsSinceEpoch)
                inputs.append(.init(report: report, subject: subject, expired: false, withdrawn: row[10], deferred: (row[6] as Int) != 0))
            }
            let expired = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM memory_head m WHERE \(whereClause) AND m.expiry_epoch <= ?"),
                                           arguments: StatementArguments(arguments + [now])) ?? 0
            let combined = FleetRules.breakers(inputs)
            var omissions: [RecallOmission] = []
            if revoked > 0 {
                omissions.append(.init(code: "REVOKED_HIDDEN", count: revoked, atLeast: false, what: "breaker reports are signed by a revoked key after its revocation and left out"))
            }
            if expired > 0 {
                omissions.append(.init(code: "STALE_HIDDEN", count: expired, atLeast: false, what: "breaker reports are past their resets_at (or expiry) and left out"))
            }
            if combined.withdrawn > 0 {
                omissions.append(.init(code: "WITHDRAWN_HIDDEN", count: combined.withdrawn, atLeast: false, what: "breaker reports are superseded or retracted and left out"))
            }
            if combined.deferred > 0 {
                omissions.append(.init(code: "DEFERRED_HIDDEN", count: combined.deferred, atLeast: false, what: "breaker reports are held back by the store's rate limits and left out"))
            }
            return FleetView(rows: combined.rows, omissions: omissions, settings: settings, maxAge: settings.benchmarkMaxAge)
        }
    }

    /// The benchmarks' estimates (`FleetRules.benchmarks`): observations within the age limit and
    /// after their subject's last trip are read through the (kind, subject, recorded) or (kind,
    /// recorded, subject) index; older ones, and those recorded before a trip, are counted through
    /// the same index without being read; a trip is the newest counting open report per subject.
    public func benchmarks(_ query: FleetQuery) throws -> FleetView<FleetBenchmark> {
        try read { db in
            let settings = try Self.storeSettings(db)
            let maxAge = min(settings.benchmarkMaxAge, query.maxAge ?? .infinity)
            let now = query.now
            let cutoff = now - maxAge
            let halfLife = settings.halfLifeDays(of: "benchmark")

            // As for breakers: revoked observations are counted from the same rows, and every
            // benchmark has a subject, so the count of old ones reads the (kind, recorded) index.
            var (filters, arguments) = try Self.filterClauses(query.filters, db, revokedInSQL: false)
            filters.insert(contentsOf: ["m.kind = 'benchmark'", Self.hasSubject], at: 0)
            if let subject = query.subject {
                filters.append("\(Self.subjectExpression) = ?")
                arguments.append(subject)
            }
            if let metric = query.metric {
                filters.append("m.metric = ?")
                arguments.append(metric)
            }
            let whereClause = filters.joined(separator: " AND ")
            // Trips: per subject, the newest open report after the cutoff (an earlier trip cannot
            // make a kept observation stale), by the trust filters but from any host; expiry does
            // not matter. One subject after another (a loose scan of the subject index), each
            // read newest first until its first report that counts: a few rows per subject,
            // however many reports the fleet keeps.
            var tripQuery = query.filters
            tripQuery.hosts = []
            var (tripFilters, tripArguments) = try Self.filterClauses(tripQuery, db)
            tripFilters.insert(contentsOf: ["m.kind = 'circuit-breaker'", "m.subject = s.subject"], at: 0)
            tripFilters += ["m.recorded_epoch > ?", "m.state = 'open'", "m.deferred = 0", "NOT \(Self.withdrawnColumn)"]
            tripArguments.append(cutoff)
            let firstSubject = query.subject == nil
                ? "SELECT min(m.subject) FROM memory_head m WHERE m.kind = 'circuit-breaker' AND \(Self.hasSubject)" : "SELECT ?"
            var lastTrip: [String: Double] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: """
                WITH RECURSIVE subjects(subject) AS (
                    \(firstSubject)
                    UNION ALL
                    SELECT (SELECT min(m.subject) FROM memory_head m WHERE m.kind = 'circuit-breaker' AND m.subject > subjects.subject)
                    FROM subjects WHERE subjects.subject IS NOT NULL AND \(query.subject == nil ? "1" : "0")
                )
                SELECT s.subject, (SELECT m.recorded_epoch FROM memory_head m WHERE \(tripFilters.joined(separator: " AND "))
                                   ORDER BY m.recorded_epoch DESC LIMIT 1)
                FROM subjects s WHERE s.subject IS NOT NULL
                """), arguments: StatementArguments((query.subject.map { [$0] } ?? []) + tripArguments)) {
                if let subject: String = row[0], let tripped: Double = row[1] { lastTrip[subject] = tripped }
            }
            // The trips as a table (a JSON object, subject → time: any number of subjects). An
            // observation recorded before its subject's trip is stale: only the others are read,
            // subject by subject through the (kind, subject, recorded) index from the later of the
            // cutoff and the trip; the stale ones are counted through the same index.
            let trips = "trips(subject, tripped) AS MATERIALIZED (SELECT key, value FROM json_each(?))"
            let tripTable = String(decoding: (try? JSONEncoder().encode(lastTrip)) ?? Data("{}".utf8), as: UTF8.self)
            let firstObserved = query.subject == nil
                ? "SELECT min(m.subject) FROM memory_head m WHERE m.kind = 'benchmark' AND \(Self.hasSubject)" : "SELECT ?"

            // Columns are read by position: a by-name lookup lowercases the name for every row.
            let observations = try Row.fetchCursor(db.cachedStatement(sql: """
                WITH RECURSIVE \(trips),
                subjects(subject) AS (
                    \(firstObserved)
                    UNION ALL
                    SELECT (SELECT min(m.subject) FROM memory_head m WHERE m.kind = 'benchmark' AND m.subject > subjects.subject)
                    FROM subjects WHERE subjects.subject IS NOT NULL AND \(query.subject == nil ? "1" : "0")
                ),
                bounds(subject, since) AS (
                    SELECT s.subject, max(?, coalesce(t.tripped, ?)) FROM subjects s LEFT JOIN trips t ON t.subject = s.subject
                    WHERE s.subject IS NOT NULL
                ),
                kept(id) AS MATERIALIZED (
                    SELECT m.rowid FROM bounds b CROSS JOIN memory_head m
                    WHERE m.kind = 'benchmark' AND m.subject = b.subject AND m.recorded_epoch >= b.since
                )
                SELECT m.id, m.signer, m.host, m.recorded_at, m.recorded_epoch, m.tier, m.deferred, \(Self.subjectExpression),
                       m.metric, m.value, m.unit,
                       (m.expiry_epoch IS NOT NULL AND m.expiry_epoch <= ?), \(Self.withdrawnColumn), m.revoked
                FROM kept k CROSS JOIN memory_head m ON m.rowid = k.id
                WHERE \(whereClause) AND m.recorded_epoch >= ?
                """), arguments: StatementArguments([tripTable] + (query.subject.map { [$0] } ?? []) + [cutoff, cutoff, now] + arguments + [cutoff]))
            var revoked = 0
            var inputs: [FleetRules.BenchmarkInput] = []
            // Observations left out for being withdrawn, deferred or expired are counted before
            // anything of them is built.
            var leftOut: [FleetRules.Exclusion: Int] = [:]
            while let row = try observations.next() {
                guard let subject: String = row[7], let metric: String = row[8], let value: Double = row[9], value.isFinite else { continue }
                if !query.filters.includeRevoked, (row[13] as Int) != 0 {
                    revoked += 1
                    continue
                }
                let recorded: Double = row[4]
                if let reason = FleetRules.exclusion(recorded: recorded, subject: subject, withdrawn: row[12], deferred: (row[6] as Int) != 0,
                                                     expired: row[11], now: now, maxAge: maxAge, lastTrip: lastTrip) {
                    leftOut[reason, default: 0] += 1
                    continue
                }
                let weight = pow(0.5, max(0, now - recorded) / 86_400 / halfLife)
                let observation = FleetObservation(
                    id: row[0], value: value, signer: row[1], host: row[2], recordedAt: row[3],
                    tier: Tier(rawValue: row[5]) ?? .authenticated, weight: weight, recordedEpoch: recorded)
                inputs.append(.init(observation: observation, subject: subject, metric: metric, unit: row[10],
                                    expired: row[11], withdrawn: row[12], deferred: (row[6] as Int) != 0))
            }
            let tooOld = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM memory_head m WHERE \(whereClause) AND m.recorded_epoch < ?"),
                                          arguments: StatementArguments(arguments + [cutoff])) ?? 0
            let tripped = lastTrip.isEmpty ? 0 : try Int.fetchOne(db.cachedStatement(sql: """
                WITH \(trips)
                SELECT count(*) FROM trips t CROSS JOIN memory_head m
                WHERE \(whereClause) AND m.subject = t.subject AND m.recorded_epoch >= ? AND m.recorded_epoch < t.tripped
                """), arguments: StatementArguments([tripTable] + arguments + [cutoff])) ?? 0

            let combined = FleetRules.benchmarks(inputs, now: now, maxAge: maxAge, lastTrip: lastTrip, byHost: query.byHost)
            var excluded = combined.excluded.merging(leftOut, uniquingKeysWith: +)
            excluded[.tooOld, default: 0] += tooOld
            excluded[.tripped, default: 0] += tripped
            var omissions: [RecallOmission] = []
            var staleParts: [String] = []
            let age = Self.describe(seconds: maxAge)
            if let n = excluded[.tooOld], n > 0 { staleParts.append("\(n) older than \(age) (benchmark_max_age\(query.maxAge.map { $0 < settings.benchmarkMaxAge ? " narrowed by --max-age" : "" } ?? ""))") }
            if let n = excluded[.tripped], n > 0 { staleParts.append("\(n) recorded before a breaker on their subject tripped") }
            if let n = excluded[.expired], n > 0 { staleParts.append("\(n) past their expiry") }
            if !staleParts.isEmpty {
                let total = (excluded[.tooOld] ?? 0) + (excluded[.tripped] ?? 0) + (excluded[.expired] ?? 0)
                omissions.append(.init(code: "STALE_HIDDEN", count: total, atLeast: false,
                                       what: "stale benchmark observations left out: " + staleParts.joined(separator: ", ")))
            }
            if let n = excluded[.withdrawn], n > 0 {
                omissions.append(.init(code: "WITHDRAWN_HIDDEN", count: n, atLeast: false, what: "benchmark observations are superseded or retracted and left out"))
            }
            if let n = excluded[.deferred], n > 0 {
                omissions.append(.init(code: "DEFERRED_HIDDEN", count: n, atLeast: false, what: "benchmark observations are held back by the store's rate limits and left out"))
            }
            if revoked > 0 {
                omissions.append(.init(code: "REVOKED_HIDDEN", count: revoked, atLeast: false, what: "benchmark observations are signed by a revoked key after its revocation and left out"))
            }
            return FleetView(rows: combined.rows, omissions: omissions, settings: settings, maxAge: maxAge)
        }
    }

    /// `30d`, `12h`, or seconds as a decimal number of hours.
    static func describe(seconds: Double) -> String {
        if seconds.truncatingRemainder(dividingBy: 86_400) == 0 { return "\(Int(seconds / 86_400))d" }
        if seconds.truncatingRemainder(dividingBy: 3_600) == 0 { return "\(Int(seconds / 3_600))h" }
        return String(format: "%.1fh", seconds / 3_600)
    }
}

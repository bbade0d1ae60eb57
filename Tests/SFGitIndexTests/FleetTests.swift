import Foundation
import GRDB
import SFGitMemory
import SFGitTestSupport
import Testing
@testable import SFGitIndex

/// Builds breaker and benchmark memories for the fleet views.
struct FleetFixture {
    static let now = Fixture.now
    static let hour: Double = 3_600
    var counter: UInt64 = 0

    mutating func breaker(_ subject: String, _ state: BreakerState, signer: String = "a@h1", hoursAgo: Double, resetsInHours: Double? = nil,
                          supersedes: [ULID] = []) -> IndexedMemory {
        var body = MemoryBody(title: "\(subject) \(state.rawValue)")
        body.subject = subject
        body.state = state
        body.resetsAt = resetsInHours.map { Timestamp(secondsSinceEpoch: Int64(Self.now + $0 * Self.hour)) }
        return make(.circuitBreaker, body, signer: signer, hoursAgo: hoursAgo, supersedes: supersedes)
    }

    mutating func benchmark(_ subject: String, metric: String = "p50", value: Double, unit: String? = "ms", signer: String = "a@h1",
                            hoursAgo: Double, supersedes: [ULID] = []) -> IndexedMemory {
        var body = MemoryBody(title: "\(subject) \(metric)")
        body.subject = subject
        body.metric = metric
        body.value = value
        body.unit = unit
        return make(.benchmark, body, signer: signer, hoursAgo: hoursAgo, supersedes: supersedes)
    }

    mutating func make(_ kind: MemoryKind, _ body: MemoryBody, signer: String, hoursAgo: Double, supersedes: [ULID]) -> IndexedMemory {
        counter += 1
        let recorded = Int64(Self.now - hoursAgo * Self.hour)
        let id = ULID(milliseconds: UInt64(recorded) * 1000 + counter % 1000, random: (UInt16(truncatingIfNeeded: counter), counter))
        let parts = signer.split(separator: "@").map(String.init)
        let memory = Memory(
            frontMatter: FrontMatter(id: id, kind: kind, author: parts[0], host: parts[1], recordedAt: Timestamp(secondsSinceEpoch: recorded),
                                     supersedes: supersedes),
            body: body)
        return IndexedMemory(memory: memory, path: memory.path.description, blob: String(repeating: "b", count: 40),
                             commit: String(repeating: "c", count: 40), signer: signer, key: "SHA256:k", tier: .authenticated, firstSeen: Self.now)
    }
}

@Suite("fleet views: breakers and benchmarks")
struct FleetTests {
    static func query(_ configure: (inout FleetQuery) -> Void = { _ in }) -> FleetQuery {
        var query = FleetQuery(now: FleetFixture.now)
        configure(&query)
        return query
    }

    @Test("breakers: the newest report's state, since the oldest of its run, until the latest resets_at, by distinct hosts; the rest counted")
    func breakerTimeline() throws {
        var f = FleetFixture()
        let withdrawnReport = f.breaker("c", .open, signer: "w@h9", hoursAgo: 4, resetsInHours: 10)
        let records = [
            f.breaker("a", .closed, signer: "a@h1", hoursAgo: 20),
            f.breaker("a", .open, signer: "a@h1", hoursAgo: 3, resetsInHours: 2),
            f.breaker("a", .open, signer: "b@h2", hoursAgo: 2, resetsInHours: 5),
            f.breaker("a", .open, signer: "b@h2", hoursAgo: 1, resetsInHours: 4),
            f.breaker("b", .open, signer: "a@h1", hoursAgo: 30, resetsInHours: -1),  // expired: b has no live report
            f.breaker("c", .closed, signer: "a@h1", hoursAgo: 5),
            withdrawnReport,
            f.breaker("c", .halfOpen, signer: "w@h9", hoursAgo: 0.5, resetsInHours: 1, supersedes: [withdrawnReport.memory.id]),
        ]
        let (dir, index) = try makeIndex(records)
        defer { withExtendedLifetime(dir) {} }
        let view = try index.breakers(Self.query())
        #expect(view.rows.map(\.subject) == ["c", "a"])
        let a = try #require(view.rows.first { $0.subject == "a" })
        #expect(a.state == "open")
        #expect(a.since == records[1].memory.frontMatter.recordedAt.text)
        #expect(a.until == records[2].memory.body.resetsAt?.text)
        #expect(a.hosts == 2 && a.hostNames == ["h1", "h2"])
        #expect(a.reports.map(\.id) == [records[3], records[2], records[1]].map { $0.memory.id.description })
        let c = try #require(view.rows.first { $0.subject == "c" })
        #expect(c.state == "half-open" && c.reports.count == 1 && c.since == records[7].memory.frontMatter.recordedAt.text)
        #expect(view.omissions.map(\.code) == ["STALE_HIDDEN", "WITHDRAWN_HIDDEN"])
        #expect(view.omissions.map(\.count) == [1, 1])
        // Filters narrow the reports that count, as in recall.
        let onlyB = try index.breakers(Self.query { $0.filters.signers = ["b@h2"] })
        #expect(onlyB.rows.map(\.subject) == ["a"])
        #expect(onlyB.rows[0].since == records[2].memory.frontMatter.recordedAt.text && onlyB.rows[0].hosts == 1)
        #expect(try index.breakers(Self.query { $0.subject = "c" }).rows.map(\.subject) == ["c"])
    }

    @Test("breakers: a report signed by a revoked key is counted as revoked while live, as stale once expired; with --include-revoked it counts")
    func revokedBreakers() throws {
        var f = FleetFixture()
        let live = f.breaker("k2p5", .open, signer: "r@h9", hoursAgo: 2, resetsInHours: 5)
        let expired = f.breaker("gpt", .open, signer: "r@h9", hoursAgo: 30, resetsInHours: -10)
        let honest = f.breaker("gpt", .closed, signer: "a@h1", hoursAgo: 1)
        let (dir, index) = try makeIndex([live, expired, honest])
        defer { withExtendedLifetime(dir) {} }
        var batch = IndexBatch()
        batch.revokedPaths = [live.path, expired.path]
        try index.apply(batch)
        let view = try index.breakers(Self.query())
        #expect(view.rows.map(\.subject) == ["gpt"])
        #expect(view.omissions.first { $0.code == "REVOKED_HIDDEN" }?.count == 1)
        #expect(view.omissions.first { $0.code == "STALE_HIDDEN" }?.count == 1)
        let asked = try index.breakers(Self.query { $0.filters.includeRevoked = true })
        #expect(asked.rows.map(\.subject).sorted() == ["gpt", "k2p5"])
        #expect(asked.omissions.first { $0.code == "REVOKED_HIDDEN" } == nil)
    }

    @Test("benchmarks: an observation left out for several reasons counts once, under the first of age, trip, withdrawn; the index counts the stale ones")
    func exclusionOrder() throws {
        var f = FleetFixture()
        let first = f.benchmark("claude", value: 100, hoursAgo: 48)
        let correction = f.benchmark("claude", value: 110, hoursAgo: 40, supersedes: [first.memory.id])  // withdraws `first`
        let trip = f.breaker("claude", .open, signer: "b@h2", hoursAgo: 30, resetsInHours: -20)
        let afterTrip = f.benchmark("claude", value: 400, hoursAgo: 20)
        let laterCorrection = f.benchmark("claude", value: 420, hoursAgo: 10, supersedes: [afterTrip.memory.id])
        let (dir, index) = try makeIndex([first, correction, trip, afterTrip, laterCorrection])
        defer { withExtendedLifetime(dir) {} }
        let view = try index.benchmarks(Self.query())
        let claude = try #require(view.rows.first { $0.subject == "claude" })
        #expect(claude.observations.map(\.id) == [laterCorrection.memory.id.description])
        // `first` is withdrawn and tripped: stale, like `correction`; `afterTrip` only withdrawn.
        let stale = try #require(view.omissions.first { $0.code == "STALE_HIDDEN" })
        #expect(stale.count == 2 && stale.what.contains("2 recorded before a breaker on their subject tripped"), "\(stale.what)")
        #expect(view.omissions.first { $0.code == "WITHDRAWN_HIDDEN" }?.count == 1)
        // The same for one subject asked by name.
        let named = try index.benchmarks(Self.query { $0.subject = "claude" })
        #expect(named.rows.map(\.subject) == ["claude"] && named.omissions.first { $0.code == "STALE_HIDDEN" }?.count == 2)
    }

    @Test("benchmarks: stale when older than the age limit or recorded before a breaker on the subject tripped; stays stale until newer observations")
    func stalenessTimeline() throws {
        var f = FleetFixture()
        let old = f.benchmark("k2p5", value: 100, hoursAgo: 24 * 40)          // older than 30d
        let beforeTrip = f.benchmark("k2p5", value: 200, hoursAgo: 48)        // the world before the outage
        let trip = f.breaker("k2p5", .open, signer: "b@h2", hoursAgo: 30, resetsInHours: -20)  // tripped, reset long ago
        let closed = f.breaker("k2p5", .closed, signer: "b@h2", hoursAgo: 10)
        let other = f.benchmark("gpt", value: 50, hoursAgo: 48)              // another subject: untouched by the trip
        let (dir, index) = try makeIndex([old, beforeTrip, trip, closed, other])
        defer { withExtendedLifetime(dir) {} }
        var view = try index.benchmarks(Self.query())
        #expect(view.rows.map(\.subject) == ["gpt"])
        let stale = try #require(view.omissions.first { $0.code == "STALE_HIDDEN" })
        #expect(stale.count == 2)
        #expect(stale.what.contains("1 older than 30d") && stale.what.contains("1 recorded before a breaker on their subject tripped"), "\(stale.what)")
        // A newer observation brings the estimate back; the old one stays stale.
        var batch = IndexBatch()
        let fresh = f.benchmark("k2p5", value: 300, signer: "c@h3", hoursAgo: 5)
        batch.upserts = [fresh]
        try index.apply(batch)
        view = try index.benchmarks(Self.query())
        let k2p5 = try #require(view.rows.first { $0.subject == "k2p5" })
        #expect(k2p5.estimate.estimate == 300 && k2p5.estimate.n == 1)
        #expect(k2p5.observations.map(\.id) == [fresh.memory.id.description])
        // --max-age narrows: the gpt observation (2 days old) goes too.
        view = try index.benchmarks(Self.query { $0.maxAge = 24 * 3_600 })
        #expect(view.rows.map(\.subject) == ["k2p5"])
        // A trip counts only if the consumer would trust the report.
        view = try index.benchmarks(Self.query { $0.filters.excludeSigners = ["b@h2"] })
        #expect(view.rows.first { $0.subject == "k2p5" }?.estimate.n == 2)
        // The policy's age limit and half-life, as the indexer records them, are what count.
        var state = IndexBatch()
        state.state = [MemoryIndex.benchmarkMaxAgeKey: String(50 * 86_400), MemoryIndex.halfLivesKey: #"{"benchmark":1}"#]
        try index.apply(state)
        view = try index.benchmarks(Self.query())
        #expect(view.omissions.first { $0.code == "STALE_HIDDEN" }?.what.contains("older than") == false)
        #expect(view.settings.halfLifeDays(of: "benchmark") == 1)
        let weight = try #require(view.rows.first { $0.subject == "k2p5" }?.observations.first?.weight)
        #expect(abs(weight - pow(0.5, 5.0 / 24)) < 1e-9)
        // Recall ranks by the same half-lives.
        let recalled = try index.recall(RecallQuery(text: nil, now: FleetFixture.now))
        #expect(recalled.first { $0.kind == "benchmark" }?.explanation.halfLifeDays == 1)
    }

    @Test("the views read the narrow memory_head through its indexes, and count what they leave out from the index alone")
    func queryPlans() throws {
        let (dir, index) = try makeIndex([])
        defer { withExtendedLifetime(dir) {} }
        let plans = try index.read { db -> [String] in
            let queries = [
                "SELECT count(*) FROM memory_head m WHERE m.kind = 'benchmark' AND m.subject = 'x' AND m.recorded_epoch >= 5",
                "SELECT count(*) FROM memory_head m WHERE m.kind = 'circuit-breaker' AND m.subject IS NOT NULL AND m.expiry_epoch <= 5",
                "SELECT count(*) FROM memory_head m WHERE m.kind = 'benchmark' AND m.subject IS NOT NULL AND m.recorded_epoch < 5",
                "SELECT m.id, m.subject, m.state FROM memory_head m WHERE m.kind = 'circuit-breaker' AND m.subject IS NOT NULL AND m.expiry_epoch > 5",
            ]
            return try queries.map { sql in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "; ")
            }
        }
        for plan in plans { #expect(plan.contains("USING") && plan.contains("INDEX"), "\(plan)") }
        #expect(plans[0].contains("COVERING INDEX memory_head_kind_subject"), "\(plans[0])")
        #expect(plans[1].contains("COVERING INDEX memory_head_kind_expiry"), "\(plans[1])")
        #expect(plans[2].contains("COVERING INDEX memory_head_kind_recorded"), "\(plans[2])")
        #expect(plans[3].contains("memory_head_kind_expiry"), "\(plans[3])")
    }

    @Test("memory_head stays the projection of memory through inserts, tier and revocation changes, and removals")
    func headFollowsMemory() throws {
        var f = FleetFixture()
        let records = [
            f.breaker("k2p5", .open, hoursAgo: 3, resetsInHours: 5),
            f.benchmark("k2p5", value: 120, hoursAgo: 2),
            f.benchmark("gpt", metric: "p99", value: 900, hoursAgo: 1),
        ]
        let (dir, index) = try makeIndex(records)
        defer { withExtendedLifetime(dir) {} }
        func mismatches() throws -> Int {
            try index.read { db in
                try Int.fetchOne(db, sql: """
                    SELECT (SELECT count(*) FROM memory m LEFT JOIN memory_head h ON h.rowid = m.rowid
                            WHERE h.rowid IS NULL OR h.id <> m.id OR h.kind <> m.kind OR h.signer <> m.signer OR h.host <> m.host
                               OR h.tier <> m.tier OR h.deferred <> m.deferred OR h.revoked <> m.revoked
                               OR h.may_withdraw_any <> m.may_withdraw_any OR h.recorded_epoch <> m.recorded_epoch
                               OR h.expiry_epoch IS NOT m.expiry_epoch OR h.subject IS NOT json_extract(m.fields, '$.subject')
                               OR h.metric IS NOT json_extract(m.fields, '$.metric') OR h.value IS NOT json_extract(m.fields, '$.value')
                               OR h.state IS NOT json_extract(m.fields, '$.state') OR h.resets_at IS NOT json_extract(m.fields, '$.resets_at'))
                         + (SELECT count(*) FROM memory_head WHERE rowid NOT IN (SELECT rowid FROM memory))
                    """) ?? -1
            }
        }
        func head(_ path: String) throws -> Row? {
            try index.read { try Row.fetchOne($0, sql: "SELECT h.* FROM memory_head h JOIN memory m ON m.rowid = h.rowid WHERE m.path = ?", arguments: [path]) }
        }
        #expect(try mismatches() == 0)
        #expect(try head(records[1].path)?["subject"] == "k2p5")
        #expect(try head(records[2].path)?["value"] == 900.0)

        var batch = IndexBatch()
        batch.reviewedPaths = [records[0].path]
        batch.revokedPaths = [records[1].path]
        try index.apply(batch)
        #expect(try head(records[0].path)?["tier"] == "reviewed")
        #expect(try head(records[1].path)?["revoked"] == 1)
        #expect(try mismatches() == 0)

        batch = IndexBatch()
        batch.removedPaths = [records[2].path]
        try index.apply(batch)
        #expect(try head(records[2].path) == nil)
        #expect(try index.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM memory_head") } == 2)
        #expect(try mismatches() == 0)
    }

    // MARK: - Synthetic fleets against a reference implementation

    /// A fleet: hosts reporting breakers and benchmarks on a few subjects, conflicting, some
    /// withdrawn by their own signer.
    static func fleet(seed: UInt64) -> [IndexedMemory] {
        var rng = SeededGenerator(seed: seed)
        var f = FleetFixture()
        var records: [IndexedMemory] = []
        let subjects = ["kimi-coding/k2p5", "openai/gpt-4.1", "anthropic/sonnet", "local/llama"]
        let signers = (1...12).map { "agent\($0 % 4)@host\($0)" }
        let states: [BreakerState] = [.open, .halfOpen, .closed]
        for _ in 0..<400 {
            let subject = subjects[Int(rng.next() % UInt64(subjects.count))]
            let signer = signers[Int(rng.next() % UInt64(signers.count))]
            let hoursAgo = Double(rng.next() % 24 * 45) / 1.0 + Double(rng.next() % 60) / 60
            let withdraw = records.last.flatMap { rng.next() % 10 == 0 && $0.signer == signer ? [$0.memory.id] : nil } ?? []
            if rng.next() % 3 == 0 {
                let state = states[Int(rng.next() % 3)]
                let resets = rng.next() % 2 == 0 ? nil : Double(Int(rng.next() % 200)) - hoursAgo.rounded() + 1
                records.append(f.breaker(subject, state, signer: signer, hoursAgo: hoursAgo, resetsInHours: resets, supersedes: withdraw))
            } else {
                let metric = rng.next() % 2 == 0 ? "p50" : "p99"
                records.append(f.benchmark(subject, metric: metric, value: Double(rng.next() % 2_000), unit: "ms", signer: signer,
                                           hoursAgo: hoursAgo, supersedes: withdraw))
            }
        }
        return records
    }

    /// The reference: every rule written out plainly over the memories themselves.
    enum Reference {
        static func withdrawn(_ record: IndexedMemory, _ all: [IndexedMemory]) -> Bool {
            all.contains { $0.signer == record.signer && $0.memory.frontMatter.supersedes.contains(record.memory.id) }
        }

        static func recorded(_ r: IndexedMemory) -> Double { r.memory.frontMatter.recordedAt.secondsSinceEpoch }

        static func breakers(_ all: [IndexedMemory], now: Double) -> [String: (state: String, since: String, until: String?, hosts: Set<String>, ids: [String])] {
            var out: [String: (String, String, String?, Set<String>, [String])] = [:]
            let counting = all.filter {
                $0.memory.kind == .circuitBreaker && !withdrawn($0, all) && $0.memory.effectiveExpiry!.secondsSinceEpoch > now
            }
            for subject in Set(counting.compactMap(\.memory.body.subject)) {
                let reports = counting.filter { $0.memory.body.subject == subject }
                    .sorted { (recorded($0), $0.memory.id.description) > (recorded($1), $1.memory.id.description) }
                let state = reports[0].memory.body.state!
                var run: [IndexedMemory] = []
                for report in reports {
                    if report.memory.body.state != state { break }
                    run.append(report)
                }
                let until = run.compactMap(\.memory.body.resetsAt).max()?.text
                out[subject] = (state.rawValue, run.last!.memory.frontMatter.recordedAt.text, until, Set(run.map(\.memory.frontMatter.host)),
                                run.map(\.memory.id.description))
            }
            return out
        }

        struct Estimate: Equatable { var median: Double, min: Double, max: Double, n: Int, hosts: Int }

        static func benchmarks(_ all: [IndexedMemory], now: Double, maxAge: Double, halfLife: Double) -> [String: Estimate] {
            let kept = all.filter { record in
                guard record.memory.kind == .benchmark, !withdrawn(record, all) else { return false }
                guard recorded(record) >= now - maxAge, record.memory.effectiveExpiry!.secondsSinceEpoch > now else { return false }
                // Stale if any counting open report on the subject was recorded after it.
                let tripped = all.contains { other in
                    other.memory.kind == .circuitBreaker && other.memory.body.subject == record.memory.body.subject
                        && other.memory.body.state == .open && !withdrawn(other, all) && recorded(other) > recorded(record)
                }
                return !tripped
            }
            var out: [String: Estimate] = [:]
            for key in Set(kept.map { "\($0.memory.body.subject!)|\($0.memory.body.metric!)" }) {
                let group = kept.filter { "\($0.memory.body.subject!)|\($0.memory.body.metric!)" == key }
                let weighted = group.map { ($0.memory.body.value!, pow(0.5, (now - recorded($0)) / 86_400 / halfLife)) }
                let total = weighted.map(\.1).reduce(0, +)
                // The weighted median: the least value v whose weight at or below v reaches half.
                let median = weighted.map(\.0).sorted().first { v in weighted.filter { $0.0 <= v }.map(\.1).reduce(0, +) >= total / 2 * (1 - 1e-12) }!
                out[key] = Estimate(median: median, min: weighted.map(\.0).min()!, max: weighted.map(\.0).max()!, n: group.count,
                                    hosts: Set(group.map(\.memory.frontMatter.host)).count)
            }
            return out
        }
    }

    @Test("synthetic fleets: breakers and benchmarks agree with the reference implementation", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func againstReference(seed: UInt64) throws {
        let records = Self.fleet(seed: seed)
        let (dir, index) = try makeIndex(records)
        defer { withExtendedLifetime(dir) {} }
        let now = FleetFixture.now

        let breakers = try index.breakers(Self.query())
        let expected = Reference.breakers(records, now: now)
        #expect(breakers.rows.count == expected.count)
        #expect(breakers.rows.map { $0.reports[0].recordedEpoch } == breakers.rows.map { $0.reports[0].recordedEpoch }.sorted(by: >))
        for row in breakers.rows {
            let reference = try #require(expected[row.subject])
            #expect(row.state == reference.state && row.since == reference.since && row.until == reference.until, "\(row.subject)")
            #expect(Set(row.hostNames) == reference.hosts && row.hosts == reference.hosts.count)
            #expect(row.reports.map(\.id) == reference.ids)
        }

        for maxAge in [2_592_000, 604_800] as [Double] {
            let view = try index.benchmarks(Self.query { $0.maxAge = maxAge })
            let reference = Reference.benchmarks(records, now: now, maxAge: maxAge, halfLife: 7)
            #expect(view.rows.count == reference.count)
            for row in view.rows {
                let e = try #require(reference["\(row.subject)|\(row.metric)"])
                #expect(Reference.Estimate(median: row.estimate.estimate, min: row.estimate.min, max: row.estimate.max, n: row.estimate.n,
                                           hosts: row.estimate.hosts) == e, "\(row.subject) \(row.metric)")
                #expect(row.estimate.p10 <= row.estimate.estimate && row.estimate.estimate <= row.estimate.p90)
            }
            // Everything read is either estimated or counted as left out.
            let inWindowOrOld = records.filter { $0.memory.kind == .benchmark }.count
            let counted = view.omissions.reduce(0) { $0 + $1.count }
            #expect(view.rows.reduce(0) { $0 + $1.estimate.n } + counted == inWindowOrOld)
        }

        // Per host: each host's estimate is the reference over that host's observations alone.
        let byHost = try index.benchmarks(Self.query { $0.byHost = true })
        for row in byHost.rows {
            for host in row.byHost ?? [] {
                let own = row.observations.filter { $0.host == host.host }
                #expect(host.estimate.n == own.count && host.estimate.min == own.map(\.value).min())
            }
            #expect((row.byHost ?? []).reduce(0) { $0 + $1.estimate.n } == row.estimate.n)
        }
    }
}

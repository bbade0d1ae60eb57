import ArgumentParser
import Foundation
import SFGit

/// The trust filters the fleet views share with recall.
struct FleetFilterOptions: ParsableArguments {
    @Option(name: .customLong("signer"), help: "Only memories signed by this principal (author@host; repeatable).")
    var signers: [String] = []

    @Option(help: "Only memories of this tier or above: self, authenticated, reviewed.", transform: flagValue())
    var tier: Tier?

    @Option(name: .customLong("host"), help: "Only memories from this host (repeatable).")
    var hosts: [String] = []

    @Flag(name: .customLong("exclude-retired"), help: "Leave out memories of principals the store's current policy no longer lists.")
    var excludeRetired = false

    @Flag(name: .customLong("ignore-consumer-policy"), help: "Do not apply the store's trust filter from config.yaml.")
    var ignoreConsumerPolicy = false

    /// A query at `now` for `subject` with these filters.
    func query(now: Double, subject: String?) -> FleetQuery {
        FleetQuery(now: now, subject: subject, signers: signers, hosts: hosts, minTier: tier, excludeRetired: excludeRetired)
    }
}

/// `data` of `sfgit breakers --json`.
struct BreakersData: Encodable {
    var breakers: [FleetBreaker]
    var settings: [String: FleetSettings]
}

/// `data` of `sfgit benchmarks --json`.
struct BenchmarksData: Encodable {
    var benchmarks: [FleetBenchmark]
    var settings: [String: FleetSettings]
}

/// `sfgit breakers`.
struct BreakersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakers",
        abstract: "The fleet's circuit-breaker state per subject, from the local cache (offline), newest first.",
        discussion: """
            Per subject, the newest report that counts gives the state; 'since' is the oldest report of the \
            unbroken run of that state, 'until' the latest resets_at in the run, hosts the distinct hosts that \
            reported it. Reports past their resets_at, withdrawn (superseded or retracted), or held back by \
            the store's rate limits do not count, and the warnings say how many.
            """ + "\n\n" + Examples.breakers)

    @Argument(help: "Only this subject (e.g. kimi-coding/k2p5).")
    var subject: String?

    @OptionGroup var filters: FleetFilterOptions
    @OptionGroup var storeOption: StoreOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        let query = filters.query(now: Date().timeIntervalSince1970, subject: subject)
        var notes: [String] = []
        try perform("breakers", output, { () throws(SFGitError) in
            let answer = try openWorkspace().breakers(query, store: storeOption.store, consumerPolicy: !filters.ignoreConsumerPolicy)
            notes = answer.warnings.map(\.message)
            return Outcome(data: BreakersData(breakers: answer.rows, settings: answer.settings), exit: answer.degraded ? .degraded : .ok,
                           warnings: output.json ? answer.warnings.map { ($0.code, $0.message) } : [])
        }, text: { data in
            if data.breakers.isEmpty { printOut("no breaker reports count now") }
            let stores = Set(data.breakers.compactMap(\.store)).count
            for breaker in data.breakers {
                let until = breaker.until.map { " until \(safe($0))" } ?? ""
                let store = stores > 1 ? " · store \(safe(breaker.store ?? ""))" : ""
                printOut("\(safe(breaker.subject)): \(breaker.state.uppercased()) since \(safe(breaker.since))\(until) · "
                         + "\(breaker.hosts) host\(breaker.hosts == 1 ? "" : "s") (\(breaker.hostNames.map(safe).joined(separator: ", "))) · latest \(safe(breaker.latestAt))\(store)")
                for report in breaker.reports {
                    let resets = report.resetsAt.map { " · resets_at \(safe($0))" } ?? ""
                    printOut("   \(safe(report.state)) \(safe(report.id)) · \(report.tier.rawValue) · signed by \(safe(report.signer)) · host \(safe(report.host)) · recorded \(safe(report.recordedAt))\(resets)")
                }
            }
            if !notes.isEmpty { printOut("(" + notes.map { safe($0) }.joined(separator: "; ") + ")") }
        })
    }
}

/// `sfgit benchmarks`.
struct BenchmarksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmarks",
        abstract: "The fleet's recency-weighted benchmark estimates per subject and metric, from the local cache (offline).",
        discussion: """
            The estimate is the weighted median of the observations' values, each weighted 0.5^(age / half-life) \
            (the policy's benchmark half-life, 7 days unless it says otherwise); p10/p90 are weighted percentiles, \
            min/max the plain extremes. Stale observations are left out and counted: older than the policy's \
            benchmark_max_age (30d unless it says otherwise; --max-age narrows it), or recorded before a circuit \
            breaker on the same subject tripped (an open report recorded later). A stale observation stays stale; \
            the estimate returns with newer observations.
            """ + "\n\n" + Examples.benchmarks)

    @Argument(help: "Only this subject (e.g. kimi-coding/k2p5).")
    var subject: String?

    @Option(help: "Only this metric (e.g. p50).")
    var metric: String?

    @Flag(name: .customLong("by-host"), help: "Add each host's own estimate.")
    var byHost = false

    @Option(name: .customLong("max-age"), help: "Leave out observations older than this (30d, 12h): narrows the store's benchmark_max_age, never widens it.",
            transform: flagValue())
    var maxAge: MaxAge?

    @OptionGroup var filters: FleetFilterOptions
    @OptionGroup var storeOption: StoreOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        var query = filters.query(now: Date().timeIntervalSince1970, subject: subject)
        query.metric = metric
        query.byHost = byHost
        query.maxAge = maxAge?.seconds
        var notes: [String] = []
        try perform("benchmarks", output, { () throws(SFGitError) in
            let answer = try openWorkspace().benchmarks(query, store: storeOption.store, consumerPolicy: !filters.ignoreConsumerPolicy)
            notes = answer.warnings.map(\.message)
            return Outcome(data: BenchmarksData(benchmarks: answer.rows, settings: answer.settings), exit: answer.degraded ? .degraded : .ok,
                           warnings: output.json ? answer.warnings.map { ($0.code, $0.message) } : [])
        }, text: { data in
            if data.benchmarks.isEmpty { printOut("no benchmark observations count now") }
            let stores = Set(data.benchmarks.compactMap(\.store)).count
            for row in data.benchmarks {
                let unit = row.unit.map { " " + safe($0) } ?? ""
                let store = stores > 1 ? " · store \(safe(row.store ?? ""))" : ""
                printOut("\(safe(row.subject)) \(safe(row.metric)): \(Self.line(row.estimate, unit: unit))\(store)")
                for host in row.byHost ?? [] {
                    printOut("   host \(safe(host.host)): \(Self.line(host.estimate, unit: unit))")
                }
            }
            if !notes.isEmpty { printOut("(" + notes.map { safe($0) }.joined(separator: "; ") + ")") }
        })
    }

    static func line(_ e: FleetEstimate, unit: String) -> String {
        "\(number(e.estimate))\(unit) weighted median (p10 \(number(e.p10)), p90 \(number(e.p90)); min \(number(e.min)), max \(number(e.max)))"
            + " · n=\(e.n) from \(e.hosts) host\(e.hosts == 1 ? "" : "s") · newest \(safe(e.newestAt))"
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.4g", value)
    }
}

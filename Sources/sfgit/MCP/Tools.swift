import Foundation
import SFGit

/// The seven tools of `sfgit mcp`. Each calls the same `Workspace` workflow as its CLI command and
/// returns the `sfgit.v1` envelope that command's `--json` prints as `structuredContent`, and a
/// text block for the model: memories fenced and escaped as reference data (`MemoryFence`),
/// anything else one escaped line or a few. Bad arguments, NOT_FOUND, RATE_LIMITED and every
/// other workflow failure are tool results with `isError: true`.
// @unchecked Sendable: used by the server's one worker thread only (requests are served in order), never concurrently.
final class MemoryTools: @unchecked Sendable {
    static let names: Set<String> = ["memory_recall", "memory_show", "memory_remember", "memory_retract", "memory_status",
                                     "memory_breakers", "memory_benchmarks"]

    /// What `initialize` said about the client.
    var client = ClientInfo()
    /// `sfgit mcp --store NAME`: the default store of every call.
    let defaultStore: String?
    /// The caches, kept open between calls.
    let caches = ResidentCaches()
    private var workspace: Workspace?
    private var configStamp: [Int] = []
    private let home = Home.fromEnvironment()

    init(store: String?) {
        self.defaultStore = store
    }

    // MARK: - Dispatch

    func call(_ name: String, _ arguments: MCPValue?) -> MCPValue {
        do {
            let args = try Arguments(arguments, allowed: Self.allowedArguments[name] ?? [])
            switch name {
            case "memory_recall": return try recall(args)
            case "memory_show": return try show(args)
            case "memory_remember": return try remember(args)
            case "memory_retract": return try retract(args)
            case "memory_breakers": return try breakers(args)
            case "memory_benchmarks": return try benchmarks(args)
            default: return try status(args)
            }
        } catch {
            return failure(name, error)
        }
    }

    /// A failed call: the error envelope, and its message as one escaped line.
    func failure(_ name: String, _ error: SFGitError) -> MCPValue {
        let envelope = Envelope<String>(command: Self.command(name), exit: error.status, data: nil, errorMessage: error.message)
        var line = "error \(error.status.name): " + SafeText.escape(error.message, for: .line)
        if line.count > 2_000 { line = String(line.prefix(2_000)) + "…" }
        return result(envelope, text: line)
    }

    private func result<Payload: Encodable>(_ envelope: Envelope<Payload>, text: String) -> MCPValue {
        [
            "content": [["type": "text", "text": .string(text)]],
            "structuredContent": .raw(envelope.encoded()),
            "isError": .bool(envelope.isError),
        ]
    }

    /// The CLI command a tool stands for (the envelope's `command`).
    static func command(_ tool: String) -> String { String(tool.dropFirst("memory_".count)) }

    /// The workspace, read again when `config.yaml` changed (a store cloned meanwhile).
    private func currentWorkspace(identity: Identity = Identity()) throws(SFGitError) -> Workspace {
        var info = stat()
        let stamp = stat(home.configPath, &info) == 0
            ? [Int(info.st_ino), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec), Int(info.st_size)] : []
        if workspace == nil || stamp != configStamp {
            var opened = try Workspace(home: home)
            opened.residentCaches = caches
            workspace = opened
            configStamp = stamp
        }
        var chosen = workspace!
        chosen.identity = chosen.identity.overridden(by: identity)
        return chosen
    }

    // MARK: - Tools

    private func recall(_ args: Arguments) throws(SFGitError) -> MCPValue {
        let now = Date().timeIntervalSince1970
        var query = RecallQuery(text: try args.string("query", maxLength: 500).flatMap { $0.isEmpty ? nil : $0 }, now: now)
        query.kinds = try args.strings("kinds", maxItems: 8)
        query.tags = try args.strings("tags", maxItems: 16)
        query.authors = try args.strings("authors", maxItems: 16)
        if let since = try args.string("since", maxLength: 64) { query.since = try Since.parse(since, as: "since").start(now: now) }
        query.limit = try args.integer("limit", in: 1...50) ?? 8
        query.includeStale = try args.bool("include_stale") ?? false
        query.includeSuperseded = try args.bool("include_superseded") ?? false
        let maxChars = try args.integer("max_chars", in: MemoryFence.minimumCharacters...40_000) ?? 8_000
        let store = try args.string("store", maxLength: 64) ?? defaultStore
        let answer = try currentWorkspace().recall(query, store: store)
        let items = answer.items
        let heading = query.text.map { "Query: \($0)" } ?? "Newest first."
        let rendering = MemoryFence.render(items, heading: heading, maxCharacters: maxChars)
        // What the answer left out (MORE_RESULTS, CAPPED_BY_SIGNER, …), as the CLI's envelope says it.
        var warnings: [Envelope<[RecallItem]>.Warning] = answer.warnings.map { .init(code: $0.code, message: $0.message) }
        var shown = Array(items.prefix(rendering.shown))
        if rendering.truncated {
            if let clipped = rendering.clipped, let position = shown.firstIndex(where: { $0.id == clipped.id }) {
                shown[position].body = String(shown[position].body.prefix(clipped.bodyCharacters)) + "…"
            }
            warnings.append(.init(code: "TRUNCATED", message: "\(rendering.shown) of \(items.count) memories shown within max_chars \(maxChars)"
                                  + (rendering.clipped != nil ? "; the body of \(rendering.clipped!.id) clipped" : "")))
        }
        return result(Envelope(command: "recall", exit: answer.degraded ? .degraded : .ok, warnings: warnings, data: shown), text: rendering.text)
    }

    private func show(_ args: Arguments) throws(SFGitError) -> MCPValue {
        let id = try args.required("id", minLength: 4, maxLength: 26)
        let store = try args.string("store", maxLength: 64) ?? defaultStore
        let item = try currentWorkspace().show(id, store: store)
        let rendering = MemoryFence.render([item], heading: "Memory \(item.id).", maxCharacters: 40_000)
        return result(Envelope(command: "show", exit: .ok, data: item), text: rendering.text)
    }

    private func remember(_ args: Arguments) throws(SFGitError) -> MCPValue {
        var draft = MemoryDraft(kind: try args.required("kind", minLength: 1, maxLength: 32),
                                title: try args.required("title", minLength: 1, maxLength: 200),
                                body: try args.required("body", minLength: 1, maxLength: 16_000))
        draft.tags = try args.strings("tags", maxItems: 16)
        draft.fields = try args.scalarFields("fields")
        draft.expires = try args.string("expires", maxLength: 64)
        draft.supersedes = try args.strings("supersedes", maxItems: 8)
        let store = try args.string("store", maxLength: 64) ?? defaultStore
        let report = try currentWorkspace(identity: provenance()).remember(draft, store: store)
        var text = "Remembered \(SafeText.escape(draft.kind)) \(report.id) in store \(SafeText.escape(report.store)): signed and committed to this host's outbox (committed_local); the next sfgit sync publishes it."
        for warning in report.warnings { text += "\nwarning: " + SafeText.escape(warning) }
        return result(Envelope(command: "remember", exit: .ok, warnings: report.warnings.map { .init(code: "REMEMBER", message: $0) }, data: report), text: text)
    }

    private func retract(_ args: Arguments) throws(SFGitError) -> MCPValue {
        let id = try args.required("id", minLength: 4, maxLength: 26)
        let reason = try args.required("reason", minLength: 1, maxLength: 1_000)
        let store = try args.string("store", maxLength: 64) ?? defaultStore
        let report = try currentWorkspace(identity: provenance()).retract(id, reason: reason, store: store)
        var text = "Retracted \(SafeText.escape(id)) with retraction \(report.id) in store \(SafeText.escape(report.store)) (committed_local; the next sfgit sync publishes it)."
        for warning in report.warnings { text += "\nwarning: " + SafeText.escape(warning) }
        return result(Envelope(command: "retract", exit: .ok, warnings: report.warnings.map { .init(code: "RETRACT", message: $0) }, data: report), text: text)
    }

    /// The trust filters and subject the two fleet views share with `sfgit breakers`/`benchmarks`.
    private func fleetQuery(_ args: Arguments, now: Double) throws(SFGitError) -> FleetQuery {
        var minTier: Tier?
        if let tier = try args.string("tier", maxLength: 16) { minTier = try Tier.parse(tier, as: "tier") }
        return FleetQuery(now: now, subject: try args.string("subject", minLength: 1, maxLength: 200), signers: try args.strings("signers", maxItems: 16),
                          hosts: try args.strings("hosts", maxItems: 16), minTier: minTier, excludeRetired: try args.bool("exclude_retired") ?? false)
    }

    private func fleetResult<Data: Encodable>(_ command: String, _ answer: FleetAnswer<some Sendable>, data: Data,
                                              rendering: MemoryFence.Rendering, rows: Int) -> MCPValue {
        var warnings: [Envelope<Data>.Warning] = answer.warnings.map { .init(code: $0.code, message: $0.message) }
        if rendering.truncated {
            warnings.append(.init(code: "TRUNCATED", message: "the text shows \(rendering.shown) of \(rows) rows within max_chars; structuredContent holds all"))
        }
        return result(Envelope(command: command, exit: answer.degraded ? .degraded : .ok, warnings: warnings, data: data), text: rendering.text)
    }

    private func breakers(_ args: Arguments) throws(SFGitError) -> MCPValue {
        let query = try fleetQuery(args, now: Date().timeIntervalSince1970)
        let maxChars = try args.integer("max_chars", in: MemoryFence.minimumCharacters...40_000) ?? 8_000
        let store = try args.string("store", maxLength: 64) ?? defaultStore
        let answer = try currentWorkspace().breakers(query, store: store, consumerPolicy: !(try args.bool("ignore_consumer_policy") ?? false))
        let rows = answer.rows.map { breaker in
            MemoryFence.Row("breaker", [
                ("subject", breaker.subject), ("state", breaker.state), ("since", breaker.since), ("until", breaker.until ?? ""),
                ("hosts", String(breaker.hosts)), ("host_names", breaker.hostNames.joined(separator: ",")),
                ("latest_at", breaker.latestAt), ("store", breaker.store ?? ""),
            ], children: breaker.reports.map { report in
                MemoryFence.Row("report", [("id", report.id), ("state", report.state), ("signer", report.signer), ("tier", report.tier.rawValue),
                                           ("host", report.host), ("recorded_at", report.recordedAt), ("resets_at", report.resetsAt ?? "")])
            })
        }
        let heading = "Circuit-breaker state per subject, newest first" + (query.subject.map { " (subject \($0))" } ?? "") + "."
        let rendering = MemoryFence.renderRows(rows, what: "breakers", heading: heading, maxCharacters: maxChars)
        return fleetResult("breakers", answer, data: BreakersData(breakers: answer.rows, settings: answer.settings), rendering: rendering, rows: rows.count)
    }

    private func benchmarks(_ args: Arguments) throws(SFGitError) -> MCPValue {
        var query = try fleetQuery(args, now: Date().timeIntervalSince1970)
        query.metric = try args.string("metric", minLength: 1, maxLength: 200)
        query.byHost = try args.bool("by_host") ?? false
        if let maxAge = try args.string("max_age", maxLength: 32) { query.maxAge = try MaxAge.parse(maxAge, as: "max_age").seconds }
        let maxChars = try args.integer("max_chars", in: MemoryFence.minimumCharacters...40_000) ?? 8_000
        let store = try args.string("store", maxLength: 64) ?? defaultStore
        let answer = try currentWorkspace().benchmarks(query, store: store, consumerPolicy: !(try args.bool("ignore_consumer_policy") ?? false))
        func estimate(_ e: FleetEstimate) -> [(String, String)] {
            [("estimate", Self.number(e.estimate)), ("p10", Self.number(e.p10)), ("p90", Self.number(e.p90)), ("min", Self.number(e.min)),
             ("max", Self.number(e.max)), ("n", String(e.n)), ("hosts", String(e.hosts)), ("newest_at", e.newestAt)]
        }
        let rows = answer.rows.map { row in
            MemoryFence.Row("benchmark", [("subject", row.subject), ("metric", row.metric), ("unit", row.unit ?? "")] + estimate(row.estimate) + [("store", row.store ?? "")],
                            children: (row.byHost ?? []).map { MemoryFence.Row("host", [("host", $0.host)] + estimate($0.estimate)) }
                                + row.observations.map { o in
                                    MemoryFence.Row("observation", [("id", o.id), ("value", Self.number(o.value)), ("signer", o.signer), ("tier", o.tier.rawValue),
                                                                    ("host", o.host), ("recorded_at", o.recordedAt), ("weight", String(format: "%.3f", o.weight))])
                                })
        }
        let heading = "Recency-weighted benchmark estimates per subject and metric" + (query.subject.map { " (subject \($0))" } ?? "") + "."
        let rendering = MemoryFence.renderRows(rows, what: "benchmarks", heading: heading, maxCharacters: maxChars)
        return fleetResult("benchmarks", answer, data: BenchmarksData(benchmarks: answer.rows, settings: answer.settings), rendering: rendering, rows: rows.count)
    }

    /// A number as the text shows it: integers without a fraction, others as Swift prints them.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private func status(_ args: Arguments) throws(SFGitError) -> MCPValue {
        let store = try args.string("store", maxLength: 64) ?? defaultStore
        let stores = try currentWorkspace().status(store: store)
        var lines: [String] = []
        for status in stores {
            let age = status.cacheAgeSeconds.map(Self.age) ?? "no cache yet"
            let fetch = status.lastFetchAt.map { "last fetch \($0)" + (status.lastFetchError.map { " FAILED: " + SafeText.escape($0) } ?? " ok") } ?? "never fetched"
            let total = status.counts.byKind.values.reduce(0, +)
            var line = "store \(SafeText.escape(status.store)): cache updated \(age) ago at commit \(status.cacheCommit.map { String($0.prefix(12)) } ?? "none"); \(fetch); \(status.pending) pending; \(total) memories"
            if status.remoteTip != nil, status.remoteTip != status.verifiedTip { line += "; the remote tip seen is not verified yet" }
            if let blocked = status.blocked { line += "; BLOCKED: " + SafeText.escape(blocked.reason) }
            lines.append(line)
        }
        if lines.isEmpty { lines = ["no stores"] }
        return result(Envelope(command: "status", exit: .ok, data: StatusData(stores: stores)), text: lines.joined(separator: "\n"))
    }

    static func age(_ seconds: Int) -> String {
        switch seconds {
        case ..<120: return "\(seconds) s"
        case ..<7_200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3_600) h"
        default: return "\(seconds / 86_400) d"
        }
    }

    /// The `instance` and `agent` claims of what this client writes: from `clientInfo`, never
    /// from tool arguments. A configured instance (config.yaml, SFGIT_INSTANCE) is kept.
    private func provenance() -> Identity {
        Identity(instance: Identity.fromEnvironment().instance ?? client.instance, agent: client.agent)
    }
}

/// A tool's arguments, checked against its closed input schema: unknown names, wrong types and
/// out-of-range values are USAGE errors (tool results with `isError: true`).
struct Arguments {
    private let pairs: [String: MCPValue]

    init(_ value: MCPValue?, allowed: Set<String>) throws(SFGitError) {
        var pairs: [String: MCPValue] = [:]
        if case .object(let members)? = value {
            for (key, member) in members {
                guard allowed.contains(key) else {
                    throw SFGitError(.usage, "unknown argument '\(key)' (allowed: \(allowed.sorted().joined(separator: ", ")))")
                }
                if case .null = member { continue }
                pairs[key] = member
            }
        }
        self.pairs = pairs
    }

    func string(_ key: String, minLength: Int = 0, maxLength: Int) throws(SFGitError) -> String? {
        guard let value = pairs[key] else { return nil }
        guard case .string(let text) = value else { throw SFGitError(.usage, "\(key) must be a string") }
        guard text.count >= minLength, text.count <= maxLength else {
            throw SFGitError(.usage, "\(key) must be \(minLength)–\(maxLength) characters long")
        }
        return text
    }

    func required(_ key: String, minLength: Int, maxLength: Int) throws(SFGitError) -> String {
        guard let text = try string(key, minLength: minLength, maxLength: maxLength) else { throw SFGitError(.usage, "\(key) is required") }
        return text
    }

    func strings(_ key: String, maxItems: Int) throws(SFGitError) -> [String] {
        guard let value = pairs[key] else { return [] }
        guard case .array(let items) = value, items.count <= maxItems else {
            throw SFGitError(.usage, "\(key) must be an array of at most \(maxItems) strings")
        }
        var out: [String] = []
        for item in items {
            guard case .string(let text) = item, !text.isEmpty, text.count <= 200 else { throw SFGitError(.usage, "\(key) must hold non-empty strings") }
            out.append(text)
        }
        return out
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(SFGitError) -> Int? {
        guard let value = pairs[key] else { return nil }
        var number: Int?
        switch value {
        case .integer(let n): number = Int(exactly: n)
        case .number(let d) where d == d.rounded(): number = Int(exactly: d)
        default: number = nil
        }
        guard let number, range.contains(number) else {
            throw SFGitError(.usage, "\(key) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func bool(_ key: String) throws(SFGitError) -> Bool? {
        guard let value = pairs[key] else { return nil }
        guard case .bool(let flag) = value else { throw SFGitError(.usage, "\(key) must be true or false") }
        return flag
    }

    /// `fields`: an object of strings, numbers and booleans, as `--field key=value` takes them.
    func scalarFields(_ key: String) throws(SFGitError) -> [(String, String)] {
        guard let value = pairs[key] else { return [] }
        guard case .object(let members) = value, members.count <= 32 else {
            throw SFGitError(.usage, "\(key) must be an object of at most 32 strings, numbers or booleans")
        }
        var out: [(String, String)] = []
        for (name, member) in members {
            switch member {
            case .string(let text): out.append((name, text))
            case .integer(let number): out.append((name, String(number)))
            case .number(let number): out.append((name, String(number)))
            case .bool(let flag): out.append((name, flag ? "true" : "false"))
            default: throw SFGitError(.usage, "\(key).\(name) must be a string, a number or a boolean")
            }
        }
        return out
    }
}

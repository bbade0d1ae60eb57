import ArgumentParser
import Foundation
import SFGit

/// `sfgit remember`.
struct RememberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remember",
        abstract: "Write one memory: validated, signed, committed to the local outbox, indexed; prints its id.",
        discussion: Examples.remember)

    @Argument(help: "The kind: learning, anti-pattern, contract, benchmark, circuit-breaker, note (or a new kind name).",
              completion: .list(ShellCompletion.kinds))
    var kind: String

    @Option(help: "The one-line title.")
    var title: String

    @Option(help: "The body text (Markdown).")
    var body: String?

    @Option(name: .customLong("body-file"), help: "Read the body from a file ('-' for stdin).")
    var bodyFile: String?

    @Option(name: .customLong("tag"), help: "A tag (repeatable).")
    var tags: [String] = []

    @Option(name: .customLong("field"), help: "A body field key=value (repeatable): instead, subject, metric, value, unit, samples, state, resets_at, or a new one.")
    var fields: [String] = []

    @Option(help: "When it stops being served: a duration (30d; 12h; 1m is one minute) or a date (2026-12-31); never in the past.")
    var expires: String?

    @Option(name: .customLong("supersedes"), help: "An id this memory replaces (repeatable).",
            completion: .custom { _, _, prefix in ShellCompletion.memoryIDs(prefix: prefix) })
    var supersedes: [String] = []

    @Option(help: "Why it replaces the memories it supersedes (written as the body field 'reason'; required to supersede another signer's memory).")
    var reason: String?

    @Option(help: "The agent instance on this host.")
    var instance: String?

    @Option(help: "The product and version writing (sf/3.2.0).")
    var agent: String?

    @OptionGroup var storeOption: StoreOption
    @OptionGroup var identity: IdentityOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if body != nil && bodyFile != nil { throw ValidationError("--body and --body-file exclude each other") }
        for field in fields where !field.contains("=") { throw ValidationError("--field '\(field)' is not key=value") }
    }

    func run() throws {
        var draft = MemoryDraft(kind: kind, title: title, body: body)
        if let bodyFile {
            let data = bodyFile == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: bodyFile)
            guard let data, let text = String(data: data, encoding: .utf8) else { throw ValidationError("cannot read --body-file \(bodyFile) as UTF-8 text") }
            draft.body = text
        }
        draft.tags = tags
        draft.fields = fields.map { field in
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), String(parts[1]))
        }
        draft.expires = expires
        draft.supersedes = supersedes
        if let reason { draft.fields.append(("reason", reason)) }
        var overrides = identity.identity
        overrides.instance = instance
        overrides.agent = agent
        try perform("remember", output, { () throws(SFGitError) in
            let report = try openWorkspace(overrides).remember(draft, store: storeOption.store)
            return Outcome(data: report, warnings: report.warnings.map { ("REMEMBER", $0) })
        }, text: { report in printOut(safe(report.id)) })
    }
}

/// `sfgit retract`.
struct RetractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retract", abstract: "Withdraw a memory with a retraction memory naming it.",
        discussion: Examples.retract)

    @Argument(help: "The memory's id (or an unambiguous prefix).", completion: .custom { _, _, prefix in ShellCompletion.memoryIDs(prefix: prefix) })
    var id: String

    @Option(help: "Why it is withdrawn.")
    var reason: String

    @OptionGroup var storeOption: StoreOption
    @OptionGroup var identity: IdentityOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try perform("retract", output, { () throws(SFGitError) in
            let report = try openWorkspace(identity.identity).retract(id, reason: reason, store: storeOption.store)
            return Outcome(data: report, warnings: report.warnings.map { ("RETRACT", $0) })
        }, text: { report in printOut(safe(report.id)) })
    }
}

/// `sfgit recall`.
struct RecallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recall",
        abstract: "Ranked answers from the local cache, with provenance and trust on every item (offline).",
        discussion: Examples.recall)

    @Argument(help: "What to look for (no query: newest first).")
    var query: [String] = []

    @Option(name: .customLong("kind"), help: "Only this kind (repeatable).", completion: .list(ShellCompletion.kinds))
    var kinds: [String] = []

    @Option(name: .customLong("tag"), help: "Only memories with this tag (repeatable).")
    var tags: [String] = []

    @Option(name: .customLong("author"), help: "Only this author or principal (repeatable).")
    var authors: [String] = []

    @Option(name: .customLong("host"), help: "Only memories from this host (repeatable).")
    var hosts: [String] = []

    @Option(help: "Only memories of this tier or above: self, authenticated, reviewed.", transform: flagValue())
    var tier: Tier?

    @Option(name: .customLong("instance"), help: "Only memories from this agent instance (repeatable).")
    var instances: [String] = []

    @Option(name: .customLong("agent"), help: "Only memories written by this agent, e.g. sf/3.2.0 (repeatable).")
    var agents: [String] = []

    @Option(name: .customLong("field"), help: "Only memories whose field NAME is VALUE, e.g. subject=kimi-coding/k2p5 (repeatable).")
    var fieldFilters: [String] = []

    @Flag(name: .customLong("exclude-retired"), help: "Leave out memories of principals the store's current policy no longer lists.")
    var excludeRetired = false

    @Flag(name: .customLong("ignore-consumer-policy"), help: "Do not apply the store's trust filter from config.yaml.")
    var ignoreConsumerPolicy = false

    @Option(help: "Only memories recorded since a duration ago (7d) or a date.", transform: flagValue())
    var since: Since?

    @Option(name: .customLong("signer"), help: "Only memories signed by this principal (author@host; repeatable).")
    var signers: [String] = []

    @Option(help: "At most this many answers.")
    var limit: Int = 10

    @Option(help: "Skip this many answers of the ordered result (paging).")
    var offset: Int = 0

    @Option(name: .customLong("per-signer"), help: "Each signer's share of the answer: items beyond it come after other signers' items (0: none; a filter naming one signer lifts it).")
    var perSigner: Int = 3

    @Flag(name: .customLong("include-stale"), help: "Include expired memories.")
    var includeStale = false

    @Flag(name: .customLong("include-superseded"), help: "Include superseded and retracted memories.")
    var includeSuperseded = false

    @Flag(name: .customLong("include-untrusted"), help: "Include memories held back by the store's rate limits (deferred).")
    var includeUntrusted = false

    @Flag(name: .customLong("include-revoked"), help: "Include memories signed by a revoked key after the point its revocation names (tier revoked).")
    var includeRevoked = false

    @Flag(help: "Show how each score was made.")
    var explain = false

    @OptionGroup var storeOption: StoreOption
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be between 1 and 1000") }
        guard offset >= 0 else { throw ValidationError("--offset must be 0 or more") }
        guard perSigner >= 0 else { throw ValidationError("--per-signer must be 0 (no share) or more") }
    }

    func run() throws {
        let now = Date().timeIntervalSince1970
        var request = RecallQuery(text: query.isEmpty ? nil : query.joined(separator: " "), now: now)
        request.kinds = kinds
        request.tags = tags
        request.authors = authors
        request.hosts = hosts
        request.minTier = tier
        request.instances = instances
        request.agents = agents
        for filter in fieldFilters {
            let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw ValidationError("--field '\(filter)' is not NAME=VALUE")
            }
            request.fieldEquals.append((parts[0], parts[1]))
        }
        request.excludeRetired = excludeRetired
        request.since = since?.start(now: now)
        request.limit = limit
        request.offset = offset
        request.perSignerShare = perSigner
        request.signers = signers
        request.includeStale = includeStale
        request.includeSuperseded = includeSuperseded
        request.includeDeferred = includeUntrusted
        request.includeRevoked = includeRevoked
        var notes: [String] = []
        var storeCannotAnswer = false
        try perform("recall", output, { () throws(SFGitError) in
            let answer = try openWorkspace().recall(request, store: storeOption.store, consumerPolicy: !ignoreConsumerPolicy)
            let cannotAnswer = answer.warnings.filter { $0.code == "CACHE_REBUILDING" }.map(\.message)
            storeCannotAnswer = !cannotAnswer.isEmpty
            notes = answer.warnings.filter { $0.code != "CACHE_REBUILDING" }.map(\.message)
            // Text output ends with one notice line instead of repeating each warning on stderr;
            // a store that cannot answer is an error message, never an empty answer.
            return Outcome(data: answer.items, exit: answer.degraded ? .degraded : .ok,
                           warnings: output.json ? answer.warnings.map { ($0.code, $0.message) } : [],
                           message: cannotAnswer.isEmpty ? nil : cannotAnswer.joined(separator: "; "))
        }, text: { items in
            if items.isEmpty, !storeCannotAnswer { printOut(offset > 0 && !notes.isEmpty ? "no memories on this page" : "no memories match") }
            for (position, item) in items.enumerated() { MemoryText.print(item, position: offset + position + 1, explain: explain) }
            if !notes.isEmpty { printOut("(" + notes.map { safe($0) }.joined(separator: "; ") + ")") }
        })
    }
}

/// `sfgit show`.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "One memory by id or unambiguous prefix: fields, provenance, links.",
        discussion: Examples.show)

    @Argument(help: "The id or an unambiguous prefix.", completion: .custom { _, _, prefix in ShellCompletion.memoryIDs(prefix: prefix) })
    var id: String

    @OptionGroup var storeOption: StoreOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        try perform("show", output, { () throws(SFGitError) in
            Outcome(data: try openWorkspace().show(id, store: storeOption.store))
        }, text: { item in MemoryText.print(item, position: nil, explain: false, full: true) })
    }
}

/// Memories as text: a provenance line, then the memory's fields (title, tags, body, the rest in
/// their order) quoted with `> ` so that
/// no reader (human or agent) takes it for instructions. Every value is escaped with `SafeText`
/// as one line, and multi-line text is split into quoted lines, so nothing a memory holds can
/// move the cursor, end the quoting, or draw a line that looks like provenance.
enum MemoryText {
    static func print(_ item: RecallItem, position: Int?, explain: Bool, full: Bool = false) {
        let number = position.map { "\($0). " } ?? ""
        var flags: [String] = []
        if item.stale { flags.append("STALE") }
        if !item.supersededBy.isEmpty { flags.append("SUPERSEDED by \(list(item.supersededBy))") }
        if item.retracted { flags.append("RETRACTED") }
        if item.deferred { flags.append("DEFERRED (over quota)") }
        if item.signerStatus == .retired { flags.append("RETIRED signer") }
        if item.tier == .revoked { flags.append("REVOKED key") }
        let store = item.store.map { " · store \(safe($0))" } ?? ""
        printOut("\(number)\(safe(item.kind)) \(safe(item.id)) · \(item.tier.rawValue) · signed by \(safe(item.signer)) (\(safe(item.key))) · recorded \(safe(item.recordedAt))\(store)"
                 + (flags.isEmpty ? "" : " · " + flags.joined(separator: " · ")))
        if full {
            printOut("   path \(safe(item.path)) · commit \(safe(item.commit))" + (item.instance.map { " · instance \(safe($0))" } ?? "") + (item.agent.map { " · agent \(safe($0))" } ?? ""))
            if !item.supersedes.isEmpty { printOut("   supersedes \(list(item.supersedes))") }
            if let expires = item.expiresAt { printOut("   expires \(safe(expires))") }
            for withdrawal in item.withdrawals {
                let verb = withdrawal.kind == "retracts" ? "retracted" : "superseded"
                let right = withdrawal.authority == .role ? " (admin or reviewer)" : ""
                printOut("   \(verb) by \(safe(withdrawal.id)) · signed by \(safe(withdrawal.signer))\(right) · recorded \(safe(withdrawal.recordedAt))"
                         + (withdrawal.reason.map { " · reason: \(safe($0))" } ?? ""))
            }
        }
        if explain {
            let e = item.explanation
            let recency = String(format: "recency %.4f = 0.5 ^ (age %.2f d / half-life %.0f d)", e.recency, e.ageDays, e.halfLifeDays)
            if let bm25 = e.bm25 {
                printOut(String(format: "   score %.4f = 0.7 × relevance %.4f (bm25 %.3f relative to the best) + 0.3 × %@", item.score, e.relevance, bm25, recency))
            } else {
                printOut(String(format: "   score %.4f = %@ (no query: recency alone)", item.score, recency))
            }
        }
        var lines = ["title: \(safe(item.title))"]
        if !item.tags.isEmpty { lines.append("tags: \(list(item.tags))") }
        if !item.body.isEmpty { lines += quotedLines(item.body) }
        if case .object(let pairs) = item.fields {
            for (key, value) in pairs {
                // A multi-line value goes on quoted lines of its own, indented under its key.
                let valueLines = quotedLines(value.displayText)
                lines.append("\(safe(key)): \(valueLines.first ?? "")")
                lines += valueLines.dropFirst().map { "  " + $0 }
            }
        }
        while lines.last == "" { lines.removeLast() }
        for line in lines { printOut("   > \(line)") }
    }

    /// Values joined by ", ", each escaped.
    private static func list(_ values: [String]) -> String { values.map(safe).joined(separator: ", ") }

    /// A text's lines, each escaped as one line (a carriage return shows as `\r`).
    private static func quotedLines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { safe(String($0)) }
    }
}

extension JSONValue {
    /// A field value as one line of text.
    var displayText: String {
        switch self {
        case .string(let text): return text
        default:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }
    }
}

import ArgumentParser
import Foundation
import SFGit

/// `sfgit init`: the introduction commit of a new store.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a store on an empty remote: the signed introduction commit others pin to.",
        discussion: Examples.initStore)

    @Option(help: "The shared repository's URL (an empty bare repository).")
    var remote: String

    @Option(help: "The local name of the store (default: the remote's last path component).")
    var store: String?

    @Option(help: "The shared branch.")
    var branch: String = "main"

    @OptionGroup var timeout: TimeoutOption

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let deadline = timeout.seconds
        try perform("init", output, { () throws(SFGitError) in
            Outcome(data: try openWorkspace(identity.identity).initStore(remote: remote, name: store, branch: branch, timeout: deadline))
        }, text: { report in
            printOut("Created store \(safe(report.store)) on \(safe(report.remote)).")
            printOut("introduction: \(safe(report.introduction.commit))")
            printOut("signer:       \(safe(report.introduction.signer))")
            printOut("Others join with:")
            printOut("  sfgit clone \(safe(report.remote)) --introduction \(safe(report.introduction.commit)) --signer \(safe(report.introduction.signer)) --store \(safe(report.store))")
        })
    }
}

/// `sfgit clone`: join a store pinned to its introduction.
struct CloneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone",
        abstract: "Join a store: register it pinned to its introduction and run the first sync.",
        discussion: Examples.clone)

    @Argument(help: "The shared repository's URL.")
    var url: String

    @Option(help: "The store's introduction commit (given out of band).")
    var introduction: String

    @Option(help: "The SHA256: fingerprint of the key that signed the introduction.")
    var signer: String

    @Option(help: "The local name of the store (default: the remote's last path component).")
    var store: String?

    @OptionGroup var timeout: TimeoutOption

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        var options = SyncOptions()
        options.timeout = timeout.seconds
        try perform("clone", output, { () throws(SFGitError) in
            let report = try openWorkspace(identity.identity).cloneStore(remote: url, introduction: introduction, signer: signer, name: store, options: options)
            return Outcome(data: report, exit: report.sync.status, warnings: report.sync.warnings.map { ($0.code, $0.message) },
                           message: report.sync.blocked?.reason ?? report.sync.warnings.first?.message)
        }, text: { report in
            printOut("Joined store \(safe(report.store)) (\(safe(report.remote))).")
            SyncCommand.printText(report.sync)
        })
    }
}

/// `sfgit sync`: fetch, verify, index, publish the outbox.
struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Fetch, verify every new commit, index, and publish this host's pending memories.",
        discussion: """
            Exit 0 done; 3 DEGRADED (a remote step failed: local phases done, writes kept); 4 BUSY \
            (another sync holds the lock); 5 UNTRUSTED (fetched history refused, not indexed); 6 \
            CONFLICT (needs a human; the outbox is kept or parked, never lost).

            -q/--quiet is for cron, which mails whatever a job prints: nothing is printed on \
            success or BUSY, nor while DEGRADED until the last successful sync is older than \
            --alert-after (default 6h). A refused history or a conflict is always printed. The exit \
            code is the same with or without it.
            """ + "\n\n" + Examples.sync)

    @Flag(help: "Sync every store (the default without --store).")
    var all = false

    @Flag(name: .customLong("no-push"), help: "Do not publish the outbox.")
    var noPush = false

    @Flag(help: "Touch no network: index and replay locally.")
    var offline = false

    @OptionGroup var timeout: TimeoutOption

    @OptionGroup var wait: WaitOption

    @OptionGroup var alert: AlertAfterOption

    @OptionGroup var storeOption: StoreOption
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if all && storeOption.store != nil { throw ValidationError("--all and --store exclude each other") }
    }

    func run() throws {
        var options = SyncOptions()
        options.noPush = noPush
        options.offline = offline
        options.timeout = timeout.seconds
        options.wait = wait.seconds
        let alertAfter = alert.seconds
        let quiet = output.verbosity.quiet
        try perform("sync", output, quiet: quiet, { () throws(SFGitError) in
            let reports = try openWorkspace().sync(store: storeOption.store, options: options)
            let exit = combinedStatus(reports)
            let warnings = reports.flatMap { report in report.warnings.map { ($0.code, "\(report.store): \($0.message)") } }
            let message = reports.compactMap { report in report.blocked.map { "\(report.store): \($0.reason)" } }.first
                ?? (exit == .busy ? "another sync holds the lock" : warnings.first?.1)
            let silent = quiet && !reports.contains { $0.speaksWhenQuiet(alertAfter: alertAfter) }
            // The text names a blocked store's reason already; stderr does not repeat it.
            return Outcome(data: SyncData(stores: reports), exit: exit, warnings: warnings, message: message, silent: silent,
                           messageInText: reports.contains { $0.blocked != nil })
        }, text: { data in data.stores.forEach(Self.printText) })
    }

    /// One store's sync as a line of text. An `--offline` sync that went well says `offline`:
    /// it never asked the remote, so it cannot say `ok`.
    static func printText(_ report: StoreSyncReport) {
        let result = report.offline && report.result == .ok ? "offline" : report.result.rawValue
        var parts = ["\(safe(report.store)): \(result)"]
        if let tip = report.verifiedTip { parts.append("verified \(safe(String(tip.prefix(12))))") }
        let indexed = report.indexed
        if indexed.added + indexed.removed + indexed.quarantined > 0 {
            parts.append("indexed +\(indexed.added)" + (indexed.quarantined > 0 ? " (\(indexed.quarantined) quarantined)" : ""))
        }
        if report.pushed > 0 { parts.append("pushed \(report.pushed)") }
        if report.pending > 0 { parts.append("\(report.pending) pending") }
        printOut(parts.joined(separator: ", "))
        if let reset = report.phases.first(where: { $0.name == "reset" && $0.status == "ok" }), let message = reset.message {
            printOut("  RESET: \(safe(message))")
        }
        if let blocked = report.blocked { printOut("  BLOCKED at \(safe(String(blocked.commit.prefix(12)))): \(safe(blocked.reason))") }
    }
}

/// `sync`'s JSON data.
struct SyncData: Encodable {
    var stores: [StoreSyncReport]
}

/// `sfgit status`.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per store: verified tip, remote tip seen, pending outbox, last fetch, blocked and quarantined items.",
        discussion: """
            A monitoring check: exit 0 when no store needs a person; 5 (UNTRUSTED) when a store's \
            fetched history was refused (BLOCKED); 6 (CONFLICT) for outbox entries held on \
            refs/sfgit/held/ (OUTBOX_CONFLICT) or changes parked on refs/sfgit/parked/ (PARKED); \
            3 (DEGRADED) when no sync has succeeded for longer than --alert-after (STALE), or the \
            cache is being rebuilt. The most serious wins across stores. -q/--quiet prints only \
            the stores that need attention.
            """ + "\n\n" + Examples.status)

    @OptionGroup var alert: AlertAfterOption

    @Option(help: ArgumentHelp("Also write the stores' metrics to FILE in node-exporter's textfile format (atomically).", valueName: "FILE"))
    var prometheus: String?

    @OptionGroup var storeOption: StoreOption
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let prometheus, prometheus.isEmpty || prometheus.hasSuffix("/") { throw ValidationError("--prometheus '\(prometheus)' is not a file path") }
    }

    func run() throws {
        let alertAfter = alert.seconds
        try perform("status", output, { () throws(SFGitError) in
            let stores = try openWorkspace().status(store: storeOption.store, alertAfter: alertAfter)
            if let prometheus { try PrometheusTextfile.write(PrometheusTextfile.render(stores), to: prometheus) }
            let attention = stores.flatMap(\.attention)
            // The text's ATTENTION lines say it already; stderr does not repeat it.
            return Outcome(data: StatusData(stores: stores), exit: Monitoring.exitStatus(attention), message: attention.first?.message, messageInText: true)
        }, text: { data in
            for store in data.stores where !output.verbosity.quiet || store.needsAttention {
                printOut("\(safe(store.store)) (\(safe(store.remote)))")
                printOut("  verified tip:  \(safe(store.verifiedTip ?? "none"))")
                printOut("  remote tip:    \(safe(store.remoteTip ?? "unknown"))")
                printOut("  cache commit:  \(safe(store.cacheCommit ?? "none"))")
                printOut("  pending:       \(store.pending) outbox commit\(store.pending == 1 ? "" : "s")")
                let fetchResult = store.lastFetchError.map { " FAILED: \(safe($0))" } ?? (store.lastFetchAt == nil ? "" : " ok")
                printOut("  last fetch:    \(safe(store.lastFetchAt ?? "never"))\(fetchResult)")
                printOut("  last success:  \(safe(store.lastSuccessAt ?? "never"))")
                for item in store.attention { printOut("  ATTENTION:     \(item.code) (exit \(item.exitCode)): \(safe(item.message))") }
                if let error = store.lastPushError { printOut("  last push:     FAILED: \(safe(error))") }
                // The ATTENTION line gives a block's reason; this line only says where.
                if let blocked = store.blocked { printOut("  BLOCKED:       at \(safe(String(blocked.commit.prefix(12)))) (see ATTENTION)") }
                for parked in store.parked { printOut("  parked:        \(safe(parked)) (needs a human)") }
                if !store.consumerPolicy.isEmpty { printOut("  trust filter:  \(safe(store.consumerPolicy.summary)) (config.yaml; applies to every recall)") }
                for conflict in store.outboxConflicts {
                    printOut("  held:          \(safe(conflict.path)) (OUTBOX_CONFLICT, not published): \(safe(conflict.reason))")
                }
                if let refused = store.refusedHistory {
                    let size = refused.bytes.map { String(format: "%.1f MB", Double($0) / 1_000_000) } ?? "size unknown"
                    printOut("  refused kept:  \(refused.kept) tip\(refused.kept == 1 ? "" : "s") (\(size)) under refs/sfgit/quarantine/\(refused.pruned > 0 ? "; \(refused.pruned) older pruned" : "")")
                }
                let kinds = store.counts.byKind.sorted { $0.key < $1.key }.map { "\(safe($0.key)) \($0.value)" }.joined(separator: ", ")
                let tiers = store.counts.byTier.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                printOut("  memories:      \(kinds.isEmpty ? "none" : kinds)")
                if !tiers.isEmpty { printOut("  tiers:         \(tiers)\(store.counts.deferred > 0 ? ", deferred \(store.counts.deferred)" : "")\(store.counts.revoked > 0 ? ", revoked \(store.counts.revoked) (not served; --include-revoked)" : "")") }
                if let quota = store.quota { printOut("  quota \(safe(quota.principal)): \(quota.summary)") }
                for file in store.quarantined { printOut("  quarantined:   \(safe(file.path)) (\(safe(file.reason))): \(safe(file.detail))") }
            }
        })
    }
}

/// `status`'s JSON data.
struct StatusData: Encodable {
    var stores: [StoreStatus]
}

/// `sfgit reindex`.
struct ReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex", abstract: "Rebuild the cache from the verified tip (the cache is disposable).",
        discussion: Examples.reindex)

    @OptionGroup var storeOption: StoreOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        try perform("reindex", output, { () throws(SFGitError) in
            Outcome(data: StatusData(stores: try openWorkspace().reindex(store: storeOption.store)))
        }, text: { data in
            for store in data.stores {
                let total = store.counts.byKind.values.reduce(0, +)
                printOut("\(safe(store.store)): reindexed \(total) memories at \(safe(String(store.cacheCommit?.prefix(12) ?? "nothing")))")
            }
        })
    }
}

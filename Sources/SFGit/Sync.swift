import Foundation
import Logging
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// How `sync` runs.
public struct SyncOptions: Sendable {
    /// Do everything but push.
    public var noPush = false
    /// Touch no network: local phases only.
    public var offline = false
    /// The deadline of each network step, in seconds.
    public var timeout: Double = 120
    /// How long to wait for another sync's lock (0: exit BUSY at once).
    public var wait: Double = 0
    /// How many times a push refused as not fast-forward is retried after re-fetching.
    public var pushAttempts = 4

    /// Creates options.
    public init() {}
}

/// What one store's sync did (an element of the `sync` JSON `data.stores`).
public struct StoreSyncReport: Sendable, Codable {
    /// What the index phase changed.
    public struct Indexed: Sendable, Codable {
        public var added = 0
        public var removed = 0
        public var quarantined = 0
    }

    /// One phase: lock, fetch, verify, index, replay, push, confirm.
    public struct Phase: Sendable, Codable {
        public var name: String
        /// `ok`, `skipped`, `failed`.
        public var status: String
        public var milliseconds: Int
        public var message: String?
    }

    public var store: String
    /// `ok`, `degraded`, `busy`, `untrusted` or `conflict`.
    public var result: String
    public var verifiedTip: String?
    public var fetchedTip: String?
    public var indexed = Indexed()
    /// Outbox commits published by this sync.
    public var pushed = 0
    /// Outbox commits still waiting.
    public var pending = 0
    public var blocked: BlockedCommit?
    public var phases: [Phase] = []
    /// Warnings (`FETCH_FAILED`, `PUSH_FAILED`, `PUSH_NOT_VISIBLE`, …) with their messages.
    public var warnings: [SyncWarning] = []

    enum CodingKeys: String, CodingKey {
        case store, result, verifiedTip = "verified_tip", fetchedTip = "fetched_tip", indexed, pushed, pending, blocked, phases, warnings
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(store, forKey: .store)
        try container.encode(result, forKey: .result)
        try container.encode(verifiedTip, forKey: .verifiedTip)
        try container.encode(fetchedTip, forKey: .fetchedTip)
        try container.encode(indexed, forKey: .indexed)
        try container.encode(pushed, forKey: .pushed)
        try container.encode(pending, forKey: .pending)
        try container.encode(blocked, forKey: .blocked)
        try container.encode(phases, forKey: .phases)
        try container.encode(warnings, forKey: .warnings)
    }

    /// The exit status this result maps to.
    public var status: ExitStatus {
        switch result {
        case "untrusted": return .untrusted
        case "conflict": return .conflict
        case "busy": return .busy
        case "degraded": return .degraded
        default: return .ok
        }
    }
}

/// A warning of a sync, with a stable code.
public struct SyncWarning: Sendable, Codable, Hashable {
    public var code: String
    public var message: String
}

/// The exit status of several stores' results: the most serious wins.
public func combinedStatus(_ reports: [StoreSyncReport]) -> ExitStatus {
    let order: [ExitStatus] = [.untrusted, .conflict, .busy, .degraded]
    for status in order where reports.contains(where: { $0.status == status }) { return status }
    return .ok
}

extension Workspace {
    /// Syncs each store: lock → fetch → verify → index → replay the outbox → push (or propose)
    /// → confirm the push is visible → report. One store's failure never stops the others.
    public func sync(store name: String?, options: SyncOptions) throws(SFGitError) -> [StoreSyncReport] {
        let stores = try self.stores(named: name)
        if stores.isEmpty {
            throw SFGitError(.usage, "no store yet in \(home.path): create one with sfgit init or join one with sfgit clone")
        }
        return stores.map { store in
            var run = SyncRun(workspace: self, store: store, options: options)
            return run.execute()
        }
    }
}

/// One store's sync, phase by phase.
struct SyncRun {
    let workspace: Workspace
    let store: Store
    let options: SyncOptions
    var report: StoreSyncReport
    var state: SyncState
    private let logger = Logger(label: "sfgit.sync")

    init(workspace: Workspace, store: Store, options: SyncOptions) {
        self.workspace = workspace
        self.store = store
        self.options = options
        self.report = StoreSyncReport(store: store.name, result: "ok")
        self.state = store.loadState()
    }

    mutating func execute() -> StoreSyncReport {
        var started = Date()
        let lock: StoreLock?
        do {
            try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: true)
            lock = try StoreLock.acquire(store.lockPath, wait: options.wait)
        } catch {
            return finish(result: "degraded", warning: SyncWarning(code: "LOCK_FAILED", message: "\(error)"))
        }
        guard let lock else {
            phase("lock", "failed", since: started, "another sync holds \(store.lockPath)")
            return finish(result: "busy", warning: nil)
        }
        phase("lock", "ok", since: started)
        defer { withExtendedLifetime(lock) {} }
        do {
            let repository = try store.openRepository()
            store.removeStaleLocks()
            let index = try store.openIndex()
            let signer = try? workspace.signer()
            started = Date()

            // Local phases first: the cache reflects the verified tip even when the network is down.
            if let verified = try repository.reference(Store.verifiedRef) {
                try indexTo(verified, repository, index)
            }

            if !options.offline {
                guard try fetchAndVerify(repository, index) else { return finish(result: "untrusted", warning: nil) }
            } else {
                phase("fetch", "skipped", since: Date(), "--offline")
            }
            guard let verified = try repository.reference(Store.verifiedRef) else {
                try indexOwnMemories(repository, index, verified: nil)
                return finish(result: report.warnings.isEmpty ? "ok" : "degraded", warning: nil)
            }
            let review = (try? workspace.currentPolicy(repository, verified: verified).mode) == .review
            let outcome = try publish(repository, index, signer: signer, review: review)
            try indexOwnMemories(repository, index, verified: try repository.reference(Store.verifiedRef))
            report.pending = try Outbox(repository: repository).pending(verified: try repository.reference(Store.verifiedRef)).count
            report.verifiedTip = try repository.reference(Store.verifiedRef)?.hex
            if let outcome { return finish(result: outcome, warning: nil) }
            return finish(result: report.warnings.isEmpty ? "ok" : "degraded", warning: nil)
        } catch let error as SFGitError {
            return finish(result: error.status == .conflict ? "conflict" : "degraded", warning: SyncWarning(code: error.status.name, message: error.message))
        } catch {
            return finish(result: "degraded", warning: SyncWarning(code: "INTERNAL", message: "\(error)"))
        }
    }

    /// Fetches into the quarantine ref, then verifies and indexes; false when the remote's
    /// history was refused.
    private mutating func fetchAndVerify(_ repository: Repository, _ index: MemoryIndex) throws -> Bool {
        let started = Date()
        state.lastFetchAt = isoNow()
        try? repository.deleteReference(Store.fetchedRef)
        let response = workspace.runRemote(.fetch, store, refspecs: ["+refs/heads/\(try branch(repository)):\(Store.fetchedRef)"], timeout: options.timeout)
        if let failure = response.failure {
            state.lastFetchError = failure
            store.saveState(state)
            phase("fetch", "failed", since: started, failure)
            report.warnings.append(SyncWarning(code: response.timedOut ? "FETCH_TIMEOUT" : "FETCH_FAILED", message: failure))
            return true
        }
        state.lastFetchError = nil
        phase("fetch", "ok", since: started)
        return try verifyFetched(repository, index)
    }

    /// Judges what the last fetch brought: descends from the verified tip, every commit authentic.
    private mutating func verifyFetched(_ repository: Repository, _ index: MemoryIndex) throws -> Bool {
        let started = Date()
        let verified = try repository.reference(Store.verifiedRef)
        report.verifiedTip = verified?.hex
        guard let fetched = try repository.reference(Store.fetchedRef) else {
            state.fetchedTip = nil
            store.saveState(state)
            if verified != nil {
                return refuse(repository, nil, BlockedCommit(reason: "the remote no longer has the store's branch (freeze or deletion)", commit: verified!.hex), since: started)
            }
            phase("verify", "skipped", since: started, "the remote has no history yet")
            report.warnings.append(SyncWarning(code: "REMOTE_EMPTY", message: "the remote has no branch yet"))
            return true
        }
        state.fetchedTip = fetched.hex
        report.fetchedTip = fetched.hex
        if let verified, verified != fetched {
            if try repository.isDescendant(verified, of: fetched) {
                return refuse(repository, fetched, BlockedCommit(reason: "the fetched tip \(fetched.short()) is an ancestor of the verified tip \(verified.short()): refusing to roll back", commit: fetched.hex), since: started)
            }
            if try !repository.isDescendant(fetched, of: verified) {
                return refuse(repository, fetched, BlockedCommit(reason: "the fetched tip \(fetched.short()) does not descend from the verified tip \(verified.short()): history was rewritten or replaced", commit: fetched.hex), since: started)
            }
        }
        if verified == fetched {
            state.blocked = nil
            store.saveState(state)
            phase("verify", "ok", since: started, "nothing new")
            return true
        }
        let update = try indexTo(fetched, repository, index)
        if let tip = update.indexedCommit, tip != verified {
            try repository.setReference(Store.verifiedRef, to: tip, message: "sfgit: verified")
        }
        report.verifiedTip = try repository.reference(Store.verifiedRef)?.hex
        if let blocked = update.blocked {
            return refuse(repository, fetched, BlockedCommit(reason: "commit \(blocked.commit.short()) is \(blocked.status.rawValue): \(blocked.reason)", commit: blocked.commit.hex), since: started)
        }
        state.blocked = nil
        store.saveState(state)
        phase("verify", "ok", since: started)
        return true
    }

    /// Records a refused history: kept under `refs/sfgit/quarantine/` for forensics, never indexed.
    private mutating func refuse(_ repository: Repository, _ fetched: ObjectID?, _ blocked: BlockedCommit, since started: Date) -> Bool {
        if let fetched {
            try? repository.setReference(Store.quarantinePrefix + String(Int(Date().timeIntervalSince1970)), to: fetched, message: "sfgit: refused")
        }
        state.blocked = blocked
        store.saveState(state)
        report.blocked = blocked
        phase("verify", "failed", since: started, blocked.reason)
        return false
    }

    /// Brings the cache up to `tip` through the verifier (from the indexed commit: nothing new is
    /// served unverified).
    @discardableResult
    private mutating func indexTo(_ tip: ObjectID, _ repository: Repository, _ index: MemoryIndex) throws -> StoreIndexer.Update {
        let started = Date()
        let indexer = StoreIndexer(repository: repository, introduction: try store.introduction(repository), index: index)
        let update = try indexer.update(to: tip)
        report.indexed.added += update.added
        report.indexed.removed += update.removed
        report.indexed.quarantined += update.quarantined
        if update.added + update.removed + update.quarantined > 0 { phase("index", "ok", since: started) }
        return update
    }

    /// Replays the outbox onto the verified tip, checks it with the verifier, pushes it (or, in
    /// review mode, proposes it) and confirms the remote shows it. Returns a non-ok result, or nil.
    private mutating func publish(_ repository: Repository, _ index: MemoryIndex, signer: (any CommitSigner)?, review: Bool) throws -> String? {
        let outbox = Outbox(repository: repository)
        for attempt in 1...max(1, options.pushAttempts) {
            guard let verified = try repository.reference(Store.verifiedRef) else { return nil }
            var started = Date()
            let replay = try outbox.replay(onto: verified, signer: signer)
            let tip: ObjectID, count: Int
            switch replay {
            case .empty:
                return nil
            case .conflict(let why):
                let parked = try outbox.park()
                phase("replay", "failed", since: started, why)
                report.warnings.append(SyncWarning(code: "CONFLICT", message: "\(why); the outbox is parked on \(parked ?? "?") for a human"))
                return "conflict"
            case .ready(let readyTip, let commits):
                tip = readyTip
                count = commits
            }
            // Publish only what every peer will accept.
            let selfCheck = try Verifier(repository: repository, introduction: try store.introduction(repository),
                                         options: .init(enforceReviewMode: !review)).verify(from: verified, to: tip)
            if let refused = selfCheck.blocked {
                phase("replay", "failed", since: started, refused.reason)
                report.warnings.append(SyncWarning(code: "OUTBOX_REFUSED", message: "this host's pending commit \(refused.commit.short()) would be refused by peers (\(refused.status.rawValue): \(refused.reason)); it stays in the outbox"))
                return "conflict"
            }
            phase("replay", "ok", since: started)
            let fetchFailed = report.warnings.contains { $0.code.hasPrefix("FETCH") }
            if options.offline || options.noPush || fetchFailed {
                phase("push", "skipped", since: Date(), options.offline ? "--offline" : options.noPush ? "--no-push" : "the fetch failed")
                return nil
            }
            started = Date()
            let principal = (try? workspace.identity.requirePrincipal()) ?? "unknown"
            let target = review ? "+\(Store.outboxRef):refs/heads/sfgit/proposals/\(principal)" : "\(Store.outboxRef):refs/heads/\(try branch(repository))"
            let response = workspace.runRemote(.push, store, refspecs: [target], timeout: options.timeout)
            let rejectedAsStale = response.nonFastForward || response.rejections.contains {
                $0.status.contains("non-fast-forward") || $0.status.contains("fetch first") || $0.status.contains("stale")
            }
            if response.succeeded {
                state.lastPushAt = isoNow()
                state.lastPushError = nil
                store.saveState(state)
                phase("push", "ok", since: started, review ? "proposed on sfgit/proposals/\(principal)" : nil)
                report.pushed += count
                return review ? nil : try confirm(tip, repository, index)
            }
            let failure = response.failure ?? "push refused"
            state.lastPushError = failure + (response.serverMessages.isEmpty ? "" : " (\(response.serverMessages.trimmingCharacters(in: .whitespacesAndNewlines)))")
            store.saveState(state)
            phase("push", "failed", since: started, state.lastPushError)
            guard rejectedAsStale, attempt < options.pushAttempts else {
                report.warnings.append(SyncWarning(code: response.timedOut ? "PUSH_TIMEOUT" : "PUSH_FAILED", message: state.lastPushError ?? failure))
                return nil
            }
            // Someone pushed first: take their commits (verified), then replay on top and retry.
            usleep(useconds_t.random(in: 20_000...120_000) * useconds_t(attempt))
            guard try fetchAndVerify(repository, index) else { return "untrusted" }
            if report.warnings.contains(where: { $0.code.hasPrefix("FETCH") }) { return nil }
        }
        return nil
    }

    /// After a push, fetches again and checks the pushed commit is really on the branch (a
    /// remote can accept a push and never show it), then indexes it as shared.
    private mutating func confirm(_ pushed: ObjectID, _ repository: Repository, _ index: MemoryIndex) throws -> String? {
        let started = Date()
        guard try fetchAndVerify(repository, index) else { return "untrusted" }
        if report.warnings.contains(where: { $0.code.hasPrefix("FETCH") }) { return nil }
        let fetched = try repository.reference(Store.fetchedRef)
        var visible = fetched == pushed
        if !visible, let fetched { visible = try repository.isDescendant(fetched, of: pushed) }
        guard visible else {
            phase("confirm", "failed", since: started)
            report.warnings.append(SyncWarning(code: "PUSH_NOT_VISIBLE", message: "the remote accepted commit \(pushed.short()) but does not show it on its branch; the outbox is kept and will be pushed again"))
            return nil
        }
        phase("confirm", "ok", since: started)
        return nil
    }

    /// Own pending memories are searchable (tier `self`) even after the cache was rebuilt.
    private func indexOwnMemories(_ repository: Repository, _ index: MemoryIndex, verified: ObjectID?) throws {
        guard let principal = workspace.identity.principal else { return }
        try OwnMemories.index(repository, index, verified: verified, principal: principal, key: (try? workspace.signer())?.publicKey.fingerprint)
    }

    /// The shared branch the verified policy names (`main` before there is one).
    private func branch(_ repository: Repository) throws -> String {
        guard let verified = try repository.reference(Store.verifiedRef),
              let policy = try? workspace.currentPolicy(repository, verified: verified) else { return "main" }
        return policy.branch
    }

    private mutating func phase(_ name: String, _ status: String, since: Date, _ message: String? = nil) {
        report.phases.append(.init(name: name, status: status, milliseconds: Int(Date().timeIntervalSince(since) * 1000), message: message))
        logger.debug("\(store.name): \(name) \(status)\(message.map { ": \($0)" } ?? "")")
    }

    private mutating func finish(result: String, warning: SyncWarning?) -> StoreSyncReport {
        if let warning { report.warnings.append(warning) }
        report.result = result
        return report
    }
}

/// Indexes this host's pending outbox memories at tier `self`.
enum OwnMemories {
    static func index(_ repository: Repository, _ index: MemoryIndex, verified: ObjectID?, principal: String, key: String?) throws {
        let pending = try Outbox(repository: repository).pending(verified: verified)
        guard !pending.isEmpty else { return }
        var batch = IndexBatch()
        let parser = MemoryParser(limits: MemoryLimits(maxFileBytes: Int.max))
        let now = Date().timeIntervalSince1970
        for commitID in pending {
            let commit = try repository.commit(commitID)
            let parentTree = try commit.parentIDs.first.map { (id) throws(GitError) in try repository.commit(id).treeID }
            for change in try repository.diffTrees(parentTree, commit.treeID) where change.kind == .added && change.path.hasPrefix("memories/") {
                guard let entry = change.new, try !index.contains(path: change.path),
                      let parsed = try? parser.parse(try repository.blob(entry.id), storePath: change.path) else { continue }
                batch.upserts.append(IndexedMemory(memory: parsed.memory, path: change.path, blob: entry.id.hex, commit: commitID.hex,
                                                   signer: principal, key: key ?? "", tier: .own, firstSeen: now))
            }
        }
        if !batch.upserts.isEmpty { try index.apply(batch) }
    }
}

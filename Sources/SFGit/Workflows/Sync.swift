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
        /// Memories added to the cache.
        public var added = 0
        /// Paths removed from the cache.
        public var removed = 0
        /// Files quarantined.
        public var quarantined = 0
    }

    /// One phase: lock, fetch, verify, index, replay, push, confirm.
    public struct Phase: Sendable, Codable, Hashable {
        /// The phase's name.
        public var name: String
        /// `ok`, `skipped`, `failed`.
        public var status: String
        /// How long it took.
        public var milliseconds: Int
        /// Why it was skipped or failed, or what it did.
        public var message: String?
    }

    /// The store's name.
    public var store: String
    /// How the sync ended.
    public var result: SyncResult
    /// The verified tip after the sync.
    @Nullable public var verifiedTip: String? = nil
    /// The remote's tip as fetched.
    @Nullable public var fetchedTip: String? = nil
    /// What the index phase changed.
    public var indexed = Indexed()
    /// Outbox commits published by this sync.
    public var pushed = 0
    /// Outbox commits still waiting.
    public var pending = 0
    /// The first refused commit, when the fetched history was refused.
    @Nullable public var blocked: BlockedCommit? = nil
    /// Each phase with its time.
    public var phases: [Phase] = []
    /// Warnings (`FETCH_FAILED`, `PUSH_FAILED`, `PUSH_NOT_VISIBLE`, …) with their messages.
    public var warnings: [SyncWarning] = []
    /// Whether the sync ran `--offline` (no fetch, no push): an `ok` result then says nothing
    /// about the remote.
    public var offline = false
    /// When this store last synced successfully, this sync included (ISO 8601 UTC; null: never).
    @Nullable public var lastSuccessAt: String? = nil

    enum CodingKeys: String, CodingKey {
        case store, result, verifiedTip = "verified_tip", fetchedTip = "fetched_tip", indexed, pushed, pending, blocked, phases, warnings
        case offline, lastSuccessAt = "last_success_at"
    }

    /// The exit status this result maps to.
    public var status: ExitStatus { result.status }
}

/// How one store's sync ended (`result` in the JSON).
public enum SyncResult: String, Sendable, Codable {
    case ok, degraded, busy, untrusted, conflict

    /// The exit status it maps to (docs/COMMANDS.md § Exit codes).
    public var status: ExitStatus {
        switch self {
        case .ok: return .ok
        case .degraded: return .degraded
        case .busy: return .busy
        case .untrusted: return .untrusted
        case .conflict: return .conflict
        }
    }
}

/// A warning of a sync, with a stable code.
public struct SyncWarning: Sendable, Codable, Hashable {
    /// The stable code (docs/COMMANDS.md § Warning codes).
    public var code: String
    /// What happened, for people.
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
        let stores = try chosenStores(named: name)
        let reports = stores.map { store in
            var run = SyncRun(workspace: self, store: store, options: options)
            return run.execute()
        }
        Logger(label: "sfgit.sync").debug("\(ResourceUsage.summary)")
        return reports
    }
}

/// One store's sync, phase by phase.
/// docs/ARCHITECTURE.md § Data flow of one sync; the rules it keeps, docs/TRUST.md.
struct SyncRun {
    let workspace: Workspace
    let store: Store
    let options: SyncOptions
    var report: StoreSyncReport
    var state: SyncState
    /// The remote's credentials, looked up once per sync (a credential helper is a process).
    private var credentials: RemoteCredentialSet?
    /// The last policy read, and the commit it is from.
    private var lastPolicy: (commit: ObjectID, policy: Policy)?
    /// The pack files the object store held before the last fetch.
    private var packsBeforeFetch: Set<String> = []
    private let logger = Logger(label: "sfgit.sync")
    /// This host's pending memories the last replay dropped (removed by an admin's reset).
    private var droppedPaths: [String] = []

    /// What a fetch and the verification of what it brought came to.
    private enum FetchOutcome {
        case verified
        case fetchFailed
        case untrusted
    }

    init(workspace: Workspace, store: Store, options: SyncOptions) {
        self.workspace = workspace
        self.store = store
        self.options = options
        self.report = StoreSyncReport(store: store.name, result: .ok)
        self.state = store.loadState()
    }

    mutating func execute() -> StoreSyncReport {
        let started = Date()
        let lock: StoreLock?
        do {
            try store.makeDirectory()
            let name = store.name
            let progress = workspace.progress
            lock = try StoreLock.acquire(store.lockPath, wait: options.wait) { [logger] in
                // Logged too (-v), not only shown on a terminal: a script can see that it waited.
                logger.info("\(name): waiting for another sync to finish (sync.lock)")
                progress?.emit("\(name): waiting for another sync to finish (sync.lock)")
            }
        } catch {
            return finish(.degraded, SyncWarning(code: "LOCK_FAILED", message: "\(error)"))
        }
        guard let lock else {
            phase("lock", "failed", since: started, "another sync holds \(store.lockPath)")
            return finish(.busy)
        }
        phase("lock", "ok", since: started)
        return withExtendedLifetime(lock) {
            do {
                return try runLocked()
            } catch {
                // A damaged cache is discarded; the next read or sync rebuilds it from git.
                if MemoryIndex.isCorruption(error) { MemoryIndex.discard(path: store.cachePath) }
                let status = (error as? SFGitError)?.status
                return finish(status == .conflict ? .conflict : .degraded,
                              SyncWarning(code: status?.name ?? "INTERNAL", message: (error as? SFGitError)?.message ?? "\(error)"))
            }
        }
    }

    /// The phases under the lock, top to bottom. A push that lost the race to another host's
    /// starts again from the fetch (at most `pushAttempts` attempts, one fetch each, with jitter).
    private mutating func runLocked() throws -> StoreSyncReport {
        let repository = try store.openRepository()
        store.removeStaleLocks()
        let index = try store.openIndex()
        let signer = try? workspace.signer()

        // Local catch-up: the cache reflects the verified tip even when the network is down.
        if let verified = try repository.reference(Store.verifiedRef) {
            try indexTo(verified, repository, index)
        }
        var result: SyncResult?
        attempts: for attempt in 1...max(1, options.pushAttempts) {
            // fetch → verify + index what arrived (refused history ends the sync).
            var fetched = FetchOutcome.fetchFailed
            if options.offline {
                phase("fetch", "skipped", since: Date(), "--offline")
            } else {
                fetched = try fetchAndVerify(repository, index)
                if fetched == .untrusted, attempt == 1 { return finish(.untrusted) }
                if fetched == .untrusted { result = .untrusted; break }  // refused while retrying: still report what is pending
                if fetched == .fetchFailed, attempt > 1 { break }
            }
            // The verified tip's policy names the shared branch and the mode (a pending trust
            // change in the outbox counts only once it is published and verified).
            guard let verified = try repository.reference(Store.verifiedRef) else { break }
            let policy = try self.policy(repository, at: verified)
            // replay → self-check.
            let replayed: (tip: ObjectID, commits: Int)
            switch try replayOutbox(repository, index, verified: verified, policy: policy, signer: signer) {
            case .nothing: break attempts
            case .stop(let outcome): result = outcome; break attempts
            case .ready(let tip, let commits): replayed = (tip, commits)
            }
            // publish → confirm.
            guard fetched == .verified, !options.noPush else {
                phase("push", "skipped", since: Date(), options.offline ? "--offline" : options.noPush ? "--no-push" : "the fetch failed")
                break
            }
            switch push(replayed.tip, commits: replayed.commits, policy: policy, lastAttempt: attempt >= options.pushAttempts) {
            case .pushed:
                // A proposal is confirmed by the reviewer's merge, not here.
                if policy.mode != .review { result = try confirm(replayed.tip, repository, index) }
                break attempts
            case .failed:
                break attempts
            case .lostRace:
                // Take their commits (verified) on the next attempt, then replay on top.
                usleep(useconds_t.random(in: 20_000...120_000) * useconds_t(attempt))
            }
        }
        // Report: this host's pending memories (indexed at tier self), and what is held.
        let verified = try repository.reference(Store.verifiedRef)
        try OwnMemories.index(repository, index, verified: verified, principal: workspace.identity.principal, key: signer?.publicKey.fingerprint)
        let outbox = Outbox(repository: repository)
        report.pending = try outbox.unpublished(verified: verified).count
        report.verifiedTip = verified?.hex
        // Held memories are never reported as published: each sync says so until a human acts.
        let conflicts = try outbox.conflicts(verified: verified, shared: Self.sharedFiles(index))
        for conflict in conflicts {
            report.warnings.append(SyncWarning(code: "OUTBOX_CONFLICT", message: "\(conflict.path) is held on \(Store.heldPrefix)\(conflict.commit): \(conflict.reason)"))
        }
        if !conflicts.isEmpty, result == nil { result = .conflict }
        return finish(result ?? (report.warnings.isEmpty ? .ok : .degraded))
    }

    /// Fetches into the quarantine ref, then verifies and indexes what arrived.
    private mutating func fetchAndVerify(_ repository: Repository, _ index: MemoryIndex) throws -> FetchOutcome {
        let started = Date()
        state.lastFetchAt = isoNow()
        let verified = try repository.reference(Store.verifiedRef)
        // Before anything is verified the branch is not known yet (the introduction's policy
        // names it): the first fetch takes every branch, and the policy picks one.
        var refspecs = [try verified.map { "+refs/heads/\(try policy(repository, at: $0).branch):\(Store.fetchedRef)" }
            ?? "+refs/heads/*:\(Store.headsPrefix)*"]
        // In review mode this writer's proposal branch comes along: new commits are appended to it.
        if let verified, try policy(repository, at: verified).mode == .review, let principal = workspace.identity.principal {
            refspecs.append("+refs/heads/sfgit/proposals/\(principal):\(Store.proposalRef)")
        }
        try? repository.deleteReference(Store.fetchedRef)
        try? repository.deleteReference(Store.proposalRef)
        packsBeforeFetch = RefusedHistory.packs(of: repository)
        let response = runRemote(.fetch, refspecs: refspecs)
        if verified == nil { try adoptIntroducedBranch(repository) }
        if let failure = response.failure {
            state.lastFetchError = failure
            phase("fetch", "failed", since: started, failure)
            report.warnings.append(SyncWarning(code: response.timedOut ? "FETCH_TIMEOUT" : "FETCH_FAILED", message: failure))
            return .fetchFailed
        }
        state.lastFetchError = nil
        phase("fetch", "ok", since: started)
        return try verifyFetched(repository, index) ? .verified : .untrusted
    }

    /// After a first fetch of every branch, keeps the one the introduction's policy names as
    /// `refs/sfgit/fetched` (nothing, when the introduction has not arrived).
    private mutating func adoptIntroducedBranch(_ repository: Repository) throws {
        let heads = try repository.references(matching: Store.headsPrefix + "*")
        defer { for head in heads { try? repository.deleteReference(head.name) } }
        let introduction = try store.introduction()
        guard repository.contains(introduction.commit),
              let policy = try? self.policy(repository, at: introduction.commit),
              let head = heads.first(where: { $0.name == Store.headsPrefix + policy.branch }) else { return }
        try repository.setReference(Store.fetchedRef, to: head.id, message: "sfgit: fetched")
    }

    /// Judges what the last fetch brought: descends from the verified tip, every commit authentic.
    private mutating func verifyFetched(_ repository: Repository, _ index: MemoryIndex) throws -> Bool {
        let started = Date()
        let verified = try repository.reference(Store.verifiedRef)
        report.verifiedTip = verified?.hex
        guard let fetched = try repository.reference(Store.fetchedRef) else {
            state.fetchedTip = nil
            if let verified {
                return refuse(repository, nil, BlockedCommit(reason: "the remote no longer has the store's branch (freeze or deletion)", commit: verified.hex), since: started)
            }
            phase("verify", "skipped", since: started, "the remote has no history yet")
            report.warnings.append(SyncWarning(code: "REMOTE_EMPTY", message: "the remote has no branch with this store's introduction yet"))
            return true
        }
        state.fetchedTip = fetched.hex
        report.fetchedTip = fetched.hex
        // Rollback and divergence are judged against the verified tip, whatever the cache holds.
        let verifier = Verifier(repository: repository, introduction: try store.introduction())
        if let refusal = try verifier.ancestryRefusal(from: verified, to: fetched)?.blocked {
            // A rewritten branch is followed only with an admin's signed reset statement (ResetStatement).
            if refusal.status == .diverged, let verified {
                switch try ResetStatement.find(in: repository, introduction: try store.introduction(), verified: verified, fetched: fetched) {
                case .valid(let statement):
                    try acceptReset(statement, repository, index, since: started)
                    return try verifyFetched(repository, index)
                case .refused(let commit, let reason):
                    return refuse(repository, fetched, BlockedCommit(reason: reason, commit: commit.hex), since: started)
                case .none:
                    break
                }
            }
            if refusal.status == .malformed {
                // An object over its cap or of the wrong type, judged from its header. Kept under
                // a reference, every later fetch's negotiation (libgit2 walks all references to
                // say what it has) would read that commit whole: what this fetch brought is
                // deleted instead (nothing of it was verified), and the block recorded.
                RefusedHistory.discard(fetchedSince: packsBeforeFetch, in: repository)
                return refuse(repository, nil, BlockedCommit(reason: "commit \(refusal.commit.short()) is \(refusal.status.rawValue): \(refusal.reason); what the fetch brought was deleted", commit: refusal.commit.hex), since: started)
            }
            return refuse(repository, fetched, BlockedCommit(reason: "commit \(refusal.commit.short()) is \(refusal.status.rawValue): \(refusal.reason)", commit: refusal.commit.hex), since: started)
        }
        if verified == fetched {
            state.blocked = nil
            phase("verify", "ok", since: started, "nothing new")
            return true
        }
        let update = try indexTo(fetched, repository, index)
        if let tip = update.indexedCommit, tip != verified {
            try repository.setReference(Store.verifiedRef, to: tip, message: "sfgit: verified")
        }
        report.verifiedTip = try repository.reference(Store.verifiedRef)?.hex
        if let blocked = update.blocked {
            return refuse(repository, fetched, BlockedCommit(reason: "commit \(blocked.commit.short()) is \(blocked.status.rawValue): \(ForgeMergeHint.reason(blocked, repository))", commit: blocked.commit.hex), since: started)
        }
        state.blocked = nil
        phase("verify", "ok", since: started)
        return true
    }

    /// Follows a valid reset statement: this host's own unpublished commits move onto the new tip
    /// (only they: the replaced history is excluded), the replaced tip is kept for forensics like a
    /// refused one, the cache is marked to be rebuilt (so the next index step re-verifies from the
    /// introduction and drops what the reset undid), and the verified tip moves back to the
    /// statement's `To`; the caller then verifies the fetched branch from there as usual. Each step
    /// is safe to repeat, should the sync die between them.
    private mutating func acceptReset(_ statement: ResetStatement, _ repository: Repository, _ index: MemoryIndex, since started: Date) throws {
        let outbox = Outbox(repository: repository)
        let signers = replaySigners(outbox, signer: try? workspace.signer())
        let removed = try ResetStatement.removedMemories(in: repository, verified: statement.commit, since: statement.to)
        let replayed = try outbox.replay(onto: statement.to, excluding: [statement.replaced], shared: Self.sharedFiles(index), signers: signers,
                                         removed: removed, dropped: { dropped($0, by: $1, repository) })
        try forgetDropped(index)
        switch replayed {
        case .conflict(let why):
            let parked = try outbox.park()
            report.warnings.append(SyncWarning(code: "CONFLICT", message: "\(why); the outbox is parked on \(parked ?? "?") for a human"))
        case .empty:
            // Nothing of this host's pending: an outbox left at the replaced tip would otherwise
            // count the replaced history as pending. Compare-and-swap: a write meanwhile stays.
            if let tip = try repository.reference(Store.outboxRef), tip != statement.to,
               try repository.commits(from: [tip], excluding: [statement.replaced]).isEmpty {
                try? repository.updateReference(Store.outboxRef, to: statement.to, expected: tip, message: "sfgit: outbox follows a reset")
            }
        case .ready:
            break
        }
        state.refusedHistory = RefusedHistory.record(statement.replaced, in: repository, prunedBefore: state.refusedHistory?.pruned ?? 0)
        var rebuild = IndexBatch()
        rebuild.state[StoreIndexer.indexedCommitKey] = String(repeating: "0", count: 40)
        try index.apply(rebuild)
        try repository.setReference(Store.verifiedRef, to: statement.to, message: "sfgit: reset by \(statement.principal) from \(statement.replaced.short())")
        phase("reset", "ok", since: started, "followed \(statement.principal)'s reset statement \(statement.commit.short()): \(statement.replaced.short()) replaced by \(statement.to.short())")
    }

    /// Warns that one of this host's pending memories, published once and removed by an admin's
    /// reset statement, left the outbox rather than coming back; the cache forgets it too.
    private mutating func dropped(_ path: String, by statement: ObjectID, _ repository: Repository) {
        droppedPaths.append(path)
        let admin = (try? repository.commit(statement).author.name) ?? "an admin"
        let id = path.split(separator: "/").last.map { String($0.dropLast(5)) } ?? path
        report.warnings.append(SyncWarning(code: "RESET_REMOVED", message: "memory \(id) was published and then removed by \(admin)'s reset statement \(statement.short()); "
            + "it is dropped from this host's outbox, not published again (remember it anew if it still holds)"))
    }

    /// Records a refused history: kept under `refs/sfgit/quarantine/` for forensics (bounded, see
    /// `RefusedHistory`), never indexed.
    private mutating func refuse(_ repository: Repository, _ fetched: ObjectID?, _ blocked: BlockedCommit, since started: Date) -> Bool {
        if let fetched {
            state.refusedHistory = RefusedHistory.record(fetched, in: repository, prunedBefore: state.refusedHistory?.pruned ?? 0)
        }
        state.blocked = blocked
        report.blocked = blocked
        phase("verify", "failed", since: started, blocked.reason)
        return false
    }

    /// verify → index: brings the cache up to `tip` through the verifier (from the indexed
    /// commit: nothing new is served unverified).
    @discardableResult
    private mutating func indexTo(_ tip: ObjectID, _ repository: Repository, _ index: MemoryIndex) throws -> StoreIndexer.Update {
        let started = Date()
        var indexer = StoreIndexer(repository: repository, introduction: try store.introduction(), index: index)
        let name = store.name
        indexer.progress = workspace.progress.map { sink in ProgressSink { sink.emit("\(name): \($0)") } }
        let update = try VerifiedIndexing.update(indexer, to: tip)
        report.indexed.added += update.added
        report.indexed.removed += update.removed
        report.indexed.quarantined += update.quarantined
        if update.added + update.removed + update.quarantined > 0 { phase("index", "ok", since: started) }
        return update
    }

    /// The key each pending commit is re-signed with on replay: the principal that wrote it
    /// (`remember --key` records its key), never whoever runs this sync.
    private func replaySigners(_ outbox: Outbox, signer: (any CommitSigner)?) -> (String) throws -> (any CommitSigner)? {
        let principal = (try? workspace.identity.requirePrincipal()) ?? "unknown"
        return { writer in
            if writer == principal, let signer { return signer }
            return try outbox.recordedKey(for: writer).flatMap { try? SigningKey.load($0) }
        }
    }

    /// What replaying the outbox came to.
    private enum ReplayOutcome {
        /// Nothing of this host's is pending.
        case nothing
        /// The sync ends with this result (a conflict, a proposal or commit peers would refuse).
        case stop(SyncResult)
        /// The pending commits, replayed and checked, end at `tip`.
        case ready(tip: ObjectID, commits: Int)
    }

    /// Replays the outbox onto the verified tip (in review mode: appends it to this writer's
    /// proposal branch, which only fast-forwards), each commit re-signed as the principal that
    /// wrote it (`remember --key` records its key), never as whoever runs this sync; then checks
    /// the result with the verifier peers run.
    private mutating func replayOutbox(_ repository: Repository, _ index: MemoryIndex, verified: ObjectID, policy: Policy,
                                       signer: (any CommitSigner)?) throws -> ReplayOutcome {
        let started = Date()
        let outbox = Outbox(repository: repository)
        let review = policy.mode == .review
        let principal = (try? workspace.identity.requirePrincipal()) ?? "unknown"
        let signers = replaySigners(outbox, signer: signer)
        try outbox.settle(verified: verified)
        // Nothing pending: nothing to replay, and no proposal branch to judge.
        guard try !outbox.pending(verified: verified).isEmpty else {
            state.proposalRefused = nil
            return .nothing
        }
        var proposal: ObjectID?
        if review {
            switch try proposalTip(repository, verified: verified, principal: principal) {
            case .usable(let tip): proposal = tip
            case .refused(let why):
                phase("replay", "failed", since: started, why)
                report.warnings.append(SyncWarning(code: "PROPOSAL_REFUSED", message: why))
                state.proposalRefused = why
                return .stop(.conflict)
            }
        }
        state.proposalRefused = nil
        // Reset statements since this host's pending work began: what they removed stays out.
        let pendingBase = try outbox.pending(verified: verified).first.flatMap { try repository.commit($0).parentIDs.first }
        let removed = pendingBase == nil ? [:] : try ResetStatement.removedMemories(in: repository, verified: verified, since: pendingBase)
        let tip: ObjectID, count: Int
        let replayed = try outbox.replay(onto: proposal ?? verified, excluding: [verified] + (proposal.map { [$0] } ?? []), shared: Self.sharedFiles(index),
                                         signers: signers, removed: removed, dropped: { dropped($0, by: $1, repository) })
        try forgetDropped(index)
        switch replayed {
        case .empty:
            return .nothing
        case .conflict(let why):
            let parked = try outbox.park()
            phase("replay", "failed", since: started, why)
            report.warnings.append(SyncWarning(code: "CONFLICT", message: "\(why); the outbox is parked on \(parked ?? "?") for a human"))
            return .stop(.conflict)
        case .ready(let readyTip, let commits):
            tip = readyTip
            count = commits
        }
        // Publish only what every peer will accept. A proposal is checked from where it
        // leaves the verified history, without the shared branch's review rule.
        let from = review ? try repository.mergeBase(tip, verified) : verified
        let selfCheck = try Verifier(repository: repository, introduction: try store.introduction(),
                                     options: .init(enforceReviewMode: !review)).verify(from: from, to: tip)
        if let refused = selfCheck.blocked {
            phase("replay", "failed", since: started, refused.reason)
            report.warnings.append(SyncWarning(code: "OUTBOX_REFUSED", message: "this host's pending commit \(refused.commit.short()) would be refused by peers (\(refused.status.rawValue): \(refused.reason)); it stays in the outbox"))
            return .stop(.conflict)
        }
        phase("replay", "ok", since: started)
        return .ready(tip: tip, commits: count)
    }

    /// What one push came to.
    private enum PushOutcome {
        case pushed
        /// Another host's push landed first: fetch, replay and push again.
        case lostRace
        /// Refused or unreachable; a warning says why.
        case failed
    }

    /// Pushes the replayed outbox: to the shared branch, or in review mode to this writer's
    /// proposal branch. Never a force push: both only fast-forward.
    private mutating func push(_ tip: ObjectID, commits: Int, policy: Policy, lastAttempt: Bool) -> PushOutcome {
        let started = Date()
        let review = policy.mode == .review
        let principal = (try? workspace.identity.requirePrincipal()) ?? "unknown"
        let target = review ? "\(Store.outboxRef):refs/heads/sfgit/proposals/\(principal)" : "\(Store.outboxRef):refs/heads/\(policy.branch)"
        let response = runRemote(.push, refspecs: [target])
        if response.succeeded {
            state.lastPushAt = isoNow()
            state.lastPushError = nil
            phase("push", "ok", since: started, review ? "proposed on sfgit/proposals/\(principal)" : nil)
            report.pushed += commits
            return .pushed
        }
        let failure = response.failure ?? "push refused"
        let server = response.serverMessages.trimmingCharacters(in: .whitespacesAndNewlines)
        state.lastPushError = failure + (server.isEmpty ? "" : " (\(server))")
        phase("push", "failed", since: started, state.lastPushError)
        guard response.lostRace, !lastAttempt else {
            report.warnings.append(SyncWarning(code: response.timedOut ? "PUSH_TIMEOUT" : "PUSH_FAILED", message: state.lastPushError ?? failure))
            return .failed
        }
        return .lostRace
    }

    /// What the shared branch holds at a path, as the cache (at the verified tip) saw it.
    static func sharedFiles(_ index: MemoryIndex) -> (String) throws -> SharedFile? {
        { path in
            if let served = try index.servedFile(path: path) { return .served(signer: served.signer, blob: served.blob) }
            if let quarantined = try index.quarantined(path: path) { return .quarantined(reason: quarantined.reason, detail: quarantined.detail) }
            return nil
        }
    }

    /// Whether this writer's fetched proposal branch can take new commits as a fast-forward.
    private enum ProposalTip {
        /// Nil: no proposal branch yet (or it was merged and deleted).
        case usable(ObjectID?)
        case refused(String)
    }

    /// The fetched proposal branch is built on only if it is authentic and holds nothing but
    /// this principal's commits beyond the verified history (a forge forbids force pushes, and
    /// nothing else may ride along under this writer's name).
    private mutating func proposalTip(_ repository: Repository, verified: ObjectID, principal: String) throws -> ProposalTip {
        guard let tip = try repository.reference(Store.proposalRef), tip != verified,
              try !repository.isDescendant(verified, of: tip) else { return .usable(nil) }
        let check = try Verifier(repository: repository, introduction: try store.introduction(), options: .init(enforceReviewMode: false))
            .verify(from: try repository.mergeBase(tip, verified), to: tip)
        if let refused = check.blocked {
            return .refused("the proposal branch sfgit/proposals/\(principal) holds commit \(refused.commit.short()), which peers refuse (\(refused.status.rawValue): \(refused.reason)); the outbox is kept, nothing is force-pushed")
        }
        if let foreign = check.outcomes.first(where: { $0.principal != principal }) {
            return .refused("the proposal branch sfgit/proposals/\(principal) holds commit \(foreign.commit.short()) signed by \(foreign.principal ?? "?"); the outbox is kept, nothing is force-pushed. "
                + Self.deleteProposalFix(principal))
        }
        // A memory an admin's reset removed can never be merged: nothing appended to this
        // branch could be either.
        let base = try repository.mergeBase(tip, verified)
        let removed = try ResetStatement.removedMemories(in: repository, verified: verified, since: base)
        if !removed.isEmpty, let baseTree = try base.map({ (id) throws(GitError) in try repository.commit(id).treeID }) {
            for change in try repository.diffTrees(baseTree, try repository.commit(tip).treeID) where change.kind == .added {
                guard let statement = removed[change.path] else { continue }
                return .refused("the proposal branch sfgit/proposals/\(principal) holds \(change.path), which the reset statement \(statement.short()) removed from the store, "
                    + "so nothing proposed on it can be merged; the outbox is kept, nothing is force-pushed. " + Self.deleteProposalFix(principal))
            }
        }
        return .usable(tip)
    }

    /// Removes from the cache the own (tier `self`) rows of memories the replay dropped, which
    /// would otherwise be served here until a reindex.
    private mutating func forgetDropped(_ index: MemoryIndex) throws {
        guard !droppedPaths.isEmpty else { return }
        var batch = IndexBatch()
        batch.removedPaths = droppedPaths
        try index.apply(batch)
        droppedPaths = []
    }

    /// The way out of a proposal branch that cannot take more commits: it only fast-forwards, so
    /// it is deleted on the forge, and the next sync proposes the pending memories afresh.
    static func deleteProposalFix(_ principal: String) -> String {
        "Delete that branch on the forge (git push origin --delete sfgit/proposals/\(principal), by someone the forge lets); the next sync proposes this host's pending memories afresh"
    }

    /// After a push, fetches again and checks the pushed commit is really on the branch (a
    /// remote can accept a push and never show it), then indexes it as shared.
    private mutating func confirm(_ pushed: ObjectID, _ repository: Repository, _ index: MemoryIndex) throws -> SyncResult? {
        let started = Date()
        switch try fetchAndVerify(repository, index) {
        case .verified: break
        case .fetchFailed: return nil
        case .untrusted: return .untrusted
        }
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

    /// The policy of a commit's tree. A sync asks for the verified tip's several times (branch,
    /// mode), usually of the same commit: the last one read is kept.
    private mutating func policy(_ repository: Repository, at commit: ObjectID) throws -> Policy {
        if let lastPolicy, lastPolicy.commit == commit { return lastPolicy.policy }
        let policy = try workspace.policy(repository, at: commit)
        lastPolicy = (commit, policy)
        return policy
    }

    /// Runs one network step with this sync's deadline and credentials.
    private mutating func runRemote(_ operation: RemoteRequest.Operation, refspecs: [String]) -> RemoteResponse {
        if credentials == nil { credentials = workspace.remoteCredentials(for: store) }
        return workspace.runRemote(operation, store, refspecs: refspecs, timeout: options.timeout, credentials: credentials!)
    }

    private mutating func phase(_ name: String, _ status: String, since: Date, _ message: String? = nil) {
        let milliseconds = Int(Date().timeIntervalSince(since) * 1000)
        report.phases.append(.init(name: name, status: status, milliseconds: milliseconds, message: message))
        logger.debug("\(store.name): \(name) \(status) in \(milliseconds) ms\(message.map { ": \($0)" } ?? "")")
    }

    /// Ends the sync: the state `status` shows is written once, here (a busy sync leaves it alone).
    private mutating func finish(_ result: SyncResult, _ warning: SyncWarning? = nil) -> StoreSyncReport {
        if let warning { report.warnings.append(warning) }
        // Only a sync that reached the remote and ended well resets `--alert-after`'s clock.
        if result == .ok, !options.offline { state.lastSuccessAt = isoNow() }
        state.lastPhases = report.phases
        if result != .busy { store.saveState(state) }
        report.result = result
        report.offline = options.offline
        report.lastSuccessAt = state.lastSuccessAt ?? state.lastSuccessSeconds.map { Timestamp(secondsSinceEpoch: Int64($0)).text }
        return report
    }
}


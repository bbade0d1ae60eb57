import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// Brings the cache up to what a verification accepted: says where the verification starts
/// (after the indexed commit; the introduction for a fresh cache), then diffs the indexed tree
/// against the verified tree with the O(changed) tree diff, parses only the added files, and
/// applies everything in one transaction. It does not verify: the caller runs the verifier
/// between `begin` and `finish` (`VerifiedIndexing`). Nothing that did not pass verification is
/// ever indexed.
/// docs/ARCHITECTURE.md § Data flow of one sync (verify, then index).
struct StoreIndexer {
    /// The store's repository.
    let repository: Repository
    /// The store's pinned introduction.
    let introduction: Introduction
    /// The cache.
    let index: MemoryIndex
    /// The clock for first-seen times and rate limits (injectable for tests).
    var now: () -> Double = { Date().timeIntervalSince1970 }
    /// Told how many memories a fresh cache has verified and handed to its writer so far.
    var progress: ProgressSink?

    /// Creates an indexer.
    init(repository: Repository, introduction: Introduction, index: MemoryIndex) {
        self.repository = repository
        self.introduction = introduction
        self.index = index
    }

    /// What one update did.
    struct Update: Sendable {
        /// The commit the cache now reflects.
        var indexedCommit: ObjectID?
        /// Memories added to the cache.
        var added: Int
        /// Paths removed from the cache.
        var removed: Int
        /// Files quarantined in this update.
        var quarantined: Int
        /// The verifier's first refused commit, when history could not be fully verified.
        var blocked: CommitOutcome?
        /// Whether a fresh cache was written while verifying (its verified tree held exactly the
        /// memories handed over), rather than after it.
        var writtenWhileVerifying = false
    }

    /// One verification's way into the cache: `begin` says where it starts and what it hands
    /// over while it runs, the caller runs the verifier, and `finish` writes what it verified
    /// (`VerifiedIndexing` puts the three together). The indexer never verifies by itself.
    final class Pass {
        /// The commit verification starts from: the indexed one, or nil (the introduction) for a
        /// fresh cache.
        let start: ObjectID?
        /// The options the verifier runs with.
        let options: Verifier.Options
        /// For a fresh cache: the writer thread the accepted memories stream to.
        fileprivate let stream: FreshCacheStream?

        fileprivate init(start: ObjectID?, options: Verifier.Options, stream: FreshCacheStream?) {
            self.start = start
            self.options = options
            self.stream = stream
        }

        /// For a fresh cache, what the verifier tells of each accepted memory as soon as its
        /// commit is judged: it goes, parsed, to the cache's writer.
        var sink: ((AcceptedMemory) -> Void)? { stream.map { stream in { stream.hand($0) } } }

        /// Ends a pass whose verification failed: a fresh cache's writer rolls back.
        func abandon() { stream?.abandon() }
    }

    /// What `finish` came to.
    enum Finish {
        /// The cache reflects the verified tip.
        case indexed(Update)
        /// A merge took another branch as its first parent, which changed where everything on
        /// the old chain arrived: the rate limits' schedule must be computed again, from a
        /// verification of the whole history (`begin(fromIntroduction: true)`).
        case verifyFromIntroduction
    }

    /// Where a verification for this cache starts: after the indexed commit, or from the
    /// introduction for a fresh cache (none indexed, it is gone, or `fromIntroduction`), whose
    /// writer thread then starts and takes the accepted memories while verification runs.
    func begin(fromIntroduction: Bool = false) throws -> Pass {
        let indexed = try index.state(Self.indexedCommitKey).flatMap { ObjectID(hex: $0) }
        if !fromIntroduction, let start = indexed, repository.contains(start) {
            // The verifier parses every added file anyway: it hands back up to this many parsed.
            return Pass(start: start, options: Verifier.Options(keepParsedMemories: Self.parsedMemoriesKept, stopAtRefusedChainCommit: true), stream: nil)
        }
        return Pass(start: nil, options: Verifier.Options(stopAtRefusedChainCommit: true),
                    stream: FreshCacheStream(index: index, firstSeen: now(), progress: progress))
    }

    /// Writes what `result`, the verification of `pass`, verified; stops at the newest authentic
    /// commit if verification refused one.
    func finish(_ pass: Pass, _ result: VerificationResult) throws -> Finish {
        if let stream = pass.stream { return .indexed(try finishFresh(stream, result)) }
        guard let start = pass.start else { preconditionFailure("an incremental pass starts at the indexed commit") }
        if result.verifiedTip != start, !result.chainFromVerifiedTip { return .verifyFromIntroduction }
        let seen = now()
        guard let plan = try plan(result, from: start, base: try HistoryBase(index), now: seen) else {
            return .indexed(Update(indexedCommit: start, added: 0, removed: 0, quarantined: 0, blocked: result.blocked))
        }
        try index.load(plan.batch, reset: false, next: parsing(plan.additions, base: plan.base, firstSeen: seen))
        return .indexed(plan.update(result))
    }

    /// Where the indexed commit stands on the history clock: its position on the first-parent
    /// chain and the clock there (none for a fresh cache). The rate limits count from it.
    struct HistoryBase {
        var position: Int64 = -1
        var clock: Int64?

        init() {}

        init(_ index: MemoryIndex) throws {
            position = try index.state(StoreIndexer.historyPositionKey).flatMap { Int64($0) } ?? -1
            clock = try index.state(StoreIndexer.historyClockKey).flatMap { Int64($0) }
        }

        /// An arrival of this verification, on the store's whole chain.
        func arrival(_ accepted: AcceptedMemory) -> HistoryArrival? {
            accepted.arrival.map {
                HistoryArrival(position: position + 1 + Int64($0.position), clock: Double(max(clock ?? .min, $0.clock)), quotaPerDay: accepted.quotaPerDay)
            }
        }
    }

    /// The end of a fresh cache (a clone, a rebuild) from the introduction: verification and
    /// the cache's writes ran at the same time. When the verified tree holds exactly what was
    /// handed over (any authentic history; not a good side branch whose merge was refused), the
    /// writer's transaction commits; otherwise it rolls back and the plan is applied the ordinary
    /// way. Either way the rows are the same. The rate limits' schedule is the one every host
    /// computes (the history clock): the past's releases lie in the past, and only what its chain
    /// has not reached yet is deferred.
    private func finishFresh(_ stream: FreshCacheStream, _ result: VerificationResult) throws -> Update {
        let seen = stream.firstSeen
        let plan = try plan(result, from: nil, base: HistoryBase(), now: seen)
        let handedOver = stream.handedOver
        stream.handedOver = []
        let streamed = plan.map { plan in
            plan.additions.count == handedOver.count && zip(plan.additions, handedOver).allSatisfy { addition, handed in
                handed.path == addition.path && handed.blob == addition.blob && handed.commit == addition.commit && handed.arrival == addition.arrival
            }
        } ?? false
        var closing = plan?.batch
        if streamed, let plan {
            // A reviewer's merge later in the history made these reviewed after they were handed over.
            closing?.reviewedPaths = zip(plan.additions, handedOver).filter { $0.reviewed && !$1.reviewed }.map(\.0.path)
        }
        let written = stream.close(with: streamed ? closing : nil)
        if streamed {
            try written.get()
            var update = plan!.update(result)
            update.writtenWhileVerifying = true
            return update
        }
        guard let plan else {
            return Update(indexedCommit: nil, added: 0, removed: 0, quarantined: 0, blocked: result.blocked)
        }
        try index.load(plan.batch, reset: true, next: parsing(plan.additions, base: plan.base, firstSeen: seen))
        return plan.update(result)
    }

    /// What one accepted memory file hands to the writer, kept to check against the verified tree.
    fileprivate struct HandedOver {
        var path: String
        var blob: ObjectID
        var commit: ObjectID
        var reviewed: Bool
        var arrival: Arrival?
    }

    /// What an update will write: the memories to add (in the order they were accepted), the
    /// rest of the batch, and the verified tip and its tree.
    private struct Plan {
        var tip: ObjectID
        var tree: ObjectID
        /// The memories to add, in the order they were accepted (parents first).
        var additions: [AcceptedMemory]
        var batch: IndexBatch
        var base: HistoryBase

        func update(_ result: VerificationResult) -> Update {
            Update(indexedCommit: tip, added: additions.count, removed: batch.removedPaths.count,
                   quarantined: batch.quarantined.count, blocked: result.blocked)
        }
    }

    /// The changes between the indexed tree and the verified tree, matched with the verifier's
    /// provenance; nil when nothing new was verified.
    private func plan(_ result: VerificationResult, from start: ObjectID?, base: HistoryBase, now seen: Double) throws -> Plan? {
        guard let verifiedTip = result.verifiedTip, verifiedTip != start else { return nil }
        let oldTree = try start.map { (id) throws(GitError) in try repository.commit(id).treeID }
        let newTree = try repository.commit(verifiedTip).treeID
        // The first acceptance of a path is its provenance; its position orders the additions
        // (parents first), whichever way they are written.
        // Positions, not copies: a clone of a large store accepts a hundred thousand memories.
        var provenance: [String: Int] = [:]
        provenance.reserveCapacity(result.accepted.count)
        for (order, accepted) in result.accepted.enumerated() where provenance[accepted.path] == nil {
            provenance[accepted.path] = order
        }
        let quarantinedPaths = Dictionary(result.quarantined.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var batch = IndexBatch()
        var additionOrder: [Int] = []
        // Walked, not collected: for a fresh cache the diff is the whole store.
        try repository.forEachTreeChange(oldTree, newTree) { change in
            guard change.path.hasPrefix("memories/") else { return }
            switch change.kind {
            case .deleted, .modified:
                // Authentic history never edits or deletes memories; mirror the tree regardless.
                batch.removedPaths.append(change.path)
                if change.kind == .deleted { return }
            case .added:
                break
            }
            guard let entry = change.new else { return }
            if let order = provenance[change.path], result.accepted[order].blob == entry.id {
                additionOrder.append(order)
            } else if let held = quarantinedPaths[change.path] {
                batch.quarantined.append(QuarantinedFile(
                    path: held.path, blob: held.blob.hex, reason: held.reason.rawValue, detail: held.detail, commit: held.commit.hex))
            }
        }
        provenance = [:]
        let additions = additionOrder.sorted().map { result.accepted[$0] }
        batch.state[Self.indexedCommitKey] = verifiedTip.hex
        // Who the verified tip's policy lists: recall marks everyone else's memories retired.
        if let policy = try? repository.policy(inTree: newTree) {
            if let listed = try? JSONEncoder().encode(policy.principals.filter { !$0.roles.isEmpty }.map(\.name).sorted()) {
                batch.state[MemoryIndex.principalsKey] = String(decoding: listed, as: UTF8.self)
            }
            // Its half-lives and benchmark age limit: recall and the fleet views read them from
            // the cache, so that every host of the store judges recency and staleness alike.
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            if let halfLives = try? encoder.encode(policy.halfLives) {
                batch.state[MemoryIndex.halfLivesKey] = String(decoding: halfLives, as: UTF8.self)
            }
            batch.state[MemoryIndex.benchmarkMaxAgeKey] = String(policy.effectiveBenchmarkMaxAge)
            // Its revocations: every memory signed by a revoked key outside the history the
            // revocation vouches for is marked, the indexed ones and this update's alike.
            let revokedKeys = policy.revoked.map(\.key).sorted().joined(separator: ",")
            let revokedBefore = try index.state(Self.revokedKeysKey) ?? ""
            if !revokedKeys.isEmpty || !revokedBefore.isEmpty {
                batch.state[Self.revokedKeysKey] = revokedKeys
                var paths: Set<String> = []
                for revocation in policy.revoked {
                    var vouched: [String: Bool] = [:]
                    let indexed = start == nil ? [] : try index.signed(byKey: revocation.key)
                    let added = additions.filter { $0.key == revocation.key }.map { (path: $0.path, commit: $0.commit.hex) }
                    for (path, commit) in indexed + added {
                        var keep = vouched[commit] ?? false
                        if vouched[commit] == nil, let id = ObjectID(hex: commit) { keep = try revocation.vouches(for: id, in: repository) }
                        vouched[commit] = keep
                        if !keep { paths.insert(path) }
                    }
                }
                batch.revokedPaths = paths
            }
        }
        // The history clock at the new verified tip: what the rate limits have released by now.
        let clock = max(base.clock ?? .min, result.chainClock ?? .min)
        batch.state[Self.historyPositionKey] = String(base.position + Int64(result.chainLength))
        if clock != .min {
            batch.state[Self.historyClockKey] = String(clock)
            batch.historyClock = Double(clock)
        }
        return Plan(tip: verifiedTip, tree: newTree, additions: additions, batch: batch, base: base)
    }

    /// The memories to add, parsed one at a time inside the index's transaction (a whole store
    /// never sits in memory), unless the verifier handed them back parsed.
    private func parsing(_ additions: [AcceptedMemory], base: HistoryBase, firstSeen seen: Double) -> () throws -> IndexedMemory? {
        let parser = MemoryParser.sizeJudged
        var position = 0
        return { [repository] in
            guard position < additions.count else { return nil }
            let addition = additions[position]
            position += 1
            let memory = try addition.memory ?? parser.parse(try repository.blob(addition.blob), storePath: addition.path).memory
            return Self.record(memory, addition, base: base, firstSeen: seen)
        }
    }

    fileprivate static func record(_ memory: Memory, _ accepted: AcceptedMemory, base: HistoryBase, firstSeen: Double) -> IndexedMemory {
        var record = IndexedMemory(
            memory: memory, path: accepted.path, blob: accepted.blob.hex, commit: accepted.commit.hex,
            signer: accepted.principal, key: accepted.key, tier: accepted.reviewed ? .reviewed : .authenticated, firstSeen: firstSeen)
        record.mayWithdrawAny = accepted.mayWithdrawAny
        record.arrival = base.arrival(accepted)
        return record
    }

    /// How many parsed memories the verifier may hand to the indexer (about 2–3 KB each).
    static let parsedMemoriesKept = 16_384

    /// The store-state key of the commit the cache reflects.
    static let indexedCommitKey = "indexed_commit"
    /// The store-state keys of the indexed commit's position on the first-parent chain and of the
    /// history clock there.
    static let historyPositionKey = "history_position"
    /// The store-state key of the history clock at the indexed commit.
    static let historyClockKey = "history_clock"
    /// The store-state key of the keys the indexed commit's policy revokes (comma-separated).
    static let revokedKeysKey = "revoked_keys"
}

/// A fresh cache written while verification runs: the writer thread's transaction, fed each
/// accepted memory (the first of its path, parsed) in the order it was accepted, and the record
/// of what was handed over, to compare with the verified tree at the end.
private final class FreshCacheStream {
    let firstSeen: Double
    private let handOff = MemoryHandOff(capacity: 512)
    private let writer: WriterThread
    private let progress: ProgressSink?
    /// In the order handed over, which is the order of acceptance: the plan's additions come in
    /// that order too, so the two compare entry by entry.
    var handedOver: [StoreIndexer.HandedOver] = []
    private var handedOverPaths: Set<String> = []

    init(index: MemoryIndex, firstSeen: Double, progress: ProgressSink?) {
        self.firstSeen = firstSeen
        self.progress = progress
        let handOff = self.handOff
        writer = WriterThread { [index] in
            defer { handOff.writerDidStop() }
            try index.rebuild(next: handOff.next, closing: handOff.closing)
        }
    }

    /// Hands an accepted memory to the writer (waits while the writer is far behind).
    func hand(_ accepted: AcceptedMemory) {
        guard let memory = accepted.memory, handedOverPaths.insert(accepted.path).inserted else { return }
        handedOver.append(StoreIndexer.HandedOver(path: accepted.path, blob: accepted.blob, commit: accepted.commit, reviewed: accepted.reviewed, arrival: accepted.arrival))
        handOff.push(StoreIndexer.record(memory, accepted, base: StoreIndexer.HistoryBase(), firstSeen: firstSeen))
        progress?.emit("verified and indexed \(handedOver.count) memor\(handedOver.count == 1 ? "y" : "ies")")
    }

    /// No more memories: the writer commits with `batch` (nil: rolls back); its outcome.
    func close(with batch: IndexBatch?) -> Result<Void, any Error> {
        handedOverPaths = []
        handOff.close(with: batch)
        return writer.join()
    }

    /// Verification failed: the writer rolls back.
    func abandon() { _ = close(with: nil) }
}

/// A bounded queue from the verifying thread to the cache's writer thread. The producer waits
/// while it is full; the writer waits while it is empty, then for the producer's closing batch
/// (nil: roll back). A writer that has stopped, on an error, no longer holds the producer up.
// @unchecked Sendable: every mutable field is guarded by `condition` (a bounded producer-consumer queue).
final class MemoryHandOff: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [IndexedMemory] = []
    private var head = 0
    private let capacity: Int
    private var closed = false
    private var closingBatch: IndexBatch?
    private var writerStopped = false
    private var writerWaiting = false
    private var producerWaiting = false
    /// How many memories wait before a sleeping writer is woken.
    private static let wakeBatch = 64

    /// Why a rebuild fed through the hand-off rolled back.
    struct Abandoned: Error {}

    init(capacity: Int) { self.capacity = capacity }

    /// Hands one memory over; waits while the writer is `capacity` behind.
    func push(_ memory: IndexedMemory) {
        condition.lock()
        defer { condition.unlock() }
        while queue.count - head >= capacity, !writerStopped {
            producerWaiting = true
            condition.wait()
            producerWaiting = false
        }
        guard !writerStopped else { return }
        if head > capacity { queue.removeFirst(head); head = 0 }
        queue.append(memory)
        // Wake the writer only when it sleeps, and then with some work at hand: a wake-up per
        // memory costs more than the insert.
        if writerWaiting, queue.count - head >= min(Self.wakeBatch, capacity) { condition.broadcast() }
    }

    /// No more memories: the writer commits with `batch`, or rolls back when it is nil.
    func close(with batch: IndexBatch?) {
        condition.lock()
        closed = true
        closingBatch = batch
        condition.broadcast()
        condition.unlock()
    }

    /// The writer's next memory; nil once the queue is closed and empty.
    func next() -> IndexedMemory? {
        condition.lock()
        defer { condition.unlock() }
        while head == queue.count, !closed {
            writerWaiting = true
            condition.wait()
            writerWaiting = false
        }
        guard head < queue.count else { return nil }
        head += 1
        if producerWaiting, queue.count - head <= capacity / 2 { condition.broadcast() }
        return queue[head - 1]
    }

    /// The batch to commit with, or `Abandoned` to roll back.
    func closing() throws -> IndexBatch {
        condition.lock()
        defer { condition.unlock() }
        guard let closingBatch else { throw Abandoned() }
        return closingBatch
    }

    /// Called by the writer when it is done, however it ended.
    func writerDidStop() {
        condition.lock()
        writerStopped = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A body run on a thread of its own, joined for its result.
// @unchecked Sendable: `result` is written by the thread before it signals `done`, and read only after `join` waited on it.
final class WriterThread: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Void, any Error> = .success(())

    init(_ body: @escaping @Sendable () throws -> Void) {
        Thread.detachNewThread { [self] in
            do { try body() } catch { result = .failure(error) }
            done.signal()
        }
    }

    /// Waits for the body to end.
    func join() -> Result<Void, any Error> {
        done.wait()
        return result
    }
}

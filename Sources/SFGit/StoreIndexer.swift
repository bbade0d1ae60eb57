import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// Brings the cache up to a verified tip: verifies the commits since the indexed one (all of
/// them for a fresh cache), diffs the indexed tree against the verified tree with the O(changed)
/// tree diff, parses only the added files, and applies everything in one transaction. Nothing
/// that did not pass verification is ever indexed.
public struct StoreIndexer {
    /// The store's repository.
    public let repository: Repository
    /// The store's pinned introduction.
    public let introduction: Introduction
    /// The cache.
    public let index: MemoryIndex
    /// The clock for first-seen times (injectable for tests).
    public var now: () -> Double = { Date().timeIntervalSince1970 }

    /// Creates an indexer.
    public init(repository: Repository, introduction: Introduction, index: MemoryIndex) {
        self.repository = repository
        self.introduction = introduction
        self.index = index
    }

    /// What one update did.
    public struct Update: Sendable {
        /// The commit the cache now reflects.
        public var indexedCommit: ObjectID?
        /// Memories added to the cache.
        public var added: Int
        /// Paths removed from the cache.
        public var removed: Int
        /// Files quarantined in this update.
        public var quarantined: Int
        /// The verifier's first refused commit, when history could not be fully verified.
        public var blocked: CommitOutcome?
    }

    /// Indexes up to `tip`; stops at the newest authentic commit if verification refuses one.
    public func update(to tip: ObjectID) throws -> Update {
        let indexed = try index.state(Self.indexedCommitKey).flatMap { ObjectID(hex: $0) }
        let start = indexed.flatMap { repository.contains($0) ? $0 : nil }
        // The verifier parses every added file anyway: it hands back up to this many parsed, so
        // that a clone of a 10,000-memory store parses each file once (memory stays bounded).
        let options = Verifier.Options(keepParsedMemories: Self.parsedMemoriesKept)
        let result = try Verifier(repository: repository, introduction: introduction, options: options).verify(from: start, to: tip)
        guard let verifiedTip = result.verifiedTip, verifiedTip != start else {
            return Update(indexedCommit: start, added: 0, removed: 0, quarantined: 0, blocked: result.blocked)
        }
        let oldTree = try start.map { (id) throws(GitError) in try repository.commit(id).treeID }
        let newTree = try repository.commit(verifiedTip).treeID
        let changes = try repository.diffTrees(oldTree, newTree)

        let provenance = Dictionary(result.accepted.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let quarantinedPaths = Dictionary(result.quarantined.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var batch = IndexBatch()
        let seen = now()
        var additions: [(path: String, blob: ObjectID, accepted: AcceptedMemory)] = []
        for change in changes where change.path.hasPrefix("memories/") {
            switch change.kind {
            case .deleted, .modified:
                // Authentic history never edits or deletes memories; mirror the tree regardless.
                batch.removedPaths.append(change.path)
                if change.kind == .deleted { continue }
            case .added:
                break
            }
            guard let entry = change.new else { continue }
            if let accepted = provenance[change.path], accepted.blob == entry.id {
                additions.append((change.path, entry.id, accepted))
            } else if let held = quarantinedPaths[change.path] {
                batch.quarantined.append(QuarantinedFile(
                    path: held.path, blob: held.blob.hex, reason: held.reason.rawValue, detail: held.detail, commit: held.commit.hex))
            }
        }
        // Parsed one at a time inside the index's transaction: a whole store never sits in memory.
        let parser = MemoryParser(limits: MemoryLimits(maxFileBytes: Int.max))
        var position = 0
        func nextMemory() throws -> IndexedMemory? {
            guard position < additions.count else { return nil }
            let addition = additions[position]
            position += 1
            let memory = try addition.accepted.memory ?? parser.parse(try repository.blob(addition.blob), storePath: addition.path).memory
            return IndexedMemory(
                memory: memory, path: addition.path, blob: addition.blob.hex, commit: addition.accepted.commit.hex,
                signer: addition.accepted.principal, key: addition.accepted.key,
                tier: addition.accepted.reviewed ? .reviewed : .authenticated, firstSeen: seen)
        }
        batch.state[Self.indexedCommitKey] = verifiedTip.hex
        // Rate limits hold back floods arriving between syncs. A fresh cache (a new clone or a
        // rebuild) takes the verified history as it is: deferring a whole store's past by a daily
        // quota would leave a new host with nothing to serve for weeks.
        if start != nil { batch.quota = try quotaRule(at: newTree) }
        batch.now = seen
        try index.load(batch, reset: start == nil, next: nextMemory)
        return Update(indexedCommit: verifiedTip, added: additions.count, removed: batch.removedPaths.count,
                      quarantined: batch.quarantined.count, blocked: result.blocked)
    }

    /// The rate limit the verified tree's policy sets (the tree is verified, so its policy parses).
    private func quotaRule(at tree: ObjectID) throws -> QuotaRule? {
        guard let policy = try? repository.policy(inTree: tree) else { return nil }
        var overrides: [String: Int] = [:]
        for principal in policy.principals { if let quota = principal.quotaPerDay { overrides[principal.name] = quota } }
        return QuotaRule(perDay: overrides, defaultPerDay: policy.defaultQuotaPerDay)
    }

    /// How many parsed memories the verifier may hand to the indexer (about 2–3 KB each).
    static let parsedMemoriesKept = 16_384

    /// The store-state key of the commit the cache reflects.
    public static let indexedCommitKey = "indexed_commit"
}

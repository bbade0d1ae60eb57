import Dispatch
import Foundation
import Logging
import SFGitMemory
import SFGitRepository

/// Decides, commit by commit, whether history is authentic under the authorization invariant
/// (docs/TRUST.md § Authorization from parent commits): signed with an SSH key that every parent's allowed_signers lists, for a principal
/// whose role in every parent's policy permits each change the commit makes.
///
/// Work is done in three overlapping passes over the new commits (parents first): read commits,
/// signatures, changes and added blobs from the repository; verify signatures and parse memory
/// files on the other cores; decide each commit, in order, as soon as its checks are back.
/// Policies are parsed once per distinct blob pair and each signature is checked once.
public struct Verifier {
    /// Options of one verification.
    public struct Options: Sendable {
        /// In a store whose policy says `mode: review`, require review or admin signatures on the
        /// first-parent chain of the tip. Off when checking a proposal branch.
        public var enforceReviewMode: Bool = true
        /// Threads for signature checks and memory parsing.
        public var parallelism: Int = 2
        /// How many added memory files may come back parsed in `AcceptedMemory.memory`, so that
        /// an indexer need not parse them again; bounded because a clone of a large store would
        /// otherwise hold every memory at once.
        public var keepParsedMemories: Int = 0
        /// Stop at the first refused commit of the tip's first-parent chain: nothing after it in
        /// history order can reach the verified tip, and a remote could otherwise make a sync
        /// read and judge any number of junk commits on top (a sync sets this; `verify`, which
        /// reports every commit, does not).
        public var stopAtRefusedChainCommit = false

        /// The verifying host's clock, in seconds since the epoch: a commit dated later than
        /// this plus `allowedClockSkew` is refused as `future-dated` until its time has come.
        public var now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

        /// The defaults: review mode enforced, two threads, nothing kept parsed.
        public init(enforceReviewMode: Bool = true, parallelism: Int = 2, keepParsedMemories: Int = 0, stopAtRefusedChainCommit: Bool = false) {
            self.enforceReviewMode = enforceReviewMode
            self.parallelism = parallelism
            self.keepParsedMemories = keepParsedMemories
            self.stopAtRefusedChainCommit = stopAtRefusedChainCommit
        }
    }

    /// How far a signer's clock may run ahead: of the verifying host's clock for a committer
    /// time, of the committer time for a memory's `recorded_at` (10 minutes).
    /// docs/TRUST.md § Signer-chosen times.
    public static let allowedClockSkew: Int64 = 600

    let repository: Repository
    let introduction: Introduction
    let options: Options
    private let logger = Logger(label: "sfgit.verify")

    /// Creates a verifier over a repository pinned to an introduction.
    public init(repository: Repository, introduction: Introduction, options: Options = Options()) {
        self.repository = repository
        self.introduction = introduction
        self.options = options
    }

    /// Refuses, before any new commit is read whole, a tip whose new commits are not all commit
    /// objects within `Policy.objectBytesCeiling` (judged from their headers: libgit2's graph
    /// functions below read every commit they meet whole, so a commit of hundreds of MB would
    /// otherwise be inflated before anything judged it), then, on the commit graph alone, a tip
    /// that does not descend from the verified tip (a rollback, rewritten or replaced history)
    /// or, with no verified tip, from the introduction; nil when the tip may be verified.
    /// docs/TRUST.md § Rollback refusal, § Resource bounds.
    public func ancestryRefusal(from verifiedTip: ObjectID?, to newTip: ObjectID) throws(GitError) -> VerificationResult? {
        if newTip == verifiedTip { return nil }
        var checked = 0
        if let problem = try repository.checkCommitHeaders(from: newTip, known: verifiedTip, maxCommitBytes: Policy.objectBytesCeiling, checked: &checked) {
            return refused(problem.id, .malformed, problem.reason, keep: verifiedTip)
        }
        if let old = verifiedTip {
            if try repository.isDescendant(old, of: newTip) {
                return refused(newTip, .rollback, "the fetched tip \(newTip.short()) is an ancestor of the verified tip \(old.short()): refusing to roll back", keep: old)
            }
            if try !repository.isDescendant(newTip, of: old) {
                return refused(newTip, .diverged, "the fetched tip \(newTip.short()) does not descend from the verified tip \(old.short()): history was rewritten or replaced", keep: old)
            }
        } else if newTip != introduction.commit, try !repository.isDescendant(newTip, of: introduction.commit) {
            return refused(newTip, .diverged, "\(newTip.short()) does not descend from the introduction \(introduction.commit.short())", keep: nil)
        }
        return nil
    }

    /// Verifies the commits between `verifiedTip` (nil: from the introduction) and `newTip`.
    ///
    /// With `accepting`, each memory file fit to index is handed over, parsed, as soon as its
    /// commit is judged (parents first), so that an indexer can work while later commits are
    /// still being verified; the result's `accepted` then holds no parsed memories. A memory a
    /// reviewer's merge brings in later is handed over unreviewed: the result has the final word.
    /// Memories of a commit outside the verified tip's history can be handed over too (a good
    /// side branch whose merge was refused): a consumer compares with the verified tree.
    public func verify(from verifiedTip: ObjectID?, to newTip: ObjectID, accepting sink: ((AcceptedMemory) -> Void)? = nil) throws(GitError) -> VerificationResult {
        if verifiedTip == newTip {
            return VerificationResult(outcomes: [], verifiedTip: newTip, blocked: nil, quarantined: [], accepted: [])
        }
        if let refusal = try ancestryRefusal(from: verifiedTip, to: newTip) { return refusal }
        // Each commit's parents' policy sets the tree cap while it is read (`readFacts`); the
        // ceiling again afterwards, for diffs of trees verified under other policies.
        defer { repository.maxTreeBytes = Policy.objectBytesCeiling }

        let order = try repository.commits(from: [newTip], excluding: verifiedTip.map { [$0] } ?? [])
        let history = try HistoryChain(repository: repository, tip: newTip, bottom: verifiedTip)
        let chain = history.commits
        var judge = Judge(verifier: self, context: Context(repository: repository), walked: Set(order))
        judge.history = history
        judge.latestCommitTime = options.now() + Self.allowedClockSkew
        judge.trustedHistory = verifiedTip
        if options.enforceReviewMode { judge.firstParentChain = chain }
        judge.sink = sink
        // Pass 1 reads from libgit2 on this thread while pass 2 checks signatures and memory
        // files of the commits already read on the other cores; pass 3 judges each commit here
        // as soon as its checks are back (the judge needs only its ancestors).
        let checker = PipelinedChecker(count: order.count, workers: max(0, options.parallelism - 1))
        var facts: [CommitFacts?] = []
        facts.reserveCapacity(order.count)
        var outcomes: [CommitOutcome] = []
        outcomes.reserveCapacity(order.count)
        var stopped = false
        func judgeNext(_ checks: [Checked]) throws(GitError) {
            for check in checks where !stopped {
                let fact = facts[outcomes.count]!
                facts[outcomes.count] = nil  // judged: a whole history's changes never pile up here
                let outcome = try judge.decide(fact, check: check)
                outcomes.append(outcome)
                if !outcome.isGood {
                    logger.debug("commit refused", metadata: ["commit": "\(fact.id)", "status": "\(outcome.status.rawValue)", "reason": "\(outcome.reason)"])
                    // Every later commit of the chain descends from this one, and every ancestor
                    // of the chain's good part came before it: the verified tip is decided.
                    if options.stopAtRefusedChainCommit, history.index(of: fact.id) != nil { stopped = true }
                }
            }
        }
        var added = 0
        for id in order where !stopped {
            var fact: CommitFacts
            do {
                fact = try readFacts(id, judge: &judge)
            } catch where error.isNotFound || error.isMalformedObject {
                // A tree or file the commit refers to never arrived (a remote that sends
                // incomplete or swapped objects), or breaks git's rules (a non-canonical tree, a
                // tree where a file is named, an object over its cap). The commit cannot be
                // checked as git would read it, so it is refused.
                let info = try repository.commit(id)
                judge.trees[id] = info.treeID
                fact = CommitFacts(id: id, info: info, signature: nil, changes: [], addedBlobs: [:], oversized: [:])
                fact.unreadable = error.isMalformedObject
                    ? error.message
                    : "the commit refers to an object the repository does not have (its history arrived incomplete or altered): \(error.message)"
            }
            added += fact.addedBlobs.count
            fact.keepParsed = sink != nil || added <= options.keepParsedMemories
            checker.submit(fact)
            fact.addedBlobs = [:]  // the checker has them; the judge needs only the rest
            facts.append(fact)
            try judgeNext(checker.takeReady(from: outcomes.count))
        }
        if stopped {
            checker.abandon()
        } else {
            try judgeNext(checker.finish(from: outcomes.count))
        }

        // Good commits have only good ancestors, so the newest good one on the chain is the tip…
        var tip = chain.last { judge.good.contains($0) } ?? verifiedTip
        // …unless the chain's first refused commit is a merge that tried to bring a retired key's
        // commits onto a branch: the branch it joined is the shared history, not the stale side
        // the merge took as its first parent.
        if let refused = chain.first(where: { judge.failed.contains($0) }), let joined = judge.retirementJoined[refused],
           judge.isTrusted(joined) {
            tip = joined
        }
        // The verified tip only ever moves forward: a chain that leaves the verified history
        // (its first parents skip the old tip) keeps the old tip.
        if let start = verifiedTip, let candidate = tip, candidate != start, try !repository.isDescendant(candidate, of: start) {
            tip = start
        }
        // Arrivals on the history clock count along the verified tip's own first-parent chain: when
        // the tip is not on the fetched tip's chain (the branch a refused merge joined), along its.
        var accepted = judge.accepted
        var final = history
        if let tip, tip != verifiedTip, final.index(of: tip) == nil {
            final = try HistoryChain(repository: repository, tip: tip, bottom: verifiedTip)
            for index in accepted.indices { accepted[index].arrival = final.arrival(of: accepted[index].commit) }
        }
        var result = VerificationResult(
            outcomes: outcomes, verifiedTip: tip, blocked: outcomes.first { !$0.isGood },
            quarantined: judge.quarantined, accepted: accepted)
        if let tip, tip != verifiedTip, let position = final.index(of: tip) {
            result.chainLength = position + 1
            result.chainClock = final.clocks[position]
            result.chainFromVerifiedTip = final.reachesBottom
        }
        return result
    }

    private func refused(_ commit: ObjectID, _ status: CommitStatus, _ reason: String, keep: ObjectID?) -> VerificationResult {
        let outcome = CommitOutcome(commit: commit, status: status, principal: nil, key: nil, reason: reason)
        return VerificationResult(outcomes: [outcome], verifiedTip: keep, blocked: outcome, quarantined: [], accepted: [])
    }


    // MARK: - Pass 1: facts read from the repository

    /// What the repository says about one commit, before any judgement.
    struct CommitFacts {
        var id: ObjectID
        var info: CommitInfo
        var signature: CommitSignature?
        /// For a one-parent commit (or the root), the file changes against the parent.
        var changes: [TreeChange]
        /// Bytes of added memory files that are within the parent's size limit.
        var addedBlobs: [String: [UInt8]]
        /// Sizes of added memory files over the limit (never read).
        var oversized: [String: Int]
        /// Whether the check keeps the parsed memories (within `Options.keepParsedMemories`).
        var keepParsed = false
        /// Why the commit could not be read: an object it refers to is not in the repository, or
        /// breaks git's rules for objects.
        var unreadable: String?
        /// For each added memory path, the path of a file with the same name under another kind
        /// directory of the parent tree (nil: none). Looked up here, while the parent's trees
        /// are fresh, rather than when judging, after the whole history has been read.
        var sameNameElsewhere: [String: String?] = [:]
    }

    /// Reads one commit's facts, recording its tree and trust state where the judge finds them.
    private func readFacts(_ id: ObjectID, judge: inout Judge) throws(GitError) -> CommitFacts {
        let info = try repository.commit(id)
        judge.trees[id] = info.treeID
        // The parents' policies govern a commit's size and its trees' (the strictest one, for a
        // merge; the defaults for the root). The header walk held it to the ceiling already.
        let parentTrees = try info.parentIDs.map { (parent) throws(GitError) in
            if let tree = judge.trees[parent] { return tree }
            return try repository.commit(parent).treeID
        }
        let parentPolicies = try parentTrees.map { (tree) throws(GitError) in try judge.context.state(ofTree: tree).policy }
        let maxCommitBytes = parentPolicies.map { $0?.maxCommitBytes ?? Policy.defaultMaxCommitBytes }.min() ?? Policy.defaultMaxCommitBytes
        let commitSize = try repository.objectInfo(id).size  // from the header
        if commitSize > maxCommitBytes {
            throw GitError(function: "readFacts", code: GitError.malformedObjectCode,
                           message: "commit \(id.short()) is \(commitSize) bytes, over the policy's max_commit_bytes of \(maxCommitBytes)")
        }
        repository.maxTreeBytes = parentPolicies.map { $0?.maxTreeBytes ?? Policy.defaultMaxTreeBytes }.min() ?? Policy.defaultMaxTreeBytes
        let signature = try repository.signature(of: id)
        var facts = CommitFacts(id: id, info: info, signature: signature, changes: [], addedBlobs: [:], oversized: [:])
        guard info.parentIDs.count <= 1 else { return facts }
        let parentTree = parentTrees.first
        facts.changes = try repository.diffTrees(parentTree, info.treeID)
        let parentState = try judge.context.state(ofTree: parentTree)
        if !facts.changes.contains(where: { $0.path.hasPrefix(".sfgit/") }) {
            judge.context.inherit(parentState, tree: info.treeID)  // same trust files as the parent
        }
        let limit = parentState.policy?.maxFileBytes ?? Policy.defaultMaxFileBytes
        for change in facts.changes where change.kind == .added && change.path.hasPrefix("memories/") {
            guard let entry = change.new, entry.mode == .blob else { continue }
            let size = try repository.blobSize(entry.id)
            if size > limit {
                facts.oversized[change.path] = size
            } else {
                facts.addedBlobs[change.path] = try repository.blob(entry.id)
            }
        }
        if let parentTree, !facts.addedBlobs.isEmpty,
           let memories = try repository.entry(at: "memories", inTree: parentTree), memories.mode == .tree {
            let kinds = try repository.tree(memories.id).filter { $0.mode == .tree }
            // A commit's files share a few directories (a month): each other kind's directory is
            // looked up once per commit, then each name in it.
            var directories: [String: ObjectID?] = [:]
            for path in facts.addedBlobs.keys {
                let parts = path.split(separator: "/", maxSplits: 2)  // "memories", kind, below
                guard parts.count == 3 else { continue }
                let below = parts[2]
                let slash = below.lastIndex(of: "/")
                let directory = slash.map { String(below[..<$0]) } ?? ""
                let name = String(slash.map { below[below.index(after: $0)...] } ?? below)
                var found: String?
                for kind in kinds where kind.name != parts[1] {
                    let key = kind.name + "/" + directory
                    if directories[key] == nil {
                        let entry = directory.isEmpty ? kind : try repository.entry(at: directory, inTree: kind.id)
                        directories[key] = .some(entry.flatMap { $0.mode == .tree ? $0.id : nil })
                    }
                    if let tree = directories[key]!, try repository.entry(at: name, inTree: tree) != nil {
                        found = "memories/\(kind.name)/\(below)"
                        break
                    }
                }
                facts.sameNameElsewhere[path] = .some(found)
            }
        }
        return facts
    }

    // MARK: - Pass 2: signatures and memory files, on every core

    /// Results of the CPU-bound checks of one commit.
    struct Checked {
        var signature: Result<SSHSignature, SignatureFailure>
        var memories: [String: Result<MemoryIdentity, MemoryFileError>]
    }

    /// What the judge needs of a parsed memory file, and the memory itself only when asked
    /// (a clone of a large store verifies every file, and only these two facts decide its fate).
    struct MemoryIdentity {
        var id: ULID
        var principal: String
        /// `recorded_at`, in whole seconds since the epoch.
        var recordedAt: Int64
        var memory: Memory?
    }

    enum SignatureFailure: Error {
        case unsigned
        case invalid(String)
    }

    static func check(_ facts: CommitFacts) -> Checked {
        let signature: Result<SSHSignature, SignatureFailure>
        if let raw = facts.signature {
            if raw.headerCount != 1 {
                signature = .failure(.invalid("the commit has \(raw.headerCount) gpgsig headers; exactly one is allowed"))
            } else {
                do {
                    let parsed = try SSHSignature(armored: raw.signature)
                    if parsed.namespace != "git" {
                        signature = .failure(.invalid("signature is for namespace '\(parsed.namespace)', not 'git'"))
                    } else if parsed.verify(message: raw.signedData, namespace: "git") {
                        signature = .success(parsed)
                    } else {
                        signature = .failure(.invalid("signature by \(parsed.publicKey.fingerprint) does not verify over the commit"))
                    }
                } catch {
                    signature = .failure(.invalid(error.description))
                }
            }
        } else {
            signature = .failure(.unsigned)
        }
        var memories: [String: Result<MemoryIdentity, MemoryFileError>] = [:]
        let parser = MemoryParser.sizeJudged
        for (path, bytes) in facts.addedBlobs {
            do {
                let memory = try parser.parse(bytes, storePath: path).memory
                memories[path] = .success(MemoryIdentity(
                    id: memory.id, principal: memory.frontMatter.principal,
                    recordedAt: Int64(memory.frontMatter.recordedAt.secondsSinceEpoch.rounded(.down)), memory: facts.keepParsed ? memory : nil))
            } catch {
                memories[path] = .failure(error)
            }
        }
        return Checked(signature: signature, memories: memories)
    }
}

/// Runs `Verifier.check` on worker threads while the caller keeps reading commits: work is
/// handed over in small batches, results are taken in order as they are ready, and `finish`
/// lets the caller drain what is left.
// @unchecked Sendable: every mutable field is read and written under `lock`; workers are joined through `group`.
private final class PipelinedChecker: @unchecked Sendable {
    private let lock = NSLock()
    private let group = DispatchGroup()
    private var pending: [(index: Int, facts: Verifier.CommitFacts)] = []
    private var results: [Verifier.Checked?]
    private var submitted = 0
    private var closed = false
    private let workers: Int
    private let batch = 32

    init(count: Int, workers: Int) {
        results = Array(repeating: nil, count: count)
        self.workers = workers
        for _ in 0..<workers {
            group.enter()
            Thread.detachNewThread { [self] in
                drain(waitForMore: true)
                group.leave()
            }
        }
    }

    private let wakeUp = NSCondition()

    func submit(_ facts: Verifier.CommitFacts) {
        lock.lock()
        pending.append((submitted, facts))
        submitted += 1
        let backlog = pending.count
        lock.unlock()
        if backlog >= batch && workers > 0 { wakeUp.lock(); wakeUp.signal(); wakeUp.unlock() }
        // Reading runs ahead of checking: past this backlog the reader checks a batch itself, so
        // the blobs read and not yet checked stay bounded whatever the size of the history.
        if backlog >= Self.backlogLimit, let work = take(waitForMore: false) { check(work) }
    }

    /// Commits read and waiting to be checked, past which the reader helps.
    private static let backlogLimit = 128

    /// Takes up to a batch of work; nil when there is none (and, if waiting, none will come).
    private func take(waitForMore: Bool) -> [(index: Int, facts: Verifier.CommitFacts)]? {
        while true {
            lock.lock()
            if !pending.isEmpty && (pending.count >= batch || closed || !waitForMore) {
                let taken = Array(pending.prefix(batch))
                pending.removeFirst(taken.count)
                lock.unlock()
                return taken
            }
            let done = closed
            lock.unlock()
            if done || !waitForMore { return nil }
            wakeUp.lock()
            _ = wakeUp.wait(until: Date(timeIntervalSinceNow: 0.005))
            wakeUp.unlock()
        }
    }

    private func drain(waitForMore: Bool) {
        while let work = take(waitForMore: waitForMore) { check(work) }
    }

    private func check(_ work: [(index: Int, facts: Verifier.CommitFacts)]) {
        let checked = work.map { ($0.index, Verifier.check($0.facts)) }
        lock.lock()
        for (index, result) in checked { results[index] = result }
        lock.unlock()
    }

    /// The results from `start` on that are ready, in order, up to the first one still being
    /// checked; each is handed out once (and its parsed memories with it).
    func takeReady(from start: Int) -> [Verifier.Checked] {
        lock.lock()
        defer { lock.unlock() }
        var ready: [Verifier.Checked] = []
        var index = start
        while index < results.count, let result = results[index] {
            ready.append(result)
            results[index] = nil
            index += 1
        }
        return ready
    }

    /// Closes the queue, drops what is left unchecked and waits for the workers.
    func abandon() {
        lock.lock()
        closed = true
        pending.removeAll()
        lock.unlock()
        wakeUp.lock(); wakeUp.broadcast(); wakeUp.unlock()
        group.wait()
    }

    /// Closes the queue, helps with what is left, waits for the workers, and returns the
    /// results from `start` on, in order.
    func finish(from start: Int) -> [Verifier.Checked] {
        lock.lock()
        closed = true
        lock.unlock()
        wakeUp.lock(); wakeUp.broadcast(); wakeUp.unlock()
        drain(waitForMore: false)
        group.wait()
        return takeReady(from: start)
    }
}

/// The first-parent chain from a tip down to (not including) a bottom, oldest first, with the
/// history clock at each commit (the greatest committer time so far along the chain) and, for
/// every new commit, the chain commit that brought it onto the chain: itself, or the merge whose
/// other parent holds it. A stale branch's commits so arrive at the time of the merge, whatever
/// times they carry.
/// docs/TRUST.md § The history clock.
struct HistoryChain {
    private(set) var commits: [ObjectID] = []
    private(set) var clocks: [Int64] = []
    /// Whether the walk met `bottom` (always, without one); otherwise it went to the root.
    private(set) var reachesBottom = true
    private var chainIndex: [ObjectID: Int] = [:]
    private var broughtIn: [ObjectID: Int] = [:]

    init(repository: Repository, tip: ObjectID, bottom: ObjectID?) throws(GitError) {
        var walked: [(id: ObjectID, parents: [ObjectID], time: Int64)] = []
        var current: ObjectID? = tip
        while let id = current, id != bottom {
            let (parents, time) = try repository.parentsAndCommitTime(of: id)
            walked.append((id, parents, time))
            current = parents.first
        }
        reachesBottom = bottom == nil || current == bottom
        var clock = Int64.min
        for (index, commit) in walked.reversed().enumerated() {
            clock = max(clock, commit.time)
            commits.append(commit.id)
            clocks.append(clock)
            chainIndex[commit.id] = index
            // Only merges bring in other commits: a revwalk each, of what the merge brings.
            for other in commit.parents.dropFirst() {
                for brought in try repository.commits(from: [other], excluding: [commit.parents[0]]) where broughtIn[brought] == nil {
                    broughtIn[brought] = index
                }
            }
        }
    }

    /// The position of a commit on the chain, when it is one of its commits.
    func index(of commit: ObjectID) -> Int? { chainIndex[commit] }

    /// Where a commit's memories arrive, when the chain's tip holds the commit.
    func arrival(of commit: ObjectID) -> Arrival? {
        (chainIndex[commit] ?? broughtIn[commit]).map { Arrival(position: $0, clock: clocks[$0]) }
    }
}

/// The trust state a tree establishes: its policy and allowed signers, parsed once per blob pair.
struct TrustState {
    var policy: Policy?
    var signers: AllowedSigners?
    /// Why the state is unusable, when it is.
    var problem: String?
    var unsupportedVersion = false
}

/// Caches of parsed trust state keyed by the blobs that hold it.
struct Context {
    let repository: Repository
    private var byBlobs: [String: TrustState] = [:]
    private var byTree: [ObjectID: TrustState] = [:]

    init(repository: Repository) { self.repository = repository }

    /// Records that a tree holds the same trust files as one already read.
    mutating func inherit(_ state: TrustState, tree: ObjectID) {
        byTree[tree] = state
    }

    /// The trust state of a tree (nil: the empty tree, which has none).
    mutating func state(ofTree tree: ObjectID?) throws(GitError) -> TrustState {
        guard let tree else { return TrustState(problem: "no .sfgit/policy.yaml") }
        if let cached = byTree[tree] { return cached }
        let policyEntry = try repository.entry(at: ".sfgit/policy.yaml", inTree: tree)
        let signersEntry = try repository.entry(at: ".sfgit/allowed_signers", inTree: tree)
        let key = "\(policyEntry?.id.hex ?? "-")/\(signersEntry?.id.hex ?? "-")"
        if let cached = byBlobs[key] {
            byTree[tree] = cached
            return cached
        }
        var state = TrustState()
        // Trust files are read from trees an attacker may have written: judge their size first.
        for (entry, name) in [(policyEntry, "policy.yaml"), (signersEntry, "allowed_signers")] {
            if let entry, entry.mode == .blob, try repository.blobSize(entry.id) > Policy.maxTrustFileBytes {
                state.problem = ".sfgit/\(name) is larger than \(Policy.maxTrustFileBytes) bytes"
                byBlobs[key] = state
                byTree[tree] = state
                return state
            }
        }
        if let policyEntry, policyEntry.mode == .blob {
            do {
                state.policy = try Policy.parse(try repository.blob(policyEntry.id))
            } catch let error as PolicyError {
                state.problem = ".sfgit/policy.yaml: \(error.problems.first.map { "\($0.position): \($0.message)" } ?? "invalid")"
                state.unsupportedVersion = error.isUnsupportedVersion
            } catch {
                state.problem = ".sfgit/policy.yaml: \(error)"
            }
        } else {
            state.problem = "no .sfgit/policy.yaml"
        }
        if let signersEntry, signersEntry.mode == .blob {
            do {
                state.signers = try AllowedSigners.parse(try repository.blob(signersEntry.id))
            } catch let error as AllowedSignersError {
                state.problem = state.problem ?? ".sfgit/allowed_signers: \(error.problems.first.map(\.description) ?? "invalid")"
            } catch {
                state.problem = state.problem ?? ".sfgit/allowed_signers: \(error)"
            }
        } else {
            state.problem = state.problem ?? "no .sfgit/allowed_signers"
        }
        if state.problem == nil, let policy = state.policy, let signers = state.signers {
            if let entry = policy.keysWithoutRole(in: signers).first {
                state.problem = ".sfgit/allowed_signers line \(entry.line): " + Policy.keyWithoutRoleMessage(entry)
            }
        }
        byBlobs[key] = state
        byTree[tree] = state
        return state
    }
}

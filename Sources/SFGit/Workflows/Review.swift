import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// A memory a proposal adds, with its provenance as the verifier established it.
public struct ProposalMemory: Sendable, Encodable {
    /// The memory's id.
    public var id: String
    /// Its kind.
    public var kind: String
    /// Its store path.
    public var path: String
    /// Its title.
    public var title: String
    /// The body text (`review show` only).
    @Nullable public var body: String? = nil
    /// Its tags.
    public var tags: [String]
    /// The front matter's `author@host` (equal to the signer, or the file is quarantined).
    public var author: String
    /// Its `recorded_at`.
    public var recordedAt: String
    /// The principal of the key that signed the commit adding it.
    public var signer: String
    /// That key's `SHA256:` fingerprint.
    public var key: String
    /// The commit that adds it (hex).
    public var commit: String

    enum CodingKeys: String, CodingKey { case id, kind, path, title, body, tags, author, recordedAt = "recorded_at", signer, key, commit }
}

/// A file other than a memory that a proposal changes, as `review list|show` give it.
public struct ProposalFile: Sendable, Encodable {
    /// Its path in the store.
    public var path: String
    /// `added`, `modified` or `deleted`.
    public var change: String
    /// With `review show`: the lines removed (`- `) and added (`+ `), in file order.
    @Nullable public var diff: [String]? = nil
}

/// What `verify --proposal` says of a proposal branch, and whether it merges cleanly.
public struct ProposalCheck: Sendable, Encodable {
    /// `ok`, `untrusted` (a commit peers refuse) or `invalid` (files peers quarantine).
    public var result: String
    /// The first refused commit.
    @Nullable public var blocked: VerifyReport.Blocked? = nil
    /// Files peers would quarantine.
    public var quarantined: [VerifyReport.QuarantinedFile]
    /// Commits on the branch signed by someone other than the principal it is named after.
    public var foreignCommits: [String]
    /// Whether the branch merges into the shared branch without conflicts.
    public var mergesCleanly: Bool
    /// Memories on the branch that an admin's reset statement removed from the store since the
    /// branch left it (merged once, then reset away): `review merge` does not bring them back.
    public var resetRemoved: [ResetRemoval] = []

    /// A memory a reset statement removed.
    public struct ResetRemoval: Sendable, Encodable {
        /// The memory file's path.
        public var path: String
        /// The reset statement that removed it.
        public var statement: String
    }

    enum CodingKeys: String, CodingKey {
        case result, blocked, quarantined, foreignCommits = "foreign_commits", mergesCleanly = "merges_cleanly", resetRemoved = "reset_removed"
    }
}

/// One open proposal branch (`sfgit/proposals/<principal>`).
public struct Proposal: Sendable, Encodable {
    /// The writer the branch belongs to (`author@host`).
    public var principal: String
    /// The branch name (`sfgit/proposals/<principal>`).
    public var branch: String
    /// The branch's fetched tip (hex).
    public var tip: String
    /// Commits on the branch that the shared branch does not have yet.
    public var commits: Int
    /// The memories the branch adds, with provenance.
    public var memories: [ProposalMemory]
    /// The other files the branch changes (an admin's trust and policy changes, proposed in
    /// review mode), so that a reviewer sees what they approve.
    public var files: [ProposalFile] = []
    /// The verifier's verdict on the branch.
    public var check: ProposalCheck
}

/// What `review list` and `review show` report.
public struct ReviewReport: Sendable, Encodable {
    /// The store.
    public var store: String
    /// The shared branch's verified tip the proposals are judged against.
    public var sharedTip: String
    /// `direct` or `review`.
    public var mode: String
    /// The open proposals.
    public var proposals: [Proposal]
    /// Why the proposal list may be out of date (`--offline`, or the fetch failed).
    @Nullable public var stale: String? = nil

    enum CodingKeys: String, CodingKey { case store, sharedTip = "shared_tip", mode, proposals, stale }
}

/// What `review merge` reports.
public struct ReviewMergeReport: Sendable, Encodable {
    /// The store.
    public var store: String
    /// The writer whose proposal was merged.
    public var principal: String
    /// `merged` (pushed and verified), `checked` (made and verified, not pushed: no `--push`) or
    /// `already_merged` (the shared branch has the proposal's tip).
    public var state: String
    /// The signed merge commit.
    @Nullable public var commit: String? = nil
    /// The proposal tip merged (the merge's second parent).
    public var proposalTip: String
    /// The shared branch's tip it was merged onto (the merge's first parent).
    public var sharedTip: String
    /// The memories the merge brings onto the shared branch.
    public var memories: [ProposalMemory]
    /// Whether the merge was pushed.
    public var pushed: Bool

    enum CodingKeys: String, CodingKey { case store, principal, state, commit, proposalTip = "proposal_tip", sharedTip = "shared_tip", memories, pushed }
}

/// How `review` commands reach the remote.
public struct ReviewOptions: Sendable {
    /// Use what the last fetch brought (no network).
    public var offline = false
    /// Deadline of each network step, in seconds.
    public var timeout: Double = 120
    /// How long to wait for another sync's lock.
    public var wait: Double = 0
    /// How many times a merge whose push lost a race is made again on the new shared tip.
    public var pushAttempts = 4

    /// Creates options.
    public init() {}
}

extension Store {
    /// Where `review` fetches the remote's proposal branches (`sfgit/proposals/*`), one ref each.
    static let reviewPrefix = "refs/sfgit/review/"
    /// The merge `review merge --push` pushes (a ref, because a push sends references).
    static let reviewMergeRef = "refs/sfgit/review-merge"
}

extension Workspace {
    /// The open proposal branches of a store, each checked as `verify --proposal` checks it.
    public func reviewList(store name: String?, principal: String? = nil, options: ReviewOptions) throws(SFGitError) -> ReviewReport {
        let store = try self.store(named: name)
        if let principal, !Principal.isValid(principal) { throw SFGitError(.usage, "'\(principal)' is not a principal (author@host, lower-case)") }
        var stale: String?
        if options.offline { stale = "--offline: proposals as the last review fetch saw them" } else {
            stale = try refreshForReview(store, options: options).stale
        }
        return try workflow {
            let repository = try store.openRepository()
            guard let verified = try repository.reference(Store.verifiedRef) else {
                throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
            }
            let policy = try self.policy(repository, at: verified)
            var proposals: [Proposal] = []
            for (owner, tip) in try proposalRefs(repository) where principal == nil || owner == principal {
                if let proposal = try examine(store, repository, owner: owner, tip: tip, verified: verified, bodies: principal != nil) {
                    proposals.append(proposal)
                }
            }
            if let principal, proposals.isEmpty {
                throw SFGitError(.notFound, "no open proposal sfgit/proposals/\(principal) in store \(store.name)")
            }
            return ReviewReport(store: store.name, sharedTip: verified.hex, mode: policy.mode.rawValue, proposals: proposals, stale: stale)
        }
    }

    /// Merges a writer's proposal into the shared branch with a merge commit signed by this
    /// identity's key (review or admin), after checking the proposal and the merge with the
    /// verifier exactly as peers will; with `push`, pushes it as a fast-forward of the shared
    /// branch (made again on the new tip when another push came first), then syncs to see it.
    /// With `expectedTip`, only that exact proposal tip is merged (what a reviewer approved on a
    /// forge): a branch that moved since is refused (exit 6), so nothing unapproved rides along.
    /// docs/TRUST.md § Review mode.
    public func reviewMerge(principal: String, push: Bool, expectedTip: String? = nil, store name: String?, options: ReviewOptions) throws(SFGitError) -> ReviewMergeReport {
        guard Principal.isValid(principal) else { throw SFGitError(.usage, "'\(principal)' is not a principal (author@host, lower-case)") }
        let expected = expectedTip?.lowercased()
        // At least the 12 digits review list prints: a shorter prefix is cheap to grind a
        // second commit for, which is what --expect-tip guards against.
        if let expected, !(12...40).contains(expected.count) || !expected.allSatisfy(\.isHexDigit) {
            throw SFGitError(.usage, "--expect-tip '\(expected)' is not a commit id (12 to 40 hex digits; review list prints 12, --json the full id)")
        }
        let store = try self.store(named: name)
        let me = try identity.requirePrincipal()
        let signer = try self.signer()
        for attempt in 1...max(1, options.pushAttempts) {
            // The store's sync lock is held from the fetch of the proposals to the push.
            var (stale, lock) = try refreshForReview(store, options: options)
            if let stale { throw SFGitError(.degraded, "cannot merge without the remote's current branches: \(stale)") }
            let outcome = try workflow { () throws -> (ReviewMergeReport, RemoteResponse?) in
                let repository = try store.openRepository()
                guard let verified = try repository.reference(Store.verifiedRef) else {
                    throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
                }
                let policy = try self.policy(repository, at: verified)
                guard !policy.roles(of: me).isDisjoint(with: [.review, .admin]) else {
                    throw SFGitError(.usage, "\(me) has neither the review nor the admin role in store \(store.name): peers refuse merges signed by its key")
                }
                guard let tip = try proposalRefs(repository).first(where: { $0.owner == principal })?.tip else {
                    throw SFGitError(.notFound, "no open proposal sfgit/proposals/\(principal) in store \(store.name)")
                }
                if let expected, !tip.hex.hasPrefix(expected) {
                    throw SFGitError(.conflict, "sfgit/proposals/\(principal) is at \(tip.short()), not at the approved \(expected.prefix(12)): it moved since it was approved; not merged")
                }
                var report = ReviewMergeReport(store: store.name, principal: principal, state: "already_merged", proposalTip: tip.hex,
                                               sharedTip: verified.hex, memories: [], pushed: false)
                if try tip == verified || repository.isDescendant(verified, of: tip) { return (report, nil) }
                guard let proposal = try examine(store, repository, owner: principal, tip: tip, verified: verified, bodies: false) else {
                    return (report, nil)
                }
                report.memories = proposal.memories
                if let blocked = proposal.check.blocked {
                    throw SFGitError(.untrusted, "sfgit/proposals/\(principal) holds commit \(blocked.commit.prefix(12)), which peers refuse (\(blocked.status): \(blocked.reason)); not merged")
                }
                if let file = proposal.check.quarantined.first {
                    throw SFGitError(.invalid, "sfgit/proposals/\(principal) adds \(file.path), which peers quarantine (\(file.reason): \(file.detail)); not merged")
                }
                if let removal = proposal.check.resetRemoved.first {
                    throw SFGitError(.invalid, "sfgit/proposals/\(principal) adds \(removal.path), which the reset statement \(removal.statement.prefix(12)) removed from the store; "
                        + "not merged (its writer remembers it anew if it still holds)")
                }
                guard let tree = try repository.cleanMergeTree(verified, tip) else {
                    throw SFGitError(.conflict, "sfgit/proposals/\(principal) does not merge cleanly into \(policy.branch); not merged")
                }
                let message = "sfgit: review merge of sfgit/proposals/\(principal) by \(me)\n\nMerge-Proposal: sfgit/proposals/\(principal) \(tip.hex)\n"
                let merge = try SignedCommitWriter(repository: repository, signer: signer)
                    .commit(tree: tree, parents: [verified, tip], author: Outbox.signature(me), message: message)
                // The merge is judged as every peer will judge it, review rule included.
                let judged = try Verifier(repository: repository, introduction: try store.introduction()).verify(from: verified, to: merge)
                if let refused = judged.blocked {
                    throw SFGitError(.untrusted, "peers would refuse this merge (commit \(refused.commit.short()) \(refused.status.rawValue): \(refused.reason)); not merged")
                }
                report.commit = merge.hex
                report.state = "checked"
                guard push else { return (report, nil) }
                try repository.setReference(Store.reviewMergeRef, to: merge, message: "sfgit: review merge")
                defer { try? repository.deleteReference(Store.reviewMergeRef) }
                // Never a force push: the merge's first parent is the shared branch's verified tip.
                let response = runRemote(.push, store, refspecs: ["\(Store.reviewMergeRef):refs/heads/\(policy.branch)"], timeout: options.timeout,
                                         credentials: remoteCredentials(for: store))
                if response.succeeded { report.state = "merged"; report.pushed = true }
                return (report, response)
            }
            // Released before the confirming sync, which takes the lock itself.
            withExtendedLifetime(lock) {}
            lock = nil
            var report = outcome.0
            guard let response = outcome.1, !response.succeeded else {
                if report.pushed { try confirmMerge(store, &report, options: options) }
                return report
            }
            let server = response.serverMessages.trimmingCharacters(in: .whitespacesAndNewlines)
            let why = (response.failure ?? "push refused") + (server.isEmpty ? "" : " (\(server))")
            guard response.lostRace, attempt < options.pushAttempts else {
                let moving = response.lostRace ? "; the shared branch moved during each of \(attempt) attempts, run it again" : ""
                throw SFGitError(.degraded, "the merge \(report.commit?.prefix(12) ?? "") is verified but the remote refused the push: \(why)\(moving)")
            }
            usleep(useconds_t.random(in: 20_000...120_000) * useconds_t(attempt))
        }
        // Not reached: the last attempt's refusal is thrown above, with the server's words.
        throw SFGitError(.degraded, "the shared branch kept moving; the merge was not pushed")
    }

    /// Syncs (without pushing this host's outbox) and checks the shared branch now holds the merge.
    private func confirmMerge(_ store: Store, _ report: inout ReviewMergeReport, options: ReviewOptions) throws(SFGitError) {
        var sync = SyncOptions()
        sync.noPush = true
        sync.timeout = options.timeout
        sync.wait = max(options.wait, 30)
        let result = try self.sync(store: store.name, options: sync).first
        guard let commit = report.commit, let verified = result?.verifiedTip else { return }
        let seen = try workflow { () throws -> Bool in
            let repository = try store.openRepository()
            guard let merge = ObjectID(hex: commit), let tip = ObjectID(hex: verified) else { return false }
            return try tip == merge || repository.isDescendant(tip, of: merge)
        }
        if !seen {
            throw SFGitError(.degraded, "the remote accepted the merge \(commit.prefix(12)) but this host's sync does not show it on the shared branch yet (\(result?.result.rawValue ?? "?"))")
        }
    }

    /// Brings the verified tip up to date (a sync that pushes nothing) and fetches every proposal
    /// branch into `refs/sfgit/review/`; returns why that could not be done (nil: done) and the
    /// store's sync lock, taken for the proposals' fetch, for a merge to hold until it has pushed.
    private func refreshForReview(_ store: Store, options: ReviewOptions) throws(SFGitError) -> (stale: String?, lock: StoreLock?) {
        var sync = SyncOptions()
        sync.noPush = true
        sync.timeout = options.timeout
        sync.wait = options.wait
        let synced = try self.sync(store: store.name, options: sync)
        guard let result = synced.first else { return ("no store", nil) }
        switch result.result {
        case .untrusted:
            throw SFGitError(.untrusted, "the shared branch failed verification: \(result.blocked?.reason ?? "see sfgit status"); nothing to review against")
        case .busy:
            throw SFGitError(.busy, "another sync holds the lock of store \(store.name)")
        default: break
        }
        if let failed = result.warnings.first(where: { $0.code == "FETCH_FAILED" || $0.code == "FETCH_TIMEOUT" }) {
            return ("the fetch failed: \(failed.message)", nil)
        }
        return try workflow { () throws -> (String?, StoreLock?) in
            guard let lock = try StoreLock.acquire(store.lockPath, wait: max(options.wait, 30)) else {
                throw SFGitError(.busy, "another sync holds the lock of store \(store.name)")
            }
            let repository = try store.openRepository()
            // The remote may have deleted merged branches: only what this fetch brings is listed.
            for ref in try repository.references(matching: Store.reviewPrefix + "*") { try repository.deleteReference(ref.name) }
            let response = runRemote(.fetch, store, refspecs: ["+refs/heads/sfgit/proposals/*:\(Store.reviewPrefix)*"], timeout: options.timeout,
                                     credentials: remoteCredentials(for: store))
            return (response.failure.map { "the fetch of the proposal branches failed: \($0)" }, lock)
        }
    }

    /// The fetched proposal branches whose name is a principal, in name order.
    private func proposalRefs(_ repository: Repository) throws -> [(owner: String, tip: ObjectID)] {
        try repository.references(matching: Store.reviewPrefix + "*").compactMap { ref in
            let owner = String(ref.name.dropFirst(Store.reviewPrefix.count))
            return Principal.isValid(owner) ? (owner, ref.id) : nil
        }.sorted { $0.owner < $1.owner }
    }

    /// One proposal judged as `verify --proposal` judges it, from where it leaves the shared
    /// branch; nil when the shared branch already has all of it.
    private func examine(_ store: Store, _ repository: Repository, owner: String, tip: ObjectID, verified: ObjectID, bodies: Bool) throws -> Proposal? {
        if tip == verified { return nil }
        // Objects a remote sent are size-checked from their headers before libgit2 reads them whole.
        var checked = 0
        if let problem = try repository.checkCommitHeaders(from: tip, known: verified, maxCommitBytes: Policy.objectBytesCeiling, checked: &checked) {
            // Not kept under a reference: every later fetch's negotiation would read it whole.
            try? repository.deleteReference(Store.reviewPrefix + owner)
            let blocked = VerifyReport.Blocked(reason: problem.reason, commit: problem.id.hex, status: CommitStatus.malformed.rawValue, principal: nil, key: nil)
            return Proposal(principal: owner, branch: "sfgit/proposals/\(owner)", tip: tip.hex, commits: 0, memories: [],
                            check: ProposalCheck(result: "untrusted", blocked: blocked, quarantined: [], foreignCommits: [], mergesCleanly: false))
        }
        if try repository.isDescendant(verified, of: tip) { return nil }
        let base = try repository.mergeBase(tip, verified)
        let commits = try repository.commits(from: [tip], excluding: [verified])
        let result = try Verifier(repository: repository, introduction: try store.introduction(),
                                  options: .init(enforceReviewMode: false, keepParsedMemories: 10_000)).verify(from: base, to: tip)
        let onBranch = Set(commits)
        let memories: [ProposalMemory] = result.accepted.filter { onBranch.contains($0.commit) }.compactMap { accepted in
            guard let memory = accepted.memory else { return nil }
            return ProposalMemory(id: memory.id.description, kind: memory.kind.name, path: accepted.path, title: memory.body.title,
                                  body: bodies ? memory.body.body : nil, tags: memory.frontMatter.tags, author: memory.frontMatter.principal,
                                  recordedAt: memory.frontMatter.recordedAt.text, signer: accepted.principal, key: accepted.key, commit: accepted.commit.hex)
        }
        let blocked = result.blocked.map {
            VerifyReport.Blocked(reason: ForgeMergeHint.reason($0, repository), commit: $0.commit.hex, status: $0.status.rawValue, principal: $0.principal, key: $0.key)
        }
        let quarantined = result.quarantined.filter { onBranch.contains($0.commit) }.map {
            VerifyReport.QuarantinedFile(path: $0.path, reason: $0.reason.rawValue, commit: $0.commit.hex, blob: $0.blob.hex, detail: $0.detail)
        }
        let foreign = result.outcomes.filter { onBranch.contains($0.commit) && $0.isGood && $0.principal != owner }.map(\.commit.hex)
        let clean = blocked == nil ? try repository.cleanMergeTree(verified, tip) != nil : false
        let removed = try ResetStatement.removedMemories(in: repository, verified: verified, since: base)
        let resetRemoved = memories.compactMap { memory in removed[memory.path].map { ProposalCheck.ResetRemoval(path: memory.path, statement: $0.hex) } }
        let check = ProposalCheck(result: blocked != nil ? "untrusted" : quarantined.isEmpty && resetRemoved.isEmpty ? "ok" : "invalid",
                                  blocked: blocked, quarantined: quarantined, foreignCommits: foreign, mergesCleanly: clean, resetRemoved: resetRemoved)
        var files: [ProposalFile] = []
        var baseTree: ObjectID?
        if let base { baseTree = try repository.commit(base).treeID }
        for change in try repository.diffTrees(baseTree, try repository.commit(tip).treeID) where !change.path.hasPrefix("memories/") {
            var file = ProposalFile(path: change.path, change: "\(change.kind)")
            if bodies {
                let old = try change.old.map { try repository.blob($0.id) } ?? []
                let new = try change.new.map { try repository.blob($0.id) } ?? []
                file.diff = LineDiff.lines(from: String(decoding: old, as: UTF8.self), to: String(decoding: new, as: UTF8.self))
            }
            files.append(file)
        }
        return Proposal(principal: owner, branch: "sfgit/proposals/\(owner)", tip: tip.hex, commits: commits.count, memories: memories, files: files, check: check)
    }
}

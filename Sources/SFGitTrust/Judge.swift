import SFGitMemory
import SFGitRepository

/// Pass 3 of the verifier: decides each commit, parents first, from the facts and checks.
struct Judge {
    let repository: Repository
    let introduction: Introduction
    /// Parsed trust state, shared with pass 1 (which reads on the same thread).
    var context: Context
    /// The commits of this run.
    let walked: Set<ObjectID>
    /// The tree of each commit read so far (pass 1 fills it, parents first).
    var trees: [ObjectID: ObjectID] = [:]
    /// Where each accepted memory goes, parsed, as soon as its commit is judged (optional).
    var sink: ((AcceptedMemory) -> Void)?
    /// The latest committer time accepted (the verifying host's clock plus the allowed skew).
    var latestCommitTime = Int64.max
    /// The fetched tip's first-parent chain: where each accepted memory arrives.
    var history: HistoryChain?
    /// History already verified before this run (hidden from the walk): trusted as a parent.
    var trustedHistory: ObjectID?
    /// Commits on the tip's first-parent chain (review mode applies to them).
    var firstParentChain: [ObjectID] = [] {
        didSet { firstParentSet = Set(firstParentChain) }
    }
    private var firstParentSet: Set<ObjectID> = []

    private(set) var good: Set<ObjectID> = []
    private(set) var failed: Set<ObjectID> = []
    private(set) var quarantined: [Quarantine] = []
    private(set) var accepted: [AcceptedMemory] = []
    /// For each merge refused for bringing a retired key's commits onto a branch, that branch's
    /// commit (the parent it joined).
    private(set) var retirementJoined: [ObjectID: ObjectID] = [:]
    /// Commits a reviewer's merge brought onto the checked branch.
    private var reviewedCommits: Set<ObjectID> = []
    private var signerOf: [ObjectID: (principal: String, key: SSHPublicKey)] = [:]
    private var acceptedIndexByCommit: [ObjectID: [Int]] = [:]

    init(verifier: Verifier, context: Context, walked: Set<ObjectID>) {
        self.repository = verifier.repository
        self.introduction = verifier.introduction
        self.context = context
        self.walked = walked
    }

    /// The outcome of one commit; its parents have been decided (or are trusted history).
    mutating func decide(_ fact: Verifier.CommitFacts, check: Verifier.Checked) throws(GitError) -> CommitOutcome {
        let outcome = try judge(fact, check: check)
        if outcome.isGood { good.insert(fact.id) } else { failed.insert(fact.id) }
        return outcome
    }

    /// One commit: docs/TRUST.md § Authorization from parent commits, with § Signer-chosen times
    /// for its date and § Review mode for the shared branch's first-parent chain.
    private mutating func judge(_ fact: Verifier.CommitFacts, check: Verifier.Checked) throws(GitError) -> CommitOutcome {
        let id = fact.id
        let parents = fact.info.parentIDs
        func outcome(_ status: CommitStatus, _ reason: String, principal: String? = nil, key: String? = nil) -> CommitOutcome {
            CommitOutcome(commit: id, status: status, principal: principal, key: key, reason: reason)
        }

        if let unreadable = fact.unreadable {
            return outcome(.malformed, unreadable)
        }
        if fact.info.committer.time > latestCommitTime {
            return outcome(.futureDated, "the commit is dated \(Timestamp(secondsSinceEpoch: fact.info.committer.time)), later than this host's clock allows (skew \(Verifier.allowedClockSkew / 60) minutes); it is judged again once that time has come")
        }
        if id == introduction.commit { return try judgeIntroduction(fact, check: check) }

        // Structure: one or two parents, all of them authentic.
        if parents.isEmpty {
            return outcome(.malformed, "a second root commit: all history must descend from the introduction")
        }
        if parents.count > 2 {
            return outcome(.malformed, "an octopus merge of \(parents.count) parents; at most two are allowed")
        }
        for parent in parents where !isTrusted(parent) {
            return outcome(.untrustedParent, "parent \(parent.short()) is not authentic")
        }

        // The signature (checked in pass 2).
        let signature: SSHSignature
        switch check.signature {
        case .failure(.unsigned): return outcome(.unsigned, "the commit is not signed")
        case .failure(.invalid(let why)): return outcome(.badSignature, why)
        case .success(let parsed): signature = parsed
        }
        let key = signature.publicKey
        let fingerprint = key.fingerprint

        // The key must belong to the same principal in every parent's allowed_signers.
        var states: [TrustState] = []
        for parent in parents {
            let state = try context.state(ofTree: try treeOf(parent))
            if state.unsupportedVersion {
                return outcome(.unsupportedPolicy, state.problem ?? "unsupported policy", key: fingerprint)
            }
            guard state.problem == nil, state.policy != nil, state.signers != nil else {
                return outcome(.forbiddenChange, "parent \(parent.short()) has no usable trust state: \(state.problem ?? "")", key: fingerprint)
            }
            states.append(state)
        }
        var principal: String?
        for (index, state) in states.enumerated() {
            guard let entry = state.signers!.entry(for: key) else {
                return outcome(.unknownKey, "key \(fingerprint) is not in .sfgit/allowed_signers of parent \(parents[index].short())", key: fingerprint)
            }
            if let known = principal, known != entry.principal {
                return outcome(.unknownKey, "key \(fingerprint) belongs to '\(known)' in one parent and '\(entry.principal)' in another", key: fingerprint)
            }
            principal = entry.principal
        }
        let signer = principal!
        // A key a parent's policy revokes signs nothing there, even if a hostile admin left it listed.
        for (index, state) in states.enumerated() {
            if let revocation = state.policy!.revocation(of: fingerprint), try !Self.precedes(id, revocation, repository) {
                return outcome(.unauthorized, "key \(fingerprint) of '\(signer)' is revoked in parent \(parents[index].short())", principal: signer, key: fingerprint)
            }
        }
        let rolesInAllParents = states.map { $0.policy!.roles(of: signer) }.reduce(Set(Policy.Role.allCases)) { $0.intersection($1) }
        signerOf[id] = (signer, key)

        if parents.count == 2 {
            return try judgeMerge(fact, signer: signer, key: key, roles: rolesInAllParents, parentStates: (states[0], states[1]))
        }

        // Review mode: the shared branch's first-parent chain takes only reviewer and admin commits.
        if firstParentSet.contains(id), states[0].policy!.mode == .review,
           rolesInAllParents.isDisjoint(with: [.review, .admin]) {
            return outcome(.unauthorized, "in review mode only review and admin keys commit to the shared branch; '\(signer)' must propose through a merge", principal: signer, key: fingerprint)
        }

        // Every change must be one this principal's roles allow.
        let policy = states[0].policy!
        var addedMemories: [(path: String, entry: TreeEntry)] = []
        var touchesTrust = false
        for change in fact.changes {
            switch Self.classify(change) {
            case .forbidden(let why):
                return outcome(.forbiddenChange, why, principal: signer, key: fingerprint)
            case .memoryAdded:
                guard !rolesInAllParents.isDisjoint(with: [.write, .admin]) else {
                    return outcome(.unauthorized, "'\(signer)' may not add memories (needs the write role): \(change.path)", principal: signer, key: fingerprint)
                }
                addedMemories.append((change.path, change.new!))
            case .adminOnly:
                guard rolesInAllParents.contains(.admin) else {
                    return outcome(.unauthorized, "only admin may change \(change.path); '\(signer)' has \(Self.describe(rolesInAllParents))", principal: signer, key: fingerprint)
                }
                if change.path.hasPrefix(".sfgit/") { touchesTrust = true }
            }
        }
        if touchesTrust {
            let newState = try context.state(ofTree: fact.info.treeID)
            if newState.unsupportedVersion {
                return outcome(.unsupportedPolicy, newState.problem ?? "unsupported policy version; upgrade sfgit", principal: signer, key: fingerprint)
            }
            if let problem = newState.problem {
                return outcome(.forbiddenChange, "the change leaves an invalid trust state: \(problem)", principal: signer, key: fingerprint)
            }
        }
        try quarantineAndAccept(fact, check: check, added: addedMemories, signer: signer, key: key, policy: policy,
                                mayWithdrawAny: !rolesInAllParents.isDisjoint(with: [.admin, .review]))
        return outcome(.good, "", principal: signer, key: fingerprint)
    }

    /// The introduction: a root commit signed by the pinned key, which its own policy makes admin.
    /// docs/TRUST.md § Pinned introduction.
    private mutating func judgeIntroduction(_ fact: Verifier.CommitFacts, check: Verifier.Checked) throws(GitError) -> CommitOutcome {
        let id = fact.id
        func outcome(_ status: CommitStatus, _ reason: String, principal: String? = nil, key: String? = nil) -> CommitOutcome {
            CommitOutcome(commit: id, status: status, principal: principal, key: key, reason: reason)
        }
        guard fact.info.parentIDs.isEmpty else {
            return outcome(.malformed, "the introduction must be a root commit")
        }
        let signature: SSHSignature
        switch check.signature {
        case .failure(.unsigned): return outcome(.unsigned, "the introduction is not signed")
        case .failure(.invalid(let why)): return outcome(.badSignature, why)
        case .success(let parsed): signature = parsed
        }
        let fingerprint = signature.publicKey.fingerprint
        guard fingerprint == introduction.signer else {
            return outcome(.unknownKey, "the introduction is signed by \(fingerprint), not the pinned \(introduction.signer)", key: fingerprint)
        }
        let state = try context.state(ofTree: fact.info.treeID)
        if state.unsupportedVersion {
            return outcome(.unsupportedPolicy, state.problem ?? "unsupported policy version; upgrade sfgit", key: fingerprint)
        }
        guard state.problem == nil, let policy = state.policy, let signers = state.signers else {
            return outcome(.forbiddenChange, "the introduction has no usable trust state: \(state.problem ?? "")", key: fingerprint)
        }
        guard let entry = signers.entry(for: signature.publicKey), policy.roles(of: entry.principal).contains(.admin) else {
            return outcome(.unauthorized, "the introduction's policy does not make its signing key admin", key: fingerprint)
        }
        var added: [(String, TreeEntry)] = []
        for change in fact.changes {
            switch Self.classify(change) {
            case .forbidden(let why): return outcome(.forbiddenChange, why, principal: entry.principal, key: fingerprint)
            case .memoryAdded: added.append((change.path, change.new!))
            case .adminOnly: break
            }
        }
        signerOf[id] = (entry.principal, signature.publicKey)
        try quarantineAndAccept(fact, check: check, added: added, signer: entry.principal, key: signature.publicKey, policy: policy, mayWithdrawAny: true)
        return outcome(.good, "", principal: entry.principal, key: fingerprint)
    }

    /// A merge: signed by review or admin in both parents, its tree exactly the clean re-merge of
    /// the parents, and every commit it brings in signed by a key the first parent still trusts.
    /// docs/TRUST.md § Merges.
    private mutating func judgeMerge(
        _ fact: Verifier.CommitFacts, signer: String, key: SSHPublicKey, roles: Set<Policy.Role>, parentStates: (TrustState, TrustState)
    ) throws(GitError) -> CommitOutcome {
        let id = fact.id
        let fingerprint = key.fingerprint
        func outcome(_ status: CommitStatus, _ reason: String) -> CommitOutcome {
            CommitOutcome(commit: id, status: status, principal: signer, key: fingerprint, reason: reason)
        }
        guard !roles.isDisjoint(with: [.review, .admin]) else {
            return outcome(.unauthorized, "merges need a review or admin key; '\(signer)' has \(Self.describe(roles))")
        }
        let (first, second) = (fact.info.parentIDs[0], fact.info.parentIDs[1])
        guard let clean = try repository.cleanMergeTree(first, second) else {
            return outcome(.forbiddenChange, "the parents do not merge cleanly, so the merge's tree cannot be checked")
        }
        guard clean == fact.info.treeID else {
            return outcome(.forbiddenChange, "the merge's tree differs from a clean merge of its parents (content smuggled into a merge)")
        }
        // Trust files changed on both sides merge into a trust state that no admin commit signed
        // (a key added on one side, a role on the other): only an admin may make that merge, and
        // the state must be usable. Otherwise the merge keeps one parent's, judged already.
        // docs/TRUST.md § Merges.
        let trustDirectory = try repository.entry(at: ".sfgit", inTree: fact.info.treeID)?.id
        if try trustDirectory != repository.entry(at: ".sfgit", inTree: try treeOf(first))?.id,
           try trustDirectory != repository.entry(at: ".sfgit", inTree: try treeOf(second))?.id {
            guard roles.contains(.admin) else {
                return outcome(.unauthorized, "the merge combines trust-file changes from both parents into a trust state no admin signed; only an admin may merge it, and '\(signer)' has \(Self.describe(roles))")
            }
            let merged = try context.state(ofTree: fact.info.treeID)
            if merged.unsupportedVersion {
                return outcome(.unsupportedPolicy, merged.problem ?? "unsupported policy version; upgrade sfgit")
            }
            if let problem = merged.problem {
                return outcome(.forbiddenChange, "the merge leaves an invalid trust state: \(problem)")
            }
        }
        // A key retired on the branch a commit joins must not come back through a stale branch,
        // whichever parent order the merge uses: each side's new commits are judged against the
        // other side's trust state.
        let base = try repository.mergeBase(first, second)
        let baseState = try context.state(ofTree: try base.map { (commit) throws(GitError) in try treeOf(commit) })
        var broughtIn: [ObjectID] = []
        for (side, joined, joinedState) in [(second, first, parentStates.0), (first, second, parentStates.1)] {
            let commits = try repository.commits(from: [side], excluding: [joined])
            if side == second { broughtIn = commits }
            for commit in commits {
                guard let sideSigner = signerOf[commit] else { continue }  // verified before this run: trusted
                // A key the joined branch revokes: nothing it signed outside the history it still
                // vouches for comes in, whichever side, whenever the key was granted.
                if let revocation = joinedState.policy?.revocation(of: sideSigner.key.fingerprint), try !Self.precedes(commit, revocation, repository) {
                    retirementJoined[id] = joined
                    return outcome(.unauthorized, "the merge brings \(commit.short()) into \(joined.short())'s history, but \(joined.short()) revokes key \(sideSigner.key.fingerprint) of '\(sideSigner.principal)'\(revocation.since.map { " after \(String($0.prefix(12)))" } ?? "") (revoked key)")
                }
                if let why = Self.retirement(of: sideSigner.principal, key: sideSigner.key, joining: joinedState, since: baseState) {
                    retirementJoined[id] = joined
                    return outcome(.unauthorized, "the merge brings \(commit.short()) into \(joined.short())'s history, but \(why) (retired key on a stale branch)")
                }
            }
        }
        if firstParentSet.contains(id) {
            for commit in broughtIn { markReviewed(commit) }
        }
        return outcome(.good, "")
    }

    /// Why a commit signed by `key` as `principal` may not join a branch whose trust state is
    /// `joined`, given the state where the two branches forked; nil when it may. A key or role
    /// that the fork point granted and the joined branch has since taken away is retired there.
    /// A key the fork point did not know was granted on the commit's own side, by an admin
    /// commit that comes along (and is judged the same way).
    /// docs/TRUST.md § Retire vs revoke.
    static func retirement(of principal: String, key: SSHPublicKey, joining joined: TrustState, since base: TrustState) -> String? {
        let knownAtFork = base.signers?.entry(for: key)?.principal == principal
            && !(base.policy?.roles(of: principal).isEmpty ?? true)
        guard knownAtFork else { return nil }
        guard let entry = joined.signers?.entry(for: key), entry.principal == principal else {
            return "\(key.fingerprint) of '\(principal)' is no longer listed there"
        }
        if joined.policy?.roles(of: principal).isEmpty ?? true {
            return "'\(principal)' no longer has a role there"
        }
        return nil
    }

    static func precedes(_ commit: ObjectID, _ revocation: Policy.Revocation, _ repository: Repository) throws(GitError) -> Bool {
        try revocation.vouches(for: commit, in: repository)
    }

    private mutating func markReviewed(_ commit: ObjectID) {
        guard reviewedCommits.insert(commit).inserted else { return }
        for index in acceptedIndexByCommit[commit] ?? [] { accepted[index].reviewed = true }
    }

    // MARK: - Files inside authentic commits

    /// The added files of an authentic commit: a bad one is quarantined alone (docs/TRUST.md
    /// § Quarantine, § Signer is author, § Signer-chosen times).
    private mutating func quarantineAndAccept(
        _ fact: Verifier.CommitFacts, check: Verifier.Checked, added: [(path: String, entry: TreeEntry)],
        signer: String, key: SSHPublicKey, policy: Policy, mayWithdrawAny: Bool
    ) throws(GitError) {
        var idsInCommit: [String: String] = [:]
        for (index, file) in added.enumerated() {
            func quarantine(_ reason: QuarantineReason, _ detail: String) {
                quarantined.append(Quarantine(path: file.path, blob: file.entry.id, commit: fact.id, reason: reason, detail: detail))
            }
            if index >= policy.maxFilesPerCommit {
                quarantine(.overCommitCap, "the commit adds \(added.count) memory files; the policy allows \(policy.maxFilesPerCommit) per commit")
                continue
            }
            if let size = fact.oversized[file.path] {
                quarantine(.oversize, "\(size) bytes, over the policy's max_file_bytes of \(policy.maxFileBytes)")
                continue
            }
            guard let parsed = check.memories[file.path] else { continue }
            let memory: Verifier.MemoryIdentity
            switch parsed {
            case .failure(let error):
                let first = error.problems.first
                quarantine(.unparsable, first.map { "\($0.position): \($0.message)" } ?? "invalid memory file")
                continue
            case .success(let value):
                memory = value
            }
            if memory.recordedAt > fact.info.committer.time + Verifier.allowedClockSkew {
                quarantine(.futureRecordedAt, "recorded_at \(Timestamp(secondsSinceEpoch: memory.recordedAt)) is later than the commit that adds it (\(Timestamp(secondsSinceEpoch: fact.info.committer.time)), skew \(Verifier.allowedClockSkew / 60) minutes allowed)")
                continue
            }
            if memory.principal != signer {
                quarantine(.provenanceMismatch, "the front matter names '\(memory.principal)' but the commit is signed by '\(signer)'")
                continue
            }
            let idText = memory.id.description
            if let other = idsInCommit[idText] {
                quarantine(.duplicateID, "id \(idText) is also added at \(other) in the same commit")
                continue
            }
            // The reader looked this up in the parent's tree; a parsed file's path is its id's.
            if let other = fact.sameNameElsewhere[file.path] ?? nil {
                quarantine(.duplicateID, "id \(idText) already exists at \(other)")
                continue
            }
            idsInCommit[idText] = file.path
            acceptedIndexByCommit[fact.id, default: []].append(accepted.count)
            var memoryFile = AcceptedMemory(
                path: file.path, blob: file.entry.id, commit: fact.id, principal: signer, key: key.fingerprint,
                reviewed: reviewedCommits.contains(fact.id), mayWithdrawAny: mayWithdrawAny,
                arrival: history?.arrival(of: fact.id), quotaPerDay: policy.quotaPerDay(of: signer), memory: memory.memory)
            if let sink {
                sink(memoryFile)
                memoryFile.memory = nil  // the consumer has it; a whole store's memories never pile up here
            }
            accepted.append(memoryFile)
        }
    }

    // MARK: - Helpers

    /// Whether a commit is authentic: judged good in this run, or verified before it.
    func isTrusted(_ commit: ObjectID) -> Bool {
        if good.contains(commit) { return true }
        if failed.contains(commit) { return false }
        // Not walked in this run: it is part of the history verified before (hidden by the walk).
        return !walked.contains(commit) && trustedHistory != nil
    }

    private func treeOf(_ commit: ObjectID) throws(GitError) -> ObjectID {
        if let tree = trees[commit] { return tree }
        return try repository.commit(commit).treeID
    }

    static func describe(_ roles: Set<Policy.Role>) -> String {
        roles.isEmpty ? "no role" : "roles " + roles.sorted().map(\.rawValue).joined(separator: ", ")
    }

    enum ChangeClass {
        case memoryAdded
        case adminOnly
        case forbidden(String)
    }

    /// What a file change is (docs/TRUST.md § Authorization from parent commits).
    static func classify(_ change: TreeChange) -> ChangeClass {
        let mode = (change.new ?? change.old)!.mode
        if let new = change.new, new.mode != .blob {
            switch new.mode {
            case .symlink: return .forbidden("\(change.path) is a symbolic link; only regular files are allowed")
            case .submodule: return .forbidden("\(change.path) is a submodule; only regular files are allowed")
            case .executable: return .forbidden("\(change.path) is executable; only mode 100644 files are allowed")
            default: return .forbidden("\(change.path) has mode \(String(mode.rawValue, radix: 8)); only mode 100644 files are allowed")
            }
        }
        switch StoreEntry.classify(change.path) {
        case .memory:
            switch change.kind {
            case .added: return .memoryAdded
            case .modified: return .forbidden("\(change.path) modifies an existing memory; memories are append-only")
            case .deleted: return .forbidden("\(change.path) deletes a memory; memories are append-only (use a retraction)")
            }
        case .policy, .allowedSigners:
            if change.kind == .deleted { return .forbidden("\(change.path) may be edited by an admin, never deleted") }
            return .adminOnly
        case .readme, .forgeConfiguration:
            return .adminOnly
        case .invalid(let problem):
            return .forbidden("\(change.path): \(problem.message)")
        }
    }
}

extension Policy.Revocation {
    /// Whether `commit` lies in the history this revocation still vouches for: its `since` commit
    /// and that commit's ancestors (none without one). The verifier refuses the key's other
    /// commits; hosts serve the memories of the ones it vouches for.
    /// docs/TRUST.md § Retire vs revoke.
    public func vouches(for commit: ObjectID, in repository: Repository) throws(GitError) -> Bool {
        guard let since, let point = ObjectID(hex: since) else { return false }
        if commit == point { return true }
        guard repository.contains(point) else { return false }
        return try repository.isDescendant(point, of: commit)
    }
}

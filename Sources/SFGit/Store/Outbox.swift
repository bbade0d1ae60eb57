import Foundation
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// A pending memory that the shared branch cannot take: its path already holds another file,
/// or the same file signed by someone else (a remote that re-committed it under another key).
/// The commit is held on `refs/sfgit/held/<commit>`, never lost, never counted as published.
public struct OutboxConflict: Sendable, Codable, Hashable {
    /// The memory's path.
    public var path: String
    /// Why it cannot be published.
    public var reason: String
    /// This host's held commit.
    public var commit: String
}

/// What the shared branch holds at a path, as the verified cache saw it.
enum SharedFile {
    /// Served: accepted from a commit signed by `signer`.
    case served(signer: String, blob: String)
    /// Present on the branch but quarantined by every peer.
    case quarantined(reason: String, detail: String)
}

/// This host's signed commits that are not on the shared branch yet (`refs/sfgit/outbox`).
/// `remember`, `retract` and `trust` append to it; `sync` replays it onto the newest verified
/// tip and publishes it. Updates are compare-and-swap, so `remember` never needs the sync lock.
/// docs/TRUST.md § Publishing own memories.
struct Outbox {
    let repository: Repository

    /// The outbox's commits not yet in the verified history, parents first.
    func pending(verified: ObjectID?) throws(GitError) -> [ObjectID] {
        guard let tip = try repository.reference(Store.outboxRef) else { return [] }
        return try repository.commits(from: [tip], excluding: verified.map { [$0] } ?? [])
    }

    /// The commits held back as outbox conflicts, oldest name first.
    func held() throws(GitError) -> [ObjectID] {
        try repository.references(matching: Store.heldPrefix + "*").map(\.id)
    }

    /// Everything this host wrote that is not on the shared branch: the outbox and the held.
    func unpublished(verified: ObjectID?) throws(GitError) -> [ObjectID] {
        try pending(verified: verified) + held()
    }

    /// Moves the outbox to the verified tip once all of it is there (published, or merged from a
    /// proposal), so that new writes start from the shared branch. Compare-and-swap: a write
    /// that lands meanwhile keeps the outbox as it is.
    func settle(verified: ObjectID) throws(GitError) {
        guard let tip = try repository.reference(Store.outboxRef), tip != verified,
              try repository.isDescendant(verified, of: tip) else { return }
        _ = try moveOutbox(to: verified, expected: tip, message: "sfgit: outbox published")
    }

    /// Appends one signed commit applying `updates` to the outbox (or, when empty, to the
    /// verified tip); retries when a concurrent writer moved the outbox first. The key's path
    /// is recorded for `principal`, so that a later replay re-signs as the same principal.
    func append(_ updates: [Repository.TreeUpdate], message: String, principal: String, signer: any CommitSigner,
                keyPath: String, verified: ObjectID?) throws -> ObjectID {
        try recordKey(keyPath, for: principal)
        for _ in 0..<20 {
            let current = try repository.reference(Store.outboxRef)
            guard let base = current ?? verified else {
                throw SFGitError(.usage, "the store has no verified history yet: run sfgit sync first")
            }
            let baseTree = try repository.commit(base).treeID
            let tree = try repository.updateTree(baseTree, updates)
            let commit = try SignedCommitWriter(repository: repository, signer: signer)
                .commit(tree: tree, parents: [base], author: Self.signature(principal), message: message)
            // Another writer may have appended first: then rebuild on its commit.
            if try moveOutbox(to: commit, expected: current, message: "sfgit: \(message)") { return commit }
        }
        throw SFGitError(.busy, "the outbox kept changing under this write; try again")
    }

    /// The key file recorded for a principal's outbox commits, if any.
    func recordedKey(for principal: String) throws(GitError) -> String? {
        try repository.configValue(Self.keyConfigName(principal))
    }

    private func recordKey(_ path: String, for principal: String) throws(GitError) {
        if try recordedKey(for: principal) != path { try repository.setConfigValue(Self.keyConfigName(principal), path) }
    }

    private static func keyConfigName(_ principal: String) -> String { "sfgit-signer.\(principal).key" }

    /// What replaying did.
    enum Replay: Equatable {
        /// Nothing pending.
        case empty
        /// The pending commits, now on top of the base, ending at `tip`.
        case ready(tip: ObjectID, commits: Int)
        /// A pending change to a trust file no longer applies (it changed meanwhile); needs a human.
        case conflict(String)
    }

    /// Rebuilds the pending commits (the outbox's, less those reachable from `excluding`) on top
    /// of `base`. A memory that has arrived on the shared branch (`shared`, the verified tip's
    /// tree as the cache saw it) as the same file signed by the commit's own principal is
    /// dropped; one whose path the shared branch holds otherwise is held back with its commit
    /// (`refs/sfgit/held/`). The rest are re-signed (they were never published, so their ids may
    /// change) with the key of the principal that wrote them (`signers`). A memory an admin's
    /// reset statement removed from the store (`removed`, by path) was published once and taken
    /// out: it is dropped, never published again, and `dropped` is told. The outbox ref is moved
    /// only if nobody appended meanwhile.
    func replay(onto base: ObjectID, excluding: [ObjectID], shared: (String) throws -> SharedFile?,
                signers: (String) throws -> (any CommitSigner)?, removed: [String: ObjectID] = [:],
                dropped: (_ path: String, _ statement: ObjectID) -> Void = { _, _ in }) throws -> Replay {
        guard let tip = try repository.reference(Store.outboxRef) else { return .empty }
        let pending = try repository.commits(from: [tip], excluding: excluding)
        if pending.isEmpty { return .empty }
        if removed.isEmpty, try repository.commit(pending[0]).parentIDs.first == base {
            return .ready(tip: tip, commits: pending.count)
        }
        var next = base
        var kept = 0
        for commitID in pending {
            let commit = try repository.commit(commitID)
            let principal = commit.author.name  // this host's own commits: written by `append`
            let parentTree = try commit.parentIDs.first.map { (id) throws(GitError) in try repository.commit(id).treeID }
            let baseTree = try repository.commit(next).treeID
            var updates: [Repository.TreeUpdate] = []
            var holdReason: String?
            for change in try repository.diffTrees(parentTree, commit.treeID) {
                let current = try repository.entry(at: change.path, inTree: baseTree)
                if change.path.hasPrefix("memories/"), change.kind == .added, let new = change.new {
                    if let statement = removed[change.path] {
                        dropped(change.path, statement)
                        continue
                    }
                    guard let current else {
                        updates.append(.upsert(path: change.path, id: new.id, mode: new.mode))
                        continue
                    }
                    if let reason = try Self.unpublishable(change.path, blob: new.id, principal: principal, current: current, shared: shared) {
                        holdReason = reason
                        break
                    }
                    continue  // the same file, accepted as this principal's: it arrived
                }
                if current?.id == change.new?.id { continue }  // already there: it arrived
                if current?.id != change.old?.id {
                    return .conflict("\(change.path) changed on the shared branch since this host's pending change to it (\(commit.message.split(separator: "\n").first ?? ""))")
                }
                if let new = change.new { updates.append(.upsert(path: change.path, id: new.id, mode: new.mode)) }
                else { updates.append(.remove(path: change.path)) }
            }
            if holdReason == nil, !updates.isEmpty, try signers(principal) == nil {
                holdReason = "no signing key for \(principal) to re-sign it with (it was written with --key; set that key again or sync as \(principal))"
            }
            if holdReason != nil {
                try repository.setReference(Store.heldPrefix + commitID.hex, to: commitID, message: "sfgit: held: \(holdReason!)")
                continue
            }
            if updates.isEmpty { continue }
            let tree = try repository.updateTree(baseTree, updates)
            var author = commit.author
            author.time = Int64(Date().timeIntervalSince1970)
            next = try SignedCommitWriter(repository: repository, signer: try signers(principal)!)
                .commit(tree: tree, parents: [next], author: author, message: commit.message)
            kept += 1
        }
        if kept == 0 {
            if try moveOutbox(to: base, expected: tip, message: "sfgit: outbox published") { return .empty }
            return try replay(onto: base, excluding: excluding, shared: shared, signers: signers, removed: removed, dropped: dropped)
        }
        if try !moveOutbox(to: next, expected: tip, message: "sfgit: outbox replayed onto \(base.short())") {
            return try replay(onto: base, excluding: excluding, shared: shared, signers: signers, removed: removed, dropped: dropped)  // a remember appended meanwhile
        }
        return .ready(tip: next, commits: kept)
    }

    /// Why a pending memory cannot be published because the shared branch holds `current` at
    /// its path; nil when that is the memory itself, accepted as `principal`'s.
    static func unpublishable(_ path: String, blob: ObjectID, principal: String, current: TreeEntry,
                                      shared: (String) throws -> SharedFile?) throws -> String? {
        guard current.id == blob else {
            return "the shared branch holds another file at \(path)"
        }
        switch try shared(path) {
        case .served(let signer, let servedBlob)? where servedBlob == blob.hex:
            return signer == principal ? nil : "the shared branch holds this file signed by \(signer), not by \(principal)"
        case .quarantined(let reason, let detail)?:
            return "the shared branch holds this file, but peers quarantine it (\(reason): \(detail))"
        default:
            return "the shared branch holds this file, but not as \(principal)'s accepted memory"
        }
    }

    /// The held commits with the memory paths they hold and why each cannot be published
    /// (judged again against the verified tip, so the reasons stay current).
    func conflicts(verified: ObjectID?, shared: (String) throws -> SharedFile?) throws -> [OutboxConflict] {
        var out: [OutboxConflict] = []
        let verifiedTree = try verified.map { (id) throws(GitError) in try repository.commit(id).treeID }
        for commitID in try held() {
            let commit = try repository.commit(commitID)
            let parentTree = try commit.parentIDs.first.map { (id) throws(GitError) in try repository.commit(id).treeID }
            for change in try repository.diffTrees(parentTree, commit.treeID) where change.kind == .added && change.path.hasPrefix("memories/") {
                guard let new = change.new else { continue }
                var reason = "no signing key for \(commit.author.name) to re-sign it with"
                if let verifiedTree, let current = try repository.entry(at: change.path, inTree: verifiedTree) {
                    reason = try Self.unpublishable(change.path, blob: new.id, principal: commit.author.name, current: current, shared: shared)
                        ?? "it is on the shared branch now; the held ref can be deleted"
                }
                out.append(OutboxConflict(path: change.path, reason: reason, commit: commitID.hex))
            }
        }
        return out
    }

    /// Compare-and-swap of the outbox ref; false when it moved (or appeared) meanwhile.
    private func moveOutbox(to id: ObjectID, expected: ObjectID?, message: String) throws(GitError) -> Bool {
        do {
            try repository.updateReference(Store.outboxRef, to: id, expected: expected, message: message)
            return true
        } catch {
            if error.isModified || error.isExists { return false }
            throw error
        }
    }

    /// Sets the outbox aside on a side ref (never lost) so that new writes can proceed.
    func park() throws(GitError) -> String? {
        guard let tip = try repository.reference(Store.outboxRef) else { return nil }
        let name = Store.parkedPrefix + String(Int(Date().timeIntervalSince1970))
        try repository.setReference(name, to: tip, message: "sfgit: outbox parked")
        try repository.deleteReference(Store.outboxRef)
        return name
    }

    /// The author and committer line of this host's commits: the principal, now. Display only —
    /// trust comes from the signature.
    static func signature(_ principal: String) -> GitSignature {
        GitSignature(name: principal, email: principal, time: Int64(Date().timeIntervalSince1970))
    }
}

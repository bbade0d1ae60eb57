import Foundation
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// This host's signed commits that are not on the shared branch yet (`refs/sfgit/outbox`).
/// `remember`, `retract` and `trust` append to it; `sync` replays it onto the newest verified
/// tip and publishes it. Updates are compare-and-swap, so `remember` never needs the sync lock.
struct Outbox {
    let repository: Repository

    /// The outbox's commits not yet in the verified history, parents first.
    func pending(verified: ObjectID?) throws(GitError) -> [ObjectID] {
        guard let tip = try repository.reference(Store.outboxRef) else { return [] }
        return try repository.commits(from: [tip], excluding: verified.map { [$0] } ?? [])
    }

    /// Appends one signed commit applying `updates` to the outbox (or, when empty, to the
    /// verified tip); retries when a concurrent writer moved the outbox first.
    func append(_ updates: [Repository.TreeUpdate], message: String, principal: String, signer: any CommitSigner,
                verified: ObjectID?) throws -> ObjectID {
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

    /// What replaying did.
    enum Replay {
        /// Nothing pending.
        case empty
        /// The pending commits, now on top of the verified tip, ending at `tip`.
        case ready(tip: ObjectID, commits: Int)
        /// A pending change no longer applies (a trust file changed meanwhile); needs a human.
        case conflict(String)
    }

    /// Rebuilds the pending commits on top of `verified`: memories that have arrived on the
    /// shared branch are dropped, the rest re-signed (they were never published, so their ids may
    /// change). The outbox ref is moved only if nobody appended meanwhile.
    func replay(onto verified: ObjectID, signer: (any CommitSigner)?) throws -> Replay {
        guard let tip = try repository.reference(Store.outboxRef) else { return .empty }
        let pending = try repository.commits(from: [tip], excluding: [verified])
        if pending.isEmpty {
            try? repository.deleteReference(Store.outboxRef)
            return .empty
        }
        if try repository.commit(pending[0]).parentIDs.first == verified {
            return .ready(tip: tip, commits: pending.count)
        }
        guard let signer else {
            throw SFGitError(.usage, "the outbox must be re-signed onto the new shared tip, but no signing key is configured")
        }
        var base = verified
        var kept = 0
        for commitID in pending {
            let commit = try repository.commit(commitID)
            let parentTree = try commit.parentIDs.first.map { (id) throws(GitError) in try repository.commit(id).treeID }
            let baseTree = try repository.commit(base).treeID
            var updates: [Repository.TreeUpdate] = []
            for change in try repository.diffTrees(parentTree, commit.treeID) {
                let current = try repository.entry(at: change.path, inTree: baseTree)
                if current?.id == change.new?.id { continue }  // already there: it arrived
                if change.path.hasPrefix("memories/"), change.kind == .added, current != nil {
                    return .conflict("\(change.path) exists on the shared branch with other content")
                }
                if !change.path.hasPrefix("memories/"), current?.id != change.old?.id {
                    return .conflict("\(change.path) changed on the shared branch since this host's pending change to it (\(commit.message.split(separator: "\n").first ?? ""))")
                }
                if let new = change.new { updates.append(.upsert(path: change.path, id: new.id, mode: new.mode)) }
                else { updates.append(.remove(path: change.path)) }
            }
            if updates.isEmpty { continue }
            let tree = try repository.updateTree(baseTree, updates)
            var author = commit.author
            author.time = Int64(Date().timeIntervalSince1970)
            base = try SignedCommitWriter(repository: repository, signer: signer)
                .commit(tree: tree, parents: [base], author: author, message: commit.message)
            kept += 1
        }
        if kept == 0 {
            try? repository.updateReference(Store.outboxRef, to: verified, expected: tip, message: "sfgit: outbox published")
            return .empty
        }
        if try !moveOutbox(to: base, expected: tip, message: "sfgit: outbox replayed onto \(verified.short())") {
            return try replay(onto: verified, signer: signer)  // a remember appended meanwhile
        }
        return .ready(tip: base, commits: kept)
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

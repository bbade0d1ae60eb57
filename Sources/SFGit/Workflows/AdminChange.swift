import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// What one admin change to a store's trust files did: the commit it signed on the outbox (nil
/// when the edit changed nothing, so nothing was signed) and the files before and after.
struct AdminChange {
    var store: Store
    var commit: ObjectID?
    var policy: Policy
    var signers: AllowedSigners
    /// How the change reaches the shared branch: `sync` (direct mode) or `review_merge` (review
    /// mode: the next sync proposes it, a reviewer's merge publishes it).
    var publishedBy: String
}

extension Workspace {
    /// The one workflow behind `trust add|remove|revoke` and `policy set|unset`: the edit starts
    /// from the trust files the next sync will publish (the outbox's, while a change is pending,
    /// else the verified tip's), only an admin of those files may make it, and the edited policy
    /// is rendered and read back with the verifier's own parser before anything is signed, so a
    /// change peers would refuse is refused here (exit 7) and the file written is exactly what
    /// peers will read. A changed file becomes a signed commit on the outbox.
    func adminChange(store name: String?, message: String, changing what: String,
                     _ edit: (inout Policy, inout AllowedSigners) throws(SFGitError) -> Void) throws(SFGitError) -> AdminChange {
        let store = try self.store(named: name)
        let me = try identity.requirePrincipal()
        let signer = try self.signer()
        return try workflow {
            let repository = try store.openRepository()
            guard let verified = try repository.reference(Store.verifiedRef) else {
                throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
            }
            let (current, currentSigners) = try trustFiles(repository, at: try repository.reference(Store.outboxRef) ?? verified)
            // The verified policy's mode decides how the outbox is published.
            let publishedBy = try policy(repository, at: verified).mode == .review ? "review_merge" : "sync"
            guard current.roles(of: me).contains(.admin) else {
                throw SFGitError(.usage, "\(me) is not an admin of store \(store.name): only admins change its \(what)")
            }
            var (policy, signers) = (current, currentSigners)
            try edit(&policy, &signers)
            let rendered = policy.render()
            let reread: Policy
            do { reread = try Policy.parse(Array(rendered.utf8)) } catch let error as PolicyError {
                throw SFGitError(.invalid, "\(message) would make a policy peers refuse: \(error.problems.map(\.message).joined(separator: "; "))")
            }
            guard reread == policy else {
                throw SFGitError(.internalError, "the policy written for \(message) would not read back as edited; nothing was signed")
            }
            var updates: [Repository.TreeUpdate] = []
            if policy != current { updates.append(.upsert(path: ".sfgit/policy.yaml", id: try repository.writeBlob(Array(rendered.utf8)))) }
            if signers != currentSigners {
                updates.append(.upsert(path: ".sfgit/allowed_signers", id: try repository.writeBlob(Array(signers.render().utf8))))
            }
            guard !updates.isEmpty else { return AdminChange(store: store, commit: nil, policy: policy, signers: signers, publishedBy: publishedBy) }
            let commit = try Outbox(repository: repository).append(updates, message: "sfgit: \(message)\n", principal: me, signer: signer,
                                                                  keyPath: try signingKeyPath(), verified: verified)
            return AdminChange(store: store, commit: commit, policy: policy, signers: signers, publishedBy: publishedBy)
        }
    }

    /// The policy and allowed_signers of a commit's tree.
    func trustFiles(_ repository: Repository, at commit: ObjectID) throws -> (Policy, AllowedSigners) {
        guard let signers = try repository.entry(at: ".sfgit/allowed_signers", inTree: try repository.commit(commit).treeID) else {
            throw SFGitError(.internalError, "commit \(commit.short()) has no .sfgit/allowed_signers")
        }
        return (try policy(repository, at: commit), try AllowedSigners.parse(try repository.blob(signers.id)))
    }
}

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

extension Workspace {
    /// Writes a `retraction` of `target` (an id or unambiguous prefix).
    public func retract(_ target: String, reason: String, store name: String?) throws(SFGitError) -> RememberReport {
        let store = try self.store(named: name)
        // The same lookup as `sfgit show`: prefixes, a damaged cache rebuilt, the same messages.
        let item = try show(target, store: store.name)
        let policy = try workflow("store \(store.name)") {
            let repository = try store.openRepository()
            guard let verified = try repository.reference(Store.verifiedRef) else {
                throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
            }
            return try currentPolicy(repository, verified: verified)
        }
        try requireWithdrawalEffect(on: item, verb: "retract", reason: reason, policy: policy)
        var draft = MemoryDraft(kind: MemoryKind.retraction.name, title: "Retraction of \(item.id): \(item.title)")
        draft.fields = [("target", item.id), ("reason", reason)]
        return try remember(draft, store: store.name)
    }

    /// Refuses (INVALID) a retraction or supersede that every reader would ignore. The one place
    /// that decides who may withdraw whose memory, as readers do (`MemoryIndex.withdrawnColumn`):
    /// a signer its own memories; an admin or reviewer anyone's, with a reason. The role is read
    /// from the policy this host's next commit is judged by (the outbox's, else the verified
    /// tip's), as the verifier will read it from the commit's parent.
    func requireWithdrawalEffect(on target: RecallItem, verb: String, reason: String?, policy: Policy) throws(SFGitError) {
        let me = try identity.requirePrincipal()
        if target.kind == MemoryKind.retraction.name {
            throw SFGitError(.invalid, "cannot \(verb) \(target.id): it is a retraction, and a retraction is final (write the memory again instead), so every reader would ignore it")
        }
        if verb == "retract", let earlier = target.withdrawals.first(where: { $0.kind == "retracts" }) {
            throw SFGitError(.invalid, "cannot retract \(target.id): it is already retracted by \(earlier.id) (signed by \(earlier.signer))")
        }
        guard target.signer != me else { return }
        guard try mayWithdrawAny(policy) else {
            throw SFGitError(.invalid, "cannot \(verb) \(target.id): it was signed by \(target.signer), and a memory is withdrawn only by its own signer or by an admin or reviewer (\(me) is neither), so every reader would ignore it")
        }
        guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw SFGitError(.invalid, "cannot \(verb) \(target.id) without a reason: it was signed by \(target.signer), and an admin or reviewer withdraws another signer's memory only with one (--reason)")
        }
    }

    /// Whether this host's principal may withdraw any signer's memory in `store`: an admin or
    /// reviewer in the policy its next commit is judged by.
    func mayWithdrawAny(_ policy: Policy) throws(SFGitError) -> Bool {
        !policy.roles(of: try identity.requirePrincipal()).isDisjoint(with: [.admin, .review])
    }
}

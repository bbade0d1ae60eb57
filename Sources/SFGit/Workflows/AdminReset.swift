import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// A signed reset statement: how an admin undoes a bad but authentic history without leaving
/// every host blocked on a rollback. It is an ordinary commit on the shared branch whose only
/// parent is the new tip (`To`), whose tree is the new tip's tree (it changes nothing), and whose
/// message names the old tip it replaces and the new one:
///
///     sfgit: reset main to <To> (from <From>)
///
///     <reason>
///
///     Sfgit-Reset-From: <From, 40 hex>
///     Sfgit-Reset-To: <To, 40 hex>
///     Sfgit-Reset-Replaces: <each earlier commit of From's first-parent chain down to To>
///     Sfgit-Reset-Removes: <each memory path From's tree has and To's lacks>
///
/// Living on the branch itself, every host that fetches the branch sees it. A host accepts the
/// non-fast-forward from its verified tip V only when the fetched branch holds such a statement
/// with `From` equal to V, or V among the replaced commits it lists (a host that had verified
/// part of the replaced history only: the branch's earlier tips are on From's first-parent
/// chain); a statement naming neither is stale. `To` must be an ancestor of V (history this host
/// verified), the statement signed by a key that V's allowed_signers lists for a principal that
/// V's policy makes admin, and judged authentic by the verifier from `To` like any other commit.
/// The `Removes` lines name the memories the reset takes out of the store, for hosts that never
/// saw the replaced history: a writer whose pending memory was published there (merged from its
/// proposal on another host) drops it from its outbox rather than publishing it again, and a
/// reviewer is told before merging a proposal that would bring one back.
/// docs/TRUST.md § Admin reset.
struct ResetStatement {
    static let fromTrailer = "Sfgit-Reset-From: "
    static let toTrailer = "Sfgit-Reset-To: "
    static let replacesTrailer = "Sfgit-Reset-Replaces: "
    static let removesTrailer = "Sfgit-Reset-Removes: "
    /// The most removed memories a statement names (beyond them, hosts are not told).
    static let maxRemoved = 1_000
    /// The most replaced commits a statement lists (hosts further behind refuse it as stale).
    static let maxReplaced = 1_000

    /// The statement commit.
    let commit: ObjectID
    /// The tip it replaces.
    let from: ObjectID
    /// This host's verified tip it replaces: `from`, or one of the earlier commits it lists.
    let replaced: ObjectID
    /// The tip it resets to.
    let to: ObjectID
    /// The admin who signed it.
    let principal: String

    /// The statement's message.
    static func message(branch: String, from: ObjectID, to: ObjectID, replaces: [ObjectID], removes: [String] = [], reason: String) -> String {
        "sfgit: reset \(branch) to \(to.short()) (from \(from.short()))\n\n\(reason)\n\n\(fromTrailer)\(from.hex)\n\(toTrailer)\(to.hex)\n"
            + replaces.map { "\(replacesTrailer)\($0.hex)\n" }.joined()
            + removes.map { "\(removesTrailer)\($0)\n" }.joined()
    }

    /// The memories that reset statements on the verified history after `base` removed, by path,
    /// with the statement that removed each. Only a well-formed statement counts: one parent,
    /// the tree of the tip it resets to, and signed by a key its parent's allowed_signers lists
    /// for a principal its parent's policy makes admin; a writer's commit dressed as one (even
    /// one naming an admin as its author) removes nothing.
    static func removedMemories(in repository: Repository, verified: ObjectID, since base: ObjectID?) throws -> [String: ObjectID] {
        var removed: [String: ObjectID] = [:]
        for id in try repository.commits(from: [verified], excluding: base.map { [$0] } ?? []) {
            let info = try repository.commit(id)
            guard info.message.contains(removesTrailer), let named = trailers(info.message), info.parentIDs == [named.to],
                  info.treeID == (try repository.commit(named.to)).treeID,
                  case .admin = try adminSignature(of: id, trustedBy: info.treeID, in: repository) else { continue }
            for line in info.message.split(separator: "\n") where line.hasPrefix(removesTrailer) {
                removed[String(line.dropFirst(removesTrailer.count)), default: id] = id
            }
        }
        return removed
    }

    /// The `From` and `To` a commit message names, when it names exactly one of each.
    static func trailers(_ message: String) -> (from: ObjectID, to: ObjectID, replaces: Set<ObjectID>)? {
        let lines = message.split(separator: "\n").map(String.init)
        let replaces = Set(lines.filter { $0.hasPrefix(replacesTrailer) }.compactMap { ObjectID(hex: String($0.dropFirst(replacesTrailer.count))) })
        let froms = lines.filter { $0.hasPrefix(fromTrailer) }.map { String($0.dropFirst(fromTrailer.count)) }
        let tos = lines.filter { $0.hasPrefix(toTrailer) }.map { String($0.dropFirst(toTrailer.count)) }
        guard froms.count == 1, tos.count == 1, let from = ObjectID(hex: froms[0]), let to = ObjectID(hex: tos[0]) else { return nil }
        return (from, to, replaces)
    }

    /// What a diverged fetched branch says about a reset from `verified`.
    enum Finding {
        /// No commit of the fetched branch claims to be a reset statement.
        case none
        /// A valid statement: accept the non-fast-forward to `statement.to`.
        case valid(ResetStatement)
        /// A statement that may not be followed, and why.
        case refused(commit: ObjectID, reason: String)
    }

    /// Looks for a reset statement among the fetched branch's commits that the verified history
    /// lacks, and judges it. Called only once the fetched tip is known not to descend from
    /// `verified` and its new commits have passed the header checks.
    static func find(in repository: Repository, introduction: Introduction, verified: ObjectID, fetched: ObjectID) throws -> Finding {
        let candidates = try repository.commits(from: [fetched], excluding: [verified]).compactMap { id -> (ObjectID, CommitInfo, (from: ObjectID, to: ObjectID, replaces: Set<ObjectID>))? in
            let info = try repository.commit(id)
            return trailers(info.message).map { (id, info, $0) }
        }
        guard !candidates.isEmpty else { return .none }
        guard let (id, info, named) = candidates.first(where: { $0.2.from == verified || $0.2.replaces.contains(verified) }) else {
            let (id, _, named) = candidates[candidates.count - 1]
            // A host further behind than the statement lists cannot tell it from a replayed old one.
            let lagging = repository.contains(named.from) ? "" : "; if this host was offline while \(named.from.short())'s history was written, join the store again (sfgit clone) to follow it"
            return .refused(commit: id, reason: "reset statement \(id.short()) replaces \(named.from.short()), not this host's verified tip \(verified.short()): a stale statement is never followed\(lagging)")
        }
        func refuse(_ why: String) -> Finding { .refused(commit: id, reason: "reset statement \(id.short()) is refused: \(why)") }
        guard info.parentIDs == [named.to] else { return refuse("its only parent must be the tip it resets to, \(named.to.short())") }
        guard named.to != verified, try repository.isDescendant(verified, of: named.to) else {
            return refuse("\(named.to.short()) is not an earlier commit of this host's verified history")
        }
        guard info.treeID == (try repository.commit(named.to)).treeID else { return refuse("it changes files; a statement changes nothing") }
        guard try fetched == id || repository.isDescendant(fetched, of: id) else { return refuse("the fetched branch does not contain it") }
        // Signed by an admin of the verified tip's policy: the history being replaced decides.
        let principal: String
        switch try adminSignature(of: id, trustedBy: try repository.commit(verified).treeID, in: repository) {
        case .admin(let admin): principal = admin
        case .refused(let why): return refuse(why)
        }
        // And authentic as a commit on top of the tip it resets to, like any other.
        let judged = try Verifier(repository: repository, introduction: introduction).verify(from: named.to, to: id)
        if let blocked = judged.blocked { return refuse("\(blocked.status.rawValue): \(blocked.reason)") }
        return .valid(ResetStatement(commit: id, from: named.from, replaced: verified, to: named.to, principal: principal))
    }

    /// Whose signature a statement carries, judged by the trust files of `tree`.
    enum Signature {
        /// One valid SSH signature by a key the trust files list for this admin.
        case admin(String)
        /// Anything else, and why.
        case refused(String)
    }

    /// Checks that commit `id` carries one valid SSH signature by a key that `tree`'s
    /// allowed_signers lists for a principal its policy makes admin.
    static func adminSignature(of id: ObjectID, trustedBy tree: ObjectID, in repository: Repository) throws -> Signature {
        guard let signature = try repository.signature(of: id), signature.headerCount == 1 else { return .refused("it is not signed") }
        let parsed: SSHSignature
        do { parsed = try SSHSignature(armored: signature.signature) } catch { return .refused("its signature is not an SSH signature: \(error)") }
        guard parsed.verify(message: signature.signedData, namespace: "git") else { return .refused("its signature does not verify") }
        guard let signersEntry = try repository.entry(at: ".sfgit/allowed_signers", inTree: tree),
              let policy = try repository.policy(inTree: tree) else { return .refused("the trust files are missing") }
        let signers = try AllowedSigners.parse(try repository.blob(signersEntry.id))
        guard let entry = signers.entry(for: parsed.publicKey), policy.roles(of: entry.principal).contains(.admin) else {
            return .refused("signed by \(parsed.publicKey.fingerprint), which is not an admin's key in the policy it answers to")
        }
        return .admin(entry.principal)
    }
}

/// What `admin reset` reports.
public struct ResetReport: Sendable, Encodable {
    /// The store's name.
    public var store: String
    /// The signed statement, now the shared branch's tip; nil when the branch was restored to the
    /// verified tip instead (`restored`).
    @Nullable public var statement: String? = nil
    /// Whether the remote's branch held history every host refuses and was put back on the
    /// verified tip: no host followed that history, so no statement is needed.
    public var restored = false
    /// The tip it replaced.
    public var from: String
    /// The tip it reset to.
    public var to: String
    /// Why the admin reset (the statement's message).
    public var reason: String
    /// The sync that followed on this host (it accepts the statement as every host does).
    public var sync: StoreSyncReport
}

extension Workspace {
    /// Writes a signed reset statement replacing the shared branch's tip with the earlier verified
    /// commit `target`, pushes it (the one non-fast-forward sfgit makes, holding the sync lock from
    /// the fetch to the push), then syncs, accepting it as every host will.
    public func adminReset(to target: String, reason: String, store name: String?, timeout: Double = 120) throws(SFGitError) -> ResetReport {
        let reasonText = reason.trimmingCharacters(in: .whitespaces)
        guard !reasonText.isEmpty, !reasonText.contains("\n"), !reasonText.contains("\r"), !reasonText.hasPrefix("Sfgit-") else {
            throw SFGitError(.usage, "--reason must be one non-empty line")
        }
        let store = try self.store(named: name)
        let me = try identity.requirePrincipal()
        let signer = try self.signer()
        // Refused before any network step when the verified policy already says no.
        try workflow {
            let repository = try store.openRepository()
            if let verified = try repository.reference(Store.verifiedRef), !(try self.policy(repository, at: verified)).roles(of: me).contains(.admin) {
                throw SFGitError(.usage, "\(me) is not an admin of store \(store.name): only admins sign reset statements")
            }
        }
        var options = SyncOptions()
        options.noPush = true
        options.timeout = timeout
        let first = try sync(store: store.name, options: options).first
        if let first, first.result == .untrusted {
            return try restoreRefusedBranch(store, to: target, reason: reasonText, refused: first, timeout: timeout)
        }
        guard let first, first.result != .untrusted, !first.warnings.contains(where: { $0.code.hasPrefix("FETCH") }) else {
            throw SFGitError(.degraded, "cannot reset without the remote's current branch: \(first?.warnings.first?.message ?? first?.blocked?.reason ?? "sync failed")")
        }
        let (statement, from, to) = try workflow { () throws -> (ObjectID, ObjectID, ObjectID) in
            guard let lock = try StoreLock.acquire(store.lockPath, wait: 30) else { throw SFGitError(.busy, "another sync holds the lock of store \(store.name)") }
            defer { withExtendedLifetime(lock) {} }
            let repository = try store.openRepository()
            guard let verified = try repository.reference(Store.verifiedRef) else {
                throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
            }
            guard try repository.reference(Store.fetchedRef) == verified else {
                throw SFGitError(.untrusted, "the remote's branch is not this host's verified tip \(verified.short()); run sfgit sync and look at sfgit status first")
            }
            let policy = try self.policy(repository, at: verified)
            guard policy.roles(of: me).contains(.admin) else {
                throw SFGitError(.usage, "\(me) is not an admin of store \(store.name): only admins sign reset statements")
            }
            guard let to = try? repository.resolveCommit(target) else { throw SFGitError(.notFound, "--to '\(target)' is not a commit of store \(store.name)") }
            guard to != verified, try repository.isDescendant(verified, of: to) else {
                throw SFGitError(.usage, "--to \(to.short()) is not an earlier commit of the verified history (tip \(verified.short()))")
            }
            // The earlier tips hosts may be on: the first-parent chain below the old tip, down to `to`.
            var replaces: [ObjectID] = []
            var walk = try repository.commit(verified).parentIDs.first
            while let commit = walk, commit != to, replaces.count < ResetStatement.maxReplaced {
                replaces.append(commit)
                walk = try repository.commit(commit).parentIDs.first
            }
            // The memories the reset takes out, named for hosts that never saw them arrive.
            let removes = try repository.diffTrees(try repository.commit(to).treeID, try repository.commit(verified).treeID)
                .filter { $0.kind == .added && $0.path.hasPrefix("memories/") }.prefix(ResetStatement.maxRemoved).map(\.path)
            let statement = try SignedCommitWriter(repository: repository, signer: signer).commit(
                tree: try repository.commit(to).treeID, parents: [to], author: Outbox.signature(me),
                message: ResetStatement.message(branch: policy.branch, from: verified, to: to, replaces: replaces, removes: Array(removes), reason: reasonText))
            // Judged before it leaves the host, exactly as every host will judge it.
            guard case .valid = try ResetStatement.find(in: repository, introduction: try store.introduction(), verified: verified, fetched: statement) else {
                throw SFGitError(.internalError, "the reset statement would not be accepted by peers; nothing was pushed")
            }
            try repository.setReference(Store.resetRef, to: statement, message: "sfgit: reset statement")
            defer { try? repository.deleteReference(Store.resetRef) }
            let pushed = runRemote(.push, store, refspecs: ["+\(Store.resetRef):refs/heads/\(policy.branch)"], timeout: timeout, credentials: remoteCredentials(for: store))
            if let failure = pushed.failure ?? pushed.rejections.first.map({ "\($0)" }) {
                throw SFGitError(.degraded, "the remote refused the reset statement: \(failure) \(pushed.serverMessages)")
            }
            return (statement, verified, to)
        }
        var after = SyncOptions()
        after.timeout = timeout
        after.wait = 30
        let synced = try sync(store: store.name, options: after)
        return ResetReport(store: store.name, statement: statement.hex, from: from.hex, to: to.hex, reason: reasonText, sync: synced[0])
    }
}

extension Workspace {
    /// Puts a shared branch that holds history every host refuses (an unsigned or unauthorized
    /// push, a rewrite without a statement) back on the verified tip. No host followed that
    /// history (each refused it and kept its verified tip), so nothing needs stating: the branch
    /// simply returns to where every host is. Only the verified tip is a target here; an earlier
    /// commit needs a statement, once the branch is restored.
    private func restoreRefusedBranch(_ store: Store, to target: String, reason: String, refused: StoreSyncReport,
                                      timeout: Double) throws(SFGitError) -> ResetReport {
        let me = try identity.requirePrincipal()
        let (from, verified) = try workflow { () throws -> (String, ObjectID) in
            guard let lock = try StoreLock.acquire(store.lockPath, wait: 30) else { throw SFGitError(.busy, "another sync holds the lock of store \(store.name)") }
            defer { withExtendedLifetime(lock) {} }
            let repository = try store.openRepository()
            guard let verified = try repository.reference(Store.verifiedRef) else {
                throw SFGitError(.usage, "store \(store.name) has no verified history yet: join it again with sfgit clone")
            }
            let policy = try self.policy(repository, at: verified)
            guard policy.roles(of: me).contains(.admin) else {
                throw SFGitError(.usage, "\(me) is not an admin of store \(store.name): only admins restore its branch")
            }
            let why = refused.blocked?.reason ?? "it is refused"
            guard let to = try? repository.resolveCommit(target), to == verified else {
                throw SFGitError(.usage, "the remote's \(policy.branch) holds history every host refuses (\(why)); no host followed it, so it is undone by "
                    + "putting the branch back on the verified tip: sfgit admin reset --to \(verified.short()) --reason \"…\" (then reset further back, if needed)")
            }
            let from = try repository.reference(Store.fetchedRef)?.hex ?? refused.blocked?.commit ?? ""
            try repository.setReference(Store.resetRef, to: verified, message: "sfgit: restore the verified tip")
            defer { try? repository.deleteReference(Store.resetRef) }
            let pushed = runRemote(.push, store, refspecs: ["+\(Store.resetRef):refs/heads/\(policy.branch)"], timeout: timeout, credentials: remoteCredentials(for: store))
            if let failure = pushed.failure ?? pushed.rejections.first.map({ "\($0)" }) {
                throw SFGitError(.degraded, "the remote refused to put \(policy.branch) back on \(verified.short()): \(failure) \(pushed.serverMessages)")
            }
            return (from, verified)
        }
        var after = SyncOptions()
        after.timeout = timeout
        after.wait = 30
        let synced = try sync(store: store.name, options: after)
        return ResetReport(store: store.name, statement: nil, restored: true, from: from, to: verified.hex, reason: reason, sync: synced[0])
    }
}

extension Store {
    /// The reset statement `admin reset` pushes (a ref, because a push sends references).
    static let resetRef = "refs/sfgit/reset-statement"
}

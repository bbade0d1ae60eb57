import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// What `trust list` reports, one principal each.
public struct TrustEntry: Sendable, Codable {
    /// The principal (`author@host`).
    public var principal: String
    /// Its roles.
    public var roles: [String]
    /// Its keys' `SHA256:` fingerprints.
    public var keys: [String]
    /// Whether a change still in the outbox makes this principal's roles, quota or keys differ
    /// from the published ones (a principal it removes is listed with neither roles nor keys).
    public var pending: Bool
    /// Its daily quota in the listed policy, and how much of it the cache has counted on this
    /// host's clock (`QuotaUsage`; nil for a principal the change removes).
    @Nullable public var quota: QuotaUsage? = nil
    /// Keys of this principal the listed policy revokes (`trust revoke`), with the point after
    /// which nothing they signed is trusted (nil: always).
    public var revoked: [RevokedKey] = []

    /// A revoked key and its point.
    public struct RevokedKey: Sendable, Codable {
        /// The key's `SHA256:` fingerprint.
        public var key: String
        /// The last commit whose history its signatures stay trusted in (nil: none).
        @Nullable public var since: String? = nil
    }
}

/// What `trust add` and `trust remove` report.
public struct TrustChangeReport: Sendable, Encodable {
    /// The store's name.
    public var store: String
    /// The signed admin commit on the outbox; nil when the trust files already said so.
    @Nullable public var commit: String? = nil
    /// `committed_local`, or `unchanged` (nothing was signed).
    public var state: String
    /// The principal added or removed.
    public var principal: String
    /// `sync` (the next sync publishes it) or `review_merge` (in review mode the next sync
    /// proposes it, and a reviewer's `review merge` publishes it).
    public var publishedBy: String

    enum CodingKeys: String, CodingKey { case store, commit, state, principal, publishedBy = "published_by" }
}

extension Workspace {
    /// The principals, roles and keys of a store's policy (the outbox's pending version, if any).
    public func trustList(store name: String?) throws(SFGitError) -> [TrustEntry] {
        let store = try self.store(named: name)
        return try workflow {
            let repository = try store.openRepository()
            guard let verified = try repository.reference(Store.verifiedRef) else {
                throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
            }
            let outbox = try repository.reference(Store.outboxRef)
            let (policy, signers) = try trustFiles(repository, at: outbox ?? verified)
            let (publishedPolicy, publishedSigners) = try trustFiles(repository, at: verified)
            // What a principal is, in one version of the trust files: roles, quota and keys.
            func standing(_ name: String, _ policy: Policy, _ signers: AllowedSigners) -> (Policy.PrincipalEntry?, Set<String>) {
                (policy.principals.first { $0.name == name }, Set(signers.entries.filter { $0.principal == name }.map(\.key.description)))
            }
            let now = Date().timeIntervalSince1970
            let usage = try reading(store) { index in
                try policy.principals.map { try index.quotaUsage(signer: $0.name, perDay: policy.quotaPerDay(of: $0.name), clock: now) }
            }
            var entries = zip(policy.principals, usage).map { entry, usage in
                TrustEntry(principal: entry.name, roles: entry.roles.sorted().map(\.rawValue),
                           keys: signers.entries.filter { $0.principal == entry.name }.map(\.key.description),
                           pending: standing(entry.name, policy, signers) != standing(entry.name, publishedPolicy, publishedSigners),
                           quota: usage)
            }
            // A removal still in the outbox: listed with no roles and no keys, pending.
            for removed in publishedPolicy.principals where !policy.principals.contains(where: { $0.name == removed.name }) {
                entries.append(TrustEntry(principal: removed.name, roles: [], keys: [], pending: true))
            }
            // Revoked keys, under their principal (listed with no roles when it is gone).
            for revocation in policy.revoked {
                let key = TrustEntry.RevokedKey(key: revocation.key, since: revocation.since)
                let pending = publishedPolicy.revocation(of: revocation.key) == nil
                if let index = entries.firstIndex(where: { $0.principal == revocation.principal }) {
                    entries[index].revoked.append(key)
                    entries[index].pending = entries[index].pending || pending
                } else {
                    entries.append(TrustEntry(principal: revocation.principal, roles: [], keys: [], pending: pending, revoked: [key]))
                }
            }
            return entries
        }
    }

    /// Adds a principal's key with roles, as a signed admin commit in the outbox.
    public func trustAdd(principal: String, publicKeyPath: String, roles: Set<Role>, quotaPerDay: Int? = nil, store name: String?) throws(SFGitError) -> TrustChangeReport {
        guard Principal.isValid(principal) else { throw SFGitError(.usage, "'\(principal)' is not a principal (author@host, lower-case)") }
        guard let text = try? String(contentsOfFile: publicKeyPath, encoding: .utf8) else {
            throw SFGitError(.usage, "cannot read the public key \(publicKeyPath)")
        }
        let fields = text.split(separator: " ")
        let key: SSHPublicKey
        do { key = try SSHPublicKey(openSSH: fields.prefix(2).joined(separator: " ")) } catch {
            throw SFGitError(.usage, "\(publicKeyPath): \(error)")
        }
        return try changeTrust(store: name, message: "trust add \(principal) \(roles.sorted().map(\.rawValue).joined(separator: ","))", principal: principal) { policy, signers throws(SFGitError) in
            if let owner = signers.entry(for: key), owner.principal != principal {
                throw SFGitError(.usage, "key \(key.fingerprint) already belongs to \(owner.principal): one key, one principal")
            }
            if let index = policy.principals.firstIndex(where: { $0.name == principal }) {
                policy.principals[index].roles.formUnion(roles)
                if let quotaPerDay { policy.principals[index].quotaPerDay = quotaPerDay }
            } else {
                policy.principals.append(.init(name: principal, roles: roles, quotaPerDay: quotaPerDay))
            }
            if signers.entry(for: key) == nil {
                signers.entries.append(.init(principal: principal, key: key, line: signers.entries.count + 1))
            }
        }
    }

    /// Removes a principal and its keys, as a signed admin commit in the outbox.
    public func trustRemove(principal: String, store name: String?) throws(SFGitError) -> TrustChangeReport {
        try changeTrust(store: name, message: "trust remove \(principal)", principal: principal) { policy, signers throws(SFGitError) in
            guard policy.principals.contains(where: { $0.name == principal }) || signers.entries.contains(where: { $0.principal == principal }) else {
                throw SFGitError(.notFound, "\(principal) is not in the store's policy")
            }
            policy.principals.removeAll { $0.name == principal }
            signers.entries.removeAll { $0.principal == principal }
            guard policy.principals.contains(where: { $0.roles.contains(.admin) }) else {
                throw SFGitError(.usage, "removing \(principal) would leave the store without an admin")
            }
        }
    }

    /// Revokes a principal's keys, as a signed admin commit in the outbox: the principal is
    /// removed (as `trustRemove` does) and each of its keys is recorded in the policy's
    /// `revoked:` list, compromised after `since` (a commit of the verified history; nil: always).
    public func trustRevoke(principal: String, since: String?, store name: String?) throws(SFGitError) -> TrustChangeReport {
        let store = try self.store(named: name)
        var point: String?
        if let since {
            point = try workflow {
                let repository = try store.openRepository()
                guard let verified = try repository.reference(Store.verifiedRef) else {
                    throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
                }
                let commit = try? repository.resolveCommit(since)
                var inHistory = false
                if let commit { inHistory = try commit == verified || repository.isDescendant(verified, of: commit) }
                guard let commit, inHistory else {
                    throw SFGitError(.usage, "--since \(since) is not a commit of the verified history of \(store.name)")
                }
                return commit.hex
            }
        }
        return try changeTrust(store: name, message: "trust revoke \(principal)" + (point.map { " since \($0)" } ?? ""), principal: principal) { policy, signers throws(SFGitError) in
            let keys = signers.entries.filter { $0.principal == principal }.map(\.key.fingerprint)
            // Revoked already: nothing left to change, so nothing is signed ("unchanged").
            if keys.isEmpty, policy.revoked.contains(where: { $0.principal == principal }) { return }
            guard !keys.isEmpty else { throw SFGitError(.notFound, "\(principal) has no key in the store's allowed_signers") }
            policy.principals.removeAll { $0.name == principal }
            signers.entries.removeAll { $0.principal == principal }
            for key in keys where policy.revocation(of: key) == nil {
                policy.revoked.append(.init(key: key, principal: principal, since: point))
            }
            guard policy.principals.contains(where: { $0.roles.contains(.admin) }) else {
                throw SFGitError(.usage, "revoking \(principal) would leave the store without an admin")
            }
        }
    }

    /// One trust change through `adminChange`; a change that changes nothing signs nothing.
    private func changeTrust(store name: String?, message: String, principal: String,
                             _ edit: (inout Policy, inout AllowedSigners) throws(SFGitError) -> Void) throws(SFGitError) -> TrustChangeReport {
        let change = try adminChange(store: name, message: message, changing: "trust files", edit)
        return TrustChangeReport(store: change.store.name, commit: change.commit?.hex, state: change.commit == nil ? "unchanged" : "committed_local",
                                 principal: principal, publishedBy: change.publishedBy)
    }
}

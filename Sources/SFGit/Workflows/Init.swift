import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// What `init` reports.
public struct InitReport: Sendable, Codable {
    /// The pinned introduction others need to join.
    public struct IntroductionInfo: Sendable, Codable {
        /// The introduction commit (hex).
        public var commit: String
        /// The `SHA256:` fingerprint of the key that signed it.
        public var signer: String
    }

    /// The store's name.
    public var store: String
    /// Its remote URL.
    public var remote: String
    /// The pin others join with (`sfgit clone --introduction … --signer …`).
    public var introduction: IntroductionInfo
}

extension Workspace {
    /// Makes the introduction commit of a new store (policy naming this identity admin and writer,
    /// allowed_signers, a README for humans), pushes it to an empty remote, registers the store.
    public func initStore(remote: String, name: String?, branch: String = "main", timeout: Double = 120) throws(SFGitError) -> InitReport {
        let principal = try identity.requirePrincipal()
        let signer = try self.signer()
        let storeName = name ?? Self.defaultStoreName(remote)
        guard StoreConfig.isValidName(storeName) else { throw SFGitError(.usage, "'\(storeName)' is not a valid store name; pass --store NAME") }
        var config = self.config
        let directory = try newStoreDirectory(storeName)
        return try workflow {
            let draftConfig = StoreConfig(name: storeName, remote: remote, introduction: String(repeating: "0", count: 40), signer: signer.publicKey.fingerprint)
            let draft = Store(config: draftConfig, home: home)
            let repository = try draft.openRepository()
            // The remote must be empty: a store has exactly one introduction.
            let credentials = remoteCredentials(for: draft)
            let probe = runRemote(.fetch, draft, refspecs: ["+refs/heads/\(branch):\(Store.fetchedRef)"], timeout: timeout, credentials: credentials)
            if let failure = probe.failure {
                try? FileManager.default.removeItem(atPath: directory)
                // A local path that does not exist: say that, not the transport's words for it.
                let local = remote.hasPrefix("file://") ? String(remote.dropFirst("file://".count)) : remote
                let why = local.hasPrefix("/") && !FileManager.default.fileExists(atPath: local) ? "there is no repository at \(local)" : failure
                throw SFGitError(.degraded, "cannot reach \(remote): \(why); nothing was created. \(Self.howToCreate(remote, branch: branch))")
            }
            if try repository.reference(Store.fetchedRef) != nil {
                try? FileManager.default.removeItem(atPath: directory)
                throw SFGitError(.usage, "\(remote) already has a branch \(branch): join that store with sfgit clone and its introduction")
            }
            let policy = Policy(version: Policy.supportedVersion, branch: branch, mode: .direct,
                                principals: [.init(name: principal, roles: [.admin, .write, .review])],
                                maxFileBytes: Policy.defaultMaxFileBytes, maxFilesPerCommit: Policy.defaultMaxFilesPerCommit,
                                defaultQuotaPerDay: Policy.defaultQuotaPerDay)
            let signers = AllowedSigners(entries: [.init(principal: principal, key: signer.publicKey, line: 1)])
            let tree = try repository.updateTree(nil, [
                .upsert(path: ".sfgit/policy.yaml", id: try repository.writeBlob(Array(policy.render().utf8))),
                .upsert(path: ".sfgit/allowed_signers", id: try repository.writeBlob(Array(signers.render().utf8))),
                .upsert(path: "README.md", id: try repository.writeBlob(Array(Self.storeReadme(principal: principal).utf8))),
            ])
            let introduction = try SignedCommitWriter(repository: repository, signer: signer)
                .commit(tree: tree, parents: [], author: Outbox.signature(principal), message: "sfgit: introduction of the store by \(principal)\n")
            try repository.setReference(Store.outboxRef, to: introduction, message: "sfgit: introduction")
            let pushed = runRemote(.push, draft, refspecs: ["\(Store.outboxRef):refs/heads/\(branch)"], timeout: timeout, credentials: credentials)
            if let failure = pushed.failure {
                try? FileManager.default.removeItem(atPath: directory)
                throw SFGitError(.degraded, "cannot push the introduction to \(remote): \(failure)")
            }
            try repository.deleteReference(Store.outboxRef)
            try repository.setReference(Store.verifiedRef, to: introduction, message: "sfgit: introduction")
            let entry = StoreConfig(name: storeName, remote: remote, introduction: introduction.hex, signer: signer.publicKey.fingerprint)
            config.stores.append(entry)
            if config.identity.author == nil { config.identity = identity }
            try home.saveConfig(config)
            let store = Store(config: entry, home: home)
            // The push landed: this store starts in agreement with its remote, so `status` does
            // not call a new store stale.
            var state = SyncState()
            state.lastPushAt = isoNow()
            state.lastSuccessAt = state.lastPushAt
            store.saveState(state)
            _ = try VerifiedIndexing.update(StoreIndexer(repository: repository, introduction: try store.introduction(), index: try store.openIndex()), to: introduction)
            return InitReport(store: storeName, remote: remote, introduction: .init(commit: introduction.hex, signer: signer.publicKey.fingerprint))
        }
    }

    /// How to make the empty remote `init` needs, for its error message.
    static func howToCreate(_ remote: String, branch: String) -> String {
        let path = remote.hasPrefix("file://") ? String(remote.dropFirst("file://".count)) : remote
        if path.hasPrefix("/") {
            return "Create the empty repository first: git init --bare --initial-branch=\(branch) \(path)"
        }
        if let components = URLComponents(string: remote), components.scheme == "ssh", let host = components.host {
            return "Create the empty repository first, on the server: ssh \(components.port.map { "-p \($0) " } ?? "")\(components.user.map { "\($0)@" } ?? "")\(host) git init --bare --initial-branch=\(branch) \(components.path.hasPrefix("/~") ? String(components.path.dropFirst()) : components.path) (or an empty repository on your forge)"
        }
        return "Create an empty repository there first (git init --bare on the server, or an empty repository on your forge), then run sfgit init again."
    }

    /// A store name from a remote URL: its last path component without `.git`.
    static func defaultStoreName(_ remote: String) -> String {
        var last = remote.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? "default"
        if last.hasSuffix(".git") { last.removeLast(4) }
        let cleaned = String(last.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "-" })
        return StoreConfig.isValidName(cleaned) ? cleaned : "default"
    }

    /// The README `init` writes into a new store, for people who find the repository.
    static func storeReadme(principal: String) -> String {
        """
        # An sfgit memory store

        This repository holds memories shared by AI-agent instances through
        [sfgit](https://github.com/sfgit/sfgit): lessons, anti-patterns, contract findings,
        benchmark results and circuit-breaker events, one small YAML file each under
        `memories/<kind>/<yyyy>/<mm>/<ULID>.yaml`.

        - Every commit must be signed by a key listed in `.sfgit/allowed_signers`, as the parent
          commit lists it; `.sfgit/policy.yaml` says who may write, review and administer.
          Hosts verify every commit before they index anything.
        - Files are append-only: correct a memory with a new one that `supersedes` it, withdraw
          one with a `retraction`.
        - Run `sfgit check` and `sfgit verify` as this repository's CI on every pull request.

        Created by \(principal).

        """
    }
}

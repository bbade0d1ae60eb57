import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// One store of this home, as `store list` shows it.
public struct StoreListing: Sendable, Codable {
    public var name: String
    public var remote: String
    public var introduction: String
    public var signer: String
    @Nullable public var verifiedTip: String? = nil
    /// Outbox commits not yet published.
    public var pending: Int

    enum CodingKeys: String, CodingKey {
        case name, remote, introduction, signer, verifiedTip = "verified_tip", pending
    }
}

/// What `store remove` did.
public struct StoreRemoval: Sendable, Codable {
    public var store: String
    /// The directory deleted with the store's repository and cache.
    public var directory: String
    /// Unpublished outbox commits discarded (only with `--force`).
    public var discarded: Int
}

/// What `whoami` reports: who this host writes as and whether that works.
public struct WhoAmI: Sendable, Codable {
    /// The agent socket and whether it answered.
    public struct Agent: Sendable, Codable {
        @Nullable public var socket: String? = nil
        public var reachable: Bool
        /// Keys the agent holds (`ssh-add -l` lines), when reachable.
        public var keys: Int
    }

    /// What one store's verified policy says about this principal and key.
    public struct StoreTrust: Sendable, Codable {
        public var store: String
        /// Roles the verified policy gives the principal (empty: none, or not verified yet).
        public var roles: [String]
        /// Whether the verified `allowed_signers` lists this key for this principal.
        public var keyListed: Bool
        @Nullable public var note: String? = nil

        enum CodingKeys: String, CodingKey {
            case store, roles, keyListed = "key_listed", note
        }
    }

    @Nullable public var principal: String? = nil
    @Nullable public var key: String? = nil
    @Nullable public var keyFingerprint: String? = nil
    /// Why the key cannot be used, when it cannot.
    @Nullable public var keyProblem: String? = nil
    public var agent: Agent
    public var stores: [StoreTrust]

    enum CodingKeys: String, CodingKey {
        case principal, key, keyFingerprint = "key_fingerprint", keyProblem = "key_problem", agent, stores
    }
}

/// The keys `sfgit config get|set` knows: the identity in `config.yaml`.
public enum ConfigKey: String, CaseIterable, Sendable {
    case author = "identity.author"
    case host = "identity.host"
    case key = "identity.key"
    case instance = "identity.instance"
    case agent = "identity.agent"

    /// The keys, for messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension Workspace {
    /// Every store of this home with its verified tip and pending outbox.
    public func storeList() throws(SFGitError) -> [StoreListing] {
        try stores(named: nil).map { (store) throws(SFGitError) in
            try workflow("store \(store.name)") {
                let exists = FileManager.default.fileExists(atPath: store.repositoryPath + "/HEAD")
                let repository = exists ? try store.openRepository() : nil
                let verified = try repository?.reference(Store.verifiedRef)
                let pending = try repository.map { try Outbox(repository: $0).unpublished(verified: verified).count } ?? 0
                return StoreListing(name: store.name, remote: store.config.remote, introduction: store.config.introduction,
                                    signer: store.config.signer, verifiedTip: verified?.hex, pending: pending)
            }
        }
    }

    /// Forgets a store: removes it from `config.yaml` and deletes its directory (repository,
    /// cache, state). Refused while a sync holds its lock, and, without `force`, while this
    /// host has memories there that no peer has (unpublished or held outbox commits): those
    /// exist nowhere else.
    public func removeStore(_ name: String, force: Bool) throws(SFGitError) -> StoreRemoval {
        let store = try self.store(named: name)
        guard let lock = try StoreLock.acquire(store.lockPath, wait: 0) else {
            throw SFGitError(.busy, "a sync holds \(store.lockPath); try again when it is done")
        }
        return try withExtendedLifetime(lock) { () throws(SFGitError) in
            var unpublished = 0
            if FileManager.default.fileExists(atPath: store.repositoryPath + "/HEAD") {
                unpublished = try workflow("store \(store.name)") {
                    let repository = try store.openRepository()
                    let verified = try repository.reference(Store.verifiedRef)
                    return try Outbox(repository: repository).unpublished(verified: verified).count
                        + (try repository.references(matching: Store.heldPrefix + "*").count)
                }
            }
            if unpublished > 0 && !force {
                throw SFGitError(.conflict, "store \(store.name) has \(unpublished) unpublished outbox commit\(unpublished == 1 ? "" : "s") that exist nowhere else: run sfgit sync first, or pass --force to discard them")
            }
            var config = self.config
            config.stores.removeAll { $0.name == store.name }
            try home.saveConfig(config)
            do { try FileManager.default.removeItem(atPath: store.directory) } catch {
                throw SFGitError(.internalError, "removed \(store.name) from \(home.configPath), but cannot delete \(store.directory): \(error.localizedDescription)")
            }
            return StoreRemoval(store: store.name, directory: store.directory, discarded: force ? unpublished : 0)
        }
    }

    /// The value of a configuration key in `config.yaml` (nil: unset there; the environment and
    /// flags are not consulted, so this is what a cron job sees).
    public func configValue(_ key: ConfigKey) -> String? {
        switch key {
        case .author: return config.identity.author
        case .host: return config.identity.host
        case .key: return config.identity.key
        case .instance: return config.identity.instance
        case .agent: return config.identity.agent
        }
    }

    /// Sets a key in `config.yaml`, validated first. A key path is stored absolute (resolved
    /// against the current directory) and must name a readable key, so that it works from any
    /// directory and from cron. Returns the value stored.
    @discardableResult
    public func setConfig(_ key: ConfigKey, _ value: String, currentDirectory: String = FileManager.default.currentDirectoryPath) throws(SFGitError) -> String {
        var config = self.config
        var stored = value
        switch key {
        case .author, .host:
            guard Principal.isValidPart(value) else {
                throw SFGitError(.usage, "\(key.rawValue) '\(value)' is not valid: lower-case ASCII letters, digits, '.', '_' or '-'")
            }
        case .key:
            stored = value.hasPrefix("/") ? value
                : URL(fileURLWithPath: value, relativeTo: URL(fileURLWithPath: currentDirectory, isDirectory: true)).standardizedFileURL.path
            guard FileManager.default.isReadableFile(atPath: stored) else {
                throw SFGitError(.usage, "\(key.rawValue) '\(value)': no readable key at \(stored)")
            }
            do { _ = try SigningKey.load(stored) } catch {
                throw SFGitError(.usage, "\(key.rawValue) '\(value)': \(stored) is not a usable signing key: \(error.message)")
            }
        case .instance, .agent:
            guard !value.isEmpty, !value.contains(where: { $0.isNewline }) else {
                throw SFGitError(.usage, "\(key.rawValue) must be one non-empty line")
            }
        }
        switch key {
        case .author: config.identity.author = stored
        case .host: config.identity.host = stored
        case .key: config.identity.key = stored
        case .instance: config.identity.instance = stored
        case .agent: config.identity.agent = stored
        }
        try home.saveConfig(config)
        return stored
    }

    /// Who this host writes as (config, environment and flags together), its key's fingerprint,
    /// whether an ssh-agent answers, and what each store's verified policy says about it.
    public func whoAmI() throws(SFGitError) -> WhoAmI {
        let principal = identity.principal
        var fingerprint: String?
        var problem: String?
        if let key = identity.key {
            do { fingerprint = try SigningKey.load(key).publicKey.fingerprint } catch { problem = error.message }
        } else {
            problem = "no signing key: set one with sfgit config set identity.key PATH"
        }
        let agent = Self.probeAgent(environment)
        var trust: [WhoAmI.StoreTrust] = []
        for store in try stores(named: nil) {
            var entry = WhoAmI.StoreTrust(store: store.name, roles: [], keyListed: false)
            do {
                let repository = try store.openRepository()
                if let verified = try repository.reference(Store.verifiedRef) {
                    let tree = try repository.commit(verified).treeID
                    if let principal, let policy = try repository.policy(inTree: tree) {
                        entry.roles = policy.roles(of: principal).sorted().map(\.rawValue)
                    }
                    if let principal, let fingerprint, let file = try repository.entry(at: ".sfgit/allowed_signers", inTree: tree) {
                        let signers = try AllowedSigners.parse(try repository.blob(file.id))
                        entry.keyListed = signers.entries.contains { $0.principal == principal && $0.key.fingerprint == fingerprint }
                    }
                } else {
                    entry.note = "no verified history yet: run sfgit sync"
                }
            } catch {
                entry.note = "cannot read the store: \(error)"
            }
            trust.append(entry)
        }
        return WhoAmI(principal: principal, key: identity.key, keyFingerprint: fingerprint, keyProblem: problem, agent: agent, stores: trust)
    }

    /// Asks the agent at `SSH_AUTH_SOCK` for its keys (`ssh-add -l`: 0 keys listed, 1 none, 2 no agent).
    static func probeAgent(_ environment: [String: String]) -> WhoAmI.Agent {
        guard let socket = environment["SSH_AUTH_SOCK"], !socket.isEmpty else { return .init(socket: nil, reachable: false, keys: 0) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ssh-add", "-l"]
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return .init(socket: socket, reachable: false, keys: 0) }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let status = process.terminationStatus
        let keys = status == 0 ? String(decoding: data, as: UTF8.self).split(separator: "\n").count : 0
        return .init(socket: socket, reachable: status == 0 || status == 1, keys: keys)
    }
}

extension Workspace {
    /// What `verify --store NAME` checks: the store's own repository, pinned as config.yaml pins
    /// it, up to the verified tip unless a revision is given.
    public func verification(store name: String, revision: String?, from: String?, proposal: Bool = false) throws(SFGitError) -> HistoryVerification {
        guard let entry = config.stores.first(where: { $0.name == name }) else {
            throw SFGitError(.notFound, "no store named '\(name)' in \(home.configPath)")
        }
        let store = Store(config: entry, home: home)
        return HistoryVerification(repositoryPath: store.repositoryPath, introduction: (entry.introduction, entry.signer), from: from,
                                   revision: revision ?? Store.verifiedRef, proposal: proposal)
    }
}

/// The consumer-policy keys of one store that `sfgit config get|set stores.NAME.trust.KEY`
/// knows (the store's `trust:` in config.yaml, applied to every recall).
public enum StoreTrustKey: String, CaseIterable, Sendable {
    case minTier = "min_tier"
    case excludeRetired = "exclude_retired"

    /// The keys, for messages.
    public static var names: String { allCases.map { "stores.NAME.trust.\($0.rawValue)" }.joined(separator: ", ") }
}

extension Workspace {
    /// A store's consumer-policy value in config.yaml (`min_tier` nil when unset).
    public func storeTrustValue(store name: String, _ key: StoreTrustKey) throws(SFGitError) -> String? {
        let store = try stores(named: name)[0]
        switch key {
        case .minTier: return store.config.consumer.minTier?.rawValue
        case .excludeRetired: return store.config.consumer.excludeRetired ? "true" : "false"
        }
    }

    /// Sets a store's consumer-policy value: `min_tier` is self, authenticated, reviewed or none
    /// (no floor); `exclude_retired` is true or false. Returns the value stored.
    @discardableResult
    public func setStoreTrust(store name: String, _ key: StoreTrustKey, _ value: String) throws(SFGitError) -> String {
        _ = try stores(named: name)
        var config = self.config
        let index = config.stores.firstIndex { $0.name == name }!
        switch key {
        case .minTier:
            if value == "none" {
                config.stores[index].consumer.minTier = nil
            } else {
                guard let tier = Tier(rawValue: value) else {
                    throw SFGitError(.usage, "stores.\(name).trust.min_tier '\(value)' is not self, authenticated, reviewed or none")
                }
                config.stores[index].consumer.minTier = tier
            }
        case .excludeRetired:
            guard value == "true" || value == "false" else {
                throw SFGitError(.usage, "stores.\(name).trust.exclude_retired '\(value)' is not true or false")
            }
            config.stores[index].consumer.excludeRetired = value == "true"
        }
        try home.saveConfig(config)
        return value
    }
}

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// One store of this home, as `store list` shows it.
public struct StoreListing: Sendable, Codable {
    /// The store's name.
    public var name: String
    /// Its remote URL.
    public var remote: String
    /// The pinned introduction commit (hex).
    public var introduction: String
    /// The pinned signer's `SHA256:` fingerprint.
    public var signer: String
    /// The verified tip, once a fetch was verified.
    @Nullable public var verifiedTip: String? = nil
    /// Outbox commits not yet published.
    public var pending: Int

    enum CodingKeys: String, CodingKey {
        case name, remote, introduction, signer, verifiedTip = "verified_tip", pending
    }
}

/// What `store remove` did.
public struct StoreRemoval: Sendable, Codable {
    /// The store removed.
    public var store: String
    /// The directory deleted with the store's repository and cache.
    public var directory: String
    /// Unpublished outbox commits discarded (only with `--force`).
    public var discarded: Int
    /// Whether it was `default_store`, which is now unset.
    public var wasDefault: Bool = false

    enum CodingKeys: String, CodingKey {
        case store, directory, discarded, wasDefault = "was_default"
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
            let wasDefault = config.defaultStore == store.name
            if wasDefault { config.defaultStore = nil }
            try home.saveConfig(config)
            do { try FileManager.default.removeItem(atPath: store.directory) } catch {
                throw SFGitError(.internalError, "removed \(store.name) from \(home.configPath), but cannot delete \(store.directory): \(error.localizedDescription)")
            }
            return StoreRemoval(store: store.name, directory: store.directory, discarded: force ? unpublished : 0, wasDefault: wasDefault)
        }
    }

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

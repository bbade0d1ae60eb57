import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// What `clone` reports: the store registered and its first sync.
public struct CloneReport: Sendable, Codable {
    /// The store's name.
    public var store: String
    /// Its remote URL.
    public var remote: String
    /// The first sync's report.
    public var sync: StoreSyncReport
}

extension Workspace {
    /// Registers a store pinned to an introduction and runs its first sync (which verifies the
    /// whole history from that introduction).
    public func cloneStore(remote: String, introduction: String, signer: String, name: String?, options: SyncOptions) throws(SFGitError) -> CloneReport {
        let storeName = name ?? Self.defaultStoreName(remote)
        guard StoreConfig.isValidName(storeName) else { throw SFGitError(.usage, "'\(storeName)' is not a valid store name; pass --store NAME") }
        guard ObjectID(hex: introduction) != nil else { throw SFGitError(.usage, "--introduction '\(introduction)' is not a full commit id (40 hex digits)") }
        // SHA256: and the 43 characters of unpadded base64 that ssh-keygen -lf prints.
        let digest = signer.dropFirst("SHA256:".count)
        guard signer.hasPrefix("SHA256:"), digest.count == 43,
              digest.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/") }) else {
            throw SFGitError(.usage, "--signer '\(signer)' is not a key fingerprint (SHA256: and 43 characters, as ssh-keygen -lf prints it)")
        }
        var config = self.config
        let directory = try newStoreDirectory(storeName)
        let before = self.config
        config.stores.append(StoreConfig(name: storeName, remote: remote, introduction: introduction.lowercased(), signer: signer))
        if config.identity == Identity() { config.identity = identity }
        try home.saveConfig(config)
        var workspace = self
        workspace.config = config
        let report: StoreSyncReport
        do { report = try workspace.sync(store: storeName, options: options)[0] } catch {
            try? home.saveConfig(before)
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        // Joined only once the pinned introduction was found and verified: a wrong pin or an
        // unreachable remote leaves nothing registered, so the same clone command can simply be
        // run again. (History refused after a verified introduction is the remote's problem, as
        // on any later sync: the store stays, pinned, and says so.)
        let verified = (try? Store(config: config.stores[config.stores.count - 1], home: home).openRepository().reference(Store.verifiedRef)) ?? nil
        guard verified != nil else {
            try? home.saveConfig(before)
            try? FileManager.default.removeItem(atPath: directory)
            let why = report.blocked?.reason ?? report.warnings.first?.message ?? "the introduction was not found"
            let status: ExitStatus = report.result == .degraded && report.blocked == nil ? .degraded : .untrusted
            throw SFGitError(status, "did not join \(remote): \(why); the introduction \(introduction), pinned to the key \(signer), could not be verified, so nothing was registered (check the pin given out of band, and that the remote is reachable)")
        }
        return CloneReport(store: storeName, remote: remote, sync: report)
    }
}

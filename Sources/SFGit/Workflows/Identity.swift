import Foundation
import SFGitIndex
import SFGitMemory
import SFGitProcess
import SFGitRepository
import SFGitTrust

/// What `whoami` reports: who this host writes as and whether that works.
public struct WhoAmI: Sendable, Codable {
    /// The agent socket and whether it answered.
    public struct Agent: Sendable, Codable {
        /// The agent socket (`SSH_AUTH_SOCK`), when set.
        @Nullable public var socket: String? = nil
        /// Whether an agent answered there.
        public var reachable: Bool
        /// Keys the agent holds (`ssh-add -l` lines), when reachable.
        public var keys: Int
    }

    /// What one store's verified policy says about this principal and key.
    public struct StoreTrust: Sendable, Codable {
        /// The store's name.
        public var store: String
        /// Roles the verified policy gives the principal (empty: none, or not verified yet).
        public var roles: [String]
        /// Whether the verified `allowed_signers` lists this key for this principal.
        public var keyListed: Bool
        /// Why roles could not be read (no verified policy yet, …).
        @Nullable public var note: String? = nil

        enum CodingKeys: String, CodingKey {
            case store, roles, keyListed = "key_listed", note
        }
    }

    /// The principal this host writes as (`author@host`), when configured.
    @Nullable public var principal: String? = nil
    /// The signing key's path, when configured.
    @Nullable public var key: String? = nil
    /// The signing key's `SHA256:` fingerprint, when it loads.
    @Nullable public var keyFingerprint: String? = nil
    /// Why the key cannot be used, when it cannot.
    @Nullable public var keyProblem: String? = nil
    /// The ssh-agent.
    public var agent: Agent
    /// What each store's verified policy says about this principal and key.
    public var stores: [StoreTrust]

    enum CodingKeys: String, CodingKey {
        case principal, key, keyFingerprint = "key_fingerprint", keyProblem = "key_problem", agent, stores
    }
}

/// The keys `sfgit config get|set` knows: the identity in `config.yaml`, and the default store.
public enum ConfigKey: String, CaseIterable, Sendable {
    case author = "identity.author"
    case host = "identity.host"
    case key = "identity.key"
    case instance = "identity.instance"
    case agent = "identity.agent"
    /// The store a write goes to when there are several and no `--store`.
    case defaultStore = "default_store"

    /// The keys, for messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension Workspace {
    /// The value of a configuration key in `config.yaml` (nil: unset there; the environment and
    /// flags are not consulted, so this is what a cron job sees).
    public func configValue(_ key: ConfigKey) -> String? {
        switch key {
        case .author: return config.identity.author
        case .host: return config.identity.host
        case .key: return config.identity.key
        case .instance: return config.identity.instance
        case .agent: return config.identity.agent
        case .defaultStore: return config.defaultStore
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
            stored = Self.absolutePath(value, from: currentDirectory)
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
        case .defaultStore:
            guard config.stores.contains(where: { $0.name == value }) else {
                let names = config.stores.map(\.name)
                throw SFGitError(.usage, "default_store '\(value)' is not one of this home's stores (\(names.isEmpty ? "none yet" : names.joined(separator: ", ")))")
            }
        }
        switch key {
        case .author: config.identity.author = stored
        case .host: config.identity.host = stored
        case .key: config.identity.key = stored
        case .instance: config.identity.instance = stored
        case .agent: config.identity.agent = stored
        case .defaultStore: config.defaultStore = stored
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
                        if let fingerprint, let revocation = policy.revocation(of: fingerprint) {
                            entry.note = "this key is REVOKED" + (revocation.since.map { " after \(String($0.prefix(12)))" } ?? "") + ": its later commits are refused"
                        }
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
        guard let result = try? Launcher.run(ChildCommand("ssh-add", ["-l"], environment: environment), deadline: Date().addingTimeInterval(10)) else {
            return .init(socket: socket, reachable: false, keys: 0)
        }
        let status = result.shellStatus
        let keys = status == 0 ? result.outputText.split(separator: "\n").count : 0
        return .init(socket: socket, reachable: status == 0 || status == 1, keys: keys)
    }
}



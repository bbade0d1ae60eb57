import Foundation
import SFGitIndex
import SFGitMemory

/// Who this host writes as: the principal `author@host`, the key that signs, and the claims a
/// memory carries about the agent instance.
public struct Identity: Sendable, Hashable {
    /// The author half of the principal.
    public var author: String?
    /// The host half of the principal.
    public var host: String?
    /// The SSH private key (or `.pub` of an ssh-agent key) that signs commits.
    public var key: String?
    /// The agent instance on this host (a claim).
    public var instance: String?
    /// The product and version writing (a claim).
    public var agent: String?

    /// Creates an identity.
    public init(author: String? = nil, host: String? = nil, key: String? = nil, instance: String? = nil, agent: String? = nil) {
        self.author = author
        self.host = host
        self.key = key
        self.instance = instance
        self.agent = agent
    }

    /// `author@host`, when both are set.
    public var principal: String? {
        guard let author, let host else { return nil }
        return "\(author)@\(host)"
    }

    /// Fields set in `other` replace these.
    public func overridden(by other: Identity) -> Identity {
        Identity(author: other.author ?? author, host: other.host ?? host, key: other.key ?? key,
                 instance: other.instance ?? instance, agent: other.agent ?? agent)
    }

    /// The identity the `SFGIT_AUTHOR`, `SFGIT_HOST`, `SFGIT_SIGNING_KEY`, `SFGIT_INSTANCE` and `SFGIT_AGENT` variables give.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Identity {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        return Identity(author: value("SFGIT_AUTHOR"), host: value("SFGIT_HOST"), key: value("SFGIT_SIGNING_KEY"),
                        instance: value("SFGIT_INSTANCE"), agent: value("SFGIT_AGENT"))
    }

    /// The principal, or a usage error naming what is missing and where to set it.
    public func requirePrincipal() throws(SFGitError) -> String {
        guard let author, let host else {
            throw SFGitError(.usage, "no identity: set author and host in config.yaml, with --author/--host, or SFGIT_AUTHOR/SFGIT_HOST")
        }
        let principal = "\(author)@\(host)"
        guard Principal.isValid(principal) else {
            throw SFGitError(.usage, "'\(principal)' is not a valid principal: author and host are lower-case ASCII letters, digits, '.', '_' or '-'")
        }
        return principal
    }

    /// The signing key path, or a usage error.
    public func requireKey() throws(SFGitError) -> String {
        guard let key else {
            throw SFGitError(.usage, "no signing key: set key in config.yaml, --key, or SFGIT_SIGNING_KEY (an ed25519 or ECDSA SSH key)")
        }
        return key
    }
}

/// One store this home takes part in.
public struct StoreConfig: Sendable, Hashable {
    /// The store's local name (`--store NAME`).
    public var name: String
    /// The shared repository's URL.
    public var remote: String
    /// The introduction commit this store is pinned to.
    public var introduction: String
    /// The `SHA256:` fingerprint of the key that signed the introduction.
    public var signer: String
    /// An SSH key for the transport, when it is not the signing key.
    public var sshKey: String?
    /// Whom this host trusts among the store's signers when it recalls (`trust:`).
    public var consumer = ConsumerPolicy()

    /// Creates a store entry.
    public init(name: String, remote: String, introduction: String, signer: String, sshKey: String? = nil) {
        self.name = name
        self.remote = remote
        self.introduction = introduction
        self.signer = signer
        self.sshKey = sshKey
    }

    /// Whether `name` can name a store (it becomes a directory name).
    public static func isValidName(_ name: String) -> Bool {
        Principal.isValidPart(name)
    }
}

/// A consumer's trust filter for one store, applied to every recall unless a call overrides it:
/// `trust: {min_tier: reviewed, signers: [...], exclude: [...], exclude_retired: true}`.
public struct ConsumerPolicy: Sendable, Hashable, Codable {
    /// The lowest tier served (`self`, `authenticated`, `reviewed`); nil: all.
    public var minTier: Tier?
    /// Only these signers; empty: all.
    public var signers: [String] = []
    /// Never these signers.
    public var exclude: [String] = []
    /// Leave out memories of principals the current policy no longer lists.
    public var excludeRetired = false

    /// No filter.
    public init() {}

    /// Whether the policy filters nothing.
    public var isEmpty: Bool { minTier == nil && signers.isEmpty && exclude.isEmpty && !excludeRetired }

    /// The filter in words, for warnings and `status`.
    public var summary: String {
        var parts: [String] = []
        if let minTier { parts.append("min_tier \(minTier.rawValue)") }
        if !signers.isEmpty { parts.append("signers " + signers.joined(separator: ", ")) }
        if !exclude.isEmpty { parts.append("exclude " + exclude.joined(separator: ", ")) }
        if excludeRetired { parts.append("exclude_retired") }
        return parts.isEmpty ? "none" : parts.joined(separator: "; ")
    }

    enum CodingKeys: String, CodingKey {
        case minTier = "min_tier", signers, exclude, excludeRetired = "exclude_retired"
    }
}

/// `config.yaml`: this home's identity and stores. Read strictly, written by sfgit.
public struct Config: Sendable, Hashable {
    /// The identity written into memories and commits.
    public var identity: Identity
    /// The stores, in the order they were added.
    public var stores: [StoreConfig]
    /// The store a write goes to when there are several and no `--store` (`default_store`).
    public var defaultStore: String?

    /// Creates a configuration.
    public init(identity: Identity = Identity(), stores: [StoreConfig] = []) {
        self.identity = identity
        self.stores = stores
    }

    /// Parses `config.yaml`; problems name the file, line and column.
    public static func parse(_ bytes: [UInt8], path: String) throws(SFGitError) -> Config {
        let stream: StrictYAMLReader.Stream
        do {
            stream = try StrictYAMLReader(maxDepth: 8, maxDocuments: 1).read(bytes)
        } catch {
            throw SFGitError(.usage, "\(path):\(error.position): error: \(error.failure)")
        }
        guard let root = stream.documents.first else { return Config() }
        guard let entries = root.mappingEntries else {
            throw SFGitError(.usage, "\(path):\(root.position): error: expected a mapping with identity and stores")
        }
        func problem(_ node: YAMLNode, _ message: String) -> SFGitError {
            SFGitError(.usage, "\(path):\(node.position): error: \(message)")
        }
        func text(_ node: YAMLNode, _ field: String) throws(SFGitError) -> String? {
            switch node.content {
            case .scalar(let value, _):
                if case .scalar(let scalar) = node.value, scalar.kind == .null { return nil }
                return value
            default: throw problem(node, "\(field) must be text")
            }
        }
        func list(_ node: YAMLNode, _ field: String) throws(SFGitError) -> [String] {
            guard case .sequence(let items) = node.content else { throw problem(node, "\(field) must be a list of principals") }
            var out: [String] = []
            for item in items {
                guard let value = try text(item, field), Principal.isValid(value) else { throw problem(item, "\(field) takes principals (author@host)") }
                out.append(value)
            }
            return out
        }
        func consumerPolicy(_ node: YAMLNode) throws(SFGitError) -> ConsumerPolicy {
            guard let fields = node.mappingEntries else { throw problem(node, "trust must be a mapping (min_tier, signers, exclude, exclude_retired)") }
            var policy = ConsumerPolicy()
            for field in fields {
                switch field.key {
                case "min_tier":
                    guard let value = try text(field.value, field.key), let tier = Tier(rawValue: value) else {
                        throw problem(field.value, "min_tier is one of self, authenticated, reviewed")
                    }
                    policy.minTier = tier
                case "signers": policy.signers = try list(field.value, field.key)
                case "exclude": policy.exclude = try list(field.value, field.key)
                case "exclude_retired":
                    guard let value = try text(field.value, field.key), ["true", "false"].contains(value) else {
                        throw problem(field.value, "exclude_retired is true or false")
                    }
                    policy.excludeRetired = value == "true"
                default: throw problem(field.value, "unknown trust field '\(field.key)' (min_tier, signers, exclude, exclude_retired)")
                }
            }
            return policy
        }
        var config = Config()
        var defaultStoreNode: YAMLNode?
        for entry in entries {
            switch entry.key {
            case "default_store":
                guard let name = try text(entry.value, "default_store") else { continue }
                guard StoreConfig.isValidName(name) else { throw problem(entry.value, "default_store '\(name)' is not a valid store name") }
                config.defaultStore = name
                defaultStoreNode = entry.value
            case "identity":
                guard let fields = entry.value.mappingEntries else { throw problem(entry.value, "identity must be a mapping") }
                for field in fields {
                    let value = try text(field.value, field.key)
                    switch field.key {
                    case "author": config.identity.author = value
                    case "host": config.identity.host = value
                    case "key": config.identity.key = value
                    case "instance": config.identity.instance = value
                    case "agent": config.identity.agent = value
                    default: throw problem(field.value, "unknown identity field '\(field.key)'")
                    }
                }
            case "stores":
                guard case .sequence(let items) = entry.value.content else { throw problem(entry.value, "stores must be a list") }
                for item in items {
                    guard let fields = item.mappingEntries else { throw problem(item, "a store must be a mapping") }
                    var values: [String: String] = [:]
                    var consumer = ConsumerPolicy()
                    for field in fields {
                        if field.key == "trust" {
                            consumer = try consumerPolicy(field.value)
                            continue
                        }
                        guard ["name", "remote", "introduction", "signer", "ssh_key"].contains(field.key) else {
                            throw problem(field.value, "unknown store field '\(field.key)'")
                        }
                        values[field.key] = try text(field.value, field.key)
                    }
                    guard let name = values["name"], let remote = values["remote"], let introduction = values["introduction"],
                          let signer = values["signer"] else {
                        throw problem(item, "a store needs name, remote, introduction and signer")
                    }
                    guard StoreConfig.isValidName(name) else { throw problem(item, "'\(name)' is not a valid store name") }
                    var store = StoreConfig(name: name, remote: remote, introduction: introduction, signer: signer, sshKey: values["ssh_key"])
                    store.consumer = consumer
                    config.stores.append(store)
                }
            default:
                throw problem(entry.value, "unknown field '\(entry.key)'")
            }
        }
        if let name = config.defaultStore, let node = defaultStoreNode, !config.stores.contains(where: { $0.name == name }) {
            throw problem(node, "default_store names \(name), which is not one of the stores")
        }
        return config
    }

    /// The configuration as YAML.
    public func render() throws -> [UInt8] {
        var identityFields: [YAMLField] = []
        func add(_ key: String, _ value: String?) { if let value { identityFields.append(YAMLField(key: key, value: .string(value))) } }
        add("author", identity.author)
        add("host", identity.host)
        add("key", identity.key)
        add("instance", identity.instance)
        add("agent", identity.agent)
        let storeValues: [YAMLValue] = stores.map { store in
            var fields = [
                YAMLField(key: "name", value: .string(store.name)),
                YAMLField(key: "remote", value: .string(store.remote)),
                YAMLField(key: "introduction", value: .string(store.introduction)),
                YAMLField(key: "signer", value: .string(store.signer)),
            ]
            if let key = store.sshKey { fields.append(YAMLField(key: "ssh_key", value: .string(key))) }
            if !store.consumer.isEmpty {
                var trust: [YAMLField] = []
                if let tier = store.consumer.minTier { trust.append(YAMLField(key: "min_tier", value: .string(tier.rawValue))) }
                if !store.consumer.signers.isEmpty { trust.append(YAMLField(key: "signers", value: .sequence(store.consumer.signers.map { .string($0) }))) }
                if !store.consumer.exclude.isEmpty { trust.append(YAMLField(key: "exclude", value: .sequence(store.consumer.exclude.map { .string($0) }))) }
                if store.consumer.excludeRetired { trust.append(YAMLField(key: "exclude_retired", value: .string("true"))) }
                fields.append(YAMLField(key: "trust", value: .mapping(trust)))
            }
            return .mapping(fields)
        }
        var document = [YAMLField(key: "identity", value: .mapping(identityFields))]
        if let defaultStore { document.append(YAMLField(key: "default_store", value: .string(defaultStore))) }
        document.append(YAMLField(key: "stores", value: .sequence(storeValues)))
        return try YAMLWriter().write(documents: [document])
    }
}

/// `SFGIT_HOME`: everything for one identity — `config.yaml` and `stores/<name>/`.
public struct Home: Sendable {
    /// The home directory.
    public let path: String

    /// Creates a handle on a home directory (nothing is created yet).
    public init(path: String) {
        self.path = path
    }

    /// `SFGIT_HOME`, else `$XDG_DATA_HOME/sfgit`, else `~/.local/share/sfgit`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Home {
        if let home = environment["SFGIT_HOME"], !home.isEmpty { return Home(path: home) }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return Home(path: data + "/sfgit") }
        let user = environment["HOME"] ?? NSHomeDirectory()
        return Home(path: user + "/.local/share/sfgit")
    }

    /// `config.yaml`'s path.
    public var configPath: String { path + "/config.yaml" }

    /// A store's directory.
    public func storeDirectory(_ name: String) -> String { path + "/stores/" + name }

    /// Reads `config.yaml` (an empty configuration when there is none yet). The home is made
    /// owner-only first (an existing one of this user's is tightened to 0700); a configuration
    /// another user could have written is refused: it names the keys and remotes sfgit trusts.
    /// docs/TRUST.md § Local state.
    public func loadConfig() throws(SFGitError) -> Config {
        if FileManager.default.fileExists(atPath: path) {
            do { try OwnerOnly.tighten(path) } catch {
                throw SFGitError(.usage, "refusing to use the home \(path): \(error.problem)")
            }
        }
        guard let data = FileManager.default.contents(atPath: configPath) else { return Config() }
        if let problem = OwnerOnly.foreignWriter(configPath) {
            let fix = problem.hasPrefix("it is owned")
                ? "make it yours and owner-only (chown \(geteuid()) \(configPath) && chmod 600 \(configPath))"
                : "chmod 600 \(configPath)"
            throw SFGitError(.usage, "refusing to read \(configPath): \(problem), and it names the keys and remotes sfgit trusts; check its content, then \(fix)")
        }
        return try Config.parse([UInt8](data), path: configPath)
    }

    /// Creates the home, or one of its directories (`stores/`, `stores/NAME`), owner-only.
    func makeDirectory(_ directory: String) throws(SFGitError) {
        do {
            try OwnerOnly.directory(path)
            if directory != path {
                try OwnerOnly.directory(path + "/stores")
                if directory != path + "/stores" { try OwnerOnly.directory(directory) }
            }
        } catch {
            throw SFGitError(.usage, "cannot keep \(error.path) owner-only: \(error.problem)")
        }
    }

    /// Writes `config.yaml` atomically (a crash leaves the old file or the new one), owner-only.
    public func saveConfig(_ config: Config) throws(SFGitError) {
        try makeDirectory(path)
        do {
            try OwnerOnly.write(Data(try config.render()), to: configPath)
        } catch {
            throw SFGitError(.internalError, "cannot write \(configPath): \(error)")
        }
    }
}

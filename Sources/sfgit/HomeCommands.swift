import ArgumentParser
import Foundation
import SFGit

/// `sfgit config get|set`: the identity in config.yaml, without editing YAML by hand.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Read or set this home's identity, default store and consumer policies in config.yaml.",
        discussion: "Keys: \(allKeyNames).\n\n" + Examples.config,
        subcommands: [Get.self, Set.self])

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Print a key's value in config.yaml (exit 8 when unset).",
            discussion: "EXAMPLES:\n  sfgit config get identity.key")

        @Argument(help: ArgumentHelp("The key.", discussion: allKeyNames))
        var key: String

        @OptionGroup var output: OutputOptions

        func validate() throws { _ = try configKey(key) }

        func run() throws {
            let key = try configKey(key)
            try perform("config get", output, { () throws(SFGitError) in
                guard let value = try key.value(in: openWorkspace()) else {
                    throw SFGitError(.notFound, "\(key.name) is not set in config.yaml; set it with sfgit config set \(key.name) VALUE")
                }
                return Outcome(data: ConfigValue(key: key.name, value: value))
            }, text: { printOut(safe($0.value)) })
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set a key in config.yaml (a key path is stored absolute).",
            discussion: """
                EXAMPLES:
                  sfgit config set identity.author claude
                  sfgit config set identity.host build-07
                  sfgit config set identity.key ~/.ssh/sfgit_ed25519
                  sfgit config set stores.shared.trust.min_tier reviewed
                  sfgit config set default_store shared    # where writes go when there are several stores
                """)

        @Argument(help: ArgumentHelp("The key.", discussion: allKeyNames))
        var key: String

        @Argument(help: "The value.")
        var value: String

        @OptionGroup var output: OutputOptions

        func validate() throws { _ = try configKey(key) }

        func run() throws {
            let key = try configKey(key)
            try perform("config set", output, { () throws(SFGitError) in
                Outcome(data: ConfigValue(key: key.name, value: try key.set(value, in: openWorkspace())))
            }, text: { printOut("\($0.key) = \(safe($0.value))") })
        }
    }
}

/// A key and its value (`config` JSON data).
struct ConfigValue: Encodable {
    var key: String
    var value: String
}

/// A key a user typed: an identity key, or a store's consumer-policy key.
private enum TypedKey {
    case identity(ConfigKey)
    case storeTrust(store: String, key: StoreTrustKey)

    var name: String {
        switch self {
        case .identity(let key): return key.rawValue
        case .storeTrust(let store, let key): return "stores.\(store).trust.\(key.rawValue)"
        }
    }

    func value(in workspace: Workspace) throws(SFGitError) -> String? {
        switch self {
        case .identity(let key): return workspace.configValue(key)
        case .storeTrust(let store, let key): return try workspace.storeTrustValue(store: store, key)
        }
    }

    func set(_ value: String, in workspace: Workspace) throws(SFGitError) -> String {
        switch self {
        case .identity(let key): return try workspace.setConfig(key, value)
        case .storeTrust(let store, let key): return try workspace.setStoreTrust(store: store, key, value)
        }
    }
}

/// All keys, for help and messages.
private let allKeyNames = ConfigKey.names + ", " + StoreTrustKey.names

/// The key a user typed, or a usage error listing the keys.
private func configKey(_ text: String) throws -> TypedKey {
    if let key = ConfigKey(rawValue: text) { return .identity(key) }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    if parts.count == 4, parts[0] == "stores", parts[2] == "trust", let key = StoreTrustKey(rawValue: String(parts[3])) {
        return .storeTrust(store: String(parts[1]), key: key)
    }
    throw ValidationError("unknown key '\(text)'; keys: \(allKeyNames)")
}

/// `sfgit whoami`.
struct WhoamiCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Who this host writes as: principal, key fingerprint, ssh-agent, and the roles each store gives it.",
        discussion: "Exit 0 when the principal and key are usable, 2 when either is missing or the key cannot be loaded.\n\n" + Examples.whoami)

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try perform("whoami", output, { () throws(SFGitError) in
            let who = try openWorkspace(identity.identity).whoAmI()
            let problem = who.principal == nil ? "no identity: set it with sfgit config set identity.author NAME and identity.host NAME" : who.keyProblem
            return Outcome(data: who, exit: problem == nil ? .ok : .usage, message: problem)
        }, text: { who in
            printOut("principal:  \(safe(who.principal ?? "none"))")
            printOut("key:        \(safe(who.key ?? "none"))\(who.keyFingerprint.map { " (\(safe($0)))" } ?? "")")
            if let problem = who.keyProblem { printOut("            cannot use it: \(safe(problem))") }
            let agent = who.agent.socket == nil ? "none (SSH_AUTH_SOCK is not set)"
                : who.agent.reachable ? "\(safe(who.agent.socket!)), \(who.agent.keys) key\(who.agent.keys == 1 ? "" : "s")" : "\(safe(who.agent.socket!)) does not answer"
            printOut("ssh-agent:  \(agent)")
            for store in who.stores {
                let roles = store.roles.isEmpty ? "no roles" : store.roles.joined(separator: ", ")
                let listed = store.keyListed ? "key listed" : "key NOT listed"
                printOut("store \(safe(store.store)): \(roles); \(listed)\(store.note.map { " (\(safe($0)))" } ?? "")")
            }
        })
    }
}

/// `sfgit store list|remove`.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "List this home's stores, or forget one.", discussion: Examples.storeGroup, subcommands: [List.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Each store: name, remote, pin, verified tip, pending outbox.",
                                                        discussion: Examples.storeList)

        @OptionGroup var output: OutputOptions

        func run() throws {
            try perform("store list", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace().storeList())
            }, text: { stores in
                if stores.isEmpty { printOut("no stores yet: create one with sfgit init or join one with sfgit clone") }
                for store in stores {
                    printOut("\(safe(store.name))  \(safe(store.remote))  verified \(safe(store.verifiedTip.map { String($0.prefix(12)) } ?? "none")), \(store.pending) pending")
                    printOut("    introduction \(safe(store.introduction)) signed by \(safe(store.signer))")
                }
            })
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove", abstract: "Forget a store: remove it from config.yaml and delete its local repository and cache.",
            discussion: "The shared repository is not touched. Refused (exit 6) while this host has unpublished memories in it, unless --force.\n\n" + Examples.storeRemove)

        @Argument(help: "The store's name.")
        var name: String

        @Flag(help: "Discard unpublished outbox commits too.")
        var force = false

        @OptionGroup var output: OutputOptions

        func run() throws {
            try perform("store remove", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace().removeStore(name, force: force))
            }, text: { removal in
                printOut("Removed store \(safe(removal.store)) (deleted \(safe(removal.directory))\(removal.discarded > 0 ? "; discarded \(removal.discarded) unpublished" : "")).")
                if removal.wasDefault { printOut("It was default_store, which is now unset: set another with sfgit config set default_store NAME.") }
            })
        }
    }
}

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// A home with its configuration and identity: the entry point of every store workflow
/// (`init`, `clone`, `remember`, `sync`, `recall`, `status`, `trust`, `reindex`).
public struct Workspace: Sendable {
    /// `SFGIT_HOME`.
    public let home: Home
    /// `config.yaml` as read.
    public var config: Config
    /// The identity: config, then environment, then flags.
    public var identity: Identity
    /// Where network steps run (by default the `sfgit-network` child, killed at the deadline).
    public var transport: RemoteTransport
    /// The environment (credentials for HTTP remotes).
    public var environment: [String: String]
    /// Caches kept open between reads by a long-running process (`sfgit mcp`); nil: each read
    /// opens the cache afresh, and may rebuild a missing one.
    public var residentCaches: ResidentCaches?
    /// Where clones, rebuilds and lock waits report how far they are (nil: nobody is watching).
    public var progress: ProgressSink?

    /// Opens a home: reads `config.yaml` and applies the environment's and the flags' identity.
    /// Network steps run in the `sfgit-network` child unless `transport` says otherwise.
    public init(home: Home, identityOverrides: Identity = Identity(), transport: RemoteTransport? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(SFGitError) {
        self.home = home
        self.config = try home.loadConfig()
        var given = Identity.fromEnvironment(environment).overridden(by: identityOverrides)
        // A relative key path (--key, SFGIT_SIGNING_KEY) names a file from the directory the
        // command runs in: made absolute here, so that what init and clone store in
        // config.yaml works from any directory.
        given.key = given.key.map { Self.absolutePath($0, from: FileManager.default.currentDirectoryPath) }
        self.identity = config.identity.overridden(by: given)
        self.transport = transport ?? .childProcess(executable: RemoteTransport.locateHelper(environment: environment))
        self.environment = environment
    }

    /// `path` as an absolute, standardized path, read relative to `directory` unless it is absolute.
    static func absolutePath(_ path: String, from directory: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: directory, isDirectory: true)).standardizedFileURL.path
    }

    /// The stores a command acts on: the named one, or all of them.
    public func stores(named name: String?) throws(SFGitError) -> [Store] {
        if let name {
            guard let entry = config.stores.first(where: { $0.name == name }) else {
                let known = config.stores.map(\.name).joined(separator: ", ")
                throw SFGitError(.notFound, "no store named '\(name)' in \(home.configPath)" + (known.isEmpty ? "" : " (stores: \(known))"))
            }
            return [Store(config: entry, home: home)]
        }
        return config.stores.map { Store(config: $0, home: home) }
    }

    /// The stores a read or a sync acts on, as `stores(named:)`; a home with none is a usage
    /// error saying how to get one, never an empty answer that looks like "nothing to report".
    func chosenStores(named name: String?) throws(SFGitError) -> [Store] {
        let stores = try stores(named: name)
        if stores.isEmpty {
            throw SFGitError(.usage, "no store yet in \(home.path): create one with sfgit init or join one with sfgit clone")
        }
        return stores
    }

    /// The directory a new store named `name` (init, clone) will live in: the name must be free
    /// in config.yaml and the directory absent, so that joining never overwrites anything.
    func newStoreDirectory(_ name: String) throws(SFGitError) -> String {
        guard !config.stores.contains(where: { $0.name == name }) else {
            throw SFGitError(.usage, "a store named \(name) already exists in \(home.configPath): choose another --store NAME, or forget that one first (sfgit store remove \(name))")
        }
        let directory = home.storeDirectory(name)
        if FileManager.default.fileExists(atPath: directory) {
            throw SFGitError(.usage, "\(directory) already exists; remove it or choose another --store")
        }
        return directory
    }

    /// The one store a write goes to: the named one, the only one, or `default_store`.
    public func store(named name: String?) throws(SFGitError) -> Store {
        let all = try chosenStores(named: name)
        if all.count > 1, name == nil, let preferred = config.defaultStore, let store = all.first(where: { $0.name == preferred }) {
            return store
        }
        guard all.count == 1 else {
            throw SFGitError(.usage, "several stores (\(all.map(\.name).joined(separator: ", "))): choose one with --store NAME, "
                + "or set the one writes go to with sfgit config set default_store NAME")
        }
        return all[0]
    }

    /// The signer for this identity's key.
    /// The signing key's path, absolute (a relative `--key` is read from the current directory),
    /// as the outbox records it for re-signing later from anywhere.
    func signingKeyPath() throws(SFGitError) -> String {
        let path = try identity.requireKey()
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }

    func signer() throws(SFGitError) -> any CommitSigner {
        let path = try identity.requireKey()
        // ssh-keygen would prompt for the passphrase and fail with its own text (was exit 1).
        if let problem = KeyCheck.unattendedProblem(path, environment: environment) { throw SFGitError(.usage, problem) }
        do { return try SigningKey.load(path) } catch {
            throw SFGitError(.usage, "cannot use the signing key \(path): \(error.message)")
        }
    }

    /// The credentials of a store's remote: its SSH key, else the signing key; HTTP from the
    /// environment or git's credential helpers.
    func remoteCredentials(for store: Store) -> RemoteCredentialSet {
        var sshKey = environment["SFGIT_SSH_KEY"] ?? store.config.sshKey
        if sshKey == nil, let key = identity.key, !key.hasSuffix(".pub") { sshKey = key }
        var user = environment["SFGIT_HTTP_USERNAME"]
        var password = environment[RemoteStep.httpPasswordVariable]
        let remote = store.config.remote
        if remote.hasPrefix("http://") || remote.hasPrefix("https://"), user == nil || password == nil,
           let helper = CredentialHelper.fill(url: remote, environment: environment) {
            user = user ?? helper.username
            password = password ?? helper.password
        }
        return RemoteCredentialSet(sshKey: sshKey, httpUsername: user, httpPassword: password)
    }

    /// Runs one network step for a store.
    func runRemote(_ operation: RemoteRequest.Operation, _ store: Store, refspecs: [String], timeout: Double,
                   credentials: RemoteCredentialSet) -> RemoteResponse {
        let request = RemoteRequest(operation: operation, repository: store.repositoryPath, url: store.config.remote, refspecs: refspecs,
                                    sshKeyPath: credentials.sshKey, httpUsername: credentials.httpUsername)
        // A fetch's objects as they arrive, on a terminal (`progress` is set only there).
        let name = store.name
        let fetchProgress = operation == .fetch ? progress.map { sink in { @Sendable (line: String) in sink.emit("\(name): \(line)") } } : nil
        return transport.run(request, timeout: timeout, httpPassword: credentials.httpPassword, progress: fetchProgress)
    }

    /// The policy of a commit's tree.
    func policy(_ repository: Repository, at commit: ObjectID) throws -> Policy {
        guard let policy = try repository.policy(inTree: try repository.commit(commit).treeID) else {
            throw SFGitError(.internalError, "commit \(commit.short()) has no .sfgit/policy.yaml")
        }
        return policy
    }
}

extension Repository {
    /// The `.sfgit/policy.yaml` of a tree, parsed; nil when the tree has none.
    func policy(inTree tree: ObjectID) throws -> Policy? {
        guard let entry = try entry(at: ".sfgit/policy.yaml", inTree: tree) else { return nil }
        return try Policy.parse(try blob(entry.id))
    }
}


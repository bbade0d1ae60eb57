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
    /// Where network steps run.
    public var transport: RemoteTransport
    /// The environment (credentials for HTTP remotes).
    public var environment: [String: String]
    /// Caches kept open between reads by a long-running process (`sfgit mcp`); nil: each read
    /// opens the cache afresh, and may rebuild a missing one.
    public var residentCaches: ResidentCaches?
    /// Where clones, rebuilds and lock waits report how far they are (nil: nobody is watching).
    public var progress: ProgressSink?

    /// Opens a home: reads `config.yaml` and applies the environment's and the flags' identity.
    public init(home: Home, identityOverrides: Identity = Identity(), transport: RemoteTransport = .inProcess,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(SFGitError) {
        self.home = home
        self.config = try home.loadConfig()
        self.identity = config.identity.overridden(by: Identity.fromEnvironment(environment)).overridden(by: identityOverrides)
        self.transport = transport
        self.environment = environment
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

    /// The one store a write goes to: the named one, or the only one.
    public func store(named name: String?) throws(SFGitError) -> Store {
        let all = try stores(named: name)
        guard let first = all.first else {
            throw SFGitError(.usage, "no store yet in \(home.path): create one with sfgit init or join one with sfgit clone")
        }
        guard all.count == 1 else {
            throw SFGitError(.usage, "several stores (\(all.map(\.name).joined(separator: ", "))): choose one with --store NAME")
        }
        return first
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
        var password = environment[httpPasswordVariable]
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
        return transport.run(request, timeout: timeout, httpPassword: credentials.httpPassword)
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

/// The credentials one sync uses for its remote.
struct RemoteCredentialSet {
    var sshKey: String?
    var httpUsername: String?
    var httpPassword: String?
}

/// git's credential helpers (`git credential fill`), for HTTP remotes: the only place sfgit
/// reads the user's git configuration, and never for trust.
enum CredentialHelper {
    static func fill(url: String, environment: [String: String]) -> (username: String, password: String)? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return nil }
        if let user = components.user, let password = components.password { return (user, password) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "credential", "fill"]
        var env = environment
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_ASKPASS"] = "/bin/false"
        env["SSH_ASKPASS"] = "/bin/false"
        process.environment = env
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        var query = "protocol=\(scheme)\nhost=\(host)\(components.port.map { ":\($0)" } ?? "")\npath=\(components.path.drop { $0 == "/" })\n"
        if let user = components.user { query += "username=\(user)\n" }
        input.fileHandleForWriting.write(Data((query + "\n").utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        var values: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let user = values["username"], let password = values["password"] else { return nil }
        return (user, password)
    }
}

/// Durations and dates on the command line: `30d`, `12h`, `2w`, `90m`, `2026-05-01`, or a full
/// ISO 8601 UTC timestamp.
public enum TimeSpec {
    /// Seconds since the epoch `text` names; durations count back from (`past`) or forward from `now`.
    public static func parse(_ text: String, now: Double, past: Bool) -> Double? {
        if let span = seconds(text), text.last?.isLetter == true {
            return past ? now - span : now + span
        }
        if let timestamp = Timestamp(text) { return timestamp.secondsSinceEpoch }
        if let timestamp = Timestamp(text + "T00:00:00Z") { return timestamp.secondsSinceEpoch }
        return nil
    }

    /// A duration in seconds (`120s`, `2m`, `0`); nil for anything else, dates included.
    public static func seconds(_ text: String) -> Double? {
        if let plain = Double(text) { return plain >= 0 ? plain : nil }
        guard let unit = text.last, let scale = units[unit], let count = Double(text.dropLast()), count >= 0 else { return nil }
        return count * scale
    }

    private static let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
}

import Foundation

/// A federation for end-to-end tests: a bare remote, an admin who made the store with
/// `sfgit init`, and hosts that joined it with `sfgit clone`, each with its own `SFGIT_HOME`,
/// key and `HOME` (for `~/.ssh/known_hosts`). Everything runs the built binary.
// @unchecked Sendable: one test builds it and changes it from its own task; tests that run members in parallel only read it.
public final class Federation: @unchecked Sendable {
    /// One identity on this machine.
    public struct Member: Sendable {
        /// `author@host`.
        public var principal: String
        /// Its signing key (also its SSH key for ssh:// remotes).
        public var key: TestKey
        /// Its `SFGIT_HOME`.
        public var home: String
        /// Its `HOME`.
        public var userHome: String

        /// The author half.
        public var author: String { String(principal.split(separator: "@")[0]) }
        /// The host half.
        public var host: String { String(principal.split(separator: "@")[1]) }
    }

    /// Holds everything.
    public let scratch: TemporaryDirectory
    /// The bare remote repository.
    public let remotePath: String
    /// The URL members use (file:// unless changed).
    public var remoteURL: String
    /// The admin who made the store.
    public private(set) var admin: Member
    /// The other members, by principal.
    public private(set) var members: [String: Member] = [:]
    /// The store's introduction commit.
    public private(set) var introduction = ""
    /// The introduction's signer fingerprint.
    public private(set) var signer = ""

    /// Makes the remote and the admin's identity; nothing is initialised yet.
    public init(remoteURL: String? = nil, scratch: TemporaryDirectory? = nil) throws {
        self.scratch = try scratch ?? TemporaryDirectory(prefix: "sfgit-federation")
        remotePath = self.scratch.url("remote.git")
        let made = try ProcessRunner.run("git", ["init", "-q", "--bare", "--initial-branch=main", remotePath])
        guard made.exitCode == 0 else { throw GitCLIError(arguments: ["init"], exitCode: made.exitCode, stderr: made.stderr) }
        self.remoteURL = remoteURL ?? "file://" + remotePath
        admin = try Self.member("admin@hq", in: self.scratch)
    }

    private static func member(_ principal: String, in scratch: TemporaryDirectory) throws -> Member {
        let name = principal.replacingOccurrences(of: "@", with: "-")
        try FileManager.default.createDirectory(atPath: scratch.url("keys"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.url("users/\(name)/.ssh"), withIntermediateDirectories: true)
        let key = try TestKey.generate(in: scratch.url("keys"), name: name)
        return Member(principal: principal, key: key, home: scratch.url("homes/\(name)"), userHome: scratch.url("users/\(name)"))
    }

    /// The environment a member's sfgit runs with: nothing of the real user's leaks in.
    public func environment(_ member: Member) -> [String: String?] {
        [
            "SFGIT_HOME": member.home, "HOME": member.userHome, "SFGIT_AUTHOR": member.author, "SFGIT_HOST": member.host,
            "SFGIT_SIGNING_KEY": member.key.privatePath, "XDG_CONFIG_HOME": member.userHome + "/.config",
            "SSH_AUTH_SOCK": nil, "GIT_CONFIG_NOSYSTEM": "1", "SFGIT_INSTANCE": nil, "SFGIT_AGENT": nil, "SFGIT_SSH_KEY": nil,
        ]
    }

    /// Points `member`'s store at another remote URL in its `config.yaml` (a listener that never
    /// answers, a server under test).
    public func pointRemote(of member: Member, at url: String) throws {
        let config = member.home + "/config.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: #"remote: .*"#, with: "remote: \(url)", options: .regularExpression)
        try text.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Runs sfgit as a member.
    @discardableResult
    public func run(_ member: Member, _ arguments: [String], environment extra: [String: String?] = [:], stdin: Data? = nil, timeout: TimeInterval = 120) throws -> ProcessResult {
        var environment = self.environment(member)
        for (key, value) in extra { environment[key] = value }
        return try PackagePaths.runSFGit(arguments, environment: environment, currentDirectory: scratch.path, stdin: stdin, timeout: timeout)
    }

    /// Runs sfgit with `--json` and decodes the envelope. Output that is not one JSON object
    /// throws: every command prints an envelope, on success and on failure alike, so a missing
    /// one is a failure to see, never an empty answer.
    public func json(_ member: Member, _ arguments: [String], environment: [String: String?] = [:], timeout: TimeInterval = 120) throws -> (ProcessResult, [String: Any]) {
        let result = try run(member, arguments + ["--json"], environment: environment, timeout: timeout)
        let parsed = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        guard let object = parsed as? [String: Any], object["schema"] as? String == "sfgit.v1" else {
            throw EnvelopeError(arguments: arguments, result: result)
        }
        return (result, object)
    }

    /// Runs `sfgit recall QUERY --json` and returns its answers; a recall that does not exit 0
    /// with a list of answers throws, so "nothing found" is never a failed recall.
    public func recallAnswers(_ member: Member, _ arguments: [String]) throws -> [[String: Any]] {
        let (result, envelope) = try json(member, ["recall"] + arguments)
        guard result.exitCode == 0, let answers = envelope["data"] as? [[String: Any]] else {
            throw EnvelopeError(arguments: ["recall"] + arguments, result: result)
        }
        return answers
    }

    /// `sfgit init` by the admin; records the introduction.
    public func initialise() throws {
        let (result, envelope) = try json(admin, ["init", "--remote", remoteURL, "--store", "shared"])
        guard result.exitCode == 0, let data = envelope["data"] as? [String: Any], let intro = data["introduction"] as? [String: Any] else {
            throw GitCLIError(arguments: ["sfgit init"], exitCode: result.exitCode, stderr: result.stdout + result.stderr)
        }
        introduction = intro["commit"] as! String
        signer = intro["signer"] as! String
    }

    /// Makes a member's identity without adding it to the store.
    public func newMember(_ principal: String, keyType: String = "ed25519") throws -> Member {
        var member = try Self.member(principal, in: scratch)
        if keyType != "ed25519" {
            member.key = try TestKey.generate(in: scratch.url("keys"), name: principal.replacingOccurrences(of: "@", with: "-") + "-" + keyType, type: keyType)
        }
        return member
    }

    /// Adds a member: the admin trusts its key with `roles` and publishes; the member clones.
    @discardableResult
    public func join(_ principal: String, roles: [String] = ["write"], clone: Bool = true, prepare: (Member) throws -> Void = { _ in }) throws -> Member {
        let member = try Self.member(principal, in: scratch)
        try prepare(member)
        members[principal] = member
        let added = try run(admin, ["trust", "add", principal, member.key.publicPath] + roles.flatMap { ["--role", $0] })
        guard added.exitCode == 0 else { throw GitCLIError(arguments: ["trust add"], exitCode: added.exitCode, stderr: added.stderr) }
        let synced = try run(admin, ["sync"])
        guard synced.exitCode == 0 else { throw GitCLIError(arguments: ["admin sync"], exitCode: synced.exitCode, stderr: synced.stdout + synced.stderr) }
        if clone { try self.clone(member) }
        return member
    }

    /// `sfgit clone` by a member.
    public func clone(_ member: Member, url: String? = nil) throws {
        let cloned = try run(member, ["clone", url ?? remoteURL, "--introduction", introduction, "--signer", signer, "--store", "shared"])
        guard cloned.exitCode == 0 else { throw GitCLIError(arguments: ["clone"], exitCode: cloned.exitCode, stderr: cloned.stdout + cloned.stderr) }
    }

    /// A member by principal.
    public subscript(principal: String) -> Member { members[principal]! }

    /// The remote branch's tip, read with the git CLI.
    public func remoteTip(_ branch: String = "main") throws -> String {
        try ProcessRunner.run("git", ["--git-dir", remotePath, "rev-parse", branch]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Paths of memory files on the remote branch, read with the git CLI.
    public func remoteMemoryPaths(_ branch: String = "main") throws -> [String] {
        try ProcessRunner.run("git", ["--git-dir", remotePath, "ls-tree", "-r", "--name-only", branch, "memories"]).stdout
            .split(separator: "\n").map(String.init)
    }
}

/// A command whose `--json` output was not the envelope expected.
public struct EnvelopeError: Error, CustomStringConvertible {
    /// The command's arguments.
    public var arguments: [String]
    /// What it did.
    public var result: ProcessResult
    public var description: String {
        "sfgit \(arguments.joined(separator: " ")) --json: exit \(result.exitCode), no usable envelope\nstdout: \(result.stdout)\nstderr: \(result.stderr)"
    }
}

import Foundation

/// The plain `git` CLI run hermetically: no system or global config, a private HOME, fixed
/// names and dates. A real, independent client for building test repositories.
public struct GitCLI: Sendable {
    /// The working directory git runs in.
    public var directory: String
    /// HOME and config isolation directory.
    public var home: String
    /// Author and committer date (`GIT_AUTHOR_DATE` / `GIT_COMMITTER_DATE`).
    public var date = "2026-01-01T00:00:00Z"

    /// Creates a runner for a directory, with a private HOME.
    public init(directory: String, home: String) {
        self.directory = directory
        self.home = home
    }

    /// The environment every git call gets.
    public var environment: [String: String?] {
        [
            "HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "XDG_CONFIG_HOME": home,
            "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.invalid",
            "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.invalid",
            "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_TERMINAL_PROMPT": "0",
            "SSH_AUTH_SOCK": nil, "LANG": "C", "LC_ALL": "C",
        ]
    }

    /// Runs git and returns its trimmed stdout; throws with stderr when it fails.
    @discardableResult
    public func run(_ arguments: [String], stdin: Data? = nil) throws -> String {
        let result = try ProcessRunner.run("git", arguments, environment: environment, currentDirectory: directory, stdin: stdin)
        guard result.exitCode == 0 else {
            throw GitCLIError(arguments: arguments, exitCode: result.exitCode, stderr: result.stderr)
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs git and returns the whole result, whatever the exit code.
    public func result(_ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run("git", arguments, environment: environment, currentDirectory: directory)
    }

    /// `git commit` signed with an SSH key (`gpg.format=ssh`), returning the new commit's id.
    @discardableResult
    public func signedCommit(_ message: String, key: String, extra: [String] = []) throws -> String {
        try run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(key)", "commit", "-q", "-S", "--allow-empty", "-m", message] + extra)
        return try run(["rev-parse", "HEAD"])
    }

    /// `git commit` without a signature.
    @discardableResult
    public func unsignedCommit(_ message: String) throws -> String {
        try run(["-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", message])
        return try run(["rev-parse", "HEAD"])
    }
}

/// A failed git call.
public struct GitCLIError: Error, CustomStringConvertible {
    public var arguments: [String]
    public var exitCode: Int32
    public var stderr: String
    public var description: String { "git \(arguments.joined(separator: " ")) failed (\(exitCode)): \(stderr)" }
}

/// SSH keys made by `ssh-keygen` for a test.
public struct TestKey: Sendable {
    /// The private key file.
    public var privatePath: String
    /// The `.pub` file.
    public var publicPath: String
    /// `TYPE BASE64` of the public key.
    public var publicKey: String
    /// `SHA256:…` as `ssh-keygen -l` prints it.
    public var fingerprint: String

    /// Generates a key without a passphrase: `type` is `ed25519`, `ecdsa` or `rsa`; `bits` as for `-b`.
    public static func generate(in directory: String, name: String, type: String = "ed25519", bits: Int? = nil) throws -> TestKey {
        let path = directory + "/" + name
        var arguments = ["-q", "-t", type, "-N", "", "-C", name, "-f", path]
        if let bits { arguments += ["-b", String(bits)] }
        let made = try ProcessRunner.run("ssh-keygen", arguments)
        guard made.exitCode == 0 else { throw GitCLIError(arguments: ["ssh-keygen"] + arguments, exitCode: made.exitCode, stderr: made.stderr) }
        let publicLine = try String(contentsOfFile: path + ".pub", encoding: .utf8).split(separator: " ")
        let listed = try ProcessRunner.run("ssh-keygen", ["-l", "-E", "sha256", "-f", path + ".pub"])
        let fingerprint = String(listed.stdout.split(separator: " ")[1])
        return TestKey(privatePath: path, publicPath: path + ".pub", publicKey: "\(publicLine[0]) \(publicLine[1])", fingerprint: fingerprint)
    }
}

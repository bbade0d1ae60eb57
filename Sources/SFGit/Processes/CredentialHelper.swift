import Foundation
import SFGitIndex
import SFGitMemory
import SFGitProcess
import SFGitRepository
import SFGitTrust

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
        var env = environment
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_ASKPASS"] = "/bin/false"
        env["SSH_ASKPASS"] = "/bin/false"
        var query = "protocol=\(scheme)\nhost=\(host)\(components.port.map { ":\($0)" } ?? "")\npath=\(components.path.drop { $0 == "/" })\n"
        if let user = components.user { query += "username=\(user)\n" }
        // A helper that waits for a person (a prompt it was told not to show) is given up on.
        guard let result = try? Launcher.run(ChildCommand("git", ["credential", "fill"], environment: env), input: Data((query + "\n").utf8),
                                             deadline: Date().addingTimeInterval(30)),
              result.succeeded else { return nil }
        var values: [String: String] = [:]
        for line in result.outputText.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        guard let user = values["username"], let password = values["password"] else { return nil }
        return (user, password)
    }
}

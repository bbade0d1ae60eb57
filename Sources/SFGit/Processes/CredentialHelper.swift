import Foundation
import SFGitIndex
import SFGitMemory
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

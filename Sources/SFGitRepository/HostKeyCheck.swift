import Foundation

/// What the network step will make of an `ssh://` or scp-style remote's entry in
/// `$HOME/.ssh/known_hosts`, told before any connection (for `sfgit doctor`).
public enum HostKeyCheck {
    /// One finding: whether a sync can check the host's key, what was found, and what to do.
    public struct Finding: Sendable, Hashable {
        /// Whether a sync can check the host's key.
        public var ok: Bool
        /// What was found.
        public var detail: String
        /// What to do, when something must be done.
        public var fix: String?
    }

    /// The finding for `remote`; nil when it is not an SSH remote.
    public static func check(remote: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Finding? {
        guard let address = SSHAddress(url: remote) else { return nil }
        let file = KnownHosts.userFile(environment)
        let entries = KnownHosts(path: file).entries(for: address)
        let keyscan = address.keyscan(type: "ed25519", into: file)
        guard !entries.isEmpty else {
            return Finding(ok: false, detail: "no line of \(file) names \(address.knownHostsName): a sync refuses the unknown host key",
                           fix: "check the host's key out of band, then: \(keyscan)")
        }
        let best = entries.min { KnownHosts.rank($0.keyType) < KnownHosts.rank($1.keyType) }!
        if KnownHosts.rank(best.keyType) >= 2 {
            return Finding(ok: false, detail: "\(file) names \(address.knownHostsName) with \(best.keyType) only: libssh2 1.10 asks for RSA as ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse",
                           fix: keyscan)
        }
        return Finding(ok: true, detail: "\(address.knownHostsName): \(best.keyType) in \(file) (asked for first)", fix: nil)
    }
}

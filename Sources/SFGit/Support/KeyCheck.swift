import Foundation

/// What can be told about a signing key before anything is signed with it, so that a key that
/// cannot work unattended fails with a fix rather than with ssh-keygen's prompt text.
public enum KeyCheck {
    /// Whether `path` is a private key protected by a passphrase: an OpenSSH key whose cipher is
    /// not `none`, or a PEM key marked `Proc-Type: 4,ENCRYPTED`. A `.pub` (an agent's key) is not.
    public static func isEncrypted(_ path: String) -> Bool {
        guard !path.hasSuffix(".pub"), let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8) else { return false }
        if text.contains("Proc-Type: 4,ENCRYPTED") { return true }
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }
        guard text.contains("BEGIN OPENSSH PRIVATE KEY"), let bytes = Data(base64Encoded: lines.joined()) else { return false }
        // "openssh-key-v1\0", then the cipher name as an SSH string (uint32 length, bytes).
        let magic = Array("openssh-key-v1\0".utf8)
        let raw = [UInt8](bytes)
        guard raw.count > magic.count + 4, Array(raw[0..<magic.count]) == magic else { return false }
        let at = magic.count
        let length = Int(raw[at]) << 24 | Int(raw[at + 1]) << 16 | Int(raw[at + 2]) << 8 | Int(raw[at + 3])
        guard raw.count >= at + 4 + length else { return false }
        return String(decoding: raw[(at + 4)..<(at + 4 + length)], as: UTF8.self) != "none"
    }

    /// Why `path` cannot sign without a person, or nil: an encrypted key with no ssh-agent to
    /// hold it (`SSH_AUTH_SOCK` unset, as under cron and systemd).
    public static func unattendedProblem(_ path: String, environment: [String: String]) -> String? {
        guard isEncrypted(path), (environment["SSH_AUTH_SOCK"] ?? "").isEmpty else { return nil }
        return "the signing key \(path) is encrypted (it has a passphrase) and no ssh-agent is reachable (SSH_AUTH_SOCK is unset, as under cron): "
            + "load it into an agent this process can reach (ssh-add \(path)), or give sfgit an unencrypted key of its own "
            + "(ssh-keygen -t ed25519 -N '' -f ~/.ssh/sfgit_ed25519, then sfgit config set identity.key ~/.ssh/sfgit_ed25519 and trust its .pub)"
    }
}

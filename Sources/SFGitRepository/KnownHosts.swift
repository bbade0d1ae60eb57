import Crypto
import Foundation

/// Where an `ssh://` or scp-style URL points: the host and port libgit2 checks in known_hosts.
struct SSHAddress: Equatable {
    var host: String
    var port: Int

    /// Parses `ssh://[user@]host[:port]/path` (and `ssh+git://`, `git+ssh://`) and scp-style
    /// `[user@]host:path`; nil for any other URL.
    init?(url: String) {
        var authority: Substring
        if let prefix = ["ssh://", "ssh+git://", "git+ssh://"].first(where: { url.hasPrefix($0) }) {
            authority = url.dropFirst(prefix.count).prefix { $0 != "/" }
        } else if !url.contains("://"), let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") {
            authority = url[..<colon]
            if authority.hasPrefix("[") { return nil }
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            guard !authority.isEmpty else { return nil }
            self.host = String(authority)
            self.port = 22
            return
        } else {
            return nil
        }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var port = 22
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            let rest = authority[authority.index(after: close)...]
            if rest.hasPrefix(":"), let number = Int(rest.dropFirst()) { port = number }
            authority = authority[authority.index(after: authority.startIndex)..<close]
        } else if let colon = authority.lastIndex(of: ":"), let number = Int(authority[authority.index(after: colon)...]) {
            port = number
            authority = authority[..<colon]
        }
        guard !authority.isEmpty else { return nil }
        self.host = String(authority)
        self.port = port
    }

    /// How known_hosts and `ssh-keygen -R` name it: `host`, or `[host]:port` off port 22.
    var knownHostsName: String { port == 22 ? host : "[\(host)]:\(port)" }

    /// The `ssh-keyscan` command that appends its key of `type` to `file`.
    func keyscan(type: String, into file: String) -> String {
        "ssh-keyscan -t \(type)\(port == 22 ? "" : " -p \(port)") \(host) >> \(file)"
    }
}

/// `~/.ssh/known_hosts` read the way libssh2 1.10 matches it for libgit2 1.5: plain and hashed
/// (`|1|salt|hash`) names, comma-separated lists, `[host]:port` and the bare host for any port.
struct KnownHosts {
    /// A line that names the host.
    struct Entry {
        /// Its index among the file's lines.
        var line: Int
        /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …
        var keyType: String
        /// The base64 key.
        var key: String
        /// Whether it names `[host]:port` (libssh2 looks for that form before the bare host).
        var withPort: Bool
    }

    /// The file's path.
    let path: String
    /// Its lines, as they are.
    let lines: [String]

    /// The user's file: `$HOME/.ssh/known_hosts`, the one libgit2 1.5 reads (not passwd's home).
    static func userFile(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        (environment["HOME"] ?? NSHomeDirectory()) + "/.ssh/known_hosts"
    }

    /// Reads a file (no lines when there is none).
    init(path: String) {
        self.path = path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        self.lines = lines
    }

    /// The lines that name the address, in libssh2's order of preference (`[host]:port` first).
    func entries(for address: SSHAddress) -> [Entry] {
        let names = address.port == 22 ? [address.host] : ["[\(address.host)]:\(address.port)", address.host]
        var found: [Entry] = []
        for (index, line) in lines.enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, !fields[0].hasPrefix("#"), !fields[0].hasPrefix("@") else { continue }
            let listed = fields[0].split(separator: ",").map(String.init)
            guard let matched = names.firstIndex(where: { name in listed.contains { Self.matches($0, name) } }) else { continue }
            found.append(Entry(line: index, keyType: String(fields[1]), key: String(fields[2]), withPort: matched == 0 && names.count == 2))
        }
        return found.filter(\.withPort) + found.filter { !$0.withPort }
    }

    /// Whether one known_hosts name (plain or hashed) is `name`.
    static func matches(_ pattern: String, _ name: String) -> Bool {
        guard pattern.hasPrefix("|1|") else { return pattern == name }
        let parts = pattern.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, let salt = Data(base64Encoded: String(parts[2])), let hash = Data(base64Encoded: String(parts[3])) else { return false }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(name.utf8), using: SymmetricKey(data: salt))
        return Data(mac) == hash
    }

    /// How strong a host-key algorithm is for this purpose: ed25519, then ECDSA, then RSA (which
    /// libssh2 1.10 can only ask for as ssh-rsa, SHA-1, refused by OpenSSH 8.8 and later).
    static func rank(_ keyType: String) -> Int {
        if keyType == "ssh-ed25519" { return 0 }
        if keyType.hasPrefix("ecdsa-sha2-") { return 1 }
        if keyType == "ssh-rsa" { return 2 }
        return 3
    }

    /// The file with the address's lines moved to the top, strongest first, when the line libgit2
    /// would take its one algorithm from is not the strongest; nil when nothing needs to move.
    /// Only the order changes: the same keys are trusted.
    func strongestFirst(for address: SSHAddress) -> [String]? {
        let entries = self.entries(for: address)
        guard let first = entries.first, let best = entries.map({ Self.rank($0.keyType) }).min(), Self.rank(first.keyType) > best else { return nil }
        let moved = entries.sorted { Self.rank($0.keyType) < Self.rank($1.keyType) }
        let ordered = moved.map { entry in
            // A line of the bare host is written for [host]:port too, so libssh2's first look finds it.
            entry.withPort || address.port == 22 ? lines[entry.line] : "\(address.knownHostsName) \(entry.keyType) \(entry.key)"
        }
        let movedLines = Set(moved.map(\.line))
        return ordered + lines.enumerated().filter { !movedLines.contains($0.offset) }.map(\.element)
    }
}

/// libgit2 1.5 asks the server for exactly one host-key algorithm: the type of the first
/// known_hosts line that names the host (none: libssh2's default, which takes ECDSA first). A
/// file that lists the host's ssh-rsa key first — what `ssh-keyscan HOST >> known_hosts` writes
/// — makes every connection fail against OpenSSH 8.8 and later, which refuse ssh-rsa (SHA-1).
/// libgit2 reads `$HOME/.ssh/known_hosts` at each connection, so a network step that runs alone
/// in its own process can point `HOME` at a private copy whose lines for the host are ordered
/// strongest first: the same keys, trusted the same way. For a host with no line at all, the
/// copy names the host with a fresh random ed25519 key that no server can present (and that the
/// certificate check refuses anyway), so that the server shows its ed25519 key and the refusal
/// names the fingerprint `ssh-keyscan -t ed25519` will fetch.
final class HostKeySteering {
    /// The private `HOME`.
    let home: String
    /// The random key written for a host known_hosts does not name, base64.
    let placeholder: String?
    private let savedHome: String?

    /// Prepares a private copy for `address`; nil when the user's file needs no change.
    static func prepare(_ address: SSHAddress, knownHosts: KnownHosts) -> HostKeySteering? {
        var lines = knownHosts.strongestFirst(for: address)
        var placeholder: String?
        if lines == nil, knownHosts.entries(for: address).isEmpty {
            var blob = Data([0, 0, 0, 11]) + Data("ssh-ed25519".utf8) + Data([0, 0, 0, 32])
            blob += Data((0..<32).map { _ in UInt8.random(in: 0...255) })
            placeholder = blob.base64EncodedString()
            lines = ["\(address.knownHostsName) ssh-ed25519 \(placeholder!)"] + knownHosts.lines
        }
        guard let lines else { return nil }
        var template = Array((NSTemporaryDirectory() + "/sfgit-known-hosts.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { return nil }
        let home = String(cString: made)
        guard mkdir(home + "/.ssh", 0o700) == 0,
              FileManager.default.createFile(atPath: home + "/.ssh/known_hosts", contents: Data((lines.joined(separator: "\n") + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            try? FileManager.default.removeItem(atPath: home)
            return nil
        }
        return HostKeySteering(home: home, placeholder: placeholder)
    }

    private init(home: String, placeholder: String?) {
        self.home = home
        self.placeholder = placeholder
        savedHome = ProcessInfo.processInfo.environment["HOME"]
    }

    /// Runs `body` with `HOME` pointing at the private copy, then puts everything back.
    func run<T>(_ body: () -> T) -> T {
        setenv("HOME", home, 1)
        defer {
            if let savedHome { setenv("HOME", savedHome, 1) } else { unsetenv("HOME") }
            try? FileManager.default.removeItem(atPath: home)
        }
        return body()
    }
}

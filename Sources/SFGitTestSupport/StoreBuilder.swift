import Foundation
import SFGitMemory

/// Builds a store's history with the plain git CLI and ssh-keygen, as a human's clone would:
/// an introduction signed by an admin, then commits signed by whichever principal a test picks.
public final class StoreBuilder {
    /// Scratch space: keys, HOME, the work tree.
    public let scratch: TemporaryDirectory
    /// git in the work tree.
    public var git: GitCLI
    /// Each principal's key.
    public private(set) var keys: [String: TestKey] = [:]
    /// Each principal's roles, as written to the policy.
    public private(set) var roles: [(principal: String, roles: [String])] = []
    /// Policy mode (`direct` or `review`).
    public var mode = "direct"
    /// Policy limits.
    public var maxFileBytes = 65_536
    public var maxFilesPerCommit = 100
    /// The introduction commit, once made.
    public private(set) var introduction = ""
    private var counter: UInt64 = 0

    /// The work tree's path.
    public var workTree: String { scratch.url("work") }
    /// The repository (`.git`) path.
    public var gitDirectory: String { scratch.url("work/.git") }

    /// Creates a store whose introduction is signed by `admin` (admin and writer).
    public init(admin: String = "admin@hq", mode: String = "direct") throws {
        scratch = try TemporaryDirectory(prefix: "sfgit-store")
        try FileManager.default.createDirectory(atPath: scratch.url("work"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.url("home"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.url("keys"), withIntermediateDirectories: true)
        git = GitCLI(directory: scratch.url("work"), home: scratch.url("home"))
        self.mode = mode
        try git.run(["init", "-q", "-b", "main"])
        _ = try key(for: admin)
        roles = [(admin, ["admin", "write"])]
        try writeTrustFiles()
        try write("README.md", "# A test store\n")
        try git.run(["add", "-A"])
        introduction = try git.signedCommit("sfgit: introduction", key: keys[admin]!.privatePath)
    }

    /// The key of a principal, generated on first use (`type` as for ssh-keygen `-t`).
    @discardableResult
    public func key(for principal: String, type: String = "ed25519", bits: Int? = nil) throws -> TestKey {
        if let key = keys[principal] { return key }
        let key = try TestKey.generate(in: scratch.path + "/keys", name: principal.replacingOccurrences(of: "@", with: "_at_"), type: type, bits: bits)
        keys[principal] = key
        return key
    }

    /// Replaces a principal's key with a new one (for rotation tests) and returns it.
    public func rotateKey(for principal: String) throws -> TestKey {
        let name = principal.replacingOccurrences(of: "@", with: "_at_") + "-\(counter)"
        counter += 1
        let key = try TestKey.generate(in: scratch.path + "/keys", name: name)
        keys[principal] = key
        return key
    }

    /// The policy text for the current principals, roles and limits.
    public func policyText() -> String {
        var lines = ["version: 1", "branch: main", "mode: \(mode)", "principals:"]
        for entry in roles {
            lines.append("  - name: \(entry.principal)")
            lines.append("    roles: [\(entry.roles.joined(separator: ", "))]")
        }
        lines += ["limits:", "  max_file_bytes: \(maxFileBytes)", "  max_files_per_commit: \(maxFilesPerCommit)", "quota:", "  per_day: 500"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The allowed_signers text for the current principals' keys.
    public func allowedSignersText() -> String {
        roles.compactMap { entry in keys[entry.principal].map { "\(entry.principal) namespaces=\"git\" \($0.publicKey)\n" } }.joined()
    }

    /// Writes `.sfgit/policy.yaml` and `.sfgit/allowed_signers` into the work tree (not committed).
    public func writeTrustFiles() throws {
        try write(".sfgit/policy.yaml", policyText())
        try write(".sfgit/allowed_signers", allowedSignersText())
    }

    /// Adds or changes a principal's roles and writes the trust files (not committed).
    public func setRoles(_ principal: String, _ newRoles: [String]) throws {
        _ = try key(for: principal)
        roles.removeAll { $0.principal == principal }
        roles.append((principal, newRoles))
        try writeTrustFiles()
    }

    /// Removes a principal from policy and allowed_signers (not committed).
    public func removePrincipal(_ principal: String) throws {
        roles.removeAll { $0.principal == principal }
        try writeTrustFiles()
    }

    /// Writes a file into the work tree.
    @discardableResult
    public func write(_ path: String, _ text: String) throws -> String {
        try write(path, bytes: Array(text.utf8))
    }

    /// Writes bytes into the work tree.
    @discardableResult
    public func write(_ path: String, bytes: [UInt8]) throws -> String {
        let full = workTree + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return path
    }

    /// A fresh ULID in 2026 (distinct within this builder).
    public func nextID() -> ULID {
        counter += 1
        return ULID(milliseconds: 1_767_225_600_000 + counter * 3_600_000, random: (UInt16(counter & 0xFFFF), counter &* 0x9E37_79B9_7F4A_7C15))
    }

    /// The text of a valid memory written by `principal` (its author and host), optionally with extra body lines.
    public func memoryText(id: ULID, kind: String = "learning", principal: String, title: String = "a test memory", extraBody: String = "") -> String {
        let parts = principal.split(separator: "@")
        return """
            ---
            schema: 1
            id: \(id)
            kind: \(kind)
            author: \(parts[0])
            host: \(parts[1])
            recorded_at: 2025-12-31T03:04:05Z
            tags: [test]
            ---
            title: \(title)
            body: |
              Written by \(principal).

            """ + extraBody
    }

    /// Writes a valid memory for `principal` and returns its store path (not committed).
    @discardableResult
    public func addMemory(by principal: String, id: ULID? = nil, kind: String = "learning", title: String = "a test memory") throws -> String {
        let id = id ?? nextID()
        let path = MemoryPath(kind: MemoryKind(kind)!, id: id).description
        return try write(path, memoryText(id: id, kind: kind, principal: principal, title: title))
    }

    /// Stages everything and commits, signed by `principal`'s key; returns the commit id.
    @discardableResult
    public func commit(as principal: String, _ message: String = "sfgit: update") throws -> String {
        try git.run(["add", "-A"])
        return try git.signedCommit(message, key: keys[principal]!.privatePath)
    }

    /// Stages everything and commits without a signature.
    @discardableResult
    public func commitUnsigned(_ message: String = "unsigned") throws -> String {
        try git.run(["add", "-A"])
        return try git.unsignedCommit(message)
    }

    /// The admin's introduction fingerprint.
    public var introductionSigner: String { keys[roles[0].principal]!.fingerprint }
}

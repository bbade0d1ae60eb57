import SFGitMemory

/// `.sfgit/policy.yaml`: who may do what in a store, and its limits.
/// The format is docs/FORMAT.md § policy.yaml; the roles, docs/TRUST.md § Principals and roles.
public struct Policy: Sendable, Hashable {
    /// What a principal may do (docs/TRUST.md § Principals and roles).
    public enum Role: String, Sendable, Hashable, CaseIterable, Comparable {
        /// May change anything under `.sfgit/` (keys, roles, limits), plus everything below.
        case admin
        /// May sign two-parent merges into the shared branch.
        case review
        /// May add memory files naming itself.
        case write

        /// Orders roles by name.
        public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// How memories reach the shared branch.
    public enum Mode: String, Sendable, Hashable {
        /// Writers push to the shared branch themselves.
        case direct
        /// Writers push proposals; reviewers merge them with signed merge commits.
        case review
    }

    /// A principal and its roles.
    public struct PrincipalEntry: Sendable, Hashable {
        /// `author@host`.
        public var name: String
        /// What it may do.
        public var roles: Set<Role>
        /// Memories per day this principal may add, overriding the default.
        public var quotaPerDay: Int?

        /// Creates an entry.
        public init(name: String, roles: Set<Role>, quotaPerDay: Int? = nil) {
            self.name = name
            self.roles = roles
            self.quotaPerDay = quotaPerDay
        }
    }

    /// A key an admin declared compromised (`revoked:`): from `since` on (a commit; nil: always),
    /// nothing it signed is authentic on a branch holding this policy, and hosts stop serving the
    /// memories it signed there (tier `revoked`).
    /// docs/TRUST.md § Retire vs revoke.
    public struct Revocation: Sendable, Hashable {
        /// The key's `SHA256:` fingerprint.
        public var key: String
        /// The principal it belonged to.
        public var principal: String
        /// The last commit whose history the key's signatures are still trusted in (hex); nil:
        /// none of them.
        public var since: String?

        /// Creates a revocation.
        public init(key: String, principal: String, since: String?) {
            self.key = key
            self.principal = principal
            self.since = since
        }
    }

    /// The largest `.sfgit/` trust file sfgit reads (a real one is a few kilobytes); larger ones
    /// are refused on their size, before anything is parsed.
    public static let maxTrustFileBytes = 256 * 1024

    /// The policy format this sfgit understands.
    public static let supportedVersion = 1

    /// Format version.
    public var version: Int
    /// The shared branch (`main`).
    public var branch: String
    /// `direct` or `review`.
    public var mode: Mode
    /// Principals and their roles, in file order.
    public var principals: [PrincipalEntry]
    /// Largest memory file accepted, in bytes.
    public var maxFileBytes: Int
    /// Most memory files one commit may add.
    public var maxFilesPerCommit: Int
    /// Memories per day per principal unless its entry says otherwise.
    public var defaultQuotaPerDay: Int
    /// Largest commit object accepted, in bytes (judged from its header, never read).
    public var maxCommitBytes: Int
    /// Largest tree object accepted, in bytes (judged from its header, never read).
    public var maxTreeBytes: Int
    /// Recency half-lives in days per kind (`half_lives:`), overriding `defaultHalfLifeDays`;
    /// the same on every host because the admin signs them.
    public var halfLives: [String: Int] = [:]
    /// How old a benchmark observation may be before `sfgit benchmarks` leaves it out as stale
    /// (`benchmark_max_age:`, seconds); nil: `defaultBenchmarkMaxAge`.
    public var benchmarkMaxAge: Int?
    /// Keys declared compromised, in file order (`revoked:`).
    public var revoked: [Revocation] = []

    /// The revocation of a key, if this policy revokes it.
    public func revocation(of fingerprint: String) -> Revocation? { revoked.first { $0.key == fingerprint } }

    /// Defaults for limits the file leaves out.
    public static let defaultMaxFileBytes = 65_536
    /// At most 100 memory files per commit unless the policy says otherwise.
    public static let defaultMaxFilesPerCommit = 100
    /// 500 memories per day per principal unless the policy says otherwise.
    public static let defaultQuotaPerDay = 500
    /// A commit object is a few hundred bytes plus its message and signature: 1 MiB is far above
    /// any real one and small enough that reading it costs nothing.
    public static let defaultMaxCommitBytes = 1 << 20
    /// A month directory of a busy store is a few hundred KB.
    public static let defaultMaxTreeBytes = 16 << 20
    /// The most a policy may allow for either. It is also the cap on every commit a sync reads
    /// before any policy has judged it: the header walk that runs before libgit2's revwalk
    /// (which reads whole commits) cannot know yet which policy governs each commit, so it
    /// holds every new commit to this ceiling, and the verifier then to its parents' policy.
    /// docs/FORMAT.md § Size limits, docs/TRUST.md § Resource bounds.
    public static let objectBytesCeiling = 16 << 20
    /// 30 days.
    public static let defaultBenchmarkMaxAge = 30 * 86_400
    /// The longest half-life accepted, in days: ten years.
    public static let maxAgeCeilingDays = 3_650

    /// Half-lives of recency per kind, in days, where the policy sets none.
    public static func defaultHalfLifeDays(of kind: String) -> Int { MemoryKind.defaultHalfLifeDays(of: kind) }

    /// The half-life of a kind under this policy, in days.
    public func halfLifeDays(of kind: String) -> Int { halfLives[kind] ?? Self.defaultHalfLifeDays(of: kind) }

    /// The benchmark age limit in force, in seconds.
    public var effectiveBenchmarkMaxAge: Int { benchmarkMaxAge ?? Self.defaultBenchmarkMaxAge }

    /// Creates a policy.
    public init(
        version: Int = 1, branch: String = "main", mode: Mode = .direct, principals: [PrincipalEntry],
        maxFileBytes: Int = Policy.defaultMaxFileBytes, maxFilesPerCommit: Int = Policy.defaultMaxFilesPerCommit,
        defaultQuotaPerDay: Int = Policy.defaultQuotaPerDay, maxCommitBytes: Int = Policy.defaultMaxCommitBytes,
        maxTreeBytes: Int = Policy.defaultMaxTreeBytes
    ) {
        self.version = version
        self.branch = branch
        self.mode = mode
        self.principals = principals
        self.maxFileBytes = maxFileBytes
        self.maxFilesPerCommit = maxFilesPerCommit
        self.defaultQuotaPerDay = defaultQuotaPerDay
        self.maxCommitBytes = maxCommitBytes
        self.maxTreeBytes = maxTreeBytes
    }

    /// The roles of a principal (empty when it is not listed).
    public func roles(of principal: String) -> Set<Role> {
        principals.first { $0.name == principal }?.roles ?? []
    }

    /// The daily quota of a principal.
    public func quotaPerDay(of principal: String) -> Int {
        principals.first { $0.name == principal }?.quotaPerDay ?? defaultQuotaPerDay
    }

    /// Keys whose principal has no role in this policy: a store whose lists disagree so is refused,
    /// by `sfgit check` and by the verifier alike.
    public func keysWithoutRole(in signers: AllowedSigners) -> [AllowedSigners.Entry] {
        signers.entries.filter { roles(of: $0.principal).isEmpty }
    }

    /// The sentence both report for such a key.
    public static func keyWithoutRoleMessage(_ entry: AllowedSigners.Entry) -> String {
        "principal '\(entry.principal)' has a key but no entry (or no role) in .sfgit/policy.yaml"
    }

    /// The memory-file limits this policy sets.
    public var memoryLimits: MemoryLimits { MemoryLimits(maxFileBytes: maxFileBytes) }

    // MARK: - Reading

    /// Every code the policy reader itself gives a problem (the strict YAML reading before it
    /// gives `MemoryProblem.Code`s).
    public enum Code: String, Sendable, CaseIterable {
        case duplicatePrincipal = "duplicate-principal"
        case invalidPrincipal = "invalid-principal"
        case invalidValue = "invalid-value"
        case missingDocument = "missing-document"
        case missingField = "missing-field"
        case noAdmin = "no-admin"
        case unknownField = "unknown-field"
        case unsupportedPolicyVersion = "unsupported-policy-version"
        case wrongType = "wrong-type"
    }

    /// A problem in a policy file, with its position.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// Where it is (line and column).
        public var position: SourcePosition
        /// Its stable code (`Policy.Code`, or a `MemoryProblem.Code` of the YAML reading).
        public var code: String
        /// What is wrong.
        public var message: String
        /// `line:column: error: message`.
        public var description: String { "\(position): error: \(message)" }
    }

    /// Parses and lints a policy file. An unknown `version` fails closed.
    /// docs/FORMAT.md § policy.yaml, § Versioning.
    public static func parse(_ bytes: [UInt8]) throws(PolicyError) -> Policy {
        let stream: StrictYAMLReader.Stream
        do {
            stream = try StrictYAMLFile(maxDepth: 8, maxDocuments: 1).read(bytes)
        } catch {
            throw PolicyError(problems: error.problems.map { Problem(position: $0.position, code: $0.code, message: $0.message) })
        }
        guard let root = stream.documents.first else {
            throw PolicyError(problems: [Problem(position: .start, code: Code.missingDocument.rawValue, message: "policy file is empty")])
        }
        var reader = PolicyReader()
        let policy = reader.read(root)
        guard reader.problems.isEmpty, let policy else { throw PolicyError(problems: reader.problems) }
        return policy
    }

    /// The policy as YAML, in the form `sfgit init` and `trust` write.
    public func render() -> String {
        var lines = [
            "version: \(version)",
            "branch: \(branch)",
            "mode: \(mode.rawValue)",
            "principals:",
        ]
        for principal in principals {
            lines.append("  - name: \(principal.name)")
            lines.append("    roles: [\(principal.roles.sorted().map(\.rawValue).joined(separator: ", "))]")
            if let quota = principal.quotaPerDay { lines.append("    quota: {per_day: \(quota)}") }
        }
        lines += [
            "limits:",
            "  max_file_bytes: \(maxFileBytes)",
            "  max_files_per_commit: \(maxFilesPerCommit)",
        ]
        // Written only when not the default, so that policies written before these limits
        // existed render (and so sign) the same.
        if maxCommitBytes != Policy.defaultMaxCommitBytes { lines.append("  max_commit_bytes: \(maxCommitBytes)") }
        if maxTreeBytes != Policy.defaultMaxTreeBytes { lines.append("  max_tree_bytes: \(maxTreeBytes)") }
        lines += [
            "quota:",
            "  per_day: \(defaultQuotaPerDay)",
        ]
        // The fleet settings are written only when set: a policy without them renders as before.
        if !halfLives.isEmpty {
            lines.append("half_lives:")
            for (kind, days) in halfLives.sorted(by: { $0.key < $1.key }) { lines.append("  \(kind): \(days)") }
        }
        if let benchmarkMaxAge { lines.append("benchmark_max_age: \(Self.renderDuration(benchmarkMaxAge))") }
        if !revoked.isEmpty {
            lines.append("revoked:")
            for revocation in revoked {
                lines.append("  - key: '\(revocation.key)'")
                lines.append("    principal: \(revocation.principal)")
                if let since = revocation.since { lines.append("    since: '\(since)'") }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Policy {
    /// A duration as the policy writes it: whole days (`30d`), else whole hours (`12h`).
    public static func renderDuration(_ seconds: Int) -> String {
        seconds % 86_400 == 0 ? "\(seconds / 86_400)d" : "\(seconds / 3_600)h"
    }

    /// Reads a policy duration: a whole number of days (`30d`) or hours (`12h`), 1 to 6 digits
    /// without a leading zero (the schema's pattern); nil otherwise.
    public static func parseDuration(_ text: String) -> Int? {
        guard let unit = text.last, unit == "d" || unit == "h" else { return nil }
        let digits = text.dropLast()
        guard !digits.isEmpty, digits.count <= 6, digits.first != "0", digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else { return nil }
        return value * (unit == "d" ? 86_400 : 3_600)
    }
}

/// A policy file refused with its problems.
public struct PolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every problem found.
    public var problems: [Policy.Problem]
    /// Whether the file is from a newer sfgit (its `version` is unknown).
    public var isUnsupportedVersion: Bool { problems.contains { $0.code == Policy.Code.unsupportedPolicyVersion.rawValue } }
    /// Every problem, one per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// Reads the policy document, collecting every problem; unknown keys are errors (fail closed).
private struct PolicyReader {
    var problems: [Policy.Problem] = []

    mutating func fail(_ position: SourcePosition, _ code: Policy.Code, _ message: String) {
        problems.append(Policy.Problem(position: position, code: code.rawValue, message: message))
    }

    mutating func mapping(_ node: YAMLNode, _ what: String, allowed: Set<String>) -> [String: YAMLMappingEntry]? {
        guard let entries = node.mappingEntries else {
            fail(node.position, .wrongType, "\(what) must be a mapping")
            return nil
        }
        var out: [String: YAMLMappingEntry] = [:]
        for entry in entries {
            if allowed.contains(entry.key) {
                out[entry.key] = entry
            } else {
                fail(entry.keyPosition, .unknownField, "unknown field '\(entry.key)' in \(what)")
            }
        }
        return out
    }

    mutating func string(_ node: YAMLNode?, _ field: String, at parent: SourcePosition) -> String? {
        guard let node else { fail(parent, .missingField, "missing required field '\(field)'"); return nil }
        guard case .scalar(let text, let style) = node.content, style.isExplicitString || YAMLScalar.resolvePlain(text) == .string else {
            fail(node.position, .wrongType, "field '\(field)' must be a string")
            return nil
        }
        return text
    }

    mutating func positiveInteger(_ node: YAMLNode?, _ field: String, default value: Int) -> Int? {
        guard let node else { return value }
        if case .scalar(let text, .plain) = node.content, let int = YAMLScalar(text: text, kind: YAMLScalar.resolvePlain(text)).integerValue,
           int > 0, int <= Int64(Int32.max) {
            return Int(int)
        }
        fail(node.position, .invalidValue, "field '\(field)' must be a positive integer")
        return nil
    }

    mutating func read(_ root: YAMLNode) -> Policy? {
        guard let top = mapping(root, "the policy", allowed: ["version", "branch", "mode", "principals", "limits", "quota", "half_lives", "benchmark_max_age", "revoked"]) else { return nil }
        guard let versionNode = top["version"]?.value else {
            fail(root.position, .missingField, "missing required field 'version'")
            return nil
        }
        guard case .scalar(let versionText, .plain) = versionNode.content, let version = Int(versionText) else {
            fail(versionNode.position, .wrongType, "field 'version' must be an integer")
            return nil
        }
        guard version == Policy.supportedVersion else {
            // Fail closed: a policy from a newer sfgit may restrict what this one would allow.
            fail(versionNode.position, .unsupportedPolicyVersion,
                 "policy version \(version) is not supported by this sfgit (it reads version \(Policy.supportedVersion)); upgrade sfgit")
            return nil
        }
        let branch = string(top["branch"]?.value, "branch", at: root.position)
        if let branch, !Self.isValidBranch(branch) {
            fail(top["branch"]!.value.position, .invalidValue, "branch '\(branch)' is not a valid branch name")
        }
        var mode = Policy.Mode.direct
        if let modeNode = top["mode"]?.value, let text = string(modeNode, "mode", at: root.position) {
            if let parsed = Policy.Mode(rawValue: text) { mode = parsed } else {
                fail(modeNode.position, .invalidValue, "mode '\(text)' must be direct or review")
            }
        }
        var principals: [Policy.PrincipalEntry] = []
        if let node = top["principals"]?.value {
            if case .sequence(let items) = node.content {
                var seen: Set<String> = []
                for item in items {
                    guard let entry = readPrincipal(item) else { continue }
                    if !seen.insert(entry.name).inserted {
                        fail(item.position, .duplicatePrincipal, "principal '\(entry.name)' is listed twice")
                    }
                    principals.append(entry)
                }
            } else {
                fail(node.position, .wrongType, "field 'principals' must be a list")
            }
        } else {
            fail(root.position, .missingField, "missing required field 'principals'")
        }
        if problems.isEmpty && !principals.contains(where: { $0.roles.contains(.admin) }) {
            fail(top["principals"]!.value.position, .noAdmin, "no principal has the admin role; nobody could change the policy")
        }
        var maxFileBytes: Int? = Policy.defaultMaxFileBytes
        var maxFilesPerCommit: Int? = Policy.defaultMaxFilesPerCommit
        var maxCommitBytes: Int? = Policy.defaultMaxCommitBytes
        var maxTreeBytes: Int? = Policy.defaultMaxTreeBytes
        if let node = top["limits"]?.value,
           let limits = mapping(node, "limits", allowed: ["max_file_bytes", "max_files_per_commit", "max_commit_bytes", "max_tree_bytes"]) {
            maxFileBytes = positiveInteger(limits["max_file_bytes"]?.value, "max_file_bytes", default: Policy.defaultMaxFileBytes)
            maxFilesPerCommit = positiveInteger(limits["max_files_per_commit"]?.value, "max_files_per_commit", default: Policy.defaultMaxFilesPerCommit)
            if let bytes = maxFileBytes, bytes > 1_048_576, let node = limits["max_file_bytes"]?.value {
                fail(node.position, .invalidValue, "max_file_bytes \(bytes) is over the ceiling of 1048576")
            }
            maxCommitBytes = positiveInteger(limits["max_commit_bytes"]?.value, "max_commit_bytes", default: Policy.defaultMaxCommitBytes)
            maxTreeBytes = positiveInteger(limits["max_tree_bytes"]?.value, "max_tree_bytes", default: Policy.defaultMaxTreeBytes)
            for (field, value) in [("max_commit_bytes", maxCommitBytes), ("max_tree_bytes", maxTreeBytes)] {
                if let value, value > Policy.objectBytesCeiling, let node = limits[field]?.value {
                    fail(node.position, .invalidValue, "\(field) \(value) is over the ceiling of \(Policy.objectBytesCeiling)")
                }
            }
        }
        var quota: Int? = Policy.defaultQuotaPerDay
        if let node = top["quota"]?.value, let fields = mapping(node, "quota", allowed: ["per_day"]) {
            quota = positiveInteger(fields["per_day"]?.value, "per_day", default: Policy.defaultQuotaPerDay)
        }
        let halfLives = top["half_lives"].map { readHalfLives($0.value) } ?? [:]
        var benchmarkMaxAge: Int?
        if let node = top["benchmark_max_age"]?.value, let text = string(node, "benchmark_max_age", at: root.position) {
            if let seconds = Policy.parseDuration(text) {
                benchmarkMaxAge = seconds
            } else {
                fail(node.position, .invalidValue, "benchmark_max_age '\(text)' must be a whole number of days (30d) or hours (12h), 1 to 6 digits")
            }
        }
        var revoked: [Policy.Revocation] = []
        if let node = top["revoked"]?.value {
            if case .sequence(let items) = node.content {
                revoked = items.compactMap { readRevocation($0) }
            } else {
                fail(node.position, .wrongType, "field 'revoked' must be a list")
            }
        }
        guard problems.isEmpty, let branch, let maxFileBytes, let maxFilesPerCommit, let quota, let maxCommitBytes, let maxTreeBytes else { return nil }
        var policy = Policy(version: version, branch: branch, mode: mode, principals: principals,
                            maxFileBytes: maxFileBytes, maxFilesPerCommit: maxFilesPerCommit, defaultQuotaPerDay: quota,
                            maxCommitBytes: maxCommitBytes, maxTreeBytes: maxTreeBytes)
        policy.halfLives = halfLives
        policy.benchmarkMaxAge = benchmarkMaxAge
        policy.revoked = revoked
        return policy
    }

    /// One `revoked:` entry: `key` (a `SHA256:` fingerprint), `principal`, optional `since` (a
    /// full commit id).
    mutating func readRevocation(_ node: YAMLNode) -> Policy.Revocation? {
        guard let fields = mapping(node, "a revocation", allowed: ["key", "principal", "since"]) else { return nil }
        guard let key = string(fields["key"]?.value, "key", at: node.position),
              let principal = string(fields["principal"]?.value, "principal", at: node.position) else { return nil }
        guard key.hasPrefix("SHA256:"), key.count > 7 else {
            fail(fields["key"]!.value.position, .invalidValue, "revoked key '\(key)' is not a SHA256: fingerprint")
            return nil
        }
        guard Principal.isValid(principal) else {
            fail(fields["principal"]!.value.position, .invalidPrincipal, "principal '\(principal)' is not author@host in lower-case ASCII")
            return nil
        }
        var since: String?
        if let sinceNode = fields["since"]?.value {
            guard let text = string(sinceNode, "since", at: node.position) else { return nil }
            guard text.count == 40, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                fail(sinceNode.position, .invalidValue, "since '\(text)' is not a full commit id (40 lower-case hex digits)")
                return nil
            }
            since = text
        }
        return Policy.Revocation(key: key, principal: principal, since: since)
    }

    /// `half_lives: {kind: days}`: kind names as memory files spell them, whole days from 1 to the ceiling.
    mutating func readHalfLives(_ node: YAMLNode) -> [String: Int] {
        guard let entries = node.mappingEntries else {
            fail(node.position, .wrongType, "half_lives must be a mapping of kind to days")
            return [:]
        }
        var out: [String: Int] = [:]
        for entry in entries {
            guard MemoryKind.isValidName(entry.key) else {
                fail(entry.keyPosition, .invalidValue, "half_lives: '\(entry.key)' is not a kind name")
                continue
            }
            guard let days = positiveInteger(entry.value, "half_lives.\(entry.key)", default: 1) else { continue }
            guard days <= Policy.maxAgeCeilingDays else {
                fail(entry.value.position, .invalidValue, "half_lives.\(entry.key) \(days) is over the ceiling of \(Policy.maxAgeCeilingDays) days")
                continue
            }
            out[entry.key] = days
        }
        return out
    }

    mutating func readPrincipal(_ node: YAMLNode) -> Policy.PrincipalEntry? {
        guard let fields = mapping(node, "a principal", allowed: ["name", "roles", "quota"]) else { return nil }
        guard let name = string(fields["name"]?.value, "name", at: node.position) else { return nil }
        guard Principal.isValid(name) else {
            fail(fields["name"]!.value.position, .invalidPrincipal, "principal '\(name)' is not author@host in lower-case ASCII")
            return nil
        }
        var roles: Set<Policy.Role> = []
        if let rolesNode = fields["roles"]?.value, case .sequence(let items) = rolesNode.content {
            for item in items {
                guard let text = string(item, "roles", at: item.position) else { continue }
                guard let role = Policy.Role(rawValue: text) else {
                    fail(item.position, .invalidValue, "role '\(text)' must be admin, review or write")
                    continue
                }
                roles.insert(role)
            }
        } else {
            fail(fields["roles"]?.value.position ?? node.position, .wrongType, "field 'roles' of '\(name)' must be a list")
        }
        var quota: Int?
        if let quotaNode = fields["quota"]?.value, let q = mapping(quotaNode, "quota of '\(name)'", allowed: ["per_day"]) {
            quota = positiveInteger(q["per_day"]?.value, "per_day", default: Policy.defaultQuotaPerDay)
        }
        return Policy.PrincipalEntry(name: name, roles: roles, quotaPerDay: quota)
    }

    /// A conservative branch name: ASCII letters, digits, `._/-`, no `..`, no leading or trailing `/` or `.`.
    static func isValidBranch(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard !b.isEmpty, b.count <= 200, !name.contains(".."), !name.contains("//"),
              b.first != UInt8(ascii: "/"), b.last != UInt8(ascii: "/"), b.first != UInt8(ascii: "."),
              !name.hasSuffix(".lock") else { return false }
        return b.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "-") }
    }
}

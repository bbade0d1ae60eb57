import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// One setting of a store's policy as `policy show` lists it, named as `policy set` takes it.
public struct PolicySetting: Sendable, Encodable {
    /// `mode`, `quota`, `max_file_bytes`, `half_lives.benchmark`, …
    public var key: String
    /// The value in force (integers as numbers, `mode` and `benchmark_max_age` as text).
    public var value: JSONValue
    /// Whether the policy leaves it out, so sfgit's default applies.
    public var isDefault: Bool
    /// Whether a change still in the outbox makes it differ from the published policy.
    public var pending: Bool

    enum CodingKeys: String, CodingKey { case key, value, isDefault = "default", pending }
}

/// A principal as `policy show` lists it: roles and the daily quota in force.
public struct PolicyPrincipal: Sendable, Encodable {
    /// The principal (`author@host`).
    public var name: String
    /// Its roles.
    public var roles: [String]
    /// The quota in force: its own, else the store's default.
    public var quotaPerDay: Int
    /// Whether that is the store's default (no quota of its own).
    public var quotaIsDefault: Bool
    /// Whether a change still in the outbox touches its roles or quota.
    public var pending: Bool

    enum CodingKeys: String, CodingKey { case name, roles, quotaPerDay = "quota_per_day", quotaIsDefault = "quota_default", pending }
}

/// What `policy show` reports: the policy as the next sync will publish it.
public struct PolicyReport: Sendable, Encodable {
    /// The store's name.
    public var store: String
    /// The commit whose policy this is: the outbox's tip while a change is pending, else the verified tip.
    public var commit: String
    /// Whether any setting or principal differs from the published policy.
    public var pending: Bool
    /// The policy's format version.
    public var version: Int
    /// The shared branch it names.
    public var branch: String
    /// Every setting with its value, default and pending mark.
    public var settings: [PolicySetting]
    /// The principals with their roles and quotas.
    public var principals: [PolicyPrincipal]
}

/// What `policy set` and `policy unset` report.
public struct PolicyChangeReport: Sendable, Encodable {
    /// The store's name.
    public var store: String
    /// The signed admin commit on the outbox; nil when the policy already said so.
    @Nullable public var commit: String? = nil
    /// `committed_local`, or `unchanged` (nothing was written).
    public var state: String
    /// The setting changed (`mode`, `quota`, …).
    public var key: String
    /// The value in force after the change (after `unset`, the default that now applies).
    @Nullable public var value: JSONValue? = nil
    /// The principal whose quota changed (`--principal`), if any.
    @Nullable public var principal: String? = nil
    /// `sync` or `review_merge`, as for trust changes.
    public var publishedBy = "sync"

    enum CodingKeys: String, CodingKey { case store, commit, state, key, value, principal, publishedBy = "published_by" }
}

/// The settings `policy set` changes, named as the policy file names them.
public enum PolicyKey: Sendable, Hashable {
    case mode
    /// The store's default daily quota, or (with a principal) that principal's.
    case quota
    case maxFileBytes
    case maxFilesPerCommit
    case maxCommitBytes
    case maxTreeBytes
    case benchmarkMaxAge
    case halfLife(kind: String)

    /// Every key name `policy set` takes, for help and errors.
    public static let names = ["mode", "quota", "max_file_bytes", "max_files_per_commit", "max_commit_bytes", "max_tree_bytes",
                               "benchmark_max_age", "half_lives.KIND"]

    /// Reads a key name; nil for anything else.
    public init?(_ name: String) {
        switch name {
        case "mode": self = .mode
        case "quota", "quota.per_day": self = .quota
        case "max_file_bytes", "limits.max_file_bytes": self = .maxFileBytes
        case "max_files_per_commit", "limits.max_files_per_commit": self = .maxFilesPerCommit
        case "max_commit_bytes", "limits.max_commit_bytes": self = .maxCommitBytes
        case "max_tree_bytes", "limits.max_tree_bytes": self = .maxTreeBytes
        case "benchmark_max_age": self = .benchmarkMaxAge
        default:
            guard name.hasPrefix("half_lives.") else { return nil }
            self = .halfLife(kind: String(name.dropFirst("half_lives.".count)))
        }
    }

    /// The name `policy show` lists it under.
    public var name: String {
        switch self {
        case .mode: return "mode"
        case .quota: return "quota"
        case .maxFileBytes: return "max_file_bytes"
        case .maxFilesPerCommit: return "max_files_per_commit"
        case .maxCommitBytes: return "max_commit_bytes"
        case .maxTreeBytes: return "max_tree_bytes"
        case .benchmarkMaxAge: return "benchmark_max_age"
        case .halfLife(let kind): return "half_lives.\(kind)"
        }
    }
}

extension Policy {
    /// Every setting with its value in force and whether it is sfgit's default. Half-lives are
    /// listed for every kind sfgit knows plus any other kind the policy names.
    func settings() -> [(key: String, value: JSONValue, isDefault: Bool)] {
        var out: [(String, JSONValue, Bool)] = [
            ("mode", .string(mode.rawValue), mode == .direct),
            ("quota", .integer(Int64(defaultQuotaPerDay)), defaultQuotaPerDay == Policy.defaultQuotaPerDay),
            ("max_file_bytes", .integer(Int64(maxFileBytes)), maxFileBytes == Policy.defaultMaxFileBytes),
            ("max_files_per_commit", .integer(Int64(maxFilesPerCommit)), maxFilesPerCommit == Policy.defaultMaxFilesPerCommit),
            ("max_commit_bytes", .integer(Int64(maxCommitBytes)), maxCommitBytes == Policy.defaultMaxCommitBytes),
            ("max_tree_bytes", .integer(Int64(maxTreeBytes)), maxTreeBytes == Policy.defaultMaxTreeBytes),
            ("benchmark_max_age", .string(Policy.renderDuration(effectiveBenchmarkMaxAge)), benchmarkMaxAge == nil),
        ]
        let kinds = MemoryKind.known.map(\.name) + halfLives.keys.sorted().filter { MemoryKind($0)?.isKnown != true }
        for kind in kinds {
            out.append(("half_lives.\(kind)", .integer(Int64(halfLifeDays(of: kind))), halfLives[kind] == nil))
        }
        return out
    }
}

extension Workspace {
    /// The store's policy as the next sync will publish it (the outbox's, while a change is
    /// pending), each setting marked when it is sfgit's default or still pending.
    public func policyShow(store name: String?) throws(SFGitError) -> PolicyReport {
        let store = try self.store(named: name)
        return try workflow {
            let repository = try store.openRepository()
            guard let verified = try repository.reference(Store.verifiedRef) else {
                throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
            }
            let current = try repository.reference(Store.outboxRef) ?? verified
            let policy = try self.policy(repository, at: current)
            let published = try self.policy(repository, at: verified)
            let publishedSettings = Dictionary(published.settings().map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            let settings = policy.settings().map {
                PolicySetting(key: $0.key, value: $0.value, isDefault: $0.isDefault, pending: publishedSettings[$0.key] != $0.value)
            }
            var principals = policy.principals.map { entry in
                PolicyPrincipal(name: entry.name, roles: entry.roles.sorted().map(\.rawValue), quotaPerDay: policy.quotaPerDay(of: entry.name),
                                quotaIsDefault: entry.quotaPerDay == nil,
                                pending: published.principals.first { $0.name == entry.name } != entry)
            }
            // A removal still in the outbox: listed with no roles, pending (as `trust list` does).
            for removed in published.principals where !policy.principals.contains(where: { $0.name == removed.name }) {
                principals.append(PolicyPrincipal(name: removed.name, roles: [], quotaPerDay: 0, quotaIsDefault: true, pending: true))
            }
            return PolicyReport(store: store.name, commit: current.hex,
                                pending: settings.contains(where: \.pending) || principals.contains(where: \.pending),
                                version: policy.version, branch: policy.branch, settings: settings, principals: principals)
        }
    }

    /// Sets one policy setting (`value`), or with nil returns it to sfgit's default, as a signed
    /// admin commit on the outbox that the next sync publishes. The edited policy is rendered
    /// and read back with the verifier's own parser before anything is signed: a value the
    /// verifier would refuse (over a ceiling, not positive, not a duration) is refused here with
    /// the parser's words (exit 7), and the file written is exactly what peers will read.
    public func policySet(_ keyName: String, value text: String?, principal: String? = nil, store name: String?) throws(SFGitError) -> PolicyChangeReport {
        guard let key = PolicyKey(keyName) else {
            throw SFGitError(.usage, "'\(keyName)' is not a policy setting; settings: \(PolicyKey.names.joined(separator: ", "))")
        }
        if principal != nil, key != .quota { throw SFGitError(.usage, "--principal goes with the quota setting only") }
        if case .halfLife(let kind) = key, !MemoryKind.isValidName(kind) {
            throw SFGitError(.usage, "half_lives.\(kind): '\(kind)' is not a kind name ([a-z][a-z0-9-]{0,31})")
        }
        let what = text.map { "set \(key.name) \($0)" } ?? "unset \(key.name)"
        let change = try adminChange(store: name, message: "policy \(what)\(principal.map { " for \($0)" } ?? "")", changing: "policy") {
            policy, _ throws(SFGitError) in try Self.apply(key, text, principal: principal, to: &policy)
        }
        var report = PolicyChangeReport(store: change.store.name, state: change.commit == nil ? "unchanged" : "committed_local", key: key.name, principal: principal)
        report.value = Self.value(of: key, principal: principal, in: change.policy)
        report.commit = change.commit?.hex
        report.publishedBy = change.publishedBy
        return report
    }

    /// Applies one setting to a policy. Text that is not even of the setting's type is refused
    /// here; ranges and ceilings are left to the policy parser, which the caller runs next.
    static func apply(_ key: PolicyKey, _ text: String?, principal: String?, to policy: inout Policy) throws(SFGitError) {
        func integer() throws(SFGitError) -> Int {
            guard let text, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 || $0 == UInt8(ascii: "-") }), let value = Int(text) else {
                throw SFGitError(.invalid, "\(key.name) '\(text ?? "")' must be a positive integer")
            }
            return value
        }
        switch key {
        case .mode:
            guard let text else { throw SFGitError(.usage, "mode has no default to return to: set it to direct or review") }
            guard let mode = Policy.Mode(rawValue: text) else { throw SFGitError(.invalid, "mode '\(text)' must be direct or review") }
            policy.mode = mode
        case .quota:
            if let principal {
                guard let index = policy.principals.firstIndex(where: { $0.name == principal }) else {
                    throw SFGitError(.notFound, "\(principal) is not in the store's policy")
                }
                policy.principals[index].quotaPerDay = text == nil ? nil : try integer()
            } else {
                policy.defaultQuotaPerDay = text == nil ? Policy.defaultQuotaPerDay : try integer()
            }
        case .maxFileBytes: policy.maxFileBytes = text == nil ? Policy.defaultMaxFileBytes : try integer()
        case .maxFilesPerCommit: policy.maxFilesPerCommit = text == nil ? Policy.defaultMaxFilesPerCommit : try integer()
        case .maxCommitBytes: policy.maxCommitBytes = text == nil ? Policy.defaultMaxCommitBytes : try integer()
        case .maxTreeBytes: policy.maxTreeBytes = text == nil ? Policy.defaultMaxTreeBytes : try integer()
        case .benchmarkMaxAge:
            guard let text else { policy.benchmarkMaxAge = nil; return }
            guard let seconds = Policy.parseDuration(text) else {
                throw SFGitError(.invalid, "benchmark_max_age '\(text)' must be a whole number of days (30d) or hours (12h), 1 to 6 digits")
            }
            policy.benchmarkMaxAge = seconds
        case .halfLife(let kind):
            policy.halfLives[kind] = text == nil ? nil : try integer()
        }
    }

    /// A setting's value in force, as `policy show` gives it.
    static func value(of key: PolicyKey, principal: String?, in policy: Policy) -> JSONValue {
        if key == .quota, let principal { return .integer(Int64(policy.quotaPerDay(of: principal))) }
        return policy.settings().first { $0.key == key.name }?.value ?? .null
    }
}

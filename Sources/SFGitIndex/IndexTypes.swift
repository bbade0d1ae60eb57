import SFGitMemory

/// How a memory reached this host (SPEC.md).
public enum Tier: String, Sendable, Hashable, Codable, CaseIterable {
    /// Written on this host, not yet on the shared branch.
    case own = "self"
    /// On the shared branch, signed by an authorized key.
    case authenticated
    /// Merged onto the shared branch by a reviewer's signed merge.
    case reviewed
}

/// A verified memory file to index, with its provenance.
public struct IndexedMemory: Sendable, Hashable {
    /// The parsed memory.
    public var memory: Memory
    /// Its store path.
    public var path: String
    /// Its blob id (hex).
    public var blob: String
    /// The commit that added it (hex).
    public var commit: String
    /// The signing principal.
    public var signer: String
    /// The signing key's fingerprint.
    public var key: String
    /// How it reached this host.
    public var tier: Tier
    /// When this host first saw it (seconds since the epoch): rate limits count this, never commit dates.
    public var firstSeen: Double

    /// Creates a record.
    public init(memory: Memory, path: String, blob: String, commit: String, signer: String, key: String, tier: Tier, firstSeen: Double) {
        self.memory = memory
        self.path = path
        self.blob = blob
        self.commit = commit
        self.signer = signer
        self.key = key
        self.tier = tier
        self.firstSeen = firstSeen
    }
}

/// A file kept out of the index, with the reason.
public struct QuarantinedFile: Sendable, Hashable, Codable {
    public var path: String
    public var blob: String
    public var reason: String
    public var detail: String
    public var commit: String

    /// Creates a record.
    public init(path: String, blob: String, reason: String, detail: String, commit: String) {
        self.path = path
        self.blob = blob
        self.reason = reason
        self.detail = detail
        self.commit = commit
    }
}

/// The policy's rate limit: memories per principal per day, counted by this host's own clock.
public struct QuotaRule: Sendable, Hashable {
    /// Per-principal overrides.
    public var perDay: [String: Int]
    /// The default for principals without an override.
    public var defaultPerDay: Int

    /// Creates a rule.
    public init(perDay: [String: Int] = [:], defaultPerDay: Int) {
        self.perDay = perDay
        self.defaultPerDay = defaultPerDay
    }

    /// The quota of a principal.
    public func quota(of principal: String) -> Int { perDay[principal] ?? defaultPerDay }
}

/// Changes applied to the index in one transaction.
public struct IndexBatch: Sendable {
    /// Memories to add (or replace, matched by path).
    public var upserts: [IndexedMemory] = []
    /// Paths that are no longer in the indexed tree.
    public var removedPaths: [String] = []
    /// Files to record as quarantined.
    public var quarantined: [QuarantinedFile] = []
    /// Paths, indexed already, whose memories a reviewer's merge has since brought in: their
    /// tier becomes `reviewed`.
    public var reviewedPaths: [String] = []
    /// Store state to record (indexed commit, verified tip, …).
    public var state: [String: String] = [:]
    /// The rate limit; nil admits everything.
    public var quota: QuotaRule?
    /// This host's clock for the rate limit (seconds since the epoch).
    public var now: Double = 0

    /// An empty batch.
    public init() {}
}

/// What `recall` searches for.
public struct RecallQuery: Sendable {
    /// Words to search for; nil or blank: newest first.
    public var text: String?
    /// Only these kinds (any of them).
    public var kinds: [String] = []
    /// Only memories with one of these tags.
    public var tags: [String] = []
    /// Only these authors (the `author` field or the whole `author@host` principal).
    public var authors: [String] = []
    /// Only this host.
    public var host: String?
    /// Only memories recorded at or after this time (seconds since the epoch).
    public var since: Double?
    /// Most items returned.
    public var limit: Int = 10
    /// Include expired memories.
    public var includeStale = false
    /// Include superseded and retracted memories.
    public var includeSuperseded = false
    /// Include memories held back by rate limits.
    public var includeDeferred = false
    /// At most this many items per signer in one answer.
    public var perSignerCap = 3
    /// How many of the newest matches BM25 scores (`MemoryIndex.commonTermWindow`; tests lower it).
    var scoredWindow = MemoryIndex.commonTermWindow
    /// The time recency and expiry are judged at.
    public var now: Double

    /// A query at time `now`.
    public init(text: String? = nil, now: Double) {
        self.text = text
        self.now = now
    }
}

/// An optional that JSON shows as `null` when empty instead of leaving its key out: SPEC.md's
/// envelopes list every key of an item, set or not.
@propertyWrapper
public struct Nullable<Value> {
    /// The value, or nil (written as `null`).
    public var wrappedValue: Value?

    /// Wraps a value.
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }
}

extension Nullable: Sendable where Value: Sendable {}
extension Nullable: Equatable where Value: Equatable {}
extension Nullable: Hashable where Value: Hashable {}

extension Nullable: Encodable where Value: Encodable {
    /// Writes the value, or `null`.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension Nullable: Decodable where Value: Decodable {
    /// Reads the value, or nil from `null`.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }
}

extension KeyedDecodingContainer {
    /// A missing key reads as nil too, as it would for a plain optional.
    public func decode<Value: Decodable>(_ type: Nullable<Value>.Type, forKey key: Key) throws -> Nullable<Value> {
        try decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
    }
}

/// One answer of `recall` or `show`, with provenance and trust on every item.
public struct RecallItem: Sendable, Hashable, Encodable {
    /// How the score was made (`--explain`).
    public struct Explanation: Sendable, Hashable, Codable {
        /// Text relevance in 0…1 (BM25 relative to the best candidate), 0 without a query.
        public var relevance: Double
        /// Recency in 0…1: 0.5 to the power of age / half-life.
        public var recency: Double
        /// The kind's half-life in days.
        public var halfLifeDays: Double
        /// The raw BM25 value (lower is better), nil without a query.
        public var bm25: Double?

        enum CodingKeys: String, CodingKey {
            case relevance, recency, halfLifeDays = "half_life_days", bm25
        }
    }

    public var id: String
    public var kind: String
    public var title: String
    public var body: String
    public var tags: [String]
    public var fields: JSONValue
    public var author: String
    public var host: String
    @Nullable public var instance: String? = nil
    @Nullable public var agent: String? = nil
    public var recordedAt: String
    @Nullable public var expiresAt: String? = nil
    public var supersedes: [String]
    public var path: String
    public var commit: String
    public var signer: String
    public var key: String
    public var tier: Tier
    public var stale: Bool
    public var supersededBy: [String]
    public var retracted: Bool
    public var deferred: Bool
    public var score: Double
    public var explanation: Explanation
    /// The store the item comes from (set when answers from several stores are merged).
    @Nullable public var store: String? = nil

    enum CodingKeys: String, CodingKey {
        case id, kind, title, body, tags, fields, author, host, instance, agent
        case recordedAt = "recorded_at", expiresAt = "expires_at", supersedes, path, commit, signer, key, tier
        case stale, supersededBy = "superseded_by", retracted, deferred, score, explanation = "explain", store
    }
}

/// The result of looking a memory up by id or prefix.
public enum ShowResult: Sendable {
    case found(RecallItem)
    case ambiguous([String])
    case notFound
}

/// Counts of the index, for `status`.
public struct IndexCounts: Sendable, Hashable, Codable {
    /// Memories per kind.
    public var byKind: [String: Int]
    /// Memories per tier.
    public var byTier: [String: Int]
    /// Memories held back by rate limits.
    public var deferred: Int
    /// Quarantined files.
    public var quarantined: Int
}

import GRDB
import SFGitMemory

/// How a memory reached this host (docs/TRUST.md § Tiers).
public enum Tier: String, Sendable, Hashable, Codable, CaseIterable {
    /// Written on this host, not yet on the shared branch.
    case own = "self"
    /// On the shared branch, signed by an authorized key.
    case authenticated
    /// Merged onto the shared branch by a reviewer's signed merge.
    case reviewed
    /// Signed by a key an admin revoked (`sfgit trust revoke`) after the point it names: kept and
    /// counted, served only when asked for (`--include-revoked`). Never a minimum to ask for.
    case revoked

    /// The tiers at or above this one (`revoked` ranks below them all and above none).
    public var andAbove: [Tier] {
        self == .revoked ? [] : Array([Tier.own, .authenticated, .reviewed].drop { $0 != self })
    }
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
    /// Whether it may retract or supersede any signer's memory: its signer held the admin or
    /// review role in the parents of the commit that added it (for this host's own unpublished
    /// memories: in the policy the next commit is judged by).
    public var mayWithdrawAny = false
    /// Where it entered the shared branch's history, for the rate limits: its position on the
    /// first-parent chain, the history clock there, and its signer's daily quota in the policy of
    /// the parents of the commit that added it. Nil for this host's own memories (never deferred)
    /// and for records without history.
    public var arrival: HistoryArrival?

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

/// Where a memory entered the shared branch, on the history clock (see `MemoryIndex`'s rate limits).
public struct HistoryArrival: Sendable, Hashable {
    /// The position on the verified tip's first-parent chain of the commit that brought it in.
    public var position: Int64
    /// The history clock there: the greatest committer time along the chain so far.
    public var clock: Double
    /// The signer's daily quota in the policy of the parents of the commit that added it.
    public var quotaPerDay: Int

    /// Creates an arrival.
    public init(position: Int64, clock: Double, quotaPerDay: Int) {
        self.position = position
        self.clock = clock
        self.quotaPerDay = quotaPerDay
    }
}

/// How much of a principal's daily quota is used, on the clock given (`MemoryIndex.quotaUsage`).
public struct QuotaUsage: Sendable, Hashable, Codable {
    /// The principal.
    public var principal: String
    /// Its daily quota.
    public var perDay: Int
    /// Memories counted in the 24 hours up to the clock: served ones by their release time,
    /// deferred ones (released later) and this host's unpublished ones.
    public var used: Int
    /// How many more the window takes now.
    public var left: Int
    /// When the next place frees (`used` ≥ `perDay`), else nil.
    public var freesAt: String?
    /// Its memories held back by the rate limits.
    public var deferred: Int

    /// Creates a usage.
    public init(principal: String, perDay: Int, used: Int, left: Int, freesAt: String?, deferred: Int) {
        self.principal = principal
        self.perDay = perDay
        self.used = used
        self.left = left
        self.freesAt = freesAt
        self.deferred = deferred
    }

    enum CodingKeys: String, CodingKey { case principal, perDay = "per_day", used, left, freesAt = "frees_at", deferred }

    /// One line for people: `3 of 500 per day used, 497 left` (and when the next frees).
    public var summary: String {
        "\(used) of \(perDay) per day used, \(left) left" + (freesAt.map { ", the next frees at \($0)" } ?? "")
            + (deferred > 0 ? ", \(deferred) deferred" : "")
    }
}

/// A file kept out of the index, with the reason.
public struct QuarantinedFile: Sendable, Hashable, Codable {
    /// The file's store path.
    public var path: String
    /// Its blob id (hex).
    public var blob: String
    /// The quarantine reason code (`oversize`, `provenance_mismatch`, …).
    public var reason: String
    /// What exactly is wrong, for people.
    public var detail: String
    /// The commit that added it (hex).
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
    /// Memories to mark `revoked` (by path): signed by a key the verified tip's policy revokes,
    /// outside the history the revocation still vouches for. Every other memory is not.
    public var revokedPaths: Set<String>?
    /// The history clock at the indexed commit (seconds since the epoch): memories whose
    /// release time (`IndexedMemory.arrival`) lies later are deferred, earlier ones served. Nil:
    /// the deferral stays as it was.
    public var historyClock: Double?

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
    /// Only these hosts (any of them).
    public var hosts: [String] = []
    /// Only this host (one of `hosts`).
    public var host: String? {
        get { hosts.first }
        set { hosts = newValue.map { [$0] } ?? [] }
    }
    /// Only memories of this tier or a higher one (`self` < `authenticated` < `reviewed`).
    public var minTier: Tier?
    /// Only these agent instances (the `instance` claim).
    public var instances: [String] = []
    /// Only these agents (the `agent` claim, e.g. `sf/3.2.0`).
    public var agents: [String] = []
    /// Only memories whose string field NAME equals VALUE (every pair must hold).
    public var fieldEquals: [(name: String, value: String)] = []
    /// Never these signers.
    public var excludeSigners: [String] = []
    /// Leave out memories of principals the store's current policy no longer lists.
    public var excludeRetired = false
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
    /// Include memories signed by a revoked key after the point its revocation names.
    public var includeRevoked = false
    /// Each signer's share of an answer: items beyond it come after every other signer's items
    /// (they are displaced, never dropped). 0: no share. A filter naming one signer lifts it.
    public var perSignerShare = 3
    /// Only memories signed by these principals.
    public var signers: [String] = []
    /// Items of the ordered answer to skip (paging).
    public var offset = 0

    /// The share in force: none when a filter names exactly one signer (`--signer P`, or
    /// `--author` with a whole `author@host`).
    public var effectiveShare: Int {
        let principals = Set(signers + authors.filter { $0.contains("@") })
        let onlyOne = principals.count == 1 && (authors.isEmpty || authors.allSatisfy { $0.contains("@") })
        return onlyOne ? 0 : perSignerShare
    }
    /// How many of the newest matches BM25 scores (`MemoryIndex.commonTermWindow`; tests lower it).
    var scoredWindow = MemoryIndex.commonTermWindow
    /// How many BM25 candidates one block re-ranks by recency (`MemoryIndex.candidateLimit`; tests lower it).
    var candidateBlock = MemoryIndex.candidateLimit
    /// The time recency and expiry are judged at.
    public var now: Double

    /// A query at time `now`.
    public init(text: String? = nil, now: Double) {
        self.text = text
        self.now = now
    }
}

/// One page of a recall, and what the answer left out.
public struct RecallPage: Sendable {
    /// The page, best first.
    public var items: [RecallItem]
    /// What matched but is not on the page, and why.
    public var omissions: [RecallOmission]

    /// Creates a page.
    public init(items: [RecallItem], omissions: [RecallOmission]) {
        self.items = items
        self.omissions = omissions
    }
}

/// Something that matched a recall but is not in its answer (a `warnings` entry of the envelope).
public struct RecallOmission: Sendable, Hashable {
    /// `MORE_RESULTS`, `CAPPED_BY_SIGNER`, `STALE_HIDDEN`, `WITHDRAWN_HIDDEN`, `DEFERRED_HIDDEN`,
    /// `REVOKED_HIDDEN`.
    public var code: String
    /// How many.
    public var count: Int
    /// Whether `count` is a lower bound (the scan stopped once the page was known).
    public var atLeast: Bool
    /// What they are, and how to see them.
    public var what: String

    /// Creates an omission.
    public init(code: String, count: Int, atLeast: Bool, what: String) {
        self.code = code
        self.count = count
        self.atLeast = atLeast
        self.what = what
    }

    /// The one-line message: the count, then what.
    public var message: String { "\(atLeast ? "at least " : "")\(count) \(what)" }
}

/// The order of a recall answer: each signer's first `share` items in rank order, then the
/// rest in rank order. An item over its signer's share is displaced only by another signer's
/// item that would otherwise not fit; unused places are back-filled in rank order; and the
/// order of the first k items never depends on how many are asked for.
public struct RecallOrder: Sendable {
    /// Indexes into the ranked list, in answer order.
    public let positions: [Int]

    /// Orders a ranked list, given each item's signer.
    public init(_ signers: [String], share: Int) {
        guard share > 0 else {
            positions = Array(signers.indices)
            return
        }
        var counts: [String: Int] = [:]
        var within: [Int] = [], over: [Int] = []
        for (index, signer) in signers.enumerated() {
            counts[signer, default: 0] += 1
            if counts[signer]! <= share { within.append(index) } else { over.append(index) }
        }
        positions = within + over
    }

    /// Orders a ranked list block by block: each block's signers' shares apply within it, and
    /// blocks keep their order, so the first places are known once the blocks that hold them
    /// are read (a signer's share never reaches into later blocks).
    public init(_ signers: [String], share: Int, blocks: [Range<Int>]) {
        positions = blocks.flatMap { block in
            RecallOrder(Array(signers[block]), share: share).positions.map { $0 + block.lowerBound }
        }
    }

    /// How many items placed after the page rank better than its worst item: pushed down by
    /// their signer's share (only items over a share can be; the page is `positions[range]`).
    public func displaced(after page: Range<Int>) -> Int {
        guard let worst = positions[page].max(), page.upperBound < positions.count else { return 0 }
        return positions[page.upperBound...].filter { $0 < worst }.count
    }
}

/// Counts of what a recall set aside while ranking (expired, withdrawn, deferred).
struct RecallHidden {
    var expired = 0, withdrawn = 0, deferred = 0, revoked = 0

    /// Whether a candidate row may be answered; counts it when it is set aside.
    mutating func admit(_ row: MemoryIndex.RankingRow, _ query: RecallQuery) -> Bool {
        if !query.includeStale, row.expired { expired += 1; return false }
        if !query.includeSuperseded, row.withdrawn { withdrawn += 1; return false }
        if !query.includeDeferred, row.deferred { deferred += 1; return false }
        if !query.includeRevoked, row.revoked { revoked += 1; return false }
        return true
    }

    func omissions(atLeast: Bool) -> [RecallOmission] {
        var out: [RecallOmission] = []
        if expired > 0 { out.append(.init(code: "STALE_HIDDEN", count: expired, atLeast: atLeast, what: "expired memories match too (--include-stale)")) }
        if withdrawn > 0 { out.append(.init(code: "WITHDRAWN_HIDDEN", count: withdrawn, atLeast: atLeast, what: "superseded or retracted memories match too (--include-superseded)")) }
        if deferred > 0 { out.append(.init(code: "DEFERRED_HIDDEN", count: deferred, atLeast: atLeast, what: "memories held back by the store's rate limits match too (--include-untrusted)")) }
        if revoked > 0 { out.append(.init(code: "REVOKED_HIDDEN", count: revoked, atLeast: atLeast, what: "memories signed by a revoked key after its revocation match too (--include-revoked)")) }
        return out
    }
}

/// An optional that JSON shows as `null` when empty instead of leaving its key out: envelopes
/// list every key of an item, set or not (docs/COMMANDS.md § The JSON envelope).
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
        /// The memory's age in days when the score was made.
        public var ageDays: Double = 0

        /// Creates an explanation.
        public init(relevance: Double, recency: Double, halfLifeDays: Double, bm25: Double?, ageDays: Double = 0) {
            self.relevance = relevance
            self.recency = recency
            self.halfLifeDays = halfLifeDays
            self.bm25 = bm25
            self.ageDays = ageDays
        }

        enum CodingKeys: String, CodingKey {
            case relevance, recency, halfLifeDays = "half_life_days", bm25, ageDays = "age_days"
        }
    }

    /// The memory's id.
    public var id: String
    /// Its kind.
    public var kind: String
    /// Its title.
    public var title: String
    /// Its body text (Markdown).
    public var body: String
    /// Its tags.
    public var tags: [String]
    /// Every other field of the body and front matter, as read.
    public var fields: JSONValue
    /// The front matter's `author`.
    public var author: String
    /// The front matter's `host`.
    public var host: String
    /// The agent instance it claims (not proven).
    @Nullable public var instance: String? = nil
    /// The product and version it claims (not proven).
    @Nullable public var agent: String? = nil
    /// Its `recorded_at`.
    public var recordedAt: String
    /// Its `expires_at` (or the kind's default expiry), if any.
    @Nullable public var expiresAt: String? = nil
    /// The ids it supersedes.
    public var supersedes: [String]
    /// Its store path.
    public var path: String
    /// The commit that added it (hex).
    public var commit: String
    /// The signing principal (`author@host`), from the verified key.
    public var signer: String
    /// The signing key's `SHA256:` fingerprint.
    public var key: String
    /// How it reached this host (docs/TRUST.md § Tiers).
    public var tier: Tier
    /// Whether it has expired.
    public var stale: Bool
    /// The ids of served memories that supersede it.
    public var supersededBy: [String]
    /// Whether a served retraction withdraws it.
    public var retracted: Bool
    /// The memories that withdraw this one (effective ones: by its own signer, or by an admin or
    /// reviewer, and not themselves retracted).
    public var withdrawals: [Withdrawal] = []
    /// Whether the rate limits hold it back (shown only when asked for).
    public var deferred: Bool
    /// The ranking score (higher is better).
    public var score: Double
    /// How the score was made.
    public var explanation: Explanation
    /// The store the item comes from (set when answers from several stores are merged).
    @Nullable public var store: String? = nil
    /// Whether the signer is still in the store's current policy.
    public var signerStatus: SignerStatus = .active

    /// A memory that withdraws this one: who, when, and (for a retraction) why.
    public struct Withdrawal: Sendable, Hashable, Codable {
        /// The withdrawing memory's id.
        public var id: String
        /// `supersedes` or `retracts`.
        public var kind: String
        /// Its signing principal.
        public var signer: String
        /// Its `recorded_at`.
        public var recordedAt: String
        /// The retraction's `reason` (nil for a supersession without one).
        public var reason: String?
        /// By what right: `signer` (the memory's own signer) or `role` (an admin or reviewer where
        /// the withdrawal was added).
        public var authority: Authority = .signer

        /// By what right a withdrawal applies.
        public enum Authority: String, Sendable, Hashable, Codable { case signer, role }

        enum CodingKeys: String, CodingKey { case id, kind, signer, recordedAt = "recorded_at", reason, authority }
    }

    /// `active`, or `retired`: the current policy no longer lists the signer (its past memories
    /// stay served, marked).
    public enum SignerStatus: String, Sendable, Hashable, Codable { case active, retired }

    enum CodingKeys: String, CodingKey {
        case id, kind, title, body, tags, fields, author, host, instance, agent
        case recordedAt = "recorded_at", expiresAt = "expires_at", supersedes, path, commit, signer, key, tier
        case stale, supersededBy = "superseded_by", retracted, deferred, score, explanation = "explain", store
        case signerStatus = "signer_status", withdrawals
    }
}

extension RecallItem {
    /// The item as JSON, byte for byte what `JSONEncoder` writes for it with sfgit's settings
    /// (sorted keys, explicit nulls where `@Nullable` says so; `RecallItemJSONTests` compares
    /// them over random items), by hand: the recall answers of `sfgit mcp` and `--json` are
    /// written this way, at a tenth of the cost.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("agent"); writer.string(agent)
        writer.key("author"); writer.string(author)
        writer.key("body"); writer.string(body)
        writer.key("commit"); writer.string(commit)
        writer.key("deferred"); writer.bool(deferred)
        writer.key("expires_at"); writer.string(expiresAt)
        writer.key("explain")
        writer.beginObject()
        writer.key("age_days"); writer.number(explanation.ageDays)
        if let bm25 = explanation.bm25 { writer.key("bm25"); writer.number(bm25) }
        writer.key("half_life_days"); writer.number(explanation.halfLifeDays)
        writer.key("recency"); writer.number(explanation.recency)
        writer.key("relevance"); writer.number(explanation.relevance)
        writer.endObject()
        writer.key("fields"); writer.value(fields)
        writer.key("host"); writer.string(host)
        writer.key("id"); writer.string(id)
        writer.key("instance"); writer.string(instance)
        writer.key("key"); writer.string(key)
        writer.key("kind"); writer.string(kind)
        writer.key("path"); writer.string(path)
        writer.key("recorded_at"); writer.string(recordedAt)
        writer.key("retracted"); writer.bool(retracted)
        writer.key("score"); writer.number(score)
        writer.key("signer"); writer.string(signer)
        writer.key("signer_status"); writer.string(signerStatus.rawValue)
        writer.key("stale"); writer.bool(stale)
        writer.key("store"); writer.string(store)
        writer.key("superseded_by"); writer.strings(supersededBy)
        writer.key("supersedes"); writer.strings(supersedes)
        writer.key("tags"); writer.strings(tags)
        writer.key("tier"); writer.string(tier.rawValue)
        writer.key("title"); writer.string(title)
        writer.key("withdrawals")
        writer.beginArray()
        for withdrawal in withdrawals {
            writer.beginObject()
            writer.key("authority"); writer.string(withdrawal.authority.rawValue)
            writer.key("id"); writer.string(withdrawal.id)
            writer.key("kind"); writer.string(withdrawal.kind)
            if let reason = withdrawal.reason { writer.key("reason"); writer.string(reason) }
            writer.key("recorded_at"); writer.string(withdrawal.recordedAt)
            writer.key("signer"); writer.string(withdrawal.signer)
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
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
    /// Memories signed by a revoked key (tier `revoked`, not served).
    public var revoked: Int = 0

    // snake_case like every other key of the sfgit.v1 envelope (these were camelCase before).
    enum CodingKeys: String, CodingKey {
        case byKind = "by_kind", byTier = "by_tier", deferred, quarantined, revoked
    }
}

/// What the verified tip's policy says about recency and staleness, as the cache recorded it:
/// the same on every host of the store, since the admin signs the policy.
public struct StoreSettings: Sendable, Hashable, Codable {
    /// Half-lives in days per kind the policy sets (`half_lives:`); other kinds keep the defaults.
    public var halfLives: [String: Double] = [:]
    /// `benchmark_max_age` in seconds (default 30 days).
    public var benchmarkMaxAge: Double = 30 * 86_400

    /// Defaults.
    public init() {}

    /// The half-life of a kind, in days.
    public func halfLifeDays(of kind: String) -> Double { halfLives[kind] ?? MemoryIndex.halfLifeDays(of: kind) }

    enum CodingKeys: String, CodingKey { case halfLives = "half_lives", benchmarkMaxAge = "benchmark_max_age_seconds" }
}

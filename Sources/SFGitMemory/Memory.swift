/// The state of a circuit breaker memory.
public enum BreakerState: String, Sendable, Hashable, CaseIterable, Codable {
    case open
    case halfOpen = "half-open"
    case closed
}

/// The first document of a memory file: metadata and provenance.
public struct FrontMatter: Sendable, Hashable {
    /// Format version; 1 today. A larger value comes from a newer writer and is read with a warning.
    public var schema: Int
    /// The memory's id.
    public var id: ULID
    /// The memory's kind.
    public var kind: MemoryKind
    /// Who wrote it (with `host`, must equal the signing principal `author@host`).
    public var author: String
    /// The host it was written on.
    public var host: String
    /// Which agent instance on that host (a claim, not proven).
    public var instance: String?
    /// Product and version that wrote it.
    public var agent: String?
    /// When it was recorded (UTC).
    public var recordedAt: Timestamp
    /// Free-form tags.
    public var tags: [String]
    /// Not served after this time unless asked.
    public var expiresAt: Timestamp?
    /// Ids this memory replaces.
    public var supersedes: [ULID]
    /// Fields this version does not know, kept verbatim in source order.
    public var fields: [YAMLField]

    /// Creates front matter.
    public init(
        schema: Int = 1, id: ULID, kind: MemoryKind, author: String, host: String,
        instance: String? = nil, agent: String? = nil, recordedAt: Timestamp, tags: [String] = [],
        expiresAt: Timestamp? = nil, supersedes: [ULID] = [], fields: [YAMLField] = []
    ) {
        self.schema = schema
        self.id = id
        self.kind = kind
        self.author = author
        self.host = host
        self.instance = instance
        self.agent = agent
        self.recordedAt = recordedAt
        self.tags = tags
        self.expiresAt = expiresAt
        self.supersedes = supersedes
        self.fields = fields
    }

    /// `author@host`, the principal that must have signed the commit adding this memory.
    public var principal: String { "\(author)@\(host)" }
}

/// The second document of a memory file: the content. Per-kind fields are set only for the kinds
/// that define them; on other kinds the same keys are unknown fields.
public struct MemoryBody: Sendable, Hashable {
    /// One-line summary (required).
    public var title: String
    /// Markdown text.
    public var body: String?
    /// `anti-pattern`: what to do instead.
    public var instead: String?
    /// `benchmark`, `circuit-breaker`, `contract`: what it is about.
    public var subject: String?
    /// `benchmark`: what was measured.
    public var metric: String?
    /// `benchmark`: the measured value.
    public var value: Double?
    /// `benchmark`: the value's unit.
    public var unit: String?
    /// `benchmark`: how many samples.
    public var samples: Int?
    /// `circuit-breaker`: the breaker's state.
    public var state: BreakerState?
    /// `circuit-breaker`: when the breaker resets.
    public var resetsAt: Timestamp?
    /// `retraction`: the id withdrawn.
    public var target: ULID?
    /// `retraction`: why.
    public var reason: String?
    /// Fields this version does not know, kept verbatim in source order.
    public var fields: [YAMLField]

    /// Creates a body.
    public init(
        title: String, body: String? = nil, instead: String? = nil, subject: String? = nil,
        metric: String? = nil, value: Double? = nil, unit: String? = nil, samples: Int? = nil,
        state: BreakerState? = nil, resetsAt: Timestamp? = nil, target: ULID? = nil, reason: String? = nil,
        fields: [YAMLField] = []
    ) {
        self.title = title
        self.body = body
        self.instead = instead
        self.subject = subject
        self.metric = metric
        self.value = value
        self.unit = unit
        self.samples = samples
        self.state = state
        self.resetsAt = resetsAt
        self.target = target
        self.reason = reason
        self.fields = fields
    }
}

/// One memory: front matter plus body.
public struct Memory: Sendable, Hashable {
    /// Metadata and provenance.
    public var frontMatter: FrontMatter
    /// Content.
    public var body: MemoryBody

    /// Creates a memory.
    public init(frontMatter: FrontMatter, body: MemoryBody) {
        self.frontMatter = frontMatter
        self.body = body
    }

    /// The memory's id.
    public var id: ULID { frontMatter.id }
    /// The memory's kind.
    public var kind: MemoryKind { frontMatter.kind }
    /// Where the memory lives in a store.
    public var path: MemoryPath { MemoryPath(kind: frontMatter.kind, id: frontMatter.id) }

    /// Benchmarks expire 30 days after recording unless told otherwise.
    public static let benchmarkDefaultLifetime: Int64 = 30 * 86_400
    /// Circuit breakers without `resets_at` expire 7 days after recording.
    public static let breakerDefaultLifetime: Int64 = 7 * 86_400

    /// When the memory stops being served: `expires_at`, else the kind's default (benchmarks:
    /// recorded + 30 days; breakers: `resets_at`, else recorded + 7 days), else never.
    public var effectiveExpiry: Timestamp? {
        if let expiresAt = frontMatter.expiresAt { return expiresAt }
        switch kind {
        case .benchmark: return frontMatter.recordedAt.adding(seconds: Self.benchmarkDefaultLifetime)
        case .circuitBreaker: return body.resetsAt ?? frontMatter.recordedAt.adding(seconds: Self.breakerDefaultLifetime)
        default: return nil
        }
    }

    /// The unknown fields of both documents, front matter first.
    public var unknownFields: [YAMLField] { frontMatter.fields + body.fields }
}

/// A memory accepted by the parser, with any warnings (such as a newer schema version).
public struct ParsedMemory: Sendable, Hashable {
    /// The memory.
    public var memory: Memory
    /// Warnings that did not stop it from being accepted.
    public var warnings: [MemoryWarning]
}

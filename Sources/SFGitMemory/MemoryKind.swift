/// The kind of a memory. The seven of docs/FORMAT.md § Kinds are known; any other name matching
/// `[a-z][a-z0-9-]{0,31}` (invented by a newer writer) is accepted and shown as itself.
public struct MemoryKind: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The kind's name as it appears in files and paths.
    public let name: String

    /// Creates a kind from a name, or nil when the name does not match `[a-z][a-z0-9-]{0,31}`.
    public init?(_ name: String) {
        guard Self.isValidName(name) else { return nil }
        self.name = name
    }

    private init(known name: String) { self.name = name }

    /// Something learned.
    public static let learning = MemoryKind(known: "learning")
    /// Something not to do, with what to do `instead`.
    public static let antiPattern = MemoryKind(known: "anti-pattern")
    /// A finding about a contract (an API's behaviour) on a `subject`.
    public static let contract = MemoryKind(known: "contract")
    /// A measurement: `subject`, `metric`, `value`, `unit`.
    public static let benchmark = MemoryKind(known: "benchmark")
    /// A circuit breaker's `state` on a `subject`, until `resets_at`.
    public static let circuitBreaker = MemoryKind(known: "circuit-breaker")
    /// A note.
    public static let note = MemoryKind(known: "note")
    /// The withdrawal of a memory (`target`, `reason`).
    public static let retraction = MemoryKind(known: "retraction")

    /// The kinds this version of sfgit knows, in the order of docs/FORMAT.md § Kinds.
    public static let known: [MemoryKind] = [.learning, .antiPattern, .contract, .benchmark, .circuitBreaker, .note, .retraction]

    /// Whether this version of sfgit knows the kind (and its body fields).
    public var isKnown: Bool { Self.known.contains(self) }

    /// Half-lives of recency per kind, in days, where the store's policy sets none (`half_lives:`):
    /// benchmarks and breakers decay fast, contracts slowly.
    public static func defaultHalfLifeDays(of kind: String) -> Int {
        switch kind {
        case "circuit-breaker": return 1
        case "benchmark": return 7
        case "note": return 60
        case "anti-pattern": return 90
        case "learning": return 180
        case "contract", "retraction": return 365
        default: return 90
        }
    }

    /// `[a-z][a-z0-9-]{0,31}`
    public static func isValidName(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard (1...32).contains(b.count), b[0] >= 0x61, b[0] <= 0x7A else { return false }
        return b.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }
    }

    /// The kind's name.
    public var description: String { name }

    /// Orders kinds by name.
    public static func < (lhs: MemoryKind, rhs: MemoryKind) -> Bool { lhs.name < rhs.name }

    /// Decodes a kind from its name; refuses a string that is not a kind name.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let kind = MemoryKind(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a kind name: \(text)"))
        }
        self = kind
    }

    /// Encodes the kind as its name.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitTrust

/// A value sfgit reads from a command-line flag or an MCP tool argument. Each type is parsed
/// in one place for both, and a refusal names the argument as the caller spelled it
/// (`--since` on the command line, `since` in a tool call).
public protocol ArgumentValue: Sendable {
    /// The value `text` spells; nil when it spells none.
    init?(argumentText text: String)
    /// What a value looks like, for refusals: "a duration (120s, 2m, 0)".
    static var expectation: String { get }
}

extension ArgumentValue {
    /// Parses `text` given as argument `name`: USAGE naming both when it spells no value.
    public static func parse(_ text: String, as name: String) throws(SFGitError) -> Self {
        guard let value = Self(argumentText: text) else { throw SFGitError(.usage, "\(name) '\(text)' is not \(expectation)") }
        return value
    }
}

/// A duration: `120s`, `2m`, `12h`, `30d`, `2w`, or plain seconds (`0`). `--timeout`, `--wait`,
/// `--alert-after`.
public struct TimeSpan: ArgumentValue, Hashable, CustomStringConvertible {
    /// The duration in seconds.
    public let seconds: Double
    /// The duration as it was written.
    public let description: String

    /// Parses `120s`, `2m`, `6h`, `2d` or `0`; nil for anything else.
    public init?(argumentText text: String) {
        guard let seconds = TimeSpec.seconds(text) else { return nil }
        self.seconds = seconds
        description = text
    }

    /// What a usage error says was expected.
    public static let expectation = "a duration (120s, 2m, 6h, 2d, or 0)"
}

/// An age limit: a duration with its unit, above zero (`30d`, `12h`, `90m`). `--max-age` and the
/// benchmarks tool's `max_age`.
public struct MaxAge: ArgumentValue, Hashable, CustomStringConvertible {
    /// The limit in seconds.
    public let seconds: Double
    /// The limit as it was written.
    public let description: String

    /// Parses a duration above zero with its unit; nil for anything else.
    public init?(argumentText text: String) {
        guard let seconds = TimeSpec.seconds(text), seconds > 0, text.last?.isLetter == true else { return nil }
        self.seconds = seconds
        description = text
    }

    /// What a usage error says was expected.
    public static let expectation = "a duration (30d, 12h, 90m)"
}

/// The start of a time window: a duration back from now (`7d`, `24h`) or a date (`2026-05-01`,
/// or a full ISO 8601 UTC timestamp). `--since` of recall and the recall tool's `since`.
public struct Since: ArgumentValue, Hashable, CustomStringConvertible {
    /// The start as it was written.
    public let description: String

    /// Parses a duration back from now or a date; nil for anything else.
    public init?(argumentText text: String) {
        guard TimeSpec.parse(text, now: 0, past: true) != nil else { return nil }
        description = text
    }

    /// The start in seconds since the epoch, for a window ending at `now`.
    public func start(now: Double) -> Double {
        // Parsed once at init, so this cannot fail; the fallback only keeps the type total.
        TimeSpec.parse(description, now: now, past: true) ?? now
    }

    /// What a usage error says was expected.
    public static let expectation = "a duration (7d) or a date (2026-05-01)"
}

extension Tier: ArgumentValue {
    /// Parses a tier's name.
    public init?(argumentText text: String) { self.init(rawValue: text) }
    /// What a usage error says was expected.
    public static var expectation: String { "one of self, authenticated, reviewed" }
}

extension Role: ArgumentValue {
    /// Parses a role's name.
    public init?(argumentText text: String) { self.init(rawValue: text) }
    /// What a usage error says was expected.
    public static var expectation: String { "one of write, review, admin" }
}

extension FleetQuery {
    /// A fleet view's query at `now`, with the filters the CLI's flags and the MCP tools'
    /// arguments both take.
    public init(now: Double, subject: String?, signers: [String], hosts: [String], minTier: Tier?, excludeRetired: Bool) {
        self.init(now: now)
        self.subject = subject
        filters.signers = signers
        filters.hosts = hosts
        filters.minTier = minTier
        filters.excludeRetired = excludeRetired
    }
}

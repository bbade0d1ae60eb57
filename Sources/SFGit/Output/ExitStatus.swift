/// The process exit codes (docs/COMMANDS.md § Exit codes). Stable: new ones are only appended.
public enum ExitStatus: Int32, Sendable, CaseIterable, Codable {
    case ok = 0
    case internalError = 1
    case usage = 2
    case degraded = 3
    case busy = 4
    case untrusted = 5
    case conflict = 6
    case invalid = 7
    case notFound = 8
    case rateLimited = 9

    /// The name used in the JSON envelope's `error.code` (`UNTRUSTED`, `INVALID`, …).
    public var name: String {
        switch self {
        case .ok: return "OK"
        case .internalError: return "INTERNAL"
        case .usage: return "USAGE"
        case .degraded: return "DEGRADED"
        case .busy: return "BUSY"
        case .untrusted: return "UNTRUSTED"
        case .conflict: return "CONFLICT"
        case .invalid: return "INVALID"
        case .notFound: return "NOT_FOUND"
        case .rateLimited: return "RATE_LIMITED"
        }
    }
}


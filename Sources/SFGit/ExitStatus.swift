/// The process exit codes of SPEC.md. Stable: new ones are only appended.
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

/// A failure of an sfgit workflow, carrying the exit status it maps to and a message for people.
public struct SFGitError: Error, Sendable, CustomStringConvertible {
    /// The exit status the command ends with.
    public var status: ExitStatus
    /// What went wrong and, where it helps, what to do.
    public var message: String

    /// Creates an error.
    public init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public var description: String { message }
}

/// Runs a workflow's body: an `SFGitError` passes through, anything else (a libgit2 or SQLite
/// failure) becomes INTERNAL, prefixed with what was being done.
func workflow<T>(_ context: String? = nil, _ body: () throws -> T) throws(SFGitError) -> T {
    do {
        return try body()
    } catch let error as SFGitError {
        throw error
    } catch {
        throw SFGitError(.internalError, (context.map { "\($0): " } ?? "") + "\(error)")
    }
}

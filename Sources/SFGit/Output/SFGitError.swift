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

    /// The message.
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

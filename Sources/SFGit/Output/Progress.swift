/// Where long-running workflows say how far they are, for a person at a terminal: memories
/// verified and indexed during a clone or rebuild, and waiting for another sync's lock. The
/// executable decides whether anyone is watching (stderr a terminal, no `-q`); the library only
/// reports. Called from the thread doing the work, often many times a second: a sink throttles.
public struct ProgressSink: Sendable {
    /// Receives one line describing the current state (it replaces the previous one).
    public let emit: @Sendable (String) -> Void

    /// A sink that hands each line to `emit`.
    public init(_ emit: @escaping @Sendable (String) -> Void) {
        self.emit = emit
    }
}

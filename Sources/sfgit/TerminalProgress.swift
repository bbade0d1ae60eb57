import Foundation
import SFGit

/// Progress lines on stderr, only when stderr is a terminal and `-q` was not given: a piped or
/// cron run never sees them. Each line replaces the previous one of its phase (`\r` and
/// erase-line), at most five times a second; when another phase starts (a line that reads
/// differently before its first number: `shared: received …`, then `shared: verified and
/// indexed …`) and when the command's work is done, the last state is left on screen, ended with
/// a line feed.
// @unchecked Sendable: its state is read and written under `lock`; `shared` is set once, before any thread reports.
final class TerminalProgress: @unchecked Sendable {
    /// The one instance, set up in main once the arguments are parsed; nil: nobody is watching.
    nonisolated(unsafe) static var shared: TerminalProgress?

    private let lock = NSLock()
    private var lastShown = Date.distantPast
    private var pending: String?
    private var shown: String?
    /// What the pending line says before its first number: its phase.
    private var phase: String?

    /// Sets up progress for this run if stderr is a terminal and the run is not quiet.
    static func setUp(quiet: Bool) {
        if !quiet && isatty(STDERR_FILENO) == 1 { shared = TerminalProgress() }
    }

    /// The sink the library reports to.
    var sink: ProgressSink { ProgressSink { [self] line in update(line) } }

    private func update(_ line: String) {
        lock.withLock {
            let linePhase = Self.phase(of: line)
            if let phase, phase != linePhase {
                // Another phase: the previous one's last count stays on its own line.
                endLine()
                lastShown = .distantPast
            }
            phase = linePhase
            pending = line
            let now = Date()
            guard now.timeIntervalSince(lastShown) >= 0.2 else { return }
            lastShown = now
            write("\r\u{1B}[K" + SafeText.escape(line, for: .line))
            shown = line
        }
    }

    /// Shows the last state and ends its line, so that the command's own output starts clean.
    func finish() {
        lock.withLock { endLine() }
    }

    /// What a line says before its first number, after the store name that starts it (`NAME: `;
    /// a store name may hold digits, never `: `): `shared: received `, `shared: verified and indexed `.
    static func phase(of line: String) -> String {
        let text = line.range(of: ": ").map { line[$0.upperBound...] } ?? line[...]
        return String(line[..<text.startIndex]) + String(text.prefix { !$0.isNumber })
    }

    /// Shows the pending line if it is not on screen yet and ends it (the caller holds the lock).
    private func endLine() {
        guard let line = pending else { return }
        write(line == shown ? "\n" : "\r\u{1B}[K" + SafeText.escape(line, for: .line) + "\n")
        pending = nil
        shown = nil
        phase = nil
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

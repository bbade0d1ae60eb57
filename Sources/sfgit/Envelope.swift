import Foundation
import SFGit

extension Envelope {
    /// Writes the envelope as one line of JSON on stdout (`Envelope.encoded()`, the serializer
    /// the MCP server's `structuredContent` shares).
    func print() {
        FileHandle.standardOutput.write(encoded() + [0x0A])
    }
}

/// Writes text to stderr. Defence in depth: whatever a caller forgot to escape, no control or
/// bidi character reaches the terminal (line feeds are kept; single-line values must be escaped
/// with `SafeText.escape(_:for: .line)` where they are put into the text).
func printError(_ text: String) {
    FileHandle.standardError.write(Data((SafeText.escape(text, for: .lines) + "\n").utf8))
}

/// Writes text to stdout, escaped as `printError` does.
func printOut(_ text: String) {
    FileHandle.standardOutput.write(Data((SafeText.escape(text, for: .lines) + "\n").utf8))
}

/// One value shown inside a line of text: escaped as one line (`SafeText`).
func safe(_ text: String) -> String { SafeText.escape(text, for: .line) }

import Foundation
import SFGit

/// The `--json` envelope of SPEC.md: one object on stdout per command run.
struct Envelope<Payload: Encodable>: Encodable {
    struct Warning: Encodable {
        var code: String
        var message: String
    }

    struct Failure: Encodable {
        var code: String
        var message: String
    }

    var schema = "sfgit.v1"
    var command: String
    var status: String
    var exitCode: Int32
    var warnings: [Warning]
    var data: Payload?
    var error: Failure?

    enum CodingKeys: String, CodingKey {
        case schema, command, status, exitCode = "exit_code", warnings, data, error
    }

    init(command: String, exit: ExitStatus, warnings: [Warning] = [], data: Payload?, errorMessage: String? = nil) {
        self.command = command
        self.exitCode = exit.rawValue
        self.warnings = warnings
        self.data = data
        switch exit {
        case .ok: status = "ok"
        case .degraded: status = "degraded"
        default: status = "error"
        }
        self.error = exit == .ok ? nil : Failure(code: exit.name, message: errorMessage ?? exit.name)
    }

    /// Writes the envelope as one line of JSON on stdout (explicit nulls included, as SPEC.md shows).
    /// JSON consumers get exact values: strings are never rewritten, only written with JSON's own
    /// `\uXXXX` escapes for what a terminal must not see raw (JSONEncoder escapes C0 controls;
    /// `SafeText.escapeJSON` adds DEL, C1 and bidi controls and other invisible format characters).
    func print() {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        guard let bytes = try? encoder.encode(NullPreserving(self)) else { return }
        FileHandle.standardOutput.write(SafeText.escapeJSON(bytes) + [0x0A])
    }
}

/// Encodes optional `data` and `error` as explicit `null`s rather than leaving the keys out.
private struct NullPreserving<Payload: Encodable>: Encodable {
    let envelope: Envelope<Payload>
    init(_ envelope: Envelope<Payload>) { self.envelope = envelope }

    func encode(to encoder: Encoder) throws {
        typealias Keys = Envelope<Payload>.CodingKeys
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(envelope.schema, forKey: .schema)
        try container.encode(envelope.command, forKey: .command)
        try container.encode(envelope.status, forKey: .status)
        try container.encode(envelope.exitCode, forKey: .exitCode)
        try container.encode(envelope.warnings, forKey: .warnings)
        if let data = envelope.data { try container.encode(data, forKey: .data) } else { try container.encodeNil(forKey: .data) }
        if let error = envelope.error { try container.encode(error, forKey: .error) } else { try container.encodeNil(forKey: .error) }
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

import Foundation
import SFGitIndex
import SFGitMemory

/// The `sfgit.v1` envelope (docs/COMMANDS.md § The JSON envelope): what `--json` prints (one object per command run) and
/// what the MCP server returns as a tool's `structuredContent`. One type and one serializer, so
/// the two front doors cannot drift apart.
public struct Envelope<Payload: Encodable>: Encodable {
    /// A warning: a stable code and a message for people.
    public struct Warning: Encodable, Sendable {
        /// The stable code (docs/COMMANDS.md § Warning codes).
        public var code: String
        /// What happened, for people.
        public var message: String

        /// Creates a warning.
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// Why a command failed: the exit status's name and a message.
    public struct Failure: Encodable, Sendable {
        /// The exit status's name (`UNTRUSTED`, `INVALID`, …).
        public var code: String
        /// What went wrong, for people.
        public var message: String
    }

    /// Always `sfgit.v1`.
    public var schema = "sfgit.v1"
    /// The subcommand that ran (`recall`, `sync`, …).
    public var command: String
    /// `ok`, `degraded` or `error`.
    public var status: String
    /// The process's exit code.
    public var exitCode: Int32
    /// Warnings, each with a stable code.
    public var warnings: [Warning]
    /// The command's result (null when it failed before producing one).
    public var data: Payload?
    /// Why it failed (null on exit 0).
    public var error: Failure?

    enum CodingKeys: String, CodingKey {
        case schema, command, status, exitCode = "exit_code", warnings, data, error
    }

    /// An envelope for a command that ended with `exit`.
    public init(command: String, exit: ExitStatus, warnings: [Warning] = [], data: Payload?, errorMessage: String? = nil) {
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

    /// Whether the command failed (status `error`).
    public var isError: Bool { status == "error" }

    /// The envelope as one line of compact JSON, keys sorted, explicit nulls included
    /// (docs/COMMANDS.md § The JSON envelope), no trailing newline. JSON consumers get exact values: strings are never rewritten,
    /// only written with JSON's own `\uXXXX` escapes for what a terminal must not see raw
    /// (JSONEncoder escapes C0 controls; `SafeText.escapeJSON` adds DEL, C1 and bidi controls,
    /// U+2028/U+2029 and other invisible format characters). Escaped strings never hold a raw
    /// line feed, so the line is also a valid newline-delimited JSON-RPC fragment.
    public func encoded() -> Data {
        // Answers that write their own JSON (recall's items) skip JSONEncoder: the same bytes.
        if let payload = data as? any HandWrittenJSON {
            var writer = JSONWriter(capacity: 16_384)
            writer.beginObject()
            writer.key("command"); writer.string(command)
            writer.key("data"); payload.write(to: &writer)
            writer.key("error")
            if let error {
                writer.beginObject()
                writer.key("code"); writer.string(error.code)
                writer.key("message"); writer.string(error.message)
                writer.endObject()
            } else {
                writer.null()
            }
            writer.key("exit_code"); writer.integer(Int64(exitCode))
            writer.key("schema"); writer.string(schema)
            writer.key("status"); writer.string(status)
            writer.key("warnings")
            writer.beginArray()
            for warning in warnings {
                writer.beginObject()
                writer.key("code"); writer.string(warning.code)
                writer.key("message"); writer.string(warning.message)
                writer.endObject()
            }
            writer.endArray()
            writer.endObject()
            if !writer.failed { return SafeText.escapeJSON(Data(writer.bytes)) }
        }
        return encodedByFoundation()
    }

    /// The envelope through `JSONEncoder`: every payload but those that write their own JSON,
    /// and the reference those are tested against.
    func encodedByFoundation() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        guard let bytes = try? encoder.encode(NullPreserving(self)) else {
            // Unreachable for the payloads sfgit encodes; still a valid envelope.
            return Data(#"{"command":"\#(command)","data":null,"error":{"code":"INTERNAL","message":"cannot encode the result"},"exit_code":1,"schema":"sfgit.v1","status":"error","warnings":[]}"#.utf8)
        }
        return SafeText.escapeJSON(bytes)
    }
}

/// A payload that writes its own JSON, byte for byte what `JSONEncoder` would write for it with
/// sfgit's settings (`RecallItem`, and arrays of such payloads).
public protocol HandWrittenJSON {
    /// Writes the value as one JSON value.
    func write(to writer: inout JSONWriter)
}

extension RecallItem: HandWrittenJSON {}

extension Array: HandWrittenJSON where Element: HandWrittenJSON {
    /// The elements as a JSON array.
    public func write(to writer: inout JSONWriter) {
        writer.beginArray()
        for element in self { element.write(to: &writer) }
        writer.endArray()
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

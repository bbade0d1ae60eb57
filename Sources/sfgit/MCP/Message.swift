import Foundation
import SFGit

/// A JSON value as the MCP loop reads and writes it: object keys keep their order (tool
/// definitions read better that way), and `raw` splices bytes that are already JSON (an
/// `sfgit.v1` envelope from `Envelope.encoded()`) without decoding them again.
indirect enum MCPValue: Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([MCPValue])
    case object([(String, MCPValue)])
    case raw(Data)

    /// One message read from its bytes (`JSONText`: strict JSON, object keys sorted, the first
    /// of equal keys kept); nil when it is not JSON.
    init?(parsing bytes: Data) {
        guard let value = bytes.withUnsafeBytes({ raw in try? JSONText.parse(raw.bindMemory(to: UInt8.self)) }) else { return nil }
        self.init(value)
    }

    /// The same value as read by `JSONText`.
    init(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let integer): self = .integer(integer)
        case .number(let double): self = .number(double)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(MCPValue.init))
        case .object(let pairs): self = .object(pairs.map { ($0.0, MCPValue($0.1)) })
        }
    }

    /// A member of an object, or nil.
    subscript(key: String) -> MCPValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    var string: String? { if case .string(let value) = self { return value } else { return nil } }

    /// Whether this is a JSON object.
    var isObject: Bool { if case .object = self { return true } else { return false } }

    /// Compact JSON on one line. Strings escape `"`, `\` and every C0 control (so the text never
    /// holds a raw line feed: one message per line), and what a terminal must not see raw (DEL,
    /// C1 and bidi controls, U+2028/U+2029, invisible format characters) as `\uXXXX`, as
    /// `SafeText.escapeJSON` writes them: a JSON reader gets the same values. `raw` bytes are
    /// spliced as they are: they come from `Envelope.encoded()`, escaped the same way already.
    func serialized() -> Data {
        Data(bytes())
    }

    /// `serialized()` as bytes.
    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32_768)
        write(to: &out)
        return out
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let value): out += (value ? "true" : "false").utf8
        case .integer(let value): out += String(value).utf8
        case .number(let value):
            out += (value.isFinite ? (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)") : "null").utf8
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (position, pair) in pairs.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(pair.0, to: &out)
                out.append(UInt8(ascii: ":"))
                pair.1.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .raw(let bytes): out += bytes
        }
    }

    private static func writeString(_ text: String, to out: inout [UInt8]) {
        let start = out.count
        JSONWriter.appendQuoted(text, to: &out)
        // Rare: the string holds what a terminal must not see raw. Escaped as the envelope is.
        if SafeText.needsEscaping(text, for: .lines) {
            let escaped = SafeText.escapeJSON(Data(out[start...]))
            out.replaceSubrange(start..., with: escaped)
        }
    }
}

extension MCPValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int64) { self = .integer(value) }
    init(arrayLiteral elements: MCPValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, MCPValue)...) { self = .object(elements) }
}

/// JSON-RPC 2.0 error codes.
enum RPCError {
    static let parse: Int64 = -32700
    static let invalidRequest: Int64 = -32600
    static let methodNotFound: Int64 = -32601
    static let invalidParams: Int64 = -32602
    static let internalError: Int64 = -32603
}

/// The messages the server writes.
enum RPCMessage {
    static func result(id: MCPValue, _ result: MCPValue) -> MCPValue {
        ["jsonrpc": "2.0", "id": id, "result": result]
    }

    static func error(id: MCPValue, code: Int64, message: String) -> MCPValue {
        ["jsonrpc": "2.0", "id": id, "error": ["code": .integer(code), "message": .string(message)]]
    }
}

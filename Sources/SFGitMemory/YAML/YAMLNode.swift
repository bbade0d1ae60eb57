import Foundation

/// A 1-based line and column in a source file; columns count Unicode scalars, as libyaml does.
public struct SourcePosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Line number, starting at 1.
    public var line: Int
    /// Column number, starting at 1, counted in Unicode scalars.
    public var column: Int

    /// Creates a position from 1-based line and column numbers.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The position of the first character of a file.
    public static let start = SourcePosition(line: 1, column: 1)

    /// Orders positions by line, then column.
    public static func < (lhs: SourcePosition, rhs: SourcePosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    /// `line:column`.
    public var description: String { "\(line):\(column)" }
}

/// How a scalar was written in the source; only plain scalars are resolved to non-string types.
public enum YAMLScalarStyle: Sendable, Hashable {
    case plain, singleQuoted, doubleQuoted, literal, folded

    /// Whether the scalar was written quoted or as a block, which always makes it a string.
    public var isExplicitString: Bool { self != .plain }
}

/// A YAML node read by the strict reader, with the position where it starts.
public struct YAMLNode: Sendable, Hashable {
    /// The node's content: a scalar, a sequence or a mapping.
    public enum Content: Sendable, Hashable {
        case scalar(String, YAMLScalarStyle)
        case sequence([YAMLNode])
        case mapping([YAMLMappingEntry])
    }

    /// What the node holds.
    public var content: Content
    /// Where the node starts in the source.
    public var position: SourcePosition

    /// Creates a node.
    public init(_ content: Content, at position: SourcePosition) {
        self.content = content
        self.position = position
    }

    /// The mapping entries, or nil when the node is not a mapping.
    public var mappingEntries: [YAMLMappingEntry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    /// The position-free value of this node, with plain scalars resolved by the YAML 1.2 core schema.
    public var value: YAMLValue {
        switch content {
        case .scalar(let text, let style):
            let kind = style.isExplicitString ? .string : YAMLScalar.resolvePlain(text)
            // `~`, `null` and an empty value all mean null; one spelling keeps written files stable.
            return .scalar(YAMLScalar(text: kind == .null ? "null" : text, kind: kind))
        case .sequence(let items):
            return .sequence(items.map(\.value))
        case .mapping(let entries):
            return .mapping(entries.map { YAMLField(key: $0.key, value: $0.value.value) })
        }
    }
}

/// One `key: value` pair of a mapping; keys are always plain strings.
public struct YAMLMappingEntry: Sendable, Hashable {
    /// The key's text (`1` and `'1'` are the same key).
    public var key: String
    /// Where the key starts.
    public var keyPosition: SourcePosition
    /// The value node.
    public var value: YAMLNode

    /// Creates a mapping entry.
    public init(key: String, keyPosition: SourcePosition, value: YAMLNode) {
        self.key = key
        self.keyPosition = keyPosition
        self.value = value
    }
}

/// A scalar with its resolved type, keeping the source text so it can be written back verbatim.
public struct YAMLScalar: Sendable, Hashable {
    /// The resolved type of a scalar under the YAML 1.2 core schema.
    public enum Kind: String, Sendable, Hashable {
        case null, bool, integer, float, string
    }

    /// The scalar's text, without quotes.
    public var text: String
    /// The resolved type.
    public var kind: Kind

    /// Creates a scalar of a given kind.
    public init(text: String, kind: Kind) {
        self.text = text
        self.kind = kind
    }

    /// A string scalar.
    public static func string(_ text: String) -> YAMLScalar { YAMLScalar(text: text, kind: .string) }

    /// Resolves a plain (unquoted) scalar by the YAML 1.2 core schema: null, bool, int, float, else string.
    public static func resolvePlain(_ text: String) -> Kind {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE", "false", "False", "FALSE": return .bool
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
             ".nan", ".NaN", ".NAN":
            return .float
        default: break
        }
        let bytes = Array(text.utf8)
        if isCoreInteger(bytes) { return .integer }
        if isCoreFloat(bytes) { return .float }
        return .string
    }

    /// The integer value of an integer scalar (decimal, `0o` octal or `0x` hex), if it fits in 64 bits.
    public var integerValue: Int64? {
        guard kind == .integer else { return nil }
        if text.hasPrefix("0x") { return Int64(text.dropFirst(2), radix: 16) }
        if text.hasPrefix("0o") { return Int64(text.dropFirst(2), radix: 8) }
        return Int64(text)
    }

    /// The numeric value of an integer or float scalar.
    public var doubleValue: Double? {
        switch kind {
        case .integer: return integerValue.map(Double.init)
        case .float:
            switch text.lowercased() {
            case ".inf", "+.inf": return .infinity
            case "-.inf": return -.infinity
            case ".nan": return .nan
            default: return Double(text)
            }
        default: return nil
        }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    private static func isCoreInteger(_ b: [UInt8]) -> Bool {
        if b.count > 2, b[0] == 0x30, b[1] == UInt8(ascii: "o") {
            return b[2...].allSatisfy { $0 >= 0x30 && $0 <= 0x37 }
        }
        if b.count > 2, b[0] == 0x30, b[1] == UInt8(ascii: "x") {
            return b[2...].allSatisfy { isDigit($0) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }
        }
        var digits = b[...]
        if let first = digits.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy(isDigit)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isCoreFloat(_ b: [UInt8]) -> Bool {
        var i = 0
        if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
        var mantissaDigits = 0
        while i < b.count, isDigit(b[i]) { i += 1; mantissaDigits += 1 }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var fraction = 0
            while i < b.count, isDigit(b[i]) { i += 1; fraction += 1 }
            if mantissaDigits == 0 && fraction == 0 { return false }
        } else if mantissaDigits == 0 {
            return false
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
            var exponent = 0
            while i < b.count, isDigit(b[i]) { i += 1; exponent += 1 }
            if exponent == 0 { return false }
        }
        return i == b.count
    }
}

/// A position-free YAML value, used for fields a reader does not know and keeps verbatim.
public indirect enum YAMLValue: Sendable, Hashable {
    case scalar(YAMLScalar)
    case sequence([YAMLValue])
    case mapping([YAMLField])

    /// A string scalar value.
    public static func string(_ text: String) -> YAMLValue { .scalar(.string(text)) }

    /// The value as JSON-compatible Swift data: `nil` for null, Bool, Int64, Double, String, arrays, ordered pairs.
    public var jsonObject: JSONValue {
        switch self {
        case .scalar(let s):
            switch s.kind {
            case .null: return .null
            case .bool: return .bool(s.text.lowercased() == "true")
            case .integer: return s.integerValue.map(JSONValue.integer) ?? .string(s.text)
            case .float:
                if let d = s.doubleValue, d.isFinite { return .number(d) }
                return .string(s.text)
            case .string: return .string(s.text)
            }
        case .sequence(let items): return .array(items.map(\.jsonObject))
        case .mapping(let fields): return .object(fields.map { ($0.key, $0.value.jsonObject) })
        }
    }
}

/// A key and a value kept verbatim, in source order.
public struct YAMLField: Sendable, Hashable {
    /// The key.
    public var key: String
    /// The value.
    public var value: YAMLValue

    /// Creates a field.
    public init(key: String, value: YAMLValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON value with object keys kept in order, so unknown fields can be shown exactly as written.
public indirect enum JSONValue: Sendable, Hashable, Encodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// Equal values: the same type and contents, object keys in the same order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// Hashes the value consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .integer(let i): hasher.combine(i)
        case .number(let d): hasher.combine(d)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o):
            for (k, v) in o { hasher.combine(k); hasher.combine(v) }
        }
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Encodes the value as the JSON it stands for, object keys in order.
    public func encode(to encoder: Encoder) throws {
        switch self {
        case .null:
            var c = encoder.singleValueContainer(); try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer(); try c.encode(b)
        case .integer(let i):
            var c = encoder.singleValueContainer(); try c.encode(i)
        case .number(let d):
            var c = encoder.singleValueContainer(); try c.encode(d)
        case .string(let s):
            var c = encoder.singleValueContainer(); try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let pairs):
            var c = encoder.container(keyedBy: Key.self)
            for (k, v) in pairs { try c.encode(v, forKey: Key(k)) }
        }
    }
}

extension JSONValue {
    /// A string as a JSON string literal: quotes, backslashes and C0 controls escaped, everything
    /// else (slashes, non-ASCII) written as it is. The cache's JSON columns and the harness config
    /// editor write strings with it.
    public static func stringLiteral(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

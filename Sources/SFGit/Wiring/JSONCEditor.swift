import Foundation
import SFGitMemory

/// Minimal textual edits of a JSON (or JSON-with-comments) configuration file: sfgit inserts,
/// replaces or removes its own entry and leaves every other byte as it was: comments, key order,
/// indentation, trailing commas. Removing an entry sfgit inserted restores the text it was
/// inserted into, byte for byte (containers left empty by the removal and on the entry's path
/// are removed too, as they were inserted with it).
public struct JSONCEditor {
    /// A parsed value and where it is in the text (byte offsets).
    struct Node {
        enum Kind { case object, array, scalar }
        var kind: Kind
        var start: Int
        var end: Int
        var members: [(key: String, keyStart: Int, value: Node)] = []
        var elements: [Node] = []
        /// A string scalar's decoded value.
        var string: String?

        func member(_ key: String) -> Node? { members.first { $0.key == key }?.value }
    }

    /// Why a file cannot be edited.
    public struct ParseError: Error, CustomStringConvertible {
        /// The byte offset where parsing stopped.
        public var offset: Int
        /// What was expected there.
        public var message: String
        /// `message at byte offset`.
        public var description: String { "\(message) at byte \(offset)" }
    }

    /// The current text.
    public private(set) var text: String
    private var bytes: [UInt8]
    private(set) var root: Node

    /// Parses `text`; the root must be an object.
    public init(_ text: String) throws(ParseError) {
        self.text = text
        self.bytes = Array(text.utf8)
        var parser = Parser(bytes: bytes)
        let root = try parser.document()
        guard root.kind == .object else { throw ParseError(offset: root.start, message: "the top level is not an object") }
        self.root = root
    }

    private mutating func splice(_ start: Int, _ end: Int, _ replacement: String) throws(ParseError) {
        bytes.replaceSubrange(start..<end, with: Array(replacement.utf8))
        text = String(decoding: bytes, as: UTF8.self)
        var parser = Parser(bytes: bytes)
        root = try parser.document()
    }

    private func node(at path: [String]) -> Node? {
        var node = root
        for key in path {
            guard node.kind == .object, let next = node.member(key) else { return nil }
            node = next
        }
        return node
    }

    // MARK: - Edits

    /// Sets `path + [key]` to `value`: replaces the value if the key is there, else inserts the
    /// member (and any missing objects on `path`) after the last member of the deepest existing
    /// object. Returns whether the text changed.
    @discardableResult
    public mutating func setMember(_ path: [String], _ key: String, _ value: JSONValue) throws(ParseError) -> Bool {
        if let object = node(at: path) {
            guard object.kind == .object else { throw ParseError(offset: object.start, message: "\(path.joined(separator: ".")) is not an object") }
            if let existing = object.members.first(where: { $0.key == key }) {
                let rendered = render(value, indent: lineIndent(existing.keyStart))
                if String(decoding: bytes[existing.value.start..<existing.value.end], as: UTF8.self) == rendered { return false }
                try splice(existing.value.start, existing.value.end, rendered)
                return true
            }
            try insert(into: object, key: key, value: value)
            return true
        }
        // Build the missing part of the path around the value and insert it where the path ends.
        var depth = 0
        while depth < path.count, node(at: Array(path.prefix(depth + 1))) != nil { depth += 1 }
        let parent = node(at: Array(path.prefix(depth)))!
        guard parent.kind == .object else { throw ParseError(offset: parent.start, message: "\(path.prefix(depth).joined(separator: ".")) is not an object") }
        var nested: JSONValue = .object([(key, value)])
        for missing in path[(depth + 1)...].reversed() { nested = .object([(missing, nested)]) }
        try insert(into: parent, key: path[depth], value: nested)
        return true
    }

    /// Appends `element` to the array at `path` unless an element already `matches`, which is then
    /// replaced; creates the array (and objects on the path) when missing.
    @discardableResult
    mutating func upsertElement(_ path: [String], _ element: JSONValue, matches: (Node) -> Bool) throws(ParseError) -> Bool {
        guard let array = node(at: path) else {
            return try setMember(Array(path.dropLast()), path.last!, .array([element]))
        }
        guard array.kind == .array else { throw ParseError(offset: array.start, message: "\(path.joined(separator: ".")) is not an array") }
        if let existing = array.elements.first(where: matches) {
            let rendered = render(element, indent: lineIndent(existing.start))
            if String(decoding: bytes[existing.start..<existing.end], as: UTF8.self) == rendered { return false }
            try splice(existing.start, existing.end, rendered)
            return true
        }
        let snapshot = self
        let rendered: (String) -> String = { snapshot.render(element, indent: $0) }
        if let last = array.elements.last {
            let first = array.elements[0]
            if onOwnLine(first.start) {
                let indent = lineIndent(first.start)
                try splice(last.end, last.end, ",\n" + indent + rendered(indent))
            } else {
                try splice(last.end, last.end, ", " + rendered(lineIndent(array.start)))
            }
        } else {
            let outer = lineIndent(array.start), inner = outer + indentUnit
            try splice(array.start + 1, array.end - 1, "\n" + inner + rendered(inner) + "\n" + outer)
        }
        return true
    }

    /// Removes `path + [key]`, then each object on `path` the removal left empty. Returns whether
    /// the text changed.
    @discardableResult
    public mutating func removeMember(_ path: [String], _ key: String) throws(ParseError) -> Bool {
        guard let object = node(at: path), object.kind == .object, let position = object.members.firstIndex(where: { $0.key == key }) else { return false }
        try remove(memberAt: position, of: object)
        try prune(path)
        return true
    }

    /// Removes the elements of the array at `path` that `match`, then the array and each object
    /// on `path` the removal left empty.
    @discardableResult
    mutating func removeElements(_ path: [String], matches: (Node) -> Bool) throws(ParseError) -> Bool {
        var changed = false
        while let array = node(at: path), array.kind == .array, let position = array.elements.firstIndex(where: matches) {
            let element = array.elements[position]
            if array.elements.count == 1 {
                try splice(array.start + 1, array.end - 1, "")
            } else if position > 0 {
                try splice(array.elements[position - 1].end, element.end, "")
            } else {
                try splice(element.start, array.elements[1].start, "")
            }
            changed = true
        }
        if changed { try prune(path) }
        return changed
    }

    /// Removes the container at `path`, then its parents, while each is empty.
    private mutating func prune(_ path: [String]) throws(ParseError) {
        var path = path
        while let key = path.popLast() {
            guard let parent = node(at: path), parent.kind == .object, let position = parent.members.firstIndex(where: { $0.key == key }) else { return }
            let target = parent.members[position].value
            let empty = (target.kind == .object && target.members.isEmpty) || (target.kind == .array && target.elements.isEmpty)
            guard empty else { return }
            try remove(memberAt: position, of: parent)
        }
    }

    private mutating func remove(memberAt position: Int, of object: Node) throws(ParseError) {
        let member = object.members[position]
        if object.members.count == 1 {
            try splice(object.start + 1, object.end - 1, "")
        } else if position > 0 {
            try splice(object.members[position - 1].value.end, member.value.end, "")
        } else {
            try splice(member.keyStart, object.members[1].keyStart, "")
        }
    }

    private mutating func insert(into object: Node, key: String, value: JSONValue) throws(ParseError) {
        if let last = object.members.last {
            let first = object.members[0]
            if onOwnLine(first.keyStart) {
                let indent = lineIndent(first.keyStart)
                try splice(last.value.end, last.value.end, ",\n" + indent + Self.quoted(key) + ": " + render(value, indent: indent))
            } else {
                try splice(last.value.end, last.value.end, ", " + Self.quoted(key) + ": " + render(value, indent: lineIndent(object.start)))
            }
        } else {
            let outer = lineIndent(object.start), inner = outer + indentUnit
            try splice(object.start + 1, object.end - 1, "\n" + inner + Self.quoted(key) + ": " + render(value, indent: inner) + "\n" + outer)
        }
    }

    // MARK: - Layout

    /// The whitespace that starts the line holding `offset`.
    private func lineIndent(_ offset: Int) -> String {
        var start = offset
        while start > 0, bytes[start - 1] != 0x0A { start -= 1 }
        var end = start
        while end < bytes.count, bytes[end] == 0x20 || bytes[end] == 0x09 { end += 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Whether only whitespace precedes `offset` on its line.
    private func onOwnLine(_ offset: Int) -> Bool {
        var position = offset
        while position > 0, bytes[position - 1] != 0x0A {
            if bytes[position - 1] != 0x20 && bytes[position - 1] != 0x09 { return false }
            position -= 1
        }
        return true
    }

    /// The file's indentation step: the indentation of the first indented line, else two spaces.
    var indentUnit: String {
        var position = 0
        while position < bytes.count {
            if bytes[position] == 0x0A {
                var end = position + 1
                while end < bytes.count, bytes[end] == 0x20 || bytes[end] == 0x09 { end += 1 }
                if end > position + 1, end < bytes.count, bytes[end] != 0x0A { return String(decoding: bytes[(position + 1)..<end], as: UTF8.self) }
            }
            position += 1
        }
        return "  "
    }

    /// `value` as pretty JSON whose nested lines start with `indent` plus steps of `indentUnit`.
    func render(_ value: JSONValue, indent: String) -> String {
        let unit = indentUnit
        switch value {
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            let inner = indent + unit
            return "{\n" + pairs.map { inner + Self.quoted($0.0) + ": " + render($0.1, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
                return "[" + items.map { render($0, indent: indent) }.joined(separator: ", ") + "]"
            }
            let inner = indent + unit
            return "[\n" + items.map { inner + render($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .string(let text): return Self.quoted(text)
        case .integer(let number): return String(number)
        case .number(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        }
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String { JSONValue.stringLiteral(text) }

    // MARK: - Parser

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        mutating func document() throws(ParseError) -> Node {
            skipTrivia()
            let value = try self.value(depth: 0)
            skipTrivia()
            guard position == bytes.count else { throw ParseError(offset: position, message: "unexpected text after the value") }
            return value
        }

        mutating func skipTrivia() {
            while position < bytes.count {
                let byte = bytes[position]
                if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1; continue }
                if byte == UInt8(ascii: "/"), position + 1 < bytes.count {
                    if bytes[position + 1] == UInt8(ascii: "/") {
                        while position < bytes.count, bytes[position] != 0x0A { position += 1 }
                        continue
                    }
                    if bytes[position + 1] == UInt8(ascii: "*") {
                        position += 2
                        while position + 1 < bytes.count, !(bytes[position] == UInt8(ascii: "*") && bytes[position + 1] == UInt8(ascii: "/")) { position += 1 }
                        position = min(bytes.count, position + 2)
                        continue
                    }
                }
                return
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> Node {
            guard depth < 64 else { throw ParseError(offset: position, message: "nesting too deep") }
            guard position < bytes.count else { throw ParseError(offset: position, message: "unexpected end of file") }
            let start = position
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var node = Node(kind: .object, start: start, end: start)
                skipTrivia()
                while position < bytes.count, bytes[position] != UInt8(ascii: "}") {
                    let keyStart = position
                    guard bytes[position] == UInt8(ascii: "\"") else { throw ParseError(offset: position, message: "expected a key") }
                    let key = try string()
                    skipTrivia()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw ParseError(offset: position, message: "expected ':'") }
                    position += 1
                    skipTrivia()
                    let member = try value(depth: depth + 1)
                    if node.members.contains(where: { $0.key == key }) { throw ParseError(offset: keyStart, message: "duplicate key \"\(key)\"") }
                    node.members.append((key, keyStart, member))
                    skipTrivia()
                    if position < bytes.count, bytes[position] == UInt8(ascii: ",") { position += 1; skipTrivia(); continue }
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "}") else { throw ParseError(offset: position, message: "expected ',' or '}'") }
                }
                guard position < bytes.count else { throw ParseError(offset: position, message: "unterminated object") }
                position += 1
                node.end = position
                return node
            case UInt8(ascii: "["):
                position += 1
                var node = Node(kind: .array, start: start, end: start)
                skipTrivia()
                while position < bytes.count, bytes[position] != UInt8(ascii: "]") {
                    node.elements.append(try value(depth: depth + 1))
                    skipTrivia()
                    if position < bytes.count, bytes[position] == UInt8(ascii: ",") { position += 1; skipTrivia(); continue }
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "]") else { throw ParseError(offset: position, message: "expected ',' or ']'") }
                }
                guard position < bytes.count else { throw ParseError(offset: position, message: "unterminated array") }
                position += 1
                node.end = position
                return node
            case UInt8(ascii: "\""):
                let decoded = try string()
                var node = Node(kind: .scalar, start: start, end: position)
                node.string = decoded
                return node
            default:
                while position < bytes.count, Self.tokenByte(bytes[position]) { position += 1 }
                let token = String(decoding: bytes[start..<position], as: UTF8.self)
                guard token == "true" || token == "false" || token == "null" || Double(token) != nil else {
                    throw ParseError(offset: start, message: token.isEmpty ? "unexpected character" : "unexpected token \(token)")
                }
                return Node(kind: .scalar, start: start, end: position)
            }
        }

        static func tokenByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "E")
        }

        mutating func string() throws(ParseError) -> String {
            let start = position
            position += 1
            var out: [UInt8] = []
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if byte < 0x20 { throw ParseError(offset: position, message: "control character in a string") }
                if byte == UInt8(ascii: "\\") {
                    guard position + 1 < bytes.count else { break }
                    let escape = bytes[position + 1]
                    position += 2
                    switch escape {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "u"):
                        guard position + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[position..<(position + 4)], as: UTF8.self), radix: 16) else {
                            throw ParseError(offset: position, message: "bad \\u escape")
                        }
                        position += 4
                        out += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    default: throw ParseError(offset: position - 1, message: "bad escape")
                    }
                    continue
                }
                out.append(byte)
                position += 1
            }
            throw ParseError(offset: start, message: "unterminated string")
        }
    }
}

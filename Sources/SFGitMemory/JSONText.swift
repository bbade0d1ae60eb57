/// JSON text read and written by hand, for the hot path of a recall: the cache's own JSON columns
/// (tags, supersedes, fields) read back into values, MCP requests read, and answers written.
/// Foundation's `JSONDecoder`/`JSONEncoder` took about 18 µs to read one memory's fields and a
/// third of a millisecond to write an answer of eight memories, more than the search itself.
///
/// Both sides keep to what Foundation does with sfgit's settings, so that nothing a reader of
/// `--json` or of the cache sees changes (JSONTextTests compares them over random values):
/// - reading is strict RFC 8259 (no trailing commas, leading zeros, raw controls in strings, lone
///   surrogates or bytes that are not UTF-8), nested at most 512 deep; a number is an integer
///   when it is one exactly (`1e2` and `100.0` too, as `JSONDecoder` reads them into `Int64`),
///   otherwise a double; the first of two equal keys wins;
/// - writing is compact, keys in the order of their UTF-8 bytes (`.sortedKeys`), slashes
///   unescaped, controls as `\b \t \n \f \r` or `\u00xx`, doubles as Swift prints them without a
///   trailing `.0`, and no NaN or infinity (which `JSONEncoder` refuses).
public enum JSONText {
    /// Why a text is not JSON: what was expected, and the byte offset.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        /// What was wrong.
        public var reason: String
        /// The byte offset where it was found.
        public var offset: Int

        /// "reason at byte N".
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// The deepest nesting read (as `JSONDecoder`).
    public static let maximumDepth = 512

    /// Reads one JSON value that makes up the whole of `text` (whitespace around it allowed).
    public static func parse(_ text: String) throws(Malformed) -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes in Result { () throws(Malformed) in try parse(bytes) } }.get()
    }

    /// Reads one JSON value that makes up the whole of `bytes`.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Malformed) -> JSONValue {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.position == bytes.count else { throw Malformed(reason: "text after the value", offset: reader.position) }
        return value
    }

    /// A strict recursive-descent reader over UTF-8 bytes.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        mutating func skipWhitespace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        func fail(_ reason: String) -> Malformed { Malformed(reason: reason, offset: position) }

        mutating func value(depth: Int) throws(Malformed) -> JSONValue {
            guard position < bytes.count else { throw fail("a value expected, end of text found") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("a value expected")
            }
        }

        mutating func literal(_ word: StaticString) throws(Malformed) {
            let count = word.utf8CodeUnitCount
            guard bytes.count - position >= count,
                  memcmpEqual(bytes.baseAddress! + position, word.utf8Start, count) else { throw fail("\(word) expected") }
            position += count
        }

        private func memcmpEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
            for offset in 0..<count where a[offset] != b[offset] { return false }
            return true
        }

        mutating func object(depth: Int) throws(Malformed) -> JSONValue {
            guard depth <= JSONText.maximumDepth else { throw fail("nested deeper than \(JSONText.maximumDepth)") }
            position += 1
            var pairs: [(String, JSONValue)] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object([])
            }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("a key expected") }
                let key = try string()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("':' expected") }
                position += 1
                skipWhitespace()
                let member = try value(depth: depth)
                pairs.append((key, member))
                skipWhitespace()
                guard position < bytes.count else { throw fail("'}' expected, end of text found") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                guard bytes[position] == UInt8(ascii: "}") else { throw fail("',' or '}' expected") }
                position += 1
                break
            }
            return .object(JSONText.sortedFirstWins(pairs))
        }

        mutating func array(depth: Int) throws(Malformed) -> JSONValue {
            guard depth <= JSONText.maximumDepth else { throw fail("nested deeper than \(JSONText.maximumDepth)") }
            position += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array([])
            }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth))
                skipWhitespace()
                guard position < bytes.count else { throw fail("']' expected, end of text found") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                guard bytes[position] == UInt8(ascii: "]") else { throw fail("',' or ']' expected") }
                position += 1
                return .array(items)
            }
        }

        mutating func string() throws(Malformed) -> String {
            position += 1  // the opening quote
            let start = position
            // The common case: no escapes, so the bytes are the string (validated as UTF-8).
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    let text = try JSONText.utf8String(UnsafeBufferPointer(rebasing: bytes[start..<position]), offset: start)
                    position += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw fail("a control character inside a string") }
                position += 1
            }
            var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    let text = try out.withUnsafeBufferPointer { buffer in Result { () throws(Malformed) in try JSONText.utf8String(buffer, offset: start) } }.get()
                    position += 1
                    return text
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { throw fail("an escape expected, end of text found") }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var value = UInt32(try hex4())
                        if (0xD800...0xDBFF).contains(value) {
                            // A high surrogate must be followed by an escaped low one.
                            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                                throw fail("a lone surrogate")
                            }
                            position += 2
                            let low = UInt32(try hex4())
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail("a lone surrogate") }
                            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(value) {
                            throw fail("a lone surrogate")
                        }
                        guard let scalar = Unicode.Scalar(value) else { throw fail("not a character") }
                        out.append(contentsOf: String(Character(scalar)).utf8)
                    default: throw fail("an unknown escape")
                    }
                default:
                    guard byte >= 0x20 else { throw fail("a control character inside a string") }
                    out.append(byte)
                    position += 1
                }
            }
            throw fail("'\"' expected, end of text found")
        }

        mutating func hex4() throws(Malformed) -> UInt16 {
            guard bytes.count - position >= 4 else { throw fail("four hex digits expected") }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail("four hex digits expected")
                }
                value = value << 4 | UInt16(digit)
                position += 1
            }
            return value
        }

        mutating func number() throws(Malformed) -> JSONValue {
            let start = position
            func digits() -> Int {
                let from = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
                return position - from
            }
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else { throw fail("a digit expected") }
            if bytes[position] == UInt8(ascii: "0") {
                position += 1
            } else {
                _ = digits()
            }
            var integral = true
            if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
                position += 1
                integral = false
                guard digits() > 0 else { throw fail("a digit expected after '.'") }
            }
            if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
                position += 1
                integral = false
                if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { throw fail("a digit expected in the exponent") }
            }
            // The literal is ASCII, so it is a valid string as it stands.
            let literal = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            if integral, let integer = Int64(literal) { return .integer(integer) }
            // As JSONDecoder reads a number into Int64: a decimal that is exactly an integer
            // (`100.0`, `1e2`, `1.2345691246913469e+17`) is one.
            if !integral, let integer = JSONText.exactInteger(literal) { return .integer(integer) }
            guard let double = Double(literal), double.isFinite else { throw Malformed(reason: "a number out of range", offset: start) }
            return .number(double)
        }
    }

    /// The integer a valid JSON number literal with a fraction or an exponent stands for, when
    /// it is exactly one within Int64's range (decimal digits, not the nearest double).
    static func exactInteger(_ literal: String) -> Int64? {
        var negative = false
        var digits: [UInt8] = []
        var fractionDigits = 0
        var exponent = 0
        var inFraction = false
        var utf8 = literal.utf8[...]
        if utf8.first == UInt8(ascii: "-") { negative = true; utf8 = utf8.dropFirst() }
        while let byte = utf8.first {
            if byte == UInt8(ascii: ".") { inFraction = true }
            else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { break }
            else {
                digits.append(byte - UInt8(ascii: "0"))
                if inFraction { fractionDigits += 1 }
            }
            utf8 = utf8.dropFirst()
        }
        while digits.first == 0 { digits.removeFirst() }
        if digits.isEmpty { return 0 }
        if !utf8.isEmpty {
            // The exponent: this far out, a number with a digit other than zero is a fraction or
            // far beyond Int64.
            guard let value = Int(String(decoding: utf8.dropFirst(), as: UTF8.self).replacingOccurrences(of: "+", with: "")),
                  abs(value) < 400 else { return nil }
            exponent = value
        }
        var scale = exponent - fractionDigits
        while scale < 0 {
            // Digits below the units must all be zero.
            guard digits.last == 0 else { return nil }
            digits.removeLast()
            scale += 1
        }
        guard digits.count + scale <= 19 else { return nil }
        var magnitude: UInt64 = 0
        for digit in digits { magnitude = magnitude * 10 + UInt64(digit) }
        for _ in 0..<scale {
            let (scaled, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            magnitude = scaled
        }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// An object's members in key order, the first of equal keys kept (as `JSONDecoder`).
    static func sortedFirstWins(_ pairs: [(String, JSONValue)]) -> [(String, JSONValue)] {
        // Sorted stably, equal keys stay in their order: the first of each run is kept.
        let sorted = pairs.enumerated().sorted { $0.element.0 < $1.element.0 || ($0.element.0 == $1.element.0 && $0.offset < $1.offset) }
        var kept: [(String, JSONValue)] = []
        kept.reserveCapacity(sorted.count)
        for (_, pair) in sorted where kept.last?.0 != pair.0 { kept.append(pair) }
        return kept
    }

    /// Bytes validated as UTF-8 (a string of JSON is never anything else).
    static func utf8String(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int) throws(Malformed) -> String {
        // ASCII, the common case, needs no validation.
        if !UTF8Bytes.contains(bytes, anyOf: [], orNonASCII: true) { return String(decoding: bytes, as: UTF8.self) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Malformed(reason: "bytes that are not UTF-8 inside a string", offset: offset) }
        return text
    }
}

/// Compact JSON written by hand, byte for byte as `JSONEncoder` writes it with sfgit's settings
/// (`[.sortedKeys, .withoutEscapingSlashes]`); see `JSONText`. Objects are written by the
/// caller, keys in sorted order; `value(_:)` sorts a `JSONValue`'s own keys.
public struct JSONWriter: Sendable {
    /// The text so far.
    public private(set) var bytes: [UInt8] = []
    /// Whether a value that cannot be written (NaN or infinity) was met: the text is then not
    /// JSON, and the caller falls back to `JSONEncoder` (which refuses such values).
    public private(set) var failed = false
    /// Whether the next member or element needs a comma first.
    private var needsComma = false

    /// An empty text with room for `capacity` bytes.
    public init(capacity: Int = 4_096) {
        bytes.reserveCapacity(capacity)
    }

    /// `{`: an object begins.
    public mutating func beginObject() { separate(); bytes.append(UInt8(ascii: "{")); needsComma = false }
    /// `}`: the object ends.
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); needsComma = true }
    /// `[`: an array begins.
    public mutating func beginArray() { separate(); bytes.append(UInt8(ascii: "[")); needsComma = false }
    /// `]`: the array ends.
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); needsComma = true }

    /// A member's key (`"key":`); its value follows.
    public mutating func key(_ key: String) {
        separate()
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A string value.
    public mutating func string(_ text: String) { separate(); writeString(text); needsComma = true }
    /// A string value, or null.
    public mutating func string(_ text: String?) { if let text { string(text) } else { null() } }
    /// An integer value.
    public mutating func integer(_ value: Int64) { separate(); bytes += String(value).utf8; needsComma = true }
    /// A boolean value.
    public mutating func bool(_ value: Bool) { separate(); bytes += (value ? "true" : "false").utf8; needsComma = true }
    /// `null`.
    public mutating func null() { separate(); bytes += "null".utf8; needsComma = true }

    /// A double as `JSONEncoder` writes it: Swift's shortest form, less a trailing `.0`.
    public mutating func number(_ value: Double) {
        separate()
        needsComma = true
        guard value.isFinite else {
            failed = true
            bytes += "null".utf8
            return
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes += text.utf8
    }

    /// An array of strings.
    public mutating func strings(_ values: [String]) {
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    /// A `JSONValue`, its objects' keys sorted.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .integer(let integer): self.integer(integer)
        case .number(let double): number(double)
        case .string(let text): string(text)
        case .array(let items):
            beginArray()
            for item in items { self.value(item) }
            endArray()
        case .object(let pairs):
            beginObject()
            for (name, member) in JSONWriter.sortedByUTF8(pairs) {
                key(name)
                self.value(member)
            }
            endObject()
        }
    }

    /// Members in the order `.sortedKeys` writes them: by the keys' UTF-8 bytes.
    static func sortedByUTF8(_ pairs: [(String, JSONValue)]) -> [(String, JSONValue)] {
        pairs.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// A string in quotes (`JSONWriter.appendQuoted`).
    private mutating func writeString(_ text: String) {
        JSONWriter.appendQuoted(text, to: &bytes)
    }

    /// Appends a string in quotes: `"` and `\` escaped, controls as `JSONEncoder` writes them
    /// (`\b \t \n \f \r`, else `\u00xx`); runs of other bytes copied whole. The MCP loop
    /// writes its strings with it too.
    public static func appendQuoted(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for (position, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
                runStart = position + 1
                switch byte {
                case UInt8(ascii: "\""): bytes += #"\""#.utf8
                case UInt8(ascii: "\\"): bytes += #"\\"#.utf8
                case 0x08: bytes += #"\b"#.utf8
                case 0x09: bytes += #"\t"#.utf8
                case 0x0A: bytes += #"\n"#.utf8
                case 0x0C: bytes += #"\f"#.utf8
                case 0x0D: bytes += #"\r"#.utf8
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes += #"\u00"#.utf8
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// One problem found in a memory file, with where it is. Messages quote the offending value
/// (shortened) but never a memory's body text.
public struct MemoryProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every distinct reason a memory file can be refused.
    public enum Reason: Sendable, Hashable {
        case fileTooLarge(bytes: Int, limit: Int)
        case byteOrderMark
        case invalidUTF8
        case controlCharacter(UInt32)
        case tabIndentation
        case yaml(YAMLReadFailure)
        case missingDocument(String)
        case notAMapping(document: String, found: String)
        case missingField(String)
        case wrongType(field: String, expected: String, found: String)
        case invalidValue(field: String, value: String, expected: String)
        case invalidTimestamp(field: String, value: String)
        case unsupportedSchema(String)
        case idDoesNotMatchPath(id: String, pathID: String)
        case kindDoesNotMatchPath(kind: String, pathKind: String)
        case path(StorePathProblem)
    }

    /// Where the problem is.
    public var position: SourcePosition
    /// What the problem is.
    public var reason: Reason

    /// Creates a problem.
    public init(_ reason: Reason, at position: SourcePosition) {
        self.reason = reason
        self.position = position
    }

    /// Every code a memory problem can have: the names of `examples/invalid`'s entries.
    public enum Code: String, Sendable, CaseIterable {
        case fileTooLarge = "file-too-large"
        case byteOrderMark = "byte-order-mark"
        case invalidUtf8 = "invalid-utf8"
        case controlCharacter = "control-character"
        case tabIndentation = "tab-indentation"
        case yamlSyntax = "yaml-syntax"
        case anchor = "anchor"
        case alias = "alias"
        case explicitTag = "explicit-tag"
        case tooDeep = "too-deep"
        case duplicateKey = "duplicate-key"
        case complexKey = "complex-key"
        case emptyKey = "empty-key"
        case mergeKey = "merge-key"
        case tooManyDocuments = "too-many-documents"
        case decodedControlCharacter = "decoded-control-character"
        case missingDocument = "missing-document"
        case notAMapping = "not-a-mapping"
        case missingField = "missing-field"
        case wrongType = "wrong-type"
        case invalidValue = "invalid-value"
        case invalidTimestamp = "invalid-timestamp"
        case unsupportedSchema = "unsupported-schema"
        case idPathMismatch = "id-path-mismatch"
        case kindPathMismatch = "kind-path-mismatch"
        case datePathMismatch = "date-path-mismatch"
        case strayFile = "stray-file"
        case invalidPath = "invalid-path"
    }

    /// A stable, kebab-case name of the reason, for JSON output and tests.
    public var code: String { kind.rawValue }

    /// The reason's code.
    public var kind: Code {
        switch reason {
        case .fileTooLarge: return .fileTooLarge
        case .byteOrderMark: return .byteOrderMark
        case .invalidUTF8: return .invalidUtf8
        case .controlCharacter: return .controlCharacter
        case .tabIndentation: return .tabIndentation
        case .yaml(let failure):
            switch failure {
            case .syntax: return .yamlSyntax
            case .anchor: return .anchor
            case .alias: return .alias
            case .explicitTag: return .explicitTag
            case .tooDeep: return .tooDeep
            case .duplicateKey: return .duplicateKey
            case .complexKey: return .complexKey
            case .emptyKey: return .emptyKey
            case .mergeKey: return .mergeKey
            case .tooManyDocuments: return .tooManyDocuments
            case .decodedCharacter: return .decodedControlCharacter
            }
        case .missingDocument: return .missingDocument
        case .notAMapping: return .notAMapping
        case .missingField: return .missingField
        case .wrongType: return .wrongType
        case .invalidValue: return .invalidValue
        case .invalidTimestamp: return .invalidTimestamp
        case .unsupportedSchema: return .unsupportedSchema
        case .idDoesNotMatchPath: return .idPathMismatch
        case .kindDoesNotMatchPath: return .kindPathMismatch
        case .path(let problem):
            switch problem {
            case .dateDoesNotMatchID: return .datePathMismatch
            case .strayFile: return .strayFile
            default: return .invalidPath
            }
        }
    }

    /// A sentence saying what is wrong and, where it helps, what to do.
    public var message: String {
        switch reason {
        case .fileTooLarge(let bytes, let limit):
            return "file is \(bytes) bytes, over the limit of \(limit) bytes"
        case .byteOrderMark:
            return "file starts with a UTF-8 byte order mark; save it without one"
        case .invalidUTF8:
            return "file is not valid UTF-8"
        case .controlCharacter(let scalar):
            return "\(CharacterRules.describe(scalar)) \(CharacterRules.codePoint(scalar)) is not allowed"
        case .tabIndentation:
            return "tab used as indentation; indent with spaces"
        case .yaml(let failure):
            switch failure {
            case .syntax(let problem, let context):
                return "YAML syntax: \(problem)" + (context.map { " (\($0))" } ?? "")
            case .anchor(let name):
                return "anchor '&\(Self.quote(name))' is not allowed (anchors and aliases are refused)"
            case .alias(let name):
                return "alias '*\(Self.quote(name))' is not allowed (anchors and aliases are refused)"
            case .explicitTag(let tag):
                return "explicit tag '\(Self.quote(tag))' is not allowed"
            case .tooDeep(let limit):
                return "nesting deeper than \(limit) levels"
            case .duplicateKey(let key, let firstLine):
                return "duplicate key '\(Self.quote(key))' (first defined on line \(firstLine))"
            case .complexKey:
                return "a key must be a plain string, not a sequence or mapping"
            case .emptyKey:
                return "a key must not be empty or null"
            case .mergeKey:
                return "merge key '<<' is not allowed"
            case .tooManyDocuments(let limit):
                return "more than \(limit) YAML documents; a memory is front matter then body"
            case .decodedCharacter(0x0A, inKey: true):
                return "the key starting here holds a line break (U+000A); a key is one line"
            case .decodedCharacter(let scalar, let inKey):
                return "the \(inKey ? "key" : "value") starting here decodes to \(CharacterRules.describe(scalar)) \(CharacterRules.codePoint(scalar));"
                    + " an escape may not write a character the file may not hold raw"
            }
        case .missingDocument(let name):
            return "missing the \(name) document; a memory is two YAML documents, front matter then body, each after '---'"
        case .notAMapping(let document, let found):
            return "the \(document) must be a mapping, found \(found)"
        case .missingField(let field):
            return "missing required field '\(field)'"
        case .wrongType(let field, let expected, let found):
            return "field '\(field)' must be \(expected), found \(found)"
        case .invalidValue(let field, let value, let expected):
            return "field '\(field)' has invalid value '\(Self.quote(value))': expected \(expected)"
        case .invalidTimestamp(let field, let value):
            return "field '\(field)' has invalid value '\(Self.quote(value))': expected an RFC 3339 UTC time such as 2026-04-29T03:12:44Z"
        case .unsupportedSchema(let value):
            return "schema '\(Self.quote(value))' is not supported; schema versions start at 1"
        case .idDoesNotMatchPath(let id, let pathID):
            return "id '\(Self.quote(id))' does not match the file name's id '\(pathID)'"
        case .kindDoesNotMatchPath(let kind, let pathKind):
            return "kind '\(Self.quote(kind))' does not match the path's kind '\(pathKind)'"
        case .path(let problem):
            return problem.message
        }
    }

    /// `line:column: error: message`.
    public var description: String { "\(position): error: \(message)" }

    /// Shortens a value for quoting in a message and makes line breaks, tabs and every character
    /// `CharacterRules` refuses visible, so a message never carries one.
    static func quote(_ text: String, limit: Int = 60) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            if scalar == "\n" || scalar == "\t" || !CharacterRules.isAllowed(scalar.value) {
                out += scalar == "\n" ? "\\n" : scalar == "\t" ? "\\t" : "\\u{\(hex(scalar.value))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > limit ? out + "…" : out
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

/// A memory file refused with one or more problems.
public struct MemoryFileError: Error, Sendable, Hashable {
    /// The problems, in the order found (at least one).
    public var problems: [MemoryProblem]

    /// Creates an error from problems.
    public init(_ problems: [MemoryProblem]) { self.problems = problems }
}

/// Something worth telling about a file that is still accepted.
public struct MemoryWarning: Sendable, Hashable, CustomStringConvertible {
    /// Where.
    public var position: SourcePosition
    /// A stable kebab-case name.
    public var code: String
    /// The sentence to show.
    public var message: String

    /// `line:column: warning: message`.
    public var description: String { "\(position): warning: \(message)" }
}

internal import SFGitYAML

/// Why the strict reader refused a YAML stream.
public enum YAMLReadFailure: Sendable, Hashable {
    /// libyaml's scanner or parser reported a syntax problem.
    case syntax(problem: String, context: String?)
    /// An anchor (`&name`) was declared; anchors and aliases are never accepted.
    case anchor(name: String)
    /// An alias (`*name`) was used.
    case alias(name: String)
    /// An explicit tag (`!!str`, `!custom`) was written.
    case explicitTag(tag: String)
    /// Sequences and mappings nest deeper than the limit.
    case tooDeep(limit: Int)
    /// The same key appears twice in one mapping.
    case duplicateKey(key: String, firstLine: Int)
    /// A key is a sequence or a mapping instead of a plain string.
    case complexKey
    /// A key is empty or null.
    case emptyKey
    /// The `<<` merge key, which other readers would expand.
    case mergeKey
    /// The stream holds more documents than allowed.
    case tooManyDocuments(limit: Int)
    /// A scalar, as decoded, holds a character `CharacterRules` refuses (written as an escape such
    /// as `"\e"`, `"\x85"` or `"\u202e"`), or a key holds a line break. The position is the scalar's start.
    case decodedCharacter(scalar: UInt32, inKey: Bool)
}

/// A refusal by the strict reader, with the position where it happened.
public struct YAMLReadError: Error, Sendable, Hashable {
    /// What went wrong.
    public var failure: YAMLReadFailure
    /// Where it went wrong.
    public var position: SourcePosition
}

/// Reads a YAML stream from libyaml's event stream into positioned nodes, refusing anchors, aliases,
/// explicit tags, complex or duplicate keys and excess nesting as the events arrive — so an alias bomb
/// is refused at its first alias, before anything is expanded.
public struct StrictYAMLReader: Sendable {
    /// Maximum nesting of sequences and mappings.
    public var maxDepth: Int
    /// Maximum number of documents in the stream.
    public var maxDocuments: Int

    /// Creates a reader with the given limits.
    public init(maxDepth: Int = 16, maxDocuments: Int = 2) {
        self.maxDepth = maxDepth
        self.maxDocuments = maxDocuments
    }

    /// A block scalar (`|` or `>`) spans these lines; tabs inside it are content, not indentation.
    public struct BlockScalarSpan: Sendable, Hashable {
        /// First line of the scalar's content (the line after the indicator).
        public var firstContentLine: Int
        /// Last line that belongs to the scalar.
        public var lastLine: Int
    }

    /// The documents of a stream plus the spans of block scalars.
    public struct Stream: Sendable {
        /// The root node of each document.
        public var documents: [YAMLNode]
        /// Line spans of literal and folded scalars.
        public var blockScalars: [BlockScalarSpan]
    }

    /// Parses UTF-8 bytes. The bytes must already be known to be valid UTF-8 without a BOM.
    public func read(_ bytes: UnsafeRawBufferPointer) throws(YAMLReadError) -> Stream {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLReadError(failure: .syntax(problem: "libyaml could not allocate a parser", context: nil), position: .start)
        }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        // libyaml never reads from a zero-length input, but needs a non-null pointer.
        var empty: UInt8 = 0
        if let base {
            yaml_parser_set_input_string(&parser, base, bytes.count)
        } else {
            yaml_parser_set_input_string(&parser, &empty, 0)
        }

        var builder = TreeBuilder(maxDepth: maxDepth)
        var documents: [YAMLNode] = []
        var blockScalars: [BlockScalarSpan] = []

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw Self.syntaxError(parser)
            }
            defer { yaml_event_delete(&event) }
            let position = SourcePosition(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)

            switch event.type {
            case YAML_STREAM_START_EVENT, YAML_DOCUMENT_END_EVENT:
                break
            case YAML_STREAM_END_EVENT:
                return Stream(documents: documents, blockScalars: blockScalars)
            case YAML_DOCUMENT_START_EVENT:
                if documents.count >= maxDocuments {
                    throw YAMLReadError(failure: .tooManyDocuments(limit: maxDocuments), position: position)
                }
            case YAML_ALIAS_EVENT:
                throw YAMLReadError(failure: .alias(name: Self.string(event.data.alias.anchor)), position: position)
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                try Self.refuseAnchorAndTag(anchor: scalar.anchor, tag: scalar.tag, at: position)
                let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                // The raw bytes passed `CharacterRules` already; escapes must not bring back what they refuse.
                // A key is a name on one line: a line break there is refused too.
                let isKey = builder.nextScalarIsKey
                if let refused = CharacterRules.firstRefused(in: text) ?? (isKey && text.utf8.contains(0x0A) ? 0x0A : nil) {
                    throw YAMLReadError(failure: .decodedCharacter(scalar: refused, inKey: isKey), position: position)
                }
                let style: YAMLScalarStyle
                switch scalar.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: style = .literal
                case YAML_FOLDED_SCALAR_STYLE: style = .folded
                default: style = .plain
                }
                if style == .literal || style == .folded {
                    blockScalars.append(BlockScalarSpan(firstContentLine: position.line + 1, lastLine: Int(event.end_mark.line) + 1))
                }
                if let root = try builder.add(YAMLNode(.scalar(text, style), at: position)) { documents.append(root) }
            case YAML_SEQUENCE_START_EVENT:
                let start = event.data.sequence_start
                try Self.refuseAnchorAndTag(anchor: start.anchor, tag: start.tag, at: position)
                try builder.open(.sequence, at: position)
            case YAML_MAPPING_START_EVENT:
                let start = event.data.mapping_start
                try Self.refuseAnchorAndTag(anchor: start.anchor, tag: start.tag, at: position)
                try builder.open(.mapping, at: position)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                if let root = try builder.close() { documents.append(root) }
            default:
                break
            }
        }
    }

    /// Parses a byte array (see `read(_:)` for the preconditions).
    public func read(_ bytes: [UInt8]) throws(YAMLReadError) -> Stream {
        // Array.withUnsafeBytes is not generic over the error type; carry the result out instead.
        let result: Result<Stream, YAMLReadError> = bytes.withUnsafeBytes { buffer in
            do throws(YAMLReadError) { return .success(try read(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    private static func refuseAnchorAndTag(
        anchor: UnsafeMutablePointer<yaml_char_t>?, tag: UnsafeMutablePointer<yaml_char_t>?, at position: SourcePosition
    ) throws(YAMLReadError) {
        if let anchor { throw YAMLReadError(failure: .anchor(name: String(cString: anchor)), position: position) }
        if let tag { throw YAMLReadError(failure: .explicitTag(tag: String(cString: tag)), position: position) }
    }

    private static func syntaxError(_ parser: yaml_parser_t) -> YAMLReadError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unreadable YAML"
        let context = parser.context.map { String(cString: $0) }
        let mark = parser.problem_mark
        return YAMLReadError(
            failure: .syntax(problem: problem, context: context),
            position: SourcePosition(line: Int(mark.line) + 1, column: Int(mark.column) + 1))
    }
}

/// Builds the node tree from events, checking keys and depth as containers close.
private struct TreeBuilder {
    enum ContainerKind { case sequence, mapping }

    struct OpenContainer {
        var kind: ContainerKind
        var position: SourcePosition
        var items: [YAMLNode] = []
        var entries: [YAMLMappingEntry] = []
        var pendingKey: (text: String, position: SourcePosition)?
        var firstLineOfKey: [String: Int] = [:]
    }

    let maxDepth: Int
    var stack: [OpenContainer] = []

    init(maxDepth: Int) { self.maxDepth = maxDepth }

    /// Whether the next scalar is a mapping key.
    var nextScalarIsKey: Bool {
        guard let top = stack.last else { return false }
        return top.kind == .mapping && top.pendingKey == nil
    }

    mutating func open(_ kind: ContainerKind, at position: SourcePosition) throws(YAMLReadError) {
        if let top = stack.last, top.kind == .mapping, top.pendingKey == nil {
            throw YAMLReadError(failure: .complexKey, position: position)
        }
        if stack.count >= maxDepth {
            throw YAMLReadError(failure: .tooDeep(limit: maxDepth), position: position)
        }
        stack.append(OpenContainer(kind: kind, position: position))
    }

    /// Closes the innermost container; returns the document root when the outermost one closes.
    mutating func close() throws(YAMLReadError) -> YAMLNode? {
        let done = stack.removeLast()
        let node: YAMLNode
        switch done.kind {
        case .sequence: node = YAMLNode(.sequence(done.items), at: done.position)
        case .mapping: node = YAMLNode(.mapping(done.entries), at: done.position)
        }
        return try add(node)
    }

    /// Adds a finished node to the innermost container; returns it when it is a document root.
    mutating func add(_ node: YAMLNode) throws(YAMLReadError) -> YAMLNode? {
        guard !stack.isEmpty else { return node }
        let index = stack.count - 1
        switch stack[index].kind {
        case .sequence:
            stack[index].items.append(node)
        case .mapping:
            if let key = stack[index].pendingKey {
                stack[index].entries.append(YAMLMappingEntry(key: key.text, keyPosition: key.position, value: node))
                stack[index].pendingKey = nil
            } else {
                // A container key was refused in `open`, so this is a scalar key.
                guard case .scalar(let text, let style) = node.content else {
                    throw YAMLReadError(failure: .complexKey, position: node.position)
                }
                if text.isEmpty || (style == .plain && YAMLScalar.resolvePlain(text) == .null) {
                    throw YAMLReadError(failure: .emptyKey, position: node.position)
                }
                if text == "<<" && style == .plain {
                    throw YAMLReadError(failure: .mergeKey, position: node.position)
                }
                if let firstLine = stack[index].firstLineOfKey[text] {
                    throw YAMLReadError(failure: .duplicateKey(key: text, firstLine: firstLine), position: node.position)
                }
                stack[index].firstLineOfKey[text] = node.position.line
                stack[index].pendingKey = (text, node.position)
            }
        }
        return nil
    }
}

/// Limits a memory file must stay within.
public struct MemoryLimits: Sendable, Hashable {
    /// Largest accepted file, in bytes; checked on the byte count before anything is parsed.
    public var maxFileBytes: Int
    /// Deepest nesting of sequences and mappings.
    public var maxDepth: Int

    /// The defaults: 64 KiB and 16 levels. A store's policy may set a different size.
    public static let `default` = MemoryLimits(maxFileBytes: 65_536, maxDepth: 16)

    /// Creates limits.
    public init(maxFileBytes: Int, maxDepth: Int = 16) {
        self.maxFileBytes = maxFileBytes
        self.maxDepth = maxDepth
    }
}

/// Parses and validates memory files strictly, reporting every problem with its position.
/// docs/FORMAT.md § A memory file, § Strict parsing.
public struct MemoryParser: Sendable {
    /// The limits applied.
    public var limits: MemoryLimits

    /// The format version this parser writes and fully understands.
    public static let currentSchema = 1

    /// Creates a parser.
    public init(limits: MemoryLimits = .default) {
        self.limits = limits
    }

    /// A parser for files whose size was already judged against the store's policy (which may
    /// allow more than the default): it applies every limit but the size.
    public static let sizeJudged = MemoryParser(limits: MemoryLimits(maxFileBytes: Int.max))

    /// Refuses a file by its size alone, so an oversized file never has to be read.
    public func checkSize(_ byteCount: Int) throws(MemoryFileError) {
        if byteCount > limits.maxFileBytes {
            throw MemoryFileError([MemoryProblem(.fileTooLarge(bytes: byteCount, limit: limits.maxFileBytes), at: .start)])
        }
    }

    /// Parses a memory file. With `storePath` (the path relative to a store's root) the path
    /// rule and the agreement of `id`/`kind` with the path are checked too.
    public func parse(_ bytes: [UInt8], storePath: String? = nil) throws(MemoryFileError) -> ParsedMemory {
        try checkSize(bytes.count)
        let stream = try StrictYAMLFile(maxDepth: limits.maxDepth, maxDocuments: 2).read(bytes)

        var problems: [MemoryProblem] = []
        var expectedPath: MemoryPath?
        if let storePath {
            switch StoreEntry.classify(storePath) {
            case .memory(let path): expectedPath = path
            case .invalid(let problem): problems.append(MemoryProblem(.path(problem), at: .start))
            default: problems.append(MemoryProblem(.path(.strayFile), at: .start))
            }
        }

        guard stream.documents.count == 2 else {
            let which = stream.documents.isEmpty ? "front matter" : "body"
            let endLine = bytes.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            throw MemoryFileError(problems + [MemoryProblem(.missingDocument(which), at: SourcePosition(line: endLine, column: 1))])
        }
        var warnings: [MemoryWarning] = []
        var reader = DocumentReader()
        let frontMatter = reader.readFrontMatter(stream.documents[0], warnings: &warnings)
        let body = reader.readBody(stream.documents[1], kind: frontMatter?.kind)
        problems += reader.problems

        if let frontMatter, let expectedPath {
            let idPosition = reader.position(of: "id", in: stream.documents[0])
            if frontMatter.id != expectedPath.id {
                problems.append(MemoryProblem(.idDoesNotMatchPath(id: frontMatter.id.description, pathID: expectedPath.id.description), at: idPosition))
            }
            if frontMatter.kind != expectedPath.kind {
                problems.append(MemoryProblem(
                    .kindDoesNotMatchPath(kind: frontMatter.kind.name, pathKind: expectedPath.kind.name),
                    at: reader.position(of: "kind", in: stream.documents[0])))
            }
        }
        guard problems.isEmpty, let frontMatter, let body else {
            throw MemoryFileError(problems.sorted { $0.position < $1.position })
        }
        return ParsedMemory(memory: Memory(frontMatter: frontMatter, body: body), warnings: warnings)
    }
}

/// Reads the two documents field by field, collecting every problem instead of stopping at the first.
private struct DocumentReader {
    var problems: [MemoryProblem] = []

    func position(of key: String, in document: YAMLNode) -> SourcePosition {
        document.mappingEntries?.first { $0.key == key }?.value.position ?? document.position
    }

    mutating func readFrontMatter(_ document: YAMLNode, warnings: inout [MemoryWarning]) -> FrontMatter? {
        guard let entries = mapping(document, named: "front matter") else { return nil }
        var fields = FieldSet(entries: entries, documentPosition: document.position)
        let schemaNode = fields.take("schema")
        let schema = integer(schemaNode, field: "schema", required: true, missingAt: fields.documentPosition)
        if let schema, let schemaNode {
            if schema < 1 {
                problems.append(MemoryProblem(.unsupportedSchema(String(schema)), at: schemaNode.position))
            } else if schema > MemoryParser.currentSchema {
                warnings.append(MemoryWarning(
                    position: schemaNode.position, code: "newer-schema",
                    message: "schema \(schema) is newer than this sfgit understands (\(MemoryParser.currentSchema)); known fields were read and the rest kept"))
            }
        }
        let idNode = fields.take("id")
        let id = ulid(idNode, field: "id", required: true, missingAt: fields.documentPosition)
        let kind = kindValue(fields.take("kind"), missingAt: fields.documentPosition)
        let author = principalPart(fields.take("author"), field: "author", missingAt: fields.documentPosition)
        let host = principalPart(fields.take("host"), field: "host", missingAt: fields.documentPosition)
        let instance = line(fields.take("instance"), field: "instance", required: false, missingAt: fields.documentPosition)
        let agent = line(fields.take("agent"), field: "agent", required: false, missingAt: fields.documentPosition)
        let recordedAt = timestamp(fields.take("recorded_at"), field: "recorded_at", required: true, missingAt: fields.documentPosition) ?? nil
        let tags = stringList(fields.take("tags"), field: "tags", expected: "tags of 1-64 characters without spaces") { tag in
            !tag.isEmpty && tag.unicodeScalars.count <= 64 && !tag.unicodeScalars.contains { $0.properties.isWhitespace }
        }
        let expiresAt = timestamp(fields.take("expires_at"), field: "expires_at", required: false, missingAt: fields.documentPosition)
        let supersedes = ulidList(fields.take("supersedes"), field: "supersedes")

        guard let schema, let id, let kind, let author, let host, let recordedAt, let tags, let supersedes,
              problems.isEmpty else { return nil }
        return FrontMatter(
            schema: schema, id: id, kind: kind, author: author, host: host, instance: instance ?? nil,
            agent: agent ?? nil, recordedAt: recordedAt, tags: tags, expiresAt: expiresAt ?? nil,
            supersedes: supersedes, fields: fields.unknown)
    }

    mutating func readBody(_ document: YAMLNode, kind: MemoryKind?) -> MemoryBody? {
        guard let entries = mapping(document, named: "body") else { return nil }
        var fields = FieldSet(entries: entries, documentPosition: document.position)
        let at = fields.documentPosition
        let before = problems.count
        let title = line(fields.take("title"), field: "title", required: true, missingAt: at)
        let text = string(fields.take("body"), field: "body", required: false, missingAt: at)
        var body = MemoryBody(title: (title ?? nil) ?? "", body: text ?? nil)

        switch kind {
        case .antiPattern?:
            body.instead = string(fields.take("instead"), field: "instead", required: false, missingAt: at) ?? nil
        case .contract?:
            body.subject = line(fields.take("subject"), field: "subject", required: true, missingAt: at) ?? nil
        case .benchmark?:
            body.subject = line(fields.take("subject"), field: "subject", required: true, missingAt: at) ?? nil
            body.metric = line(fields.take("metric"), field: "metric", required: true, missingAt: at) ?? nil
            body.value = number(fields.take("value"), field: "value", required: true, missingAt: at)
            body.unit = line(fields.take("unit"), field: "unit", required: false, missingAt: at) ?? nil
            if let samples = integer(fields.take("samples"), field: "samples", required: false, missingAt: at) {
                if samples < 1 {
                    problems.append(MemoryProblem(.invalidValue(field: "samples", value: String(samples), expected: "a positive integer"),
                                                  at: fields.lastTakenPosition))
                }
                body.samples = samples
            }
        case .circuitBreaker?:
            body.subject = line(fields.take("subject"), field: "subject", required: true, missingAt: at) ?? nil
            body.state = breakerState(fields.take("state"), missingAt: at)
            body.resetsAt = timestamp(fields.take("resets_at"), field: "resets_at", required: false, missingAt: at) ?? nil
        case .retraction?:
            body.target = ulid(fields.take("target"), field: "target", required: true, missingAt: at)
            body.reason = line(fields.take("reason"), field: "reason", required: true, missingAt: at) ?? nil
        default:
            break
        }
        body.fields = fields.unknown
        guard problems.count == before, title != nil else { return nil }
        return body
    }

    // MARK: - Typed field readers. Each appends a problem and returns nil on failure.

    private mutating func mapping(_ node: YAMLNode, named name: String) -> [YAMLMappingEntry]? {
        if let entries = node.mappingEntries { return entries }
        problems.append(MemoryProblem(.notAMapping(document: name, found: Self.describe(node)), at: node.position))
        return nil
    }

    /// A scalar's text when it is a string (quoted, block, or plain that resolves to a string).
    private mutating func scalarString(_ node: YAMLNode, field: String, expected: String) -> String? {
        if case .scalar(let text, let style) = node.content, style.isExplicitString || YAMLScalar.resolvePlain(text) == .string {
            return text
        }
        problems.append(MemoryProblem(.wrongType(field: field, expected: expected, found: Self.describe(node)), at: node.position))
        return nil
    }

    /// Whether an optional field is absent or written as null (treated the same).
    private static func isAbsent(_ node: YAMLNode?) -> Bool {
        guard let node else { return true }
        if case .scalar(let text, .plain) = node.content, YAMLScalar.resolvePlain(text) == .null { return true }
        return false
    }

    private mutating func missing(_ field: String, at position: SourcePosition) {
        problems.append(MemoryProblem(.missingField(field), at: position))
    }

    /// Outer nil: a problem was recorded. Inner nil: absent optional field.
    private mutating func string(_ node: YAMLNode?, field: String, required: Bool, missingAt: SourcePosition) -> String?? {
        guard !Self.isAbsent(node), let node else {
            if required { missing(field, at: missingAt); return nil }
            return .some(nil)
        }
        guard let text = scalarString(node, field: field, expected: "a string") else { return nil }
        return .some(text)
    }

    /// A non-empty string on one line.
    private mutating func line(_ node: YAMLNode?, field: String, required: Bool, missingAt: SourcePosition) -> String?? {
        guard let result = string(node, field: field, required: required, missingAt: missingAt) else { return nil }
        guard let text = result, let node else { return .some(nil) }
        if text.isEmpty || text.contains("\n") || text.contains("\r") {
            problems.append(MemoryProblem(.invalidValue(field: field, value: text, expected: "a non-empty single line"), at: node.position))
            return nil
        }
        return .some(text)
    }

    private mutating func integer(_ node: YAMLNode?, field: String, required: Bool, missingAt: SourcePosition) -> Int? {
        guard !Self.isAbsent(node), let node else {
            if required { missing(field, at: missingAt) }
            return nil
        }
        if case .scalar(let text, .plain) = node.content {
            let scalar = YAMLScalar(text: text, kind: YAMLScalar.resolvePlain(text))
            if scalar.kind == .integer, let value = scalar.integerValue, let int = Int(exactly: value) { return int }
        }
        problems.append(MemoryProblem(.wrongType(field: field, expected: "an integer", found: Self.describe(node)), at: node.position))
        return nil
    }

    private mutating func number(_ node: YAMLNode?, field: String, required: Bool, missingAt: SourcePosition) -> Double? {
        guard !Self.isAbsent(node), let node else {
            if required { missing(field, at: missingAt) }
            return nil
        }
        if case .scalar(let text, .plain) = node.content {
            let scalar = YAMLScalar(text: text, kind: YAMLScalar.resolvePlain(text))
            if let value = scalar.doubleValue, value.isFinite { return value }
        }
        problems.append(MemoryProblem(.wrongType(field: field, expected: "a finite number", found: Self.describe(node)), at: node.position))
        return nil
    }

    private mutating func ulid(_ node: YAMLNode?, field: String, required: Bool, missingAt: SourcePosition) -> ULID? {
        guard let text = string(node, field: field, required: required, missingAt: missingAt), let text, let node else { return nil }
        guard let id = ULID(text) else {
            problems.append(MemoryProblem(.invalidValue(field: field, value: text, expected: "a ULID (26 upper-case Crockford base32 characters)"), at: node.position))
            return nil
        }
        return id
    }

    private mutating func kindValue(_ node: YAMLNode?, missingAt: SourcePosition) -> MemoryKind? {
        guard let text = string(node, field: "kind", required: true, missingAt: missingAt), let text, let node else { return nil }
        guard let kind = MemoryKind(text) else {
            problems.append(MemoryProblem(.invalidValue(field: "kind", value: text, expected: "a kind name matching [a-z][a-z0-9-]{0,31}"), at: node.position))
            return nil
        }
        return kind
    }

    /// `author` and `host`: lower-case ASCII `[a-z0-9][a-z0-9._-]{0,63}`, so `author@host` is a principal.
    private mutating func principalPart(_ node: YAMLNode?, field: String, missingAt: SourcePosition) -> String? {
        guard let text = string(node, field: field, required: true, missingAt: missingAt), let text, let node else { return nil }
        guard Principal.isValidPart(text) else {
            problems.append(MemoryProblem(.invalidValue(field: field, value: text, expected: "lower-case ASCII matching [a-z0-9][a-z0-9._-]{0,63}"), at: node.position))
            return nil
        }
        return text
    }

    private mutating func timestamp(_ node: YAMLNode?, field: String, required: Bool, missingAt: SourcePosition) -> Timestamp?? {
        guard let result = string(node, field: field, required: required, missingAt: missingAt) else { return nil }
        guard let text = result, let node else { return .some(nil) }
        guard let value = Timestamp(text) else {
            problems.append(MemoryProblem(.invalidTimestamp(field: field, value: text), at: node.position))
            return nil
        }
        return .some(value)
    }

    private mutating func breakerState(_ node: YAMLNode?, missingAt: SourcePosition) -> BreakerState? {
        guard let text = string(node, field: "state", required: true, missingAt: missingAt), let text, let node else { return nil }
        guard let state = BreakerState(rawValue: text) else {
            problems.append(MemoryProblem(.invalidValue(field: "state", value: text, expected: "open, half-open or closed"), at: node.position))
            return nil
        }
        return state
    }

    private mutating func sequence(_ node: YAMLNode?, field: String) -> [YAMLNode]? {
        guard !Self.isAbsent(node), let node else { return [] }
        if case .sequence(let items) = node.content { return items }
        problems.append(MemoryProblem(.wrongType(field: field, expected: "a list", found: Self.describe(node)), at: node.position))
        return nil
    }

    private mutating func stringList(
        _ node: YAMLNode?, field: String, expected: String, isValid: (String) -> Bool
    ) -> [String]? {
        guard let items = sequence(node, field: field) else { return nil }
        var values: [String] = []
        var ok = true
        for item in items {
            guard let text = scalarString(item, field: field, expected: "a list of strings") else { ok = false; continue }
            if !isValid(text) {
                problems.append(MemoryProblem(.invalidValue(field: field, value: text, expected: expected), at: item.position))
                ok = false
            }
            values.append(text)
        }
        return ok ? values : nil
    }

    private mutating func ulidList(_ node: YAMLNode?, field: String) -> [ULID]? {
        guard let items = sequence(node, field: field) else { return nil }
        var ids: [ULID] = []
        for item in items {
            guard let id = ulid(item, field: field, required: true, missingAt: item.position) else { return nil }
            ids.append(id)
        }
        return ids
    }

    /// "integer 123", "a mapping", … — how a wrong value is named in a message.
    static func describe(_ node: YAMLNode) -> String {
        switch node.content {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .scalar(let text, let style):
            let kind = style.isExplicitString ? .string : YAMLScalar.resolvePlain(text)
            switch kind {
            case .null: return "null"
            case .bool: return "boolean '\(text)'"
            case .integer: return "integer '\(MemoryProblem.quote(text))'"
            case .float: return "number '\(MemoryProblem.quote(text))'"
            case .string: return "string '\(MemoryProblem.quote(text))'"
            }
        }
    }
}

/// The entries of one mapping; known fields are taken out by name, the rest stay as unknown fields.
private struct FieldSet {
    var entries: [YAMLMappingEntry]
    let documentPosition: SourcePosition
    var taken: Set<String> = []
    var lastTakenPosition = SourcePosition.start

    init(entries: [YAMLMappingEntry], documentPosition: SourcePosition) {
        self.entries = entries
        self.documentPosition = documentPosition
    }

    mutating func take(_ key: String) -> YAMLNode? {
        taken.insert(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        lastTakenPosition = entry.value.position
        return entry.value
    }

    var unknown: [YAMLField] {
        entries.filter { !taken.contains($0.key) }.map { YAMLField(key: $0.key, value: $0.value.value) }
    }
}

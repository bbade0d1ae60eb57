/// The strict reading of a whole YAML file shared by memory files and the store's policy: byte
/// checks (BOM, strict UTF-8, the characters `CharacterRules` refuses), then libyaml's events
/// through the strict reader, which holds every decoded scalar to the same character rule; tabs in
/// leading whitespace outside block scalars are reported as indentation.
public struct StrictYAMLFile: Sendable {
    /// Deepest nesting of sequences and mappings.
    public var maxDepth: Int
    /// Most documents accepted.
    public var maxDocuments: Int

    /// Creates a reader.
    public init(maxDepth: Int = 16, maxDocuments: Int) {
        self.maxDepth = maxDepth
        self.maxDocuments = maxDocuments
    }

    /// Reads the file's documents, or throws the first problem found.
    public func read(_ bytes: [UInt8]) throws(MemoryFileError) -> StrictYAMLReader.Stream {
        try bytes.withUnsafeBufferPointer { buffer throws(MemoryFileError) in try read(buffer) }
    }

    private func read(_ buffer: UnsafeBufferPointer<UInt8>) throws(MemoryFileError) -> StrictYAMLReader.Stream {
        if let problem = ByteChecks.firstProblem(in: buffer) { throw MemoryFileError([problem]) }
        // The scan above is our own; `String(validating:)` is the standard library's word on UTF-8.
        guard String(validating: buffer, as: UTF8.self) != nil else {
            throw MemoryFileError([MemoryProblem(.invalidUTF8, at: .start)])
        }
        let tabLines = ByteChecks.linesWithLeadingTabs(in: buffer)
        let reader = StrictYAMLReader(maxDepth: maxDepth, maxDocuments: maxDocuments)
        let stream: StrictYAMLReader.Stream
        do {
            stream = try reader.read(UnsafeRawBufferPointer(buffer))
        } catch {
            // A tab in leading whitespace is nearly always why libyaml gave up; say so plainly.
            if case .syntax = error.failure, let tab = tabLines.first(where: { $0.line <= error.position.line }) {
                throw MemoryFileError([MemoryProblem(.tabIndentation, at: tab)])
            }
            throw MemoryFileError([MemoryProblem(.yaml(error.failure), at: error.position)])
        }
        for tab in tabLines where !stream.blockScalars.contains(where: { ($0.firstContentLine...$0.lastLine).contains(tab.line) }) {
            throw MemoryFileError([MemoryProblem(.tabIndentation, at: tab)])
        }
        return stream
    }
}

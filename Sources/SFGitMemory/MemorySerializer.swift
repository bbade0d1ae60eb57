/// Writes a memory as a two-document YAML stream in a fixed key order (the order of
/// docs/FORMAT.md § A memory file, then unknown fields as they were read), so a file sfgit wrote
/// reads back and writes out byte for byte.
public struct MemorySerializer: Sendable {
    /// Creates a serializer.
    public init() {}

    /// The file's bytes.
    public func serialize(_ memory: Memory) throws(YAMLWriter.EmitError) -> [UInt8] {
        try YAMLWriter().write(documents: [frontMatterFields(memory.frontMatter), bodyFields(memory.body, kind: memory.kind)])
    }

    /// The front matter as ordered fields.
    public func frontMatterFields(_ fm: FrontMatter) -> [YAMLField] {
        var out: [YAMLField] = [
            YAMLField(key: "schema", value: .scalar(YAMLScalar(text: String(fm.schema), kind: .integer))),
            YAMLField(key: "id", value: .string(fm.id.description)),
            YAMLField(key: "kind", value: .string(fm.kind.name)),
            YAMLField(key: "author", value: .string(fm.author)),
            YAMLField(key: "host", value: .string(fm.host)),
        ]
        if let instance = fm.instance { out.append(YAMLField(key: "instance", value: .string(instance))) }
        if let agent = fm.agent { out.append(YAMLField(key: "agent", value: .string(agent))) }
        out.append(YAMLField(key: "recorded_at", value: .string(fm.recordedAt.text)))
        out.append(YAMLField(key: "tags", value: .sequence(fm.tags.map(YAMLValue.string))))
        if let expiresAt = fm.expiresAt { out.append(YAMLField(key: "expires_at", value: .string(expiresAt.text))) }
        if !fm.supersedes.isEmpty {
            out.append(YAMLField(key: "supersedes", value: .sequence(fm.supersedes.map { .string($0.description) })))
        }
        return out + fm.fields
    }

    /// The body as ordered fields; per-kind fields follow `title` and `body`.
    public func bodyFields(_ body: MemoryBody, kind: MemoryKind) -> [YAMLField] {
        var out: [YAMLField] = [YAMLField(key: "title", value: .string(body.title))]
        func add(_ key: String, _ text: String?) {
            if let text { out.append(YAMLField(key: key, value: .string(text))) }
        }
        add("body", body.body)
        add("instead", body.instead)
        add("subject", body.subject)
        add("metric", body.metric)
        if let value = body.value {
            out.append(YAMLField(key: "value", value: .scalar(YAMLScalar(text: Self.numberText(value), kind: .float))))
        }
        add("unit", body.unit)
        if let samples = body.samples {
            out.append(YAMLField(key: "samples", value: .scalar(YAMLScalar(text: String(samples), kind: .integer))))
        }
        add("state", body.state?.rawValue)
        add("resets_at", body.resetsAt?.text)
        add("target", body.target?.description)
        add("reason", body.reason)
        return out + body.fields
    }

    /// Whole numbers without a fraction (`42`), others in Swift's shortest round-tripping form.
    static func numberText(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

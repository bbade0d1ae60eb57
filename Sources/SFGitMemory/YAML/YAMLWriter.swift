internal import SFGitYAML

/// Writes documents with libyaml's emitter (which owns quoting and escaping): block style,
/// `---` before every document, no line folding, UTF-8 kept as is.
public struct YAMLWriter: Sendable {
    /// A failure reported by libyaml's emitter.
    public struct EmitError: Error, Sendable, CustomStringConvertible {
        /// libyaml's problem text.
        public var problem: String
        /// What libyaml's emitter refused.
        public var description: String { "YAML emitter: \(problem)" }
    }

    /// Creates a writer.
    public init() {}

    /// Emits each mapping as one document of a stream.
    public func write(documents: [[YAMLField]]) throws(EmitError) -> [UInt8] {
        let sink = OutputSink()
        var emitter = yaml_emitter_t()
        guard yaml_emitter_initialize(&emitter) == 1 else { throw EmitError(problem: "could not allocate an emitter") }
        defer { yaml_emitter_delete(&emitter) }
        yaml_emitter_set_unicode(&emitter, 1)
        yaml_emitter_set_width(&emitter, -1)
        yaml_emitter_set_indent(&emitter, 2)
        yaml_emitter_set_break(&emitter, YAML_LN_BREAK)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        yaml_emitter_set_output(&emitter, writeHandler, context)

        try withExtendedLifetime(sink) { () throws(EmitError) in
            var event = yaml_event_t()
            yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING)
            try emit(&emitter, &event)
            for document in documents {
                yaml_document_start_event_initialize(&event, nil, nil, nil, 0)
                try emit(&emitter, &event)
                try emitValue(.mapping(document), &emitter)
                yaml_document_end_event_initialize(&event, 1)
                try emit(&emitter, &event)
            }
            yaml_stream_end_event_initialize(&event)
            try emit(&emitter, &event)
            guard yaml_emitter_flush(&emitter) == 1 else { throw Self.error(emitter) }
        }
        return sink.bytes
    }

    private func emitValue(_ value: YAMLValue, _ emitter: inout yaml_emitter_t) throws(EmitError) {
        var event = yaml_event_t()
        switch value {
        case .scalar(let scalar):
            try emitScalar(scalar, &emitter)
        case .sequence(let items):
            // Short lists of plain scalars read best inline (`tags: [a, b]`); anything else goes in block style.
            let flow = items.count <= 8 && items.allSatisfy {
                if case .scalar(let s) = $0 { return s.text.utf8.count <= 40 && !s.text.contains("\n") }
                return false
            }
            yaml_sequence_start_event_initialize(&event, nil, nil, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE)
            try emit(&emitter, &event)
            for item in items { try emitValue(item, &emitter) }
            yaml_sequence_end_event_initialize(&event)
            try emit(&emitter, &event)
        case .mapping(let fields):
            yaml_mapping_start_event_initialize(&event, nil, nil, 1, YAML_BLOCK_MAPPING_STYLE)
            try emit(&emitter, &event)
            for field in fields {
                try emitScalar(.string(field.key), &emitter)
                try emitValue(field.value, &emitter)
            }
            yaml_mapping_end_event_initialize(&event)
            try emit(&emitter, &event)
        }
    }

    private func emitScalar(_ scalar: YAMLScalar, _ emitter: inout yaml_emitter_t) throws(EmitError) {
        let style: yaml_scalar_style_t
        switch scalar.kind {
        case .string:
            if scalar.text.contains("\n") {
                style = YAML_LITERAL_SCALAR_STYLE
            } else if YAMLScalar.resolvePlain(scalar.text) != .string {
                // A string that would read back as null, a bool or a number must be quoted.
                style = YAML_SINGLE_QUOTED_SCALAR_STYLE
            } else {
                style = YAML_ANY_SCALAR_STYLE
            }
        case .null, .bool, .integer, .float:
            style = YAML_PLAIN_SCALAR_STYLE
        }
        var event = yaml_event_t()
        var bytes = Array(scalar.text.utf8)
        if bytes.isEmpty {
            bytes = [0]  // libyaml wants a valid pointer even for an empty value
            yaml_scalar_event_initialize(&event, nil, nil, &bytes, 0, 1, 1, scalar.kind == .string ? YAML_SINGLE_QUOTED_SCALAR_STYLE : style)
        } else {
            yaml_scalar_event_initialize(&event, nil, nil, &bytes, Int32(bytes.count), 1, 1, style)
        }
        try emit(&emitter, &event)
    }

    private func emit(_ emitter: inout yaml_emitter_t, _ event: inout yaml_event_t) throws(EmitError) {
        // yaml_emitter_emit takes ownership of the event, also on failure.
        guard yaml_emitter_emit(&emitter, &event) == 1 else { throw Self.error(emitter) }
    }

    private static func error(_ emitter: yaml_emitter_t) -> EmitError {
        EmitError(problem: emitter.problem.map { String(cString: $0) } ?? "unknown emitter error")
    }
}

/// Collects the emitter's output; passed to the C write handler as its context pointer.
private final class OutputSink {
    var bytes: [UInt8] = []
}

/// libyaml's write handler: appends the emitted bytes to the `OutputSink` passed as context.
private func writeHandler(_ context: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let context, let buffer else { return 0 }
    let sink = Unmanaged<OutputSink>.fromOpaque(context).takeUnretainedValue()
    sink.bytes.append(contentsOf: UnsafeBufferPointer(start: buffer, count: size))
    return 1
}

import SFGitMemory
import SFGitYAML

/// Parse + validate throughput of one-kilobyte memory files in one thread, next to libyaml's
/// bare event scan of the same bytes (the floor any libyaml-based reader stands on).
enum MemoryParseBenchmark {
    static func run() throws {
        let files = try SyntheticMemories.make(count: 10_000)
        let averageBytes = files.reduce(0) { $0 + $1.bytes.count } / files.count
        print("memory-parse: \(files.count) files, \(averageBytes) bytes on average (seed 42)")

        let scan = best(of: 5) { bareEventScan(files.map(\.bytes)) }
        let parse = best(of: 5) {
            let parser = MemoryParser()
            var accepted = 0
            for file in files {
                if (try? parser.parse(file.bytes, storePath: file.path)) != nil { accepted += 1 }
            }
            benchRequire(accepted == files.count, "a generated memory was refused")
        }
        let scanRate = Double(files.count) / scan
        let parseRate = Double(files.count) / parse
        Report.row("libyaml bare event scan", value: scanRate, unit: "files/s")
        Report.row("sfgit parse + validate", value: parseRate, unit: "files/s",
                   note: String(format: "%.2f× the bare scan; target ≥ 25,000 files/s: %@", parseRate / scanRate, parseRate >= 25_000 ? "met" : "MISSED"))
    }

    /// Runs libyaml's parser over each file and discards the events.
    static func bareEventScan(_ files: [[UInt8]]) {
        var events = 0
        for bytes in files {
            var parser = yaml_parser_t()
            yaml_parser_initialize(&parser)
            bytes.withUnsafeBufferPointer { buffer in
                yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
                while true {
                    var event = yaml_event_t()
                    guard yaml_parser_parse(&parser, &event) == 1 else { break }
                    let done = event.type == YAML_STREAM_END_EVENT
                    yaml_event_delete(&event)
                    events += 1
                    if done { break }
                }
            }
            yaml_parser_delete(&parser)
        }
        benchRequire(events > files.count * 10)
    }
}

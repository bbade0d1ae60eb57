import Foundation
import SFGitProcess
import SFGit
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import SFGitTrust

/// `sfgit mcp` as an agent's harness runs it: the release binary as a child with pipes, one
/// `memory_recall` at a time (write a line, read the reply). Round-trip latency over 1,000
/// recalls and the server's RSS after them, then the same while a `sfgit sync` in another
/// process indexes 1,000 new memories. A 10,000-memory store (the sync benchmark's generator
/// and signed commits of 100); `SFGIT_BENCH_LARGE=1` adds 100,000.
enum MCPBenchmark {
    static func run() throws {
        try measure(memories: 10_000)
        if ProcessInfo.processInfo.environment["SFGIT_BENCH_LARGE"] != nil {
            print("")
            try measure(memories: 100_000)
        }
    }

    static func measure(memories count: Int) throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sfgit").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("mcp: skipped, no sfgit binary next to sfgit-bench (make bench builds it)")
            return
        }
        let scratch = try TemporaryDirectory(prefix: "sfgit-bench-mcp")
        let remote = scratch.url("remote.git")
        _ = try ProcessRunner.run("git", ["init", "-q", "--bare", "--initial-branch=main", remote])
        _ = try ProcessRunner.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", scratch.url("key")])
        let writer: [String: String?] = ["SFGIT_HOME": scratch.url("writer"), "SFGIT_AUTHOR": "bench", "SFGIT_HOST": "box", "SFGIT_SIGNING_KEY": scratch.url("key")]
        let made = try ProcessRunner.run(binary, ["init", "--remote", "file://" + remote, "--store", "bench"], environment: writer)
        benchRequire(made.exitCode == 0, made.stderr)
        let introduction = try ProcessRunner.run("git", ["--git-dir", remote, "rev-parse", "main"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try SyncBenchmark.liftQuota(binary: binary, environment: writer)
        let signer = try SigningKey.load(scratch.url("key"))
        GitSettings.setFsync(false)
        let repository = try Repository.open(remote)
        var tip = try repository.resolveCommit("main")
        func addCommit(_ offset: Int) throws {
            var rng = SeededGenerator(seed: UInt64(offset) &+ 7)
            var updates: [Repository.TreeUpdate] = []
            for i in offset..<(offset + SyncBenchmark.perCommit) {
                let memory = SyntheticMemories.memory(index: i, milliseconds: 1_767_225_600_000 + UInt64(i) * 60_000, kind: SyntheticMemories.kinds[i % 6],
                                                      author: "bench", host: "box", using: &rng)
                updates.append(.upsert(path: memory.path.description, id: try repository.writeBlob(try MemorySerializer().serialize(memory))))
            }
            let tree = try repository.updateTree(try repository.commit(tip).treeID, updates)
            // Dated after its memories' recorded_at (one a minute), which the verifier requires.
            let author = GitSignature(name: "bench@box", email: "bench@box", time: 1_767_225_600 + Int64(offset + SyncBenchmark.perCommit) * 60)
            tip = try SignedCommitWriter(repository: repository, signer: signer).commit(tree: tree, parents: [tip], author: author, message: "bench \(offset)\n")
            try repository.setReference("refs/heads/main", to: tip, message: "bench")
        }
        for offset in stride(from: 0, to: count, by: SyncBenchmark.perCommit) { try addCommit(offset) }
        _ = try ProcessRunner.run("git", ["--git-dir", remote, "repack", "-adq"], timeout: 1_800)
        let reader: [String: String?] = ["SFGIT_HOME": scratch.url("reader"), "SFGIT_AUTHOR": "bench", "SFGIT_HOST": "box", "SFGIT_SIGNING_KEY": scratch.url("key")]
        let cloned = try ProcessRunner.run(binary, ["clone", "file://" + remote, "--introduction", introduction, "--signer", signer.publicKey.fingerprint, "--store", "bench"],
                                           environment: reader, timeout: 3_600)
        benchRequire(cloned.exitCode == 0, cloned.stdout + cloned.stderr)
        print("mcp: memory_recall through sfgit mcp (stdio, one request at a time), \(count) memories")

        let server = try Server(binary: binary, environment: reader)
        _ = try server.call(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#)
        server.send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        let queries = ["provider outage", "latency", "kimi-coding/k2p5", "retry budget", "timeout", "gpt-4.1", "postgres deadlock", "cache eviction"]
        var id = 1
        func recall() throws -> Double {
            let query = queries[id % queries.count]
            let request = #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"memory_recall","arguments":{"query":"\#(query)"}}}"#
            id += 1
            let start = DispatchTime.now().uptimeNanoseconds
            let reply = try server.call(request)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            benchRequire(reply.contains("\"isError\":false"), String(reply.prefix(400)))
            return elapsed
        }
        for _ in 0..<20 { _ = try recall() }  // warm-up: page cache, first open
        var quiet: [Double] = []
        for _ in 0..<1_000 { quiet.append(try recall()) }
        let rss = server.residentKiB()
        report("recall round trip, idle store", quiet)
        Report.row("server RSS after 1,000 recalls", value: Double(rss) / 1024, unit: "MiB",
                   note: "target ≤ 64 MB: \(Double(rss) * 1024 <= 64e6 ? "met" : "MISSED")")

        // 1,000 new memories on the remote; the reader's sync fetches, verifies and indexes them
        // while the server keeps answering.
        for offset in stride(from: count, to: count + 1_000, by: SyncBenchmark.perCommit) { try addCommit(offset) }
        GitSettings.setFsync(true)
        // @unchecked Sendable: `result` is read and written under `lock`.
        final class SyncOutcome: @unchecked Sendable {
            let lock = NSLock()
            var result: (code: Int32, output: String)?
        }
        let outcome = SyncOutcome()
        let started = DispatchTime.now().uptimeNanoseconds
        let syncThread = Thread {
            let result = try? ProcessRunner.run(binary, ["sync", "--no-push"], environment: reader, timeout: 3_600)
            outcome.lock.withLock { outcome.result = result.map { ($0.exitCode, $0.stdout + $0.stderr) } ?? (-1, "sync did not run") }
        }
        syncThread.start()
        var busy: [Double] = []
        var duringSync = 0
        var syncSeconds = 0.0
        while duringSync == 0 || busy.count < 1_000 {
            busy.append(try recall())
            if duringSync == 0, outcome.lock.withLock({ outcome.result != nil }) {
                duringSync = busy.count
                syncSeconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            }
        }
        let synced = outcome.lock.withLock { outcome.result! }
        benchRequire(synced.code == 0, synced.output)
        report("recall round trip, sync beside it", Array(busy.prefix(duringSync)), extra: String(format: "%d recalls during the %.2f s sync;", duringSync, syncSeconds))
        let fresh = try server.call(#"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"memory_status","arguments":{}}}"#)
        let total = (try? JSONSerialization.jsonObject(with: Data(fresh.utf8)) as? [String: Any])
            .flatMap { (($0["result"] as? [String: Any])?["structuredContent"] as? [String: Any])?["data"] as? [String: Any] }
            .flatMap { ($0["stores"] as? [[String: Any]])?.first?["counts"] as? [String: Any] }
            .flatMap { ($0["by_kind"] as? [String: Int])?.values.reduce(0, +) } ?? -1
        Report.row("server RSS after the sync", value: Double(server.residentKiB()) / 1024, unit: "MiB",
                   note: "the server sees \(total) memories (\(count + 1_000) expected)")
        server.close()
    }

    static func report(_ label: String, _ samples: [Double], extra: String = "") {
        guard !samples.isEmpty else { return }
        let sorted = samples.sorted()
        let p50 = sorted[sorted.count / 2], p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        Report.row(label + ", p50", value: p50, unit: "ms",
                   note: String(format: "p99 %.2f ms, max %.1f ms; %@ targets p50 ≤ 2 ms, p99 ≤ 20 ms: %@", p99, sorted.last!, extra,
                                p50 <= 2 && p99 <= 20 ? "met" : "MISSED"))
    }

    /// `sfgit mcp` as a child with pipes on stdin and stdout.
    final class Server {
        let pid: pid_t
        private var input: Int32
        private let output: Int32
        var buffer = [UInt8]()

        init(binary: String, environment: [String: String?]) throws {
            var env = ProcessInfo.processInfo.environment
            for (key, value) in environment { env[key] = value }
            let requests = try Launcher.closeOnExecPipe(), replies = try Launcher.closeOnExecPipe()
            pid = try Launcher.spawn(ChildCommand(binary, ["mcp"], environment: env, ownProcessGroup: false),
                                     stdin: requests.read, stdout: replies.write, stderr: 2)
            Glibc.close(requests.read)
            Glibc.close(replies.write)
            input = requests.write
            output = replies.read
        }

        func send(_ line: String) {
            let bytes = Array((line + "\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }

        /// Sends a request and reads the next line.
        func call(_ line: String) throws -> String {
            send(line)
            let fd = output
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                if let end = buffer.firstIndex(of: 0x0A) {
                    let reply = String(decoding: buffer[..<end], as: UTF8.self)
                    buffer.removeSubrange(...end)
                    return reply
                }
                let count = read(fd, &chunk, chunk.count)
                guard count > 0 else { throw CocoaError(.fileReadUnknown) }
                buffer += chunk[..<count]
            }
        }

        func residentKiB() -> Int {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
            return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" })[1]) ?? 0
        }

        func close() {
            if input >= 0 { Glibc.close(input); input = -1 }
            Launcher.reap(pid)
            Glibc.close(output)
        }
    }
}

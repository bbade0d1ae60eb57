import Foundation
import SFGit
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import SFGitTrust

/// Sync over file:// with the release `sfgit` binary, next to the git CLI on the same data in the
/// same run: clone + verify + index, an incremental sync of 100 new memories, a no-op sync, a
/// push of 100 outbox memories, and `recall` as a whole CLI process. 10,000 memories by default;
/// `SFGIT_BENCH_LARGE=1` adds the 100,000-memory store; `SFGIT_BENCH_EXPORT=DIR` copies the
/// generated remote (into `DIR/COUNT`), its key, the clone arguments and, at the end, the reader's home there, for
/// profiling a step by hand.
enum SyncBenchmark {
    static let perCommit = 100

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
            print("sync: skipped, no sfgit binary next to sfgit-bench (make bench builds it)")
            return
        }
        let scratch = try TemporaryDirectory(prefix: "sfgit-bench-sync")
        let store = try makeStore(memories: count, in: scratch, binary: binary)
        let (remote, introduction, signer) = (store.remote, store.introduction, store.signer)
        var tip = store.tip
        let repository = try Repository.open(remote)
        func addCommit(_ offset: Int) throws { tip = try Self.addCommit(offset, on: tip, in: repository, signer: signer) }

        let export = ProcessInfo.processInfo.environment["SFGIT_BENCH_EXPORT"].map { "\($0)/\(count)" }
        if let export {
            // For profiling one step by hand: the remote, its key and what `sfgit clone` needs.
            _ = try ProcessRunner.run("rm", ["-rf", export])
            _ = try ProcessRunner.run("mkdir", ["-p", export])
            _ = try ProcessRunner.run("cp", ["-a", remote, scratch.url("key"), scratch.url("key.pub"), export])
            try "\(introduction) \(signer.publicKey.fingerprint)\n".write(toFile: export + "/clone-arguments", atomically: true, encoding: .utf8)
        }
        let reader: [String: String?] = ["SFGIT_HOME": scratch.url("reader"), "SFGIT_AUTHOR": "bench", "SFGIT_HOST": "box", "SFGIT_SIGNING_KEY": scratch.url("key")]
        let fingerprint = signer.publicKey.fingerprint
        let gitClone = try timed { _ = try ProcessRunner.run("git", ["clone", "-q", "--no-checkout", "file://" + remote, scratch.url("git-clone")]) }
        var phases = ""
        let clone = try timed {
            let result = try ProcessRunner.run(binary, ["clone", "file://" + remote, "--introduction", introduction, "--signer", fingerprint, "--store", "bench", "--json"],
                                               environment: reader, timeout: 3_600)
            benchRequire(result.exitCode == 0, result.stdout + result.stderr)
            phases = Self.phases(result.stdout)
        }
        Report.row("clone + verify + index", value: clone, unit: "s", note: String(format: "git clone --no-checkout: %.3f s (%.1f×)", gitClone, clone / gitClone))
        print("    phases: \(phases)")

        let noop = try best(of: 5) { _ = try ProcessRunner.run(binary, ["sync"], environment: reader) }
        let lsRemote = try best(of: 5) { _ = try ProcessRunner.run("git", ["ls-remote", "file://" + remote]) }
        Report.row("no-op sync", value: noop * 1000, unit: "ms", note: String(format: "git ls-remote (one ref advertisement): %.1f ms", lsRemote * 1000))

        try addCommit(count)
        let gitFetch = try timed { _ = try ProcessRunner.run("git", ["-C", scratch.url("git-clone"), "fetch", "-q", "origin"]) }
        let incremental = try timed {
            let result = try ProcessRunner.run(binary, ["sync", "--json"], environment: reader, timeout: 3_600)
            benchRequire(result.exitCode == 0, result.stdout + result.stderr)
            phases = Self.phases(result.stdout)
        }
        Report.row("incremental sync of +100", value: incremental * 1000, unit: "ms", note: String(format: "git fetch of the same commit: %.1f ms (%.1f×)", gitFetch * 1000, incremental / gitFetch))
        print("    phases: \(phases)")

        for n in 0..<100 {
            let result = try ProcessRunner.run(binary, ["remember", "note", "--title", "outbox memory \(n)"], environment: reader)
            benchRequire(result.exitCode == 0, result.stderr)
        }
        let push = try timed {
            let result = try ProcessRunner.run(binary, ["sync"], environment: reader, timeout: 3_600)
            benchRequire(result.exitCode == 0, result.stdout + result.stderr)
        }
        Report.row("sync pushing 100 outbox memories", value: push * 1000, unit: "ms")

        // The fleet views' work: benchmark and breaker reports of the last 20 days.
        let fleetCount = count / 10
        do {
            let fleet = SyntheticMemories.fleet(count: fleetCount, now: Date().timeIntervalSince1970)
            tip = try repository.resolveCommit("main")  // the reader's pushed memories are on it now
            // In commits of `perCommit`: the policy's max_files_per_commit.
            for start in stride(from: 0, to: fleet.count, by: perCommit) {
                var updates: [Repository.TreeUpdate] = []
                for memory in fleet[start..<min(start + perCommit, fleet.count)] {
                    updates.append(.upsert(path: memory.path.description, id: try repository.writeBlob(try MemorySerializer().serialize(memory))))
                }
                let tree = try repository.updateTree(try repository.commit(tip).treeID, updates)
                let author = GitSignature(name: "bench@box", email: "bench@box", time: Int64(Date().timeIntervalSince1970) - 30)
                tip = try SignedCommitWriter(repository: repository, signer: signer).commit(tree: tree, parents: [tip], author: author, message: "bench fleet \(start)\n")
                try repository.setReference("refs/heads/main", to: tip, message: "bench")
            }
            let result = try ProcessRunner.run(binary, ["sync", "--json"], environment: reader, timeout: 3_600)
            if result.exitCode != 0 { print("fleet sync failed: \(result.stdout) \(result.stderr)") }
        }

        var samples: [Double] = []
        let queries = ["provider outage", "latency", "kimi-coding/k2p5", "retry budget", "timeout", "gpt-4.1"]
        for round in 0..<30 {
            samples.append(try timed { _ = try ProcessRunner.run(binary, ["recall", queries[round % queries.count], "--json"], environment: reader) })
        }
        samples.sort()
        // The floor of any CLI call through the same runner: process start-up and nothing else.
        var floor: [Double] = []
        for _ in 0..<15 { floor.append(try timed { _ = try ProcessRunner.run(binary, ["--version"]) }) }
        floor.sort()
        Report.row("recall as a CLI process, p50", value: samples[samples.count / 2] * 1000, unit: "ms",
                   note: String(format: "p99 %.1f ms; sfgit --version, same runner: %.1f ms", samples[samples.count - 1] * 1000, floor[floor.count / 2] * 1000))

        // The fleet views as CLI processes, with \(fleetCount) recent reports on 20 subjects.
        let views: [(String, [[String]])] = [
            ("breakers", [["breakers", "--json"], ["breakers", "kimi-coding/k2p5", "--json"]]),
            ("benchmarks", [["benchmarks", "--json"], ["benchmarks", "openai/gpt-4.1", "--by-host", "--json"], ["benchmarks", "--metric", "p99 latency", "--max-age", "7d", "--json"]]),
        ]
        for (name, calls) in views {
            var times: [Double] = []
            var rows = 0
            for round in 0..<30 {
                times.append(try timed {
                    let result = try ProcessRunner.run(binary, calls[round % calls.count], environment: reader)
                    if result.exitCode != 0 { print("\(name) failed: \(result.stdout) \(result.stderr)") }
                    if round == 0, let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                       let list = (object["data"] as? [String: Any])?[name] as? [Any] { rows = list.count }
                })
            }
            times.sort()
            let p50 = times[times.count / 2] * 1000
            Report.row("\(name) as a CLI process, p50", value: p50, unit: "ms",
                       note: String(format: "p99 %.1f ms; %d rows unfiltered; target ≤ 25 ms: %@", times[times.count - 1] * 1000, rows, p50 <= 25 ? "met" : "MISSED"))
        }
        if let export {
            // The reader's home too, with its cache of the whole store and the fleet reports.
            _ = try ProcessRunner.run("cp", ["-a", scratch.url("reader"), export + "/reader"])
        }
    }

    /// A generated store: the remote, its introduction and signer, its tip.
    struct Store {
        var remote: String
        var introduction: String
        var signer: any CommitSigner
        var tip: ObjectID
    }

    /// Makes a store of `count` memories in signed commits of 100 (an introduction by sfgit init,
    /// the key at `scratch/key`), packed as a served repository would be.
    static func makeStore(memories count: Int, in scratch: TemporaryDirectory, binary: String) throws -> Store {
        let remote = scratch.url("remote.git")
        _ = try ProcessRunner.run("git", ["init", "-q", "--bare", "--initial-branch=main", remote])
        _ = try ProcessRunner.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", scratch.url("key")])
        let environment: [String: String?] = [
            "SFGIT_HOME": scratch.url("writer"), "SFGIT_AUTHOR": "bench", "SFGIT_HOST": "box", "SFGIT_SIGNING_KEY": scratch.url("key"),
        ]
        let start = DispatchTime.now().uptimeNanoseconds
        let made = try ProcessRunner.run(binary, ["init", "--remote", "file://" + remote, "--store", "bench"], environment: environment)
        benchRequire(made.exitCode == 0, made.stderr)
        let introduction = try ProcessRunner.run("git", ["--git-dir", remote, "rev-parse", "main"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try liftQuota(binary: binary, environment: environment)
        let signer = try SigningKey.load(scratch.url("key"))
        GitSettings.setFsync(false)
        let repository = try Repository.open(remote)
        var tip = try repository.resolveCommit("main")
        for offset in stride(from: 0, to: count, by: perCommit) { tip = try addCommit(offset, on: tip, in: repository, signer: signer) }
        _ = try ProcessRunner.run("git", ["--git-dir", remote, "repack", "-adq"], timeout: 1_800)
        GitSettings.setFsync(true)
        print("sync over file://: \(count) memories in \(count / perCommit) signed commits (built in \(String(format: "%.1f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)) s)")
        return Store(remote: remote, introduction: introduction, signer: signer, tip: tip)
    }

    /// A generated history writes thousands of memories a day under one principal: an admin
    /// commit lifting the daily quota makes the figures measure serving them, not deferring them.
    static func liftQuota(binary: String, environment: [String: String?]) throws {
        for step in [["policy", "set", "quota", "10000000"], ["sync"]] {
            let result = try ProcessRunner.run(binary, step, environment: environment)
            benchRequire(result.exitCode == 0, result.stdout + result.stderr)
        }
    }

    /// Adds a signed commit of 100 memories on `tip` and moves `main` there.
    static func addCommit(_ offset: Int, on tip: ObjectID, in repository: Repository, signer: any CommitSigner) throws -> ObjectID {
        let principal = "bench@box"
        var rng = SeededGenerator(seed: UInt64(offset) &+ 7)
        var updates: [Repository.TreeUpdate] = []
        for i in offset..<(offset + perCommit) {
            let memory = SyntheticMemories.memory(index: i, milliseconds: 1_767_225_600_000 + UInt64(i) * 60_000, kind: SyntheticMemories.kinds[i % 6],
                                                  author: "bench", host: "box", using: &rng)
            updates.append(.upsert(path: memory.path.description, id: try repository.writeBlob(try MemorySerializer().serialize(memory))))
        }
        let tree = try repository.updateTree(try repository.commit(tip).treeID, updates)
        // Dated after every memory it adds: a recorded_at later than its commit is quarantined.
        let author = GitSignature(name: principal, email: principal, time: 1_767_225_600 + Int64(offset + perCommit) * 60)
        let commit = try SignedCommitWriter(repository: repository, signer: signer).commit(tree: tree, parents: [tip], author: author, message: "bench \(offset)\n")
        try repository.setReference("refs/heads/main", to: commit, message: "bench")
        return commit
    }

    /// "fetch 812 ms, index 4100 ms, …" from a sync envelope.
    static func phases(_ envelope: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(envelope.utf8)) as? [String: Any],
              let data = object["data"] as? [String: Any],
              let sync = (data["sync"] as? [String: Any]) ?? (data["stores"] as? [[String: Any]])?.first,
              let phases = sync["phases"] as? [[String: Any]] else { return "?" }
        return phases.map { "\($0["name"] ?? "?") \($0["milliseconds"] ?? "?") ms" }.joined(separator: ", ")
    }

    static func timed(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}

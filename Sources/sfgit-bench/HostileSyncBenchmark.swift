import Foundation
import SFGit
import SFGitRepository
import SFGitTestSupport

/// What a hostile remote can make one sync cost: peak RSS of the sync process and of the
/// children it waited for (the network step, git's services and maintenance), read from the
/// `resources:` line `SFGIT_LOG=debug` prints. Target: under 200 MB whatever the remote sends.
/// First the baseline, a normal clone over smart HTTP (lighttpd + git http-backend), whose fetch
/// child sets the scale for its memory cap; then a commit object of 256 MiB, a ref advertisement
/// that never ends, and refused pushes piling up. 10,000 memories (`SFGIT_BENCH_LARGE=1`: 100,000).
enum HostileSyncBenchmark {
    static let targetKiB = 200_000 * 1000 / 1024

    struct Measured {
        var exitCode: Int32
        var seconds: Double
        var selfKiB: Int
        var childrenKiB: Int
        var stdout: String
    }

    static func run() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sfgit").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            print("hostile: skipped, no sfgit binary next to sfgit-bench (make bench builds it)")
            return
        }
        let count = ProcessInfo.processInfo.environment["SFGIT_BENCH_LARGE"] != nil ? 100_000 : 10_000
        let scratch = try TemporaryDirectory(prefix: "sfgit-bench-hostile")
        let store = try SyncBenchmark.makeStore(memories: count, in: scratch, binary: binary)
        print("hostile remotes (peak RSS of the sync process / of its children; target < 200 MB each):")
        let server = try HTTPGitServer(in: scratch.url("http"), root: scratch.path, user: "bench", password: "secret")
        defer { withExtendedLifetime(server) {} }
        let httpURL = "http://127.0.0.1:\(server.port)/git/remote.git"
        func reader(_ name: String) -> [String: String?] {
            ["SFGIT_HOME": scratch.url(name), "SFGIT_AUTHOR": "reader", "SFGIT_HOST": name, "SFGIT_SIGNING_KEY": scratch.url("key"),
             "SFGIT_HTTP_USERNAME": "bench", "SFGIT_HTTP_PASSWORD": "secret", "SFGIT_LOG": "debug", "GIT_CONFIG_NOSYSTEM": "1"]
        }
        func measured(_ arguments: [String], _ environment: [String: String?]) throws -> Measured {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try ProcessRunner.run(binary, arguments, environment: environment, timeout: 3_600)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            func field(_ name: String) -> Int {
                guard let range = result.stderr.range(of: name + "=") else { return 0 }
                return Int(result.stderr[range.upperBound...].prefix { $0.isNumber }) ?? 0
            }
            return Measured(exitCode: result.exitCode, seconds: seconds, selfKiB: field("peak_rss_kib"), childrenKiB: field("children_peak_rss_kib"), stdout: result.stdout)
        }
        func row(_ label: String, _ m: Measured, _ note: String = "") {
            let mb = { (kib: Int) in String(format: "%.0f MB", Double(kib) * 1024 / 1e6) }
            let within = max(m.selfKiB, m.childrenKiB) < targetKiB ? "" : "  OVER TARGET"
            Report.row(label, value: m.seconds, unit: "s", note: "exit \(m.exitCode); \(mb(m.selfKiB)) / \(mb(m.childrenKiB))\(within)\(note.isEmpty ? "" : "; " + note)")
        }
        let clone = ["--introduction", store.introduction, "--signer", store.signer.publicKey.fingerprint, "--store", "bench"]

        // The baseline: a normal clone whose fetch runs in the capped child.
        let baseline = try measured(["clone", httpURL] + clone, reader("http-reader"))
        benchRequire(baseline.exitCode == 0, baseline.stdout)
        row("clone over HTTP (\(count / 1000)k)", baseline, "fetch child under its \(RemoteStep.memoryCapBytes >> 20) MiB cap")
        let fileClone = try measured(["clone", "file://" + store.remote] + clone, reader("file-reader"))
        benchRequire(fileClone.exitCode == 0, fileClone.stdout)
        row("clone over file:// (\(count / 1000)k)", fileClone, "fetch in the sync process")

        // The cost of checking the new commits' headers before libgit2's revwalk reads them.
        let repository = try Repository.open(store.remote)
        var checked = 0
        let whole = try SyncBenchmark.timed { _ = try repository.checkCommitHeaders(from: store.tip, known: nil, maxCommitBytes: 16 << 20, checked: &checked) }
        let parent = try repository.parents(of: store.tip)[0]
        var one = 0
        let incremental = try best(of: 5) { one = 0; _ = try repository.checkCommitHeaders(from: store.tip, known: parent, maxCommitBytes: 16 << 20, checked: &one) }
        Report.row("header walk, whole history", value: whole * 1000, unit: "ms", note: "\(checked) commits")
        Report.row("header walk, 1 new commit", value: incremental * 1000, unit: "ms", note: "\(one) commit read; the rest of \(checked) skipped")

        // A commit object of 256 MiB (a repetitive message: about 1 MB packed), signed or not.
        let message = scratch.url("huge-message")
        let line = String(repeating: "all work and no play makes a huge commit ", count: 100) + "\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: try scratch.write("huge-message", "a huge commit\n\n")))
        let block = Data(String(repeating: line, count: (1 << 20) / line.utf8.count + 1).utf8.prefix(1 << 20))
        handle.seekToEndOfFile()
        for _ in 0..<256 { handle.write(block) }
        try handle.close()
        let tree = try ProcessRunner.run("git", ["--git-dir", store.remote, "rev-parse", "main^{tree}"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let huge = try ProcessRunner.run("git", ["--git-dir", store.remote, "commit-tree", tree, "-p", "main", "-F", message], environment: ["GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x", "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try ProcessRunner.run("git", ["--git-dir", store.remote, "update-ref", "refs/heads/main", huge])
        let hugeFile = try measured(["sync", "--json"], reader("file-reader"))
        row("256 MiB commit over file://", hugeFile, "refused from its header")
        let hugeHTTP = try measured(["sync", "--json"], reader("http-reader"))
        row("256 MiB commit over HTTP", hugeHTTP, "refused from its header")
        _ = try ProcessRunner.run("git", ["--git-dir", store.remote, "update-ref", "refs/heads/main", store.tip.hex])

        // A ref advertisement that never ends (deadline 30 s).
        let endless = try EndlessAdvertisementServer(in: scratch.url("endless"), seconds: 120)
        let config = scratch.url("http-reader") + "/config.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: #"remote: .*"#, with: "remote: \(endless.url)", options: .regularExpression)
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let flood = try measured(["sync", "--json", "--timeout", "30s"], reader("http-reader"))
        let warning = ((try? JSONSerialization.jsonObject(with: Data(flood.stdout.utf8))) as? [String: Any])
            .flatMap { ($0["warnings"] as? [[String: Any]])?.first?["code"] as? String } ?? "?"
        row("endless ref advertisement", flood, "\(warning) (--timeout 30s)")
        withExtendedLifetime(endless) {}

        // Refused pushes piling up: 25 unsigned commits of 1 MB of random bytes each.
        let work = scratch.url("attacker")
        _ = try ProcessRunner.run("git", ["clone", "-q", "--bare", store.remote, work])
        let objects = scratch.url("file-reader") + "/stores/bench/repo.git/objects"
        func diskBytes() throws -> Int { Int(try ProcessRunner.run("du", ["-sb", objects]).stdout.split(separator: "\t")[0]) ?? 0 }
        let before = try diskBytes()
        var worst = Measured(exitCode: 0, seconds: 0, selfKiB: 0, childrenKiB: 0, stdout: "")
        var total = 0.0
        for round in 0..<25 {
            let random = Data((0..<(1 << 20)).map { _ in UInt8.random(in: 0...255) })
            let blob = try ProcessRunner.run("git", ["--git-dir", work, "hash-object", "-w", "--stdin"], stdin: random).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let listing = try ProcessRunner.run("git", ["--git-dir", work, "ls-tree", store.tip.hex]).stdout + "100644 blob \(blob)\tjunk-\(round)\n"
            let junkTree = try ProcessRunner.run("git", ["--git-dir", work, "mktree"], stdin: Data(listing.utf8)).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let commit = try ProcessRunner.run("git", ["--git-dir", work, "-c", "user.name=x", "-c", "user.email=x@x", "commit-tree", junkTree, "-p", store.tip.hex, "-m", "junk \(round)"])
                .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try ProcessRunner.run("git", ["--git-dir", work, "push", "-q", "-f", store.remote, "\(commit):refs/heads/main"])
            let synced = try measured(["sync"], reader("file-reader"))
            total += synced.seconds
            if synced.seconds > worst.seconds { worst.seconds = synced.seconds; worst.exitCode = synced.exitCode }
            worst.selfKiB = max(worst.selfKiB, synced.selfKiB)
            worst.childrenKiB = max(worst.childrenKiB, synced.childrenKiB)
        }
        let kept = try ProcessRunner.run("git", ["--git-dir", scratch.url("file-reader") + "/stores/bench/repo.git", "for-each-ref", "refs/sfgit/quarantine/"]).stdout
            .split(separator: "\n").count
        row("25 refused 1 MB pushes, slowest", worst, String(format: "mean %.2f s; %d kept; objects +%.1f MB", total / 25, kept, Double(try diskBytes() - before) / 1e6))
        _ = try ProcessRunner.run("git", ["--git-dir", store.remote, "update-ref", "refs/heads/main", store.tip.hex])

        // Unsigned commits piled on the verified tip (a few MB packed): refused at the first one.
        let junkCount = count * 2
        var stream = ""
        for index in 0..<junkCount {
            let message = "junk \(index)\n"
            stream += "commit refs/heads/main\nmark :\(index + 1)\ncommitter x <x@x> \(1_767_225_600 + index) +0000\ndata \(message.utf8.count)\n\(message)"
            stream += index == 0 ? "from \(store.tip.hex)\n\n" : "from :\(index)\n\n"
        }
        _ = try ProcessRunner.run("git", ["--git-dir", store.remote, "fast-import", "--quiet", "--force"], stdin: Data(stream.utf8))
        let junk = try measured(["sync", "--json"], reader("file-reader"))
        row("\(junkCount / 1000)k unsigned commits on top", junk, "refused at the first one")
        _ = try ProcessRunner.run("git", ["--git-dir", store.remote, "update-ref", "refs/heads/main", store.tip.hex])
    }
}

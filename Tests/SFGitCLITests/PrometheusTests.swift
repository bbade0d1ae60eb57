import Foundation
import SFGitTestSupport
import Testing

/// `status --prometheus FILE`, read back by the PyPI `prometheus_client` text parser
/// (`scripts/requirements-test.txt`; `make setup` installs it into `.build/venv`).
@Suite("metrics: status --prometheus")
struct PrometheusTests {
    /// Parses the file with prometheus_client and returns `name{labels} value` lines, sorted.
    static func parse(_ path: String) throws -> [String: Double] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                assert family.type == "gauge", family
                for sample in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                    out[f"{sample.name}{{{labels}}}"] = sample.value
            print(json.dumps(out))
            """
        let result = try ProcessRunner.run(PackagePaths.python, ["-c", script, path])
        try #require(result.exitCode == 0, "prometheus_client could not parse the file: \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Double])
    }

    @Test("the textfile parses with prometheus_client: last success, fetch result, pending, blocked, memories by kind and tier, phase times")
    func textfile() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        #expect(try federation.run(laptop, ["remember", "note", "--title", "one"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "two"]).exitCode == 0)
        let directory = federation.scratch.url("textfile")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/sfgit.prom"

        let result = try federation.run(laptop, ["status", "--prometheus", path])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.contains("shared ("), "the usual output is printed too")
        let metrics = try Self.parse(path)
        let lastSuccess = try #require(metrics["sfgit_last_success_timestamp_seconds{store=shared}"])
        #expect(abs(lastSuccess - Date().timeIntervalSince1970) < 3_600, "\(lastSuccess)")
        #expect(metrics["sfgit_last_fetch_ok{store=shared}"] == 1)
        #expect(metrics["sfgit_pending_outbox_commits{store=shared}"] == 1)
        #expect(metrics["sfgit_blocked{store=shared}"] == 0)
        #expect(metrics["sfgit_attention{store=shared}"] == 0)
        #expect(metrics["sfgit_memories_by_kind{kind=note,store=shared}"] == 1)
        #expect(metrics["sfgit_memories_by_kind{kind=learning,store=shared}"] == 1)
        #expect(metrics["sfgit_memories_by_tier{store=shared,tier=authenticated}"] == 1)
        #expect(metrics["sfgit_memories_by_tier{store=shared,tier=self}"] == 1)
        #expect(metrics.keys.contains { $0.hasPrefix("sfgit_last_sync_phase_seconds{phase=fetch,result=ok,store=shared}") }, "\(metrics.keys.sorted())")
        // Written atomically: the file, and no temporary file left beside it; readable by node-exporter.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["sfgit.prom"])
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o644)

        // Offline: the fetch failed, and the file says so.
        try FileManager.default.moveItem(atPath: federation.remotePath, toPath: federation.scratch.url("away.git"))
        #expect(try federation.run(laptop, ["sync"]).exitCode == 3)
        #expect(try federation.run(laptop, ["status", "--prometheus", path]).exitCode == 0)
        #expect(try Self.parse(path)["sfgit_last_fetch_ok{store=shared}"] == 0)
    }

    @Test("a --prometheus file that cannot be written is a usage error naming it")
    func unwritable() throws {
        let federation = try Federation()
        try federation.initialise()
        let path = federation.scratch.url("no-such-dir/sfgit.prom")
        let result = try federation.run(federation.admin, ["status", "--prometheus", path])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("--prometheus \(path)"), "\(result.stderr)")
    }
}

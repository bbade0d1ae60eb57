import Foundation
import SFGitTestSupport
import Testing

/// `sfgit breakers` and `sfgit benchmarks` end to end: hosts report through the store, another
/// host reads the fleet's state offline from its cache.
@Suite("fleet views: breakers and benchmarks through the CLI")
struct FleetViewTests {
    static func iso(_ secondsFromNow: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSinceNow: secondsFromNow))
    }

    static func data(_ envelope: [String: Any]) -> [String: Any] { envelope["data"] as? [String: Any] ?? [:] }

    @Test("breakers: state per subject across hosts, with provenance; benchmarks: weighted estimates, stale ones counted; filters and --json")
    func fleet() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let ci = try federation.join("bot@ci")
        let gpu = try federation.join("ops@gpu")
        func remember(_ member: Federation.Member, _ arguments: [String]) throws {
            let result = try federation.run(member, ["remember"] + arguments)
            #expect(result.exitCode == 0, "\(arguments): \(result.stderr)")
        }
        // Benchmarks on k2p5 from three hosts, then the provider trips on two hosts.
        try remember(ci, ["benchmark", "--title", "k2p5 p50 ci", "--field", "subject=kimi-coding/k2p5", "--field", "metric=p50", "--field", "value=812", "--field", "unit=ms"])
        try remember(gpu, ["benchmark", "--title", "k2p5 p50 gpu", "--field", "subject=kimi-coding/k2p5", "--field", "metric=p50", "--field", "value=900", "--field", "unit=ms"])
        try remember(ci, ["benchmark", "--title", "gpt p50", "--field", "subject=openai/gpt-4.1", "--field", "metric=p50", "--field", "value=640", "--field", "unit=ms"])
        try remember(gpu, ["benchmark", "--title", "gpt p50", "--field", "subject=openai/gpt-4.1", "--field", "metric=p50", "--field", "value=700", "--field", "unit=ms"])
        try remember(laptop, ["benchmark", "--title", "gpt p50", "--field", "subject=openai/gpt-4.1", "--field", "metric=p50", "--field", "value=660", "--field", "unit=ms"])
        Thread.sleep(forTimeInterval: 1.1)  // recorded_at has whole seconds: the trip comes strictly after
        try remember(ci, ["circuit-breaker", "--title", "k2p5 open", "--field", "subject=kimi-coding/k2p5", "--field", "state=open", "--field", "resets_at=\(Self.iso(3_600))"])
        try remember(gpu, ["circuit-breaker", "--title", "k2p5 open", "--field", "subject=kimi-coding/k2p5", "--field", "state=open", "--field", "resets_at=\(Self.iso(7_200))"])
        Thread.sleep(forTimeInterval: 1.1)  // the newest report, so its subject comes first
        try remember(laptop, ["circuit-breaker", "--title", "gpt closed", "--field", "subject=openai/gpt-4.1", "--field", "state=closed"])
        for member in [ci, gpu, laptop, ci, gpu] { #expect(try federation.run(member, ["sync"]).exitCode == 0) }
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)

        let (result, envelope) = try federation.json(laptop, ["breakers"])
        #expect(result.exitCode == 0, "\(result.stdout) \(result.stderr)")
        #expect(envelope["schema"] as? String == "sfgit.v1" && envelope["command"] as? String == "breakers")
        let breakers = try #require(Self.data(envelope)["breakers"] as? [[String: Any]], "\(result.stdout)")
        #expect(breakers.map { $0["subject"] as? String } == ["openai/gpt-4.1", "kimi-coding/k2p5"])
        let k2p5 = try #require(breakers.first { $0["subject"] as? String == "kimi-coding/k2p5" })
        #expect(k2p5["state"] as? String == "open" && k2p5["hosts"] as? Int == 2 && k2p5["host_names"] as? [String] == ["ci", "gpu"])
        #expect(k2p5["until"] as? String == (k2p5["reports"] as? [[String: Any]])?.first { $0["host"] as? String == "gpu" }?["resets_at"] as? String)
        let report = try #require((k2p5["reports"] as? [[String: Any]])?.first)
        for key in ["id", "signer", "host", "recorded_at", "tier", "state"] { #expect(report[key] != nil, "report lacks \(key)") }
        #expect(report["tier"] as? String == "authenticated")
        let text = try federation.run(laptop, ["breakers"]).stdout
        #expect(text.contains("kimi-coding/k2p5: OPEN since") && text.contains("2 hosts (ci, gpu)"), "\(text)")
        // --signer narrows, as in recall.
        let onlyCI = try federation.json(laptop, ["breakers", "--signer", "bot@ci"])
        #expect((Self.data(onlyCI.1)["breakers"] as? [[String: Any]])?.map { $0["hosts"] as? Int } == [1])

        let bench = try federation.json(laptop, ["benchmarks", "--by-host"])
        #expect(bench.0.exitCode == 0, "\(bench.0.stdout) \(bench.0.stderr)")
        let rows = try #require(Self.data(bench.1)["benchmarks"] as? [[String: Any]])
        // k2p5's observations predate the trip: stale, and counted.
        #expect(rows.map { $0["subject"] as? String } == ["openai/gpt-4.1"])
        let gpt = rows[0]
        #expect(gpt["estimate"] as? Double == 660 && gpt["n"] as? Int == 3 && gpt["hosts"] as? Int == 3 && gpt["unit"] as? String == "ms")
        #expect(gpt["min"] as? Double == 640 && gpt["max"] as? Double == 700)
        #expect((gpt["by_host"] as? [[String: Any]])?.map { $0["host"] as? String } == ["ci", "gpu", "laptop"])
        #expect((gpt["observations"] as? [[String: Any]])?.count == 3)
        let stale = try #require((bench.1["warnings"] as? [[String: Any]])?.first { $0["code"] as? String == "STALE_HIDDEN" })
        #expect((stale["message"] as? String)?.contains("2 recorded before a breaker on their subject tripped") == true, "\(stale)")
        let settings = try #require((Self.data(bench.1)["settings"] as? [String: Any])?.values.first as? [String: Any])
        #expect(settings["benchmark_max_age_seconds"] as? Double == 30 * 86_400 && settings["benchmark_half_life_days"] as? Double == 7)

        // A new observation after the trip brings k2p5 back.
        try remember(gpu, ["benchmark", "--title", "k2p5 p50 again", "--field", "subject=kimi-coding/k2p5", "--field", "metric=p50", "--field", "value=1500", "--field", "unit=ms"])
        #expect(try federation.run(gpu, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let again = try federation.json(laptop, ["benchmarks", "kimi-coding/k2p5", "--metric", "p50"])
        let k2p5Rows = try #require(Self.data(again.1)["benchmarks"] as? [[String: Any]])
        #expect(k2p5Rows.map { $0["estimate"] as? Double } == [1500])
        let benchText = try federation.run(laptop, ["benchmarks", "--tier", "authenticated"]).stdout
        #expect(benchText.contains("openai/gpt-4.1 p50: 660 ms weighted median") && benchText.contains("n=3 from 3 hosts"), "\(benchText)")
        #expect(try federation.run(laptop, ["benchmarks", "--max-age", "forever"]).exitCode == 2)
        #expect(try federation.run(laptop, ["benchmarks", "--tier", "gold"]).exitCode == 2)
    }

    @Test("the policy's benchmark_max_age and half_lives reach every host's cache and the views; --max-age narrows them")
    func policySettings() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let admin = try SyncPathTests.humanClone(federation, "admin-clone")
        let policyPath = admin.directory + "/.sfgit/policy.yaml"
        let policy = try String(contentsOfFile: policyPath, encoding: .utf8) + "half_lives:\n  benchmark: 2\nbenchmark_max_age: 12h\n"
        try policy.write(toFile: policyPath, atomically: true, encoding: .utf8)
        _ = try admin.run(["add", "-A"])
        _ = try admin.signedCommit("fleet settings", key: federation.admin.key.privatePath)
        _ = try admin.run(["push", "-q", "origin", "HEAD:main"])
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "benchmark", "--title", "p50", "--field", "subject=s", "--field", "metric=p50", "--field", "value=5"]).exitCode == 0)
        let view = try federation.json(laptop, ["benchmarks"])
        let settings = try #require((Self.data(view.1)["settings"] as? [String: Any])?.values.first as? [String: Any], "\(view.0.stdout)")
        #expect(settings["benchmark_max_age_seconds"] as? Double == 43_200.0)
        #expect(settings["benchmark_half_life_days"] as? Double == 2)
        let narrowed = try federation.json(laptop, ["benchmarks", "--max-age", "1h"])
        #expect(((Self.data(narrowed.1)["settings"] as? [String: Any])?.values.first as? [String: Any])?["max_age_seconds"] as? Double == 3_600)
        let widened = try federation.json(laptop, ["benchmarks", "--max-age", "30d"])
        #expect(((Self.data(widened.1)["settings"] as? [String: Any])?.values.first as? [String: Any])?["max_age_seconds"] as? Double == 43_200.0)
        // sfgit check accepts the store with its fleet settings.
        let checked = try federation.run(laptop, ["check", admin.directory])
        #expect(checked.exitCode == 0, "\(checked.stdout) \(checked.stderr)")
    }
}

import Foundation
import SFGitTestSupport
import Testing

/// A consumer chooses whom it trusts: filters on tier, signer, instance, agent, host and body
/// fields; retired signers marked; and a per-store trust filter in config.yaml.
@Suite("recall: consumer trust filters")
struct ConsumerFilterTests {
    static func titles(_ federation: Federation, _ member: Federation.Member, _ arguments: [String]) throws -> [String] {
        let (result, envelope) = try federation.json(member, ["recall"] + arguments)
        #expect(result.exitCode == 0, "recall \(arguments) failed: \(result.stdout) \(result.stderr)")
        let items = try #require(envelope["data"] as? [[String: Any]], "no list: \(result.stdout)")
        return items.compactMap { $0["title"] as? String }.sorted()
    }

    @Test("every filter narrows the answer to what it names")
    func filters() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let ci = try federation.join("bot@ci")
        #expect(try federation.run(laptop, ["remember", "benchmark", "--title", "k2p5 p50", "--field", "subject=kimi-coding/k2p5",
                                            "--field", "metric=p50", "--field", "value=812", "--tag", "Provider", "--instance", "proj-a"]).exitCode == 0)
        #expect(try federation.run(ci, ["remember", "benchmark", "--title", "gpt p50", "--field", "subject=openai/gpt-4.1",
                                        "--field", "metric=p50", "--field", "value=640", "--tag", "provider"],
                                   environment: ["SFGIT_AGENT": "ci-bot/1.0"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(ci, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        // One more, unpublished: tier self on the laptop.
        #expect(try federation.run(laptop, ["remember", "note", "--title", "p50 draft", "--tag", "provider"]).exitCode == 0)

        #expect(try Self.titles(federation, laptop, ["p50"]) == ["gpt p50", "k2p5 p50", "p50 draft"])
        #expect(try Self.titles(federation, laptop, ["p50", "--tier", "authenticated"]) == ["gpt p50", "k2p5 p50"])
        #expect(try Self.titles(federation, laptop, ["p50", "--tier", "reviewed"]) == [])
        #expect(try Self.titles(federation, laptop, ["p50", "--signer", "bot@ci"]) == ["gpt p50"])
        #expect(try Self.titles(federation, laptop, ["p50", "--instance", "proj-a"]) == ["k2p5 p50"])
        #expect(try Self.titles(federation, laptop, ["p50", "--agent", "ci-bot/1.0"]) == ["gpt p50"])
        #expect(try Self.titles(federation, laptop, ["--field", "subject=kimi-coding/k2p5"]) == ["k2p5 p50"])
        #expect(try Self.titles(federation, laptop, ["--field", "metric=p50", "--field", "subject=openai/gpt-4.1"]) == ["gpt p50"])
        #expect(try Self.titles(federation, laptop, ["p50", "--host", "ci", "--host", "laptop"]) == ["gpt p50", "k2p5 p50", "p50 draft"])
        #expect(try Self.titles(federation, laptop, ["p50", "--host", "ci"]) == ["gpt p50"])
        #expect(try Self.titles(federation, laptop, ["--tag", "PROVIDER"]) == ["gpt p50", "k2p5 p50", "p50 draft"])
        let refused = try federation.run(laptop, ["recall", "--tier", "gold"])
        #expect(refused.exitCode == 2)
    }

    @Test("a retired signer's memories stay served, marked; --exclude-retired and the store's trust filter leave them out, and say so")
    func retiredAndConsumerPolicy() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let ci = try federation.join("bot@ci")
        #expect(try federation.run(ci, ["remember", "learning", "--title", "retry budget lesson"]).exitCode == 0)
        #expect(try federation.run(ci, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "retry jitter lesson"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["trust", "remove", "bot@ci"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)

        let (_, envelope) = try federation.json(laptop, ["recall", "retry"])
        let items = try #require(envelope["data"] as? [[String: Any]])
        let statuses = Dictionary(uniqueKeysWithValues: items.map { ($0["title"] as! String, $0["signer_status"] as? String) })
        #expect(statuses == ["retry budget lesson": "retired", "retry jitter lesson": "active"])
        #expect(try federation.run(laptop, ["recall", "retry"]).stdout.contains("RETIRED signer"))
        #expect(try Self.titles(federation, laptop, ["retry", "--exclude-retired"]) == ["retry jitter lesson"])

        // The store's trust filter in config.yaml applies by default, and status shows it.
        let configPath = laptop.home + "/config.yaml"
        var lines = try String(contentsOfFile: configPath, encoding: .utf8).components(separatedBy: "\n")
        let signerLine = try #require(lines.firstIndex { $0.trimmingCharacters(in: .whitespaces).hasPrefix("signer:") })
        let indent = String(lines[signerLine].prefix { $0 == " " })
        lines.insert(contentsOf: [indent + "trust:", indent + "  exclude:", indent + "  - bot@ci"], at: signerLine + 1)
        try lines.joined(separator: "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        chmod(configPath, 0o600)
        let filtered = try federation.json(laptop, ["recall", "retry"])
        #expect((filtered.1["data"] as? [[String: Any]])?.compactMap { $0["title"] as? String } == ["retry jitter lesson"])
        #expect((filtered.1["warnings"] as? [[String: Any]])?.contains { $0["code"] as? String == "CONSUMER_POLICY" } == true)
        #expect(try Self.titles(federation, laptop, ["retry", "--ignore-consumer-policy"]) == ["retry budget lesson", "retry jitter lesson"])
        let status = try federation.json(laptop, ["status"])
        let store = try #require(((status.1["data"] as? [String: Any])?["stores"] as? [[String: Any]])?.first)
        #expect((store["consumer_policy"] as? [String: Any])?["exclude"] as? [String] == ["bot@ci"])
        // A bad trust field names the file and line.
        try String(contentsOfFile: configPath, encoding: .utf8).replacingOccurrences(of: "exclude:", with: "exclud:")
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        chmod(configPath, 0o600)
        let broken = try federation.run(laptop, ["recall", "retry"])
        #expect(broken.exitCode == 2)
        #expect(broken.stderr.contains("config.yaml:") && broken.stderr.contains("unknown trust field 'exclud'"), "\(broken.stderr)")
    }
}

/// Withdrawals that would have no effect, and memories written already dead, are refused at
/// write time; `show` names who withdrew what, when and why.
@Suite("remember and retract: refusals at write time, withdrawal chains")
struct WithdrawalTests {
    @Test("retracting or superseding another signer's memory is refused (exit 7) and writes nothing; a past expiry or reset is refused")
    func noEffectRefused() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let ci = try federation.join("bot@ci")
        let theirs = try #require(try federation.json(ci, ["remember", "note", "--title", "bot's note"]).1["data"].flatMap { ($0 as? [String: Any])?["id"] as? String })
        #expect(try federation.run(ci, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let pendingBefore = try #require((try federation.json(laptop, ["status"]).1["data"] as? [String: Any]).flatMap { ($0["stores"] as? [[String: Any]])?.first?["pending"] as? Int })
        let retract = try federation.run(laptop, ["retract", String(theirs.prefix(12)), "--reason", "wrong"])
        #expect(retract.exitCode == 7)
        #expect(retract.stderr.contains("signed by bot@ci"), "\(retract.stderr)")
        let supersede = try federation.run(laptop, ["remember", "note", "--title", "better", "--supersedes", theirs])
        #expect(supersede.exitCode == 7)
        let pendingAfter = try #require((try federation.json(laptop, ["status"]).1["data"] as? [String: Any]).flatMap { ($0["stores"] as? [[String: Any]])?.first?["pending"] as? Int })
        #expect(pendingAfter == pendingBefore)
        #expect(try federation.run(laptop, ["remember", "note", "--title", "dead on arrival", "--expires", "2020-01-01"]).exitCode == 7)
        let breaker = try federation.run(laptop, ["remember", "circuit-breaker", "--title", "k2p5 open", "--field", "subject=kimi-coding/k2p5",
                                                  "--field", "state=open", "--field", "resets_at=2020-01-01T00:00:00Z"])
        #expect(breaker.exitCode == 7)
        #expect(breaker.stderr.contains("already past"), "\(breaker.stderr)")
    }

    @Test("show names who superseded and who retracted a memory, when and why; a retracted correction withdraws nothing; --supersedes takes a prefix")
    func chainsShown() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let old = try #require(try federation.json(laptop, ["remember", "note", "--title", "first take"]).1["data"].flatMap { ($0 as? [String: Any])?["id"] as? String })
        let newer = try #require(try federation.json(laptop, ["remember", "note", "--title", "second take", "--supersedes", String(old.prefix(14))]).1["data"].flatMap { ($0 as? [String: Any])?["id"] as? String })
        #expect(try federation.run(laptop, ["retract", newer, "--reason", "both were wrong"]).exitCode == 0)
        let shownOld = try federation.json(laptop, ["show", old])
        // The retracted correction withdraws nothing: the first take is served again.
        let withdrawals = try #require((shownOld.1["data"] as? [String: Any])?["withdrawals"] as? [[String: Any]])
        #expect(withdrawals.isEmpty)
        #expect(try federation.recallAnswers(laptop, ["take"]).compactMap { $0["id"] as? String } == [old])
        let third = try #require(try federation.json(laptop, ["remember", "note", "--title", "third take", "--supersedes", old]).1["data"].flatMap { ($0 as? [String: Any])?["id"] as? String })
        let superseded = try #require((try federation.json(laptop, ["show", old]).1["data"] as? [String: Any])?["withdrawals"] as? [[String: Any]])
        #expect(superseded.map { $0["id"] as? String } == [third])
        #expect(superseded.first?["kind"] as? String == "supersedes")
        #expect(superseded.first?["authority"] as? String == "signer")
        let shownNew = try federation.json(laptop, ["show", newer])
        let retraction = try #require(((shownNew.1["data"] as? [String: Any])?["withdrawals"] as? [[String: Any]])?.first)
        #expect(retraction["kind"] as? String == "retracts")
        #expect(retraction["reason"] as? String == "both were wrong")
        #expect(retraction["signer"] as? String == "me@laptop")
        let text = try federation.run(laptop, ["show", newer]).stdout
        #expect(text.contains("retracted by ") && text.contains("reason: both were wrong"), "\(text)")
    }
}

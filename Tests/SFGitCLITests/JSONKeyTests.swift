import Foundation
import SFGitTestSupport
import Testing

/// Every key of every `--json` envelope is snake_case (docs/COMMANDS.md § The JSON envelope;
/// changing a key is a contract change). Maps whose keys are data (kind and tier names, a
/// memory's fields, a policy's half-lives) are not keys of the schema and are skipped.
@Suite("JSON: snake_case keys everywhere")
struct JSONKeyTests {
    static let dataMaps: Set<String> = ["by_kind", "by_tier", "fields", "half_lives"]

    /// The keys of `value` that are not snake_case, as paths.
    static func offenders(_ value: Any, path: String = "") -> [String] {
        if let object = value as? [String: Any] {
            let parent = path.split(separator: ".").last.map(String.init) ?? ""
            return object.flatMap { key, child -> [String] in
                let bad = !dataMaps.contains(parent) && key.range(of: #"^[a-z][a-z0-9_]*$"#, options: .regularExpression) == nil
                return (bad ? ["\(path).\(key)"] : []) + offenders(child, path: "\(path).\(key)")
            }
        }
        if let array = value as? [Any] { return array.flatMap { offenders($0, path: path + "[]") } }
        return []
    }

    @Test("sync, status, reindex, recall, show, fleet views, trust, store, whoami, config, verify, check: snake_case keys only")
    func everyEnvelope() throws {
        let federation = try Federation()
        try federation.initialise()
        let admin = federation.admin
        #expect(try federation.run(admin, ["remember", "benchmark", "--title", "p50", "--field", "subject=s", "--field", "metric=p50",
                                           "--field", "value=1", "--field", "unit=ms"]).exitCode == 0)
        #expect(try federation.run(admin, ["remember", "circuit-breaker", "--title", "down", "--field", "subject=s", "--field", "state=open",
                                           "--field", "resets_at=2099-01-01T00:00:00Z"]).exitCode == 0)
        #expect(try federation.run(admin, ["sync"]).exitCode == 0)
        let id = try #require((try federation.json(admin, ["recall", "p50"]).1["data"] as? [[String: Any]])?.first?["id"] as? String)
        let commands: [[String]] = [
            ["sync"], ["status"], ["reindex"], ["recall", "p50", "--explain"], ["show", id], ["breakers"], ["benchmarks"], ["trust", "list"],
            ["store", "list"], ["whoami"], ["config", "get", "identity.author"], ["verify", "--repo", admin.home + "/stores/shared/repo.git"],
            ["check", PackagePaths.examples + "/invalid"], ["remember", "note", "--title", "x"], ["retract", id, "--reason", "r"],
        ]
        for command in commands {
            let (_, envelope) = try federation.json(admin, command)
            #expect(Self.offenders(envelope).isEmpty, "\(command.joined(separator: " ")): \(Self.offenders(envelope))")
        }
        // Counts were the last camelCase keys.
        let counts = try #require((((try federation.json(admin, ["status"]).1["data"] as? [String: Any])?["stores"] as? [[String: Any]])?.first)?["counts"] as? [String: Any])
        #expect(counts["by_kind"] as? [String: Int] == ["benchmark": 1, "circuit-breaker": 1, "note": 1, "retraction": 1])
    }
}

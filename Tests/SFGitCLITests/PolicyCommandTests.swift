import Foundation
import SFGitTestSupport
import Testing

/// `sfgit policy show|set|unset` end to end: an admin changes the store's policy with sfgit
/// alone, the change waits in the outbox as pending, the next sync publishes it, and every other
/// host's verifier reads exactly what was set.
@Suite("policy: signed admin changes to the store's policy")
struct PolicyCommandTests {
    static func data(_ envelope: [String: Any]) -> [String: Any] { envelope["data"] as? [String: Any] ?? [:] }

    /// `policy show --json`'s settings by key.
    static func settings(_ federation: Federation, _ member: Federation.Member) throws -> [String: [String: Any]] {
        let (result, envelope) = try federation.json(member, ["policy", "show"])
        #expect(result.exitCode == 0, "\(result.stdout) \(result.stderr)")
        let list = data(envelope)["settings"] as? [[String: Any]] ?? []
        return Dictionary(list.map { ($0["key"] as? String ?? "?", $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func outboxTip(_ federation: Federation, _ member: Federation.Member) throws -> String {
        try ProcessRunner.run("git", ["--git-dir", member.home + "/stores/shared/repo.git", "rev-parse", "-q", "--verify", "refs/sfgit/outbox"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("policy set: pending until the next sync, published as an admin commit, read by another host's verifier as set")
    func setPublishAndRead() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let admin = federation.admin

        let before = try Self.settings(federation, admin)
        #expect(before["mode"]?["value"] as? String == "direct")
        #expect(before["mode"]?["default"] as? Bool == true)
        #expect(before["half_lives.benchmark"]?["value"] as? Int == 7)

        let set = try federation.json(admin, ["policy", "set", "half_lives.benchmark", "3"])
        #expect(set.0.exitCode == 0, "\(set.0.stdout) \(set.0.stderr)")
        #expect(Self.data(set.1)["state"] as? String == "committed_local")
        #expect(Self.data(set.1)["value"] as? Int == 3)
        #expect(try federation.run(admin, ["policy", "set", "benchmark_max_age", "12h"]).exitCode == 0)
        #expect(try federation.run(admin, ["policy", "set", "quota", "40"]).exitCode == 0)
        #expect(try federation.run(admin, ["policy", "set", "quota", "2", "--principal", laptop.principal]).exitCode == 0)
        #expect(try federation.run(admin, ["policy", "set", "max_files_per_commit", "10"]).exitCode == 0)
        #expect(try federation.run(admin, ["policy", "set", "max_commit_bytes", "65536"]).exitCode == 0)
        #expect(try federation.run(admin, ["policy", "set", "max_tree_bytes", "8388608"]).exitCode == 0)
        #expect(try federation.run(admin, ["policy", "set", "max_file_bytes", "32768"]).exitCode == 0)

        // Pending on the admin's host until published; nothing on the remote yet.
        let pending = try Self.settings(federation, admin)
        #expect(pending["half_lives.benchmark"]?["value"] as? Int == 3)
        #expect(pending["half_lives.benchmark"]?["pending"] as? Bool == true)
        #expect(pending["benchmark_max_age"]?["value"] as? String == "12h")
        #expect(pending["mode"]?["pending"] as? Bool == false)
        let shown = try federation.run(admin, ["policy", "show"])
        #expect(shown.stdout.contains("half_lives.benchmark: 3  (pending sync)"), "\(shown.stdout)")
        #expect(shown.stdout.contains("me@laptop  [write]  quota 2/day  (pending sync)"), "\(shown.stdout)")
        let remotePolicy = try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "show", "main:.sfgit/policy.yaml"]).stdout
        #expect(!remotePolicy.contains("half_lives"))

        let published = try federation.run(admin, ["sync"])
        #expect(published.exitCode == 0, "\(published.stdout) \(published.stderr)")
        #expect(try Self.settings(federation, admin)["half_lives.benchmark"]?["pending"] as? Bool == false)

        // Another host verifies the admin commit and reads every value as set.
        let synced = try federation.run(laptop, ["sync"])
        #expect(synced.exitCode == 0, "\(synced.stdout) \(synced.stderr)")
        let read = try Self.settings(federation, laptop)
        #expect(read["half_lives.benchmark"]?["value"] as? Int == 3)
        #expect(read["half_lives.benchmark"]?["default"] as? Bool == false)
        #expect(read["benchmark_max_age"]?["value"] as? String == "12h")
        #expect(read["quota"]?["value"] as? Int == 40)
        #expect(read["max_files_per_commit"]?["value"] as? Int == 10)
        #expect(read["max_commit_bytes"]?["value"] as? Int == 65536)
        #expect(read["max_tree_bytes"]?["value"] as? Int == 8388608)
        #expect(read["max_file_bytes"]?["value"] as? Int == 32768)
        let principals = Self.data(try federation.json(laptop, ["policy", "show"]).1)["principals"] as? [[String: Any]] ?? []
        #expect(principals.first { $0["name"] as? String == laptop.principal }?["quota_per_day"] as? Int == 2)
        // The laptop's own quota is in force on the laptop: the third memory of the day is refused.
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "one"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "two"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "three"]).exitCode == 9)

        // Unset returns the laptop to the store's quota, through the same path; recall then uses
        // the half-life the policy set.
        let unset = try federation.json(admin, ["policy", "unset", "quota", "--principal", laptop.principal])
        #expect(unset.0.exitCode == 0, "\(unset.0.stdout) \(unset.0.stderr)")
        #expect(Self.data(unset.1)["value"] as? Int == 40)
        #expect(try federation.run(admin, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "benchmark", "--title", "p50 of search", "--field", "subject=search",
                                            "--field", "metric=p50", "--field", "value=12", "--field", "unit=ms"]).exitCode == 0)
        let explained = try federation.run(laptop, ["recall", "search", "--explain"])
        #expect(explained.stdout.contains("half-life 3 d"), "\(explained.stdout)")
    }

    @Test("policy set mode review: after the next sync, a writer on another host proposes instead of pushing to the shared branch")
    func modeReview() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let set = try federation.json(federation.admin, ["policy", "set", "mode", "review"])
        #expect(set.0.exitCode == 0, "\(set.0.stdout) \(set.0.stderr)")
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "needs a review"]).exitCode == 0)
        let synced = try federation.run(laptop, ["sync"])
        #expect(synced.exitCode == 0, "\(synced.stdout) \(synced.stderr)")
        #expect(try federation.remoteMemoryPaths().isEmpty)
        #expect(try federation.remoteMemoryPaths("sfgit/proposals/me@laptop").count == 1)
        // Setting what the policy already says writes nothing.
        let again = try federation.json(federation.admin, ["policy", "set", "mode", "review"])
        #expect(again.0.exitCode == 0)
        #expect(Self.data(again.1)["state"] as? String == "unchanged")
        #expect(Self.data(again.1)["commit"] is NSNull)

        // Back to direct: in review mode the admin's own change is proposed like any other, and
        // merged with `review merge` (an admin may merge its own proposal).
        #expect(try federation.run(federation.admin, ["policy", "set", "mode", "direct"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        #expect(try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "show", "main:.sfgit/policy.yaml"]).stdout.contains("mode: review"))
        let merged = try federation.run(federation.admin, ["review", "merge", "admin@hq", "--push"])
        #expect(merged.exitCode == 0, "\(merged.stdout) \(merged.stderr)")
        #expect(try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "show", "main:.sfgit/policy.yaml"]).stdout.contains("mode: direct"))
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "straight to main"]).exitCode == 0)
        let direct = try federation.run(laptop, ["sync"])
        #expect(direct.exitCode == 0, "\(direct.stdout) \(direct.stderr)")
        // Both: the proposal never merged stayed in the laptop's outbox, and now goes straight in too.
        #expect(try federation.remoteMemoryPaths().count == 2)
    }

    @Test("policy set refuses, before signing, any value the verifier would refuse (exit 7), unknown settings (exit 2) and non-admins (exit 2)")
    func validatedBeforeSigning() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let admin = federation.admin
        let tipBefore = try Self.outboxTip(federation, admin)
        let refused: [([String], String)] = [
            (["max_file_bytes", "2000000"], "over the ceiling of 1048576"),
            (["max_commit_bytes", "0"], "must be a positive integer"),
            (["max_tree_bytes", "99999999"], "over the ceiling of 16777216"),
            (["half_lives.benchmark", "5000"], "over the ceiling of 3650 days"),
            (["quota", "0"], "must be a positive integer"),
            (["quota", "3000000000"], "must be a positive integer"),
            (["benchmark_max_age", "30"], "whole number of days"),
            (["mode", "anarchy"], "must be direct or review"),
        ]
        for (arguments, message) in refused {
            let (result, envelope) = try federation.json(admin, ["policy", "set"] + arguments)
            #expect(result.exitCode == 7, "\(arguments): \(result.stdout)")
            let said = (envelope["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(said.contains(message), "\(arguments): \(result.stdout)")
        }
        #expect(try federation.run(admin, ["policy", "set", "branch", "other"]).exitCode == 2)
        #expect(try federation.run(admin, ["policy", "set", "half_lives.Bad", "3"]).exitCode == 2)
        #expect(try federation.run(admin, ["policy", "set", "quota", "3", "--principal", "nobody@nowhere"]).exitCode == 8)
        let notAdmin = try federation.run(laptop, ["policy", "set", "quota", "1000"])
        #expect(notAdmin.exitCode == 2)
        #expect(notAdmin.stderr.contains("not an admin"), "\(notAdmin.stderr)")
        // Nothing was signed.
        #expect(try Self.outboxTip(federation, admin) == tipBefore)
        #expect(try Self.outboxTip(federation, laptop) == "")
    }

    @Test("trust changes are the same admin workflow: a no-op signs nothing, a quota peers would refuse is refused before signing")
    func trustChangesShareTheAdminWorkflow() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let admin = federation.admin
        let tipBefore = try Self.outboxTip(federation, admin)

        // The principal already has this key and role: nothing to sign.
        let again = try federation.json(admin, ["trust", "add", "me@laptop", laptop.key.publicPath, "--role", "write"])
        #expect(again.0.exitCode == 0, "\(again.0.stdout) \(again.0.stderr)")
        #expect(Self.data(again.1)["state"] as? String == "unchanged")
        #expect(Self.data(again.1).keys.contains("commit") && Self.data(again.1)["commit"] is NSNull, "\(again.0.stdout)")
        let text = try federation.run(admin, ["trust", "add", "me@laptop", laptop.key.publicPath, "--role", "write"])
        #expect(text.stdout.contains("already say so; nothing written"), "\(text.stdout)")

        // A quota over the policy parser's ceiling would make every peer refuse the policy.
        let tooMuch = try federation.json(admin, ["trust", "add", "me@laptop", laptop.key.publicPath, "--role", "write", "--quota", "3000000000"])
        #expect(tooMuch.0.exitCode == 7, "\(tooMuch.0.stdout) \(tooMuch.0.stderr)")
        let said = (tooMuch.1["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(said.contains("would make a policy peers refuse"), "\(said)")
        #expect(try Self.outboxTip(federation, admin) == tipBefore)

        // A real change still signs one commit, touching only the file it changes.
        let changed = try federation.json(admin, ["trust", "add", "me@laptop", laptop.key.publicPath, "--role", "review"])
        #expect(Self.data(changed.1)["state"] as? String == "committed_local", "\(changed.0.stdout) \(changed.0.stderr)")
        let tip = try Self.outboxTip(federation, admin)
        #expect(!tip.isEmpty && tip != tipBefore)
        let touched = try ProcessRunner.run("git", ["--git-dir", admin.home + "/stores/shared/repo.git", "diff-tree", "--no-commit-id", "--name-only", "-r", tip]).stdout
        #expect(touched.split(separator: "\n") == [".sfgit/policy.yaml"], "\(touched)")
    }
}

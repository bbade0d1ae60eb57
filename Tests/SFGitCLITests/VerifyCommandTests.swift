import Foundation
import SFGitTestSupport
import Testing

/// `sfgit verify` end to end, over histories built by the git CLI.
@Suite("sfgit verify (binary)")
struct VerifyCommandTests {
    /// examples/store as a signed history, built by examples/build-history.sh with the test keys.
    static func exampleHistory() throws -> (TemporaryDirectory, repo: String, introduction: String, signer: String) {
        let dir = try TemporaryDirectory()
        let repo = dir.url("store")
        let built = try ProcessRunner.run(PackagePaths.examples + "/build-history.sh", [repo])
        #expect(built.exitCode == 0, "\(built.stderr)")
        let lines = built.stdout.split(separator: "\n")
        let introduction = String(lines.first { $0.hasPrefix("introduction: ") }!.dropFirst(14))
        let signer = String(lines.first { $0.hasPrefix("signer: ") }!.dropFirst(8))
        return (dir, repo, introduction, signer)
    }

    @Test("the sample store's history is authentic: exit 0 and a one-line summary")
    func authentic() throws {
        let (dir, repo, introduction, signer) = try Self.exampleHistory()
        defer { withExtendedLifetime(dir) {} }
        let head = try GitCLI(directory: repo, home: dir.path).run(["rev-parse", "HEAD"])
        let result = try PackagePaths.runSFGit(["verify", "--repo", repo, "--introduction", introduction, "--signer", signer])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout == "verified 10 commits: authentic up to \(head)\n")
        #expect(result.stderr == "")
        // And the clone passes sfgit check too.
        #expect(try PackagePaths.runSFGit(["check", repo]).exitCode == 0)
    }

    @Test("a wrong pin is UNTRUSTED (exit 5), naming the commit and the reason")
    func wrongSigner() throws {
        let (dir, repo, introduction, _) = try Self.exampleHistory()
        defer { withExtendedLifetime(dir) {} }
        let result = try PackagePaths.runSFGit(["verify", "--repo", repo, "--introduction", introduction, "--signer", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
        #expect(result.exitCode == 5)
        #expect(result.stdout.hasPrefix("UNTRUSTED: commit \(introduction) (unknown-key): the introduction is signed by SHA256:"))
        #expect(result.stdout.hasSuffix("verified 10 commits: nothing authentic\n"))
    }

    @Test("--json: the envelope with verified_tip, commits, blocked and quarantined")
    func json() throws {
        let (dir, repo, introduction, signer) = try Self.exampleHistory()
        defer { withExtendedLifetime(dir) {} }
        let git = GitCLI(directory: repo, home: dir.path)
        let good = try git.run(["rev-parse", "HEAD"])
        try Data("stray\n".utf8).write(to: URL(fileURLWithPath: repo + "/notes.txt"))
        try git.run(["add", "-A"])
        let bad = try git.unsignedCommit("unsigned")
        let result = try PackagePaths.runSFGit(["verify", "--json", "--repo", repo, "--introduction", introduction, "--signer", signer])
        #expect(result.exitCode == 5)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["command"] as? String == "verify")
        #expect(object["status"] as? String == "error")
        #expect((object["error"] as? [String: Any])?["code"] as? String == "UNTRUSTED")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["verified_tip"] as? String == good)
        #expect(data["commits"] as? Int == 11)
        let blocked = try #require(data["blocked"] as? [String: Any])
        #expect(blocked["commit"] as? String == bad)
        #expect(blocked["status"] as? String == "unsigned")
        #expect(blocked["reason"] as? String == "the commit is not signed")
        #expect((data["quarantined"] as? [Any])?.isEmpty == true)
        // An authentic history still lists `blocked`, as null.
        let clean = try PackagePaths.runSFGit(["verify", "--json", "--repo", repo, "--introduction", introduction, "--signer", signer, good])
        let cleanObject = try #require(try JSONSerialization.jsonObject(with: Data(clean.stdout.utf8)) as? [String: Any])
        #expect((cleanObject["data"] as? [String: Any])?["blocked"] is NSNull)
    }

    @Test("only quarantined files: INVALID (exit 7), listing each file")
    func quarantinedOnly() throws {
        let (dir, repo, introduction, signer) = try Self.exampleHistory()
        defer { withExtendedLifetime(dir) {} }
        var git = GitCLI(directory: repo, home: dir.path)
        git.date = "2026-07-01T00:00:00Z"  // as the sample history: after every recorded_at in it
        // hermes signs a memory whose front matter claims sf@mikki-bunker wrote it.
        let id = "01KTV6204RYSC5XMTFWMX0JS9M"
        let text = try String(contentsOfFile: PackagePaths.examples + "/store/memories/learning/2026/06/01KTV6204RYSC5XMTFWMX0JS9K.yaml", encoding: .utf8)
            .replacingOccurrences(of: "01KTV6204RYSC5XMTFWMX0JS9K", with: id)
            .replacingOccurrences(of: "author: claude", with: "author: sf").replacingOccurrences(of: "host: build-07", with: "host: mikki-bunker")
        try Data(text.utf8).write(to: URL(fileURLWithPath: repo + "/memories/learning/2026/06/\(id).yaml"))
        try git.run(["add", "-A"])
        let key = dir.url("hermes")
        try FileManager.default.copyItem(atPath: PackagePaths.examples + "/keys/hermes@laptop-ana", toPath: key)
        chmod(key, 0o600)
        let commit = try git.signedCommit("spoof", key: key)
        let result = try PackagePaths.runSFGit(["verify", "--repo", repo, "--introduction", introduction, "--signer", signer])
        #expect(result.exitCode == 7)
        #expect(result.stdout.contains("quarantined memories/learning/2026/06/\(id).yaml (provenance_mismatch, commit \(commit.prefix(12))): the front matter names 'sf@mikki-bunker' but the commit is signed by 'hermes@laptop-ana'"))
        #expect(result.stdout.hasSuffix("verified 11 commits: authentic up to \(commit)\n"))
    }

    @Test("the introduction can come from the repository's config; without one it is a usage error")
    func introductionFromConfig() throws {
        let (dir, repo, introduction, signer) = try Self.exampleHistory()
        defer { withExtendedLifetime(dir) {} }
        let missing = try PackagePaths.runSFGit(["verify", "--repo", repo])
        #expect(missing.exitCode == 2)
        #expect(missing.stderr.contains("no introduction"))
        let git = GitCLI(directory: repo, home: dir.path)
        try git.run(["config", "sfgit.introduction", introduction])
        try git.run(["config", "sfgit.signer", signer])
        #expect(try PackagePaths.runSFGit(["verify", "--repo", repo]).exitCode == 0)
        // --from: only newer commits are judged.
        let from = try git.run(["rev-parse", "HEAD~2"])
        let partial = try PackagePaths.runSFGit(["verify", "--repo", repo, "--from", from])
        #expect(partial.stdout.hasPrefix("verified 2 commits"))
    }

    @Test("a revision that does not exist is NOT_FOUND (exit 8)")
    func unknownRevision() throws {
        let (dir, repo, introduction, signer) = try Self.exampleHistory()
        defer { withExtendedLifetime(dir) {} }
        let result = try PackagePaths.runSFGit(["verify", "--repo", repo, "--introduction", introduction, "--signer", signer, "nope"])
        #expect(result.exitCode == 8)
        #expect(result.stderr.contains("'nope' is not a commit"))
    }

    @Test("the example pre-receive hook accepts authentic pushes and refuses an unsigned one")
    func preReceiveHook() throws {
        let (dir, repo, introduction, signer) = try Self.exampleHistory()
        defer { withExtendedLifetime(dir) {} }
        let server = dir.url("server.git")
        let local = GitCLI(directory: repo, home: dir.path)
        try local.run(["init", "-q", "--bare", "-b", "main", server])
        let remote = GitCLI(directory: server, home: dir.path)
        try remote.run(["config", "sfgit.introduction", introduction])
        try remote.run(["config", "sfgit.signer", signer])
        try FileManager.default.copyItem(atPath: PackagePaths.examples + "/ci/pre-receive", toPath: server + "/hooks/pre-receive")
        let binDirectory = (PackagePaths.sfgitBinary as NSString).deletingLastPathComponent
        let path = binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        func push() throws -> ProcessResult {
            try ProcessRunner.run("git", ["push", "-q", "file://" + server, "main"], environment: local.environment.merging(["PATH": path]) { $1 }, currentDirectory: repo)
        }
        let first = try push()
        #expect(first.exitCode == 0, "\(first.stdout) \(first.stderr)")
        #expect(try remote.run(["rev-parse", "main"]) == (try local.run(["rev-parse", "main"])))

        try Data("stray\n".utf8).write(to: URL(fileURLWithPath: repo + "/notes.txt"))
        try local.run(["add", "-A"])
        let unsigned = try local.unsignedCommit("unsigned")
        let second = try push()
        #expect(second.exitCode != 0)
        #expect(second.stderr.contains("UNTRUSTED: commit \(unsigned) (unsigned)"))
        #expect(second.stderr.contains("pre-receive hook declined"))
        #expect(try remote.run(["rev-parse", "main"]) != unsigned)
    }
}

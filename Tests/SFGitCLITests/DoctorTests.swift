import Foundation
import SFGitTestSupport
import Testing

/// `sfgit doctor` on a sound set-up and on each broken one it names; an encrypted key without an
/// agent is a usage error with its fix everywhere, not ssh-keygen's prompt text as INTERNAL.
@Suite("doctor: each check with its fix")
struct DoctorTests {
    static func checks(_ envelope: [String: Any]) -> [String: [String: Any]] {
        let list = (envelope["data"] as? [String: Any])?["checks"] as? [[String: Any]] ?? []
        return Dictionary(list.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// A passphrase-protected copy of a member's key.
    static func encryptedKey(_ federation: Federation, _ member: Federation.Member) throws -> String {
        let path = federation.scratch.url("keys/encrypted")
        try FileManager.default.copyItem(atPath: member.key.privatePath, toPath: path)
        let changed = try ProcessRunner.run("ssh-keygen", ["-q", "-p", "-P", "", "-N", "correct horse", "-f", path])
        try #require(changed.exitCode == 0, "\(changed.stderr)")
        return path
    }

    @Test("a sound set-up: every check ok (no agent needed for an unencrypted key file, as under cron), exit 0; a remote gone away fails the reachability check (exit 3), and the failed fetch is a warning")
    func sound() throws {
        let federation = try Federation()
        try federation.initialise()
        let (result, envelope) = try federation.json(federation.admin, ["doctor"])
        #expect(result.exitCode == 0, "\(result.stdout)")
        let checks = Self.checks(envelope)
        for name in ["network helper", "config", "identity", "signing key", "store shared: sync", "store shared: cache", "store shared: remote"] {
            #expect(checks[name]?["status"] as? String == "ok", "\(name): \(String(describing: checks[name]))")
        }
        #expect(checks["ssh-agent"]?["status"] as? String == "ok", "\(String(describing: checks["ssh-agent"]))")
        #expect((checks["ssh-agent"]?["detail"] as? String)?.contains("none needed") == true)
        #expect((checks["signing key"]?["detail"] as? String)?.contains(federation.signer) == true)
        #expect((checks["store shared: remote"]?["detail"] as? String)?.contains("\(federation.remoteURL) answers in") == true, "\(String(describing: checks["store shared: remote"]))")
        let text = try federation.run(federation.admin, ["doctor"])
        #expect(text.stdout.contains("ok    store shared: sync: last successful sync"), "\(text.stdout)")

        // The remote goes away: within --alert-after status is still 0, but doctor does not say ok:
        // the remote cannot be reached now (3, with the fix), and the last fetch failed.
        try FileManager.default.moveItem(atPath: federation.remotePath, toPath: federation.remotePath + ".away")
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 3)
        #expect(try federation.run(federation.admin, ["status"]).exitCode == 0)
        let (failing, failed) = try federation.json(federation.admin, ["doctor"])
        #expect(failing.exitCode == 3, "\(failing.stdout)")
        let remote = Self.checks(failed)["store shared: remote"]
        #expect(remote?["status"] as? String == "fail", "\(String(describing: remote))")
        #expect((remote?["detail"] as? String)?.contains("\(federation.remoteURL) cannot be reached") == true, "\(String(describing: remote))")
        #expect((remote?["fix"] as? String)?.contains("\(federation.remotePath) is gone: restore the repository there, or point the store at where it is now") == true,
                "\(String(describing: remote))")
        let sync = Self.checks(failed)["store shared: sync"]
        #expect(sync?["status"] as? String == "warning", "\(String(describing: sync))")
        #expect((sync?["detail"] as? String)?.contains("the last fetch FAILED") == true, "\(String(describing: sync))")
    }

    @Test("a network helper that is not there fails doctor with exit 2 and the fix; a push then fails saying so, and keeps the memory")
    func missingHelper() throws {
        let federation = try Federation()
        try federation.initialise()
        let missing: [String: String?] = ["SFGIT_NETWORK_HELPER": "/nonexistent/sfgit-network"]
        let (result, envelope) = try federation.json(federation.admin, ["doctor"], environment: missing)
        #expect(result.exitCode == 2, "\(result.stdout)")
        let check = Self.checks(envelope)["network helper"]
        #expect(check?["status"] as? String == "fail", "\(String(describing: check))")
        #expect((check?["fix"] as? String)?.contains("SFGIT_NETWORK_HELPER") == true)
        // A push runs in the helper: without it the sync degrades, naming it, and the memory waits.
        #expect(try federation.run(federation.admin, ["remember", "note", "--title", "pushed later"]).exitCode == 0)
        let (sync, synced) = try federation.json(federation.admin, ["sync"], environment: missing)
        #expect(sync.exitCode == 3, "\(sync.stdout)")
        #expect(sync.stdout.contains("sfgit-network") && sync.stdout.contains("PUSH_FAILED"), "\(sync.stdout)")
        #expect((((synced["data"] as? [String: Any])?["stores"] as? [[String: Any]])?.first?["pending"] as? Int) == 1, "\(sync.stdout)")
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
    }

    @Test("the cache's age counts from the last write of memories, not from the last read: recall, status and doctor leave it alone")
    func cacheAge() throws {
        let federation = try Federation()
        try federation.initialise()
        func updatedAt() throws -> String? {
            let stores = ((try federation.json(federation.admin, ["status"]).1["data"] as? [String: Any])?["stores"] as? [[String: Any]])
            return stores?.first?["cache_updated_at"] as? String
        }
        #expect(try federation.run(federation.admin, ["remember", "note", "--title", "written now"]).exitCode == 0)
        let written = try #require(try updatedAt())
        usleep(1_200_000)
        #expect(try federation.recallAnswers(federation.admin, ["written"]).count == 1)
        _ = try federation.run(federation.admin, ["doctor"])
        #expect(try updatedAt() == written)
        // A new memory is a write: the age starts again.
        #expect(try federation.run(federation.admin, ["remember", "note", "--title", "written later"]).exitCode == 0)
        #expect(try updatedAt() != written)
    }

    @Test("an encrypted key without an agent: doctor and remember exit 2 with the fix, not INTERNAL")
    func encryptedKeyWithoutAgent() throws {
        let federation = try Federation()
        try federation.initialise()
        let encrypted = try Self.encryptedKey(federation, federation.admin)
        let environment: [String: String?] = ["SFGIT_SIGNING_KEY": encrypted, "SSH_AUTH_SOCK": nil]
        let (result, envelope) = try federation.json(federation.admin, ["doctor"], environment: environment)
        #expect(result.exitCode == 2)
        let key = try #require(Self.checks(envelope)["signing key"])
        #expect(key["status"] as? String == "fail")
        #expect((key["detail"] as? String)?.contains("is encrypted (it has a passphrase) and no ssh-agent is reachable") == true, "\(key)")
        #expect((key["fix"] as? String)?.contains("ssh-add \(encrypted)") == true)
        let remembered = try federation.run(federation.admin, ["remember", "note", "--title", "needs a key"], environment: environment)
        #expect(remembered.exitCode == 2, "\(remembered.stderr)")
        #expect(remembered.stderr.contains("ssh-add \(encrypted)"), "\(remembered.stderr)")
        #expect(!remembered.stderr.contains("Enter passphrase"))
    }

    @Test("missing identity, missing key, a stale store, a foreign-writable config: each named with its fix and exit code")
    func brokenSetups() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")
        let noKey = try federation.json(server, ["doctor"], environment: ["SFGIT_SIGNING_KEY": federation.scratch.url("gone")])
        #expect(noKey.0.exitCode == 2)
        #expect((Self.checks(noKey.1)["signing key"]?["fix"] as? String)?.contains("sfgit config set identity.key") == true)

        // A home with no identity at all: a fresh SFGIT_HOME.
        let fresh = try federation.json(server, ["doctor"], environment: ["SFGIT_HOME": federation.scratch.url("fresh"), "SFGIT_AUTHOR": nil, "SFGIT_HOST": nil])
        #expect(fresh.0.exitCode == 2)
        #expect((Self.checks(fresh.1)["identity"]?["fix"] as? String)?.contains("sfgit config set identity.author") == true)

        // Stale: the last success long ago.
        let statePath = server.home + "/stores/shared/state.json"
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: statePath))) as? [String: Any])
        state["last_success_at"] = "2020-01-01T00:00:00Z"
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: statePath))
        let stale = try federation.json(server, ["doctor"])
        #expect(stale.0.exitCode == 3)
        let sync = try #require(Self.checks(stale.1)["store shared: sync"])
        #expect((sync["detail"] as? String)?.hasPrefix("STALE:") == true, "\(sync)")
        #expect(sync["exit_code"] as? Int == 3)

        // Config another user could write: refused, exit 2, the chmod named.
        chmod(server.home + "/config.yaml", 0o666)
        let foreign = try federation.run(server, ["doctor"])
        #expect(foreign.exitCode == 2)
        #expect(foreign.stdout.contains("FAIL  config:"), "\(foreign.stdout)")
        #expect(foreign.stdout.contains("chmod 600"), "\(foreign.stdout)")
    }

    @Test("an ssh:// remote: no known_hosts line, or an ssh-rsa one only, fails with the ssh-keyscan -t ed25519 line; an ed25519 line is ok")
    func hostKeys() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")
        try federation.pointRemote(of: server, at: "ssh://git@127.0.0.1:2222/srv/remote.git")
        chmod(server.home + "/config.yaml", 0o600)
        let knownHosts = server.userHome + "/.ssh/known_hosts"
        let keyscan = "ssh-keyscan -t ed25519 -p 2222 127.0.0.1 >> \(knownHosts)"

        let unknown = try federation.json(server, ["doctor"])
        #expect(unknown.0.exitCode == 3)
        let missing = try #require(Self.checks(unknown.1)["store shared: host key"])
        #expect(missing["status"] as? String == "fail")
        #expect((missing["detail"] as? String)?.contains("no line of \(knownHosts) names [127.0.0.1]:2222") == true, "\(missing)")
        #expect((missing["fix"] as? String)?.contains(keyscan) == true, "\(missing)")
        // Nothing listens there: the remote check fails too, with the network fix.
        let unreachable = try #require(Self.checks(unknown.1)["store shared: remote"])
        #expect(unreachable["status"] as? String == "fail")
        #expect((unreachable["fix"] as? String)?.contains("git ls-remote ssh://git@127.0.0.1:2222/srv/remote.git") == true, "\(unreachable)")

        try "[127.0.0.1]:2222 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let rsa = try #require(Self.checks(try federation.json(server, ["doctor"]).1)["store shared: host key"])
        #expect((rsa["detail"] as? String)?.contains("ssh-rsa only") == true, "\(rsa)")
        #expect((rsa["fix"] as? String) == keyscan)

        try "[127.0.0.1]:2222 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC\n[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\n"
            .write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let good = try #require(Self.checks(try federation.json(server, ["doctor"]).1)["store shared: host key"])
        #expect(good["status"] as? String == "ok", "\(good)")
        #expect((good["detail"] as? String)?.contains("ssh-ed25519") == true)
        // file:// remotes have no host key to check.
        #expect(Self.checks(try federation.json(federation.admin, ["doctor"]).1)["store shared: host key"] == nil)
    }

    @Test("a clock behind the store's newest verified commit is a warning with the fix; a clock in step is ok")
    func clockBehind() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")
        let inStep = try #require(Self.checks(try federation.json(server, ["doctor"]).1)["store shared: clock"])
        #expect(inStep["status"] as? String == "ok", "\(inStep)")

        // Another host, whose clock runs 5 minutes ahead, commits (within the 10 minutes allowed).
        let ana = try federation.join("ana@desk", clone: false)
        let work = federation.scratch.url("ana-clone")
        var git = GitCLI(directory: work, home: ana.userHome)
        git.date = ISO8601DateFormatter().string(from: Date().addingTimeInterval(300))
        _ = try ProcessRunner.run("git", ["clone", "-q", federation.remotePath, work], environment: git.environment)
        let id = "01JSQ8K2ZC4T7VXW9Y3B5N6M8P"
        try FileManager.default.createDirectory(atPath: work + "/memories/note/2025/04", withIntermediateDirectories: true)
        try "---\nschema: 1\nid: \(id)\nkind: note\nauthor: ana\nhost: desk\nrecorded_at: 2025-04-29T03:12:44Z\n---\ntitle: from a fast clock\n"
            .write(toFile: work + "/memories/note/2025/04/\(id).yaml", atomically: true, encoding: .utf8)
        _ = try git.run(["add", "-A"])
        _ = try git.signedCommit("from a fast clock", key: ana.key.privatePath)
        _ = try git.run(["push", "-q", "origin", "HEAD:main"])
        #expect(try federation.run(server, ["sync"]).exitCode == 0)

        let (result, envelope) = try federation.json(server, ["doctor"])
        #expect(result.exitCode == 0, "a warning does not fail: \(result.stdout)")
        let clock = try #require(Self.checks(envelope)["store shared: clock"])
        #expect(clock["status"] as? String == "warning", "\(clock)")
        #expect((clock["detail"] as? String)?.contains("after this host's clock") == true, "\(clock)")
        #expect((clock["fix"] as? String)?.contains("timedatectl") == true)
    }
}

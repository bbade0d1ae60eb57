import Foundation
import SFGitTestSupport
import Testing

/// `init` and `clone` leave nothing behind when they fail: the same command can simply be run
/// again once its cause is fixed.
@Suite("joining: init and clone that fail leave nothing registered")
struct JoinTests {
    static func configText(_ member: Federation.Member) -> String {
        (try? String(contentsOfFile: member.home + "/config.yaml", encoding: .utf8)) ?? ""
    }

    @Test("clone with a wrong --signer or --introduction: not Joined, nothing registered, and the right pin then joins")
    func wrongPin() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server", clone: false)
        let wrongSigner = try federation.run(server, ["clone", federation.remoteURL, "--introduction", federation.introduction,
                                                      "--signer", server.key.fingerprint, "--store", "shared"])
        #expect(wrongSigner.exitCode == 5, "\(wrongSigner.stdout)\(wrongSigner.stderr)")
        #expect(!wrongSigner.stdout.contains("Joined"))
        #expect(wrongSigner.stderr.contains("nothing was registered"), "\(wrongSigner.stderr)")
        #expect(!Self.configText(server).contains("name: shared"))
        #expect(!FileManager.default.fileExists(atPath: server.home + "/stores/shared"))

        // Not a fingerprint at all: a usage error before any network step.
        let garbage = try federation.run(server, ["clone", federation.remoteURL, "--introduction", federation.introduction,
                                                  "--signer", "SHA256:garbage", "--store", "shared"])
        #expect(garbage.exitCode == 2, "\(garbage.stdout)\(garbage.stderr)")
        #expect(garbage.stderr.contains("is not a key fingerprint"), "\(garbage.stderr)")
        #expect(!Self.configText(server).contains("name: shared"))

        let wrongIntroduction = try federation.json(server, ["clone", federation.remoteURL, "--introduction", String(repeating: "a", count: 40),
                                                              "--signer", federation.signer, "--store", "shared"])
        #expect(wrongIntroduction.0.exitCode != 0)
        #expect(wrongIntroduction.1["status"] as? String != "ok")
        #expect(!Self.configText(server).contains("name: shared"))
        #expect(!FileManager.default.fileExists(atPath: server.home + "/stores/shared"))

        let joined = try federation.run(server, ["clone", federation.remoteURL, "--introduction", federation.introduction,
                                                 "--signer", federation.signer, "--store", "shared"])
        #expect(joined.exitCode == 0, "\(joined.stderr)")
        #expect(joined.stdout.hasPrefix("Joined store shared"))
        #expect(Self.configText(server).contains("name: shared"))
    }

    @Test("clone of an unreachable remote: exit 3, nothing registered")
    func unreachable() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server", clone: false)
        let missing = "file://" + federation.scratch.url("nowhere.git")
        let result = try federation.run(server, ["clone", missing, "--introduction", federation.introduction, "--signer", federation.signer, "--store", "shared"])
        #expect(result.exitCode == 3, "\(result.stdout)\(result.stderr)")
        #expect(!result.stdout.contains("Joined"))
        #expect(!Self.configText(server).contains("name: shared"))
        #expect(!FileManager.default.fileExists(atPath: server.home + "/stores/shared"))
    }

    @Test("init on a missing remote says how to create it and leaves no store behind")
    func initMissingRemote() throws {
        let federation = try Federation()
        let missing = federation.scratch.url("missing.git")
        let result = try federation.run(federation.admin, ["init", "--remote", "file://" + missing, "--store", "shared"])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("git init --bare --initial-branch=main \(missing)"), "\(result.stderr)")
        #expect(result.stderr.contains("nothing was created"))
        #expect(result.stderr.contains("there is no repository at \(missing)"), "\(result.stderr)")
        // A plain path says the same; an ssh URL's hint keeps its port.
        let plain = try federation.run(federation.admin, ["init", "--remote", missing, "--store", "shared"])
        #expect(plain.exitCode == 3)
        #expect(plain.stderr.contains("there is no repository at \(missing)") && !plain.stderr.contains("unsupported URL protocol"), "\(plain.stderr)")
        let ssh = try federation.run(federation.admin, ["init", "--remote", "ssh://git@127.0.0.1:1/srv/x.git", "--store", "shared", "--timeout", "10s"])
        #expect(ssh.exitCode == 3)
        #expect(ssh.stderr.contains("ssh -p 1 git@127.0.0.1 git init --bare --initial-branch=main /srv/x.git"), "\(ssh.stderr)")
        #expect(!FileManager.default.fileExists(atPath: federation.admin.home + "/stores/shared"))
        #expect(!Self.configText(federation.admin).contains("name: shared"))
        // Following the advice works.
        _ = try ProcessRunner.run("git", ["init", "-q", "--bare", "--initial-branch=main", missing])
        #expect(try federation.run(federation.admin, ["init", "--remote", "file://" + missing, "--store", "shared"]).exitCode == 0)
    }
}

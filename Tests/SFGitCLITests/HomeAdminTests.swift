import Foundation
import SFGitTestSupport
import Testing

/// `config get|set`, `whoami`, `store list|remove`: a home administered without editing YAML.
@Suite("home: config, whoami, store list and remove")
struct HomeAdminTests {
    /// The environment without any identity variable: config.yaml alone decides, as under cron.
    static let noIdentity: [String: String?] = ["SFGIT_AUTHOR": nil, "SFGIT_HOST": nil, "SFGIT_SIGNING_KEY": nil]

    /// A path without `//` or `.` components, as sfgit stores it.
    static func standardized(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    @Test("config set identity.key stores a relative path absolute; it then signs from any directory with no SFGIT_* variables")
    func relativeKeyStoredAbsolute() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let relative = String(laptop.key.privatePath.dropFirst(federation.scratch.path.count + 1))
        #expect(!relative.hasPrefix("/"))
        let absolute = Self.standardized(laptop.key.privatePath)
        let set = try federation.run(laptop, ["config", "set", "identity.key", relative])  // run from the scratch directory
        #expect(set.exitCode == 0, "\(set.stderr)")
        #expect(set.stdout == "identity.key = \(absolute)\n")
        let got = try federation.json(laptop, ["config", "get", "identity.key"])
        #expect((got.1["data"] as? [String: Any])?["value"] as? String == absolute)
        #expect(try federation.run(laptop, ["config", "set", "identity.author", "me"]).exitCode == 0)
        #expect(try federation.run(laptop, ["config", "get", "identity.author"]).stdout == "me\n")

        let elsewhere = try PackagePaths.runSFGit(["remember", "note", "--title", "signed from elsewhere"],
                                                  environment: federation.environment(laptop).merging(Self.noIdentity) { $1 },
                                                  currentDirectory: "/")
        #expect(elsewhere.exitCode == 0, "\(elsewhere.stderr)")
        #expect(try federation.run(laptop, ["sync"], environment: Self.noIdentity).exitCode == 0)
        #expect(try federation.remoteMemoryPaths().count == 1)
    }

    @Test("clone --key with a relative path stores it absolute: the joined host signs from any directory")
    func cloneRelativeKeyStoredAbsolute() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop", clone: false)
        let relative = String(laptop.key.privatePath.dropFirst(federation.scratch.path.count + 1))
        #expect(!relative.hasPrefix("/"))
        // Identity by flags only, run from the scratch directory, as a person joining would.
        let cloned = try federation.run(laptop, ["clone", federation.remoteURL, "--introduction", federation.introduction, "--signer", federation.signer,
                                                 "--store", "shared", "--author", "me", "--host", "laptop", "--key", relative], environment: Self.noIdentity)
        #expect(cloned.exitCode == 0, "\(cloned.stdout) \(cloned.stderr)")
        let config = try String(contentsOfFile: laptop.home + "/config.yaml", encoding: .utf8)
        #expect(config.contains("key: \(Self.standardized(laptop.key.privatePath))"), "\(config)")
        let elsewhere = try PackagePaths.runSFGit(["remember", "note", "--title", "signed from elsewhere"],
                                                  environment: federation.environment(laptop).merging(Self.noIdentity) { $1 }, currentDirectory: "/")
        #expect(elsewhere.exitCode == 0, "\(elsewhere.stderr)")
    }

    @Test("config refuses unknown keys, bad values and missing key files, naming what and why; an unset key is exit 8")
    func configErrors() throws {
        let federation = try Federation()
        try federation.initialise()
        let admin = federation.admin
        let unknown = try federation.run(admin, ["config", "set", "identity.colour", "blue"])
        #expect(unknown.exitCode == 2)
        #expect(unknown.stderr.contains("unknown key 'identity.colour'; keys: identity.author, identity.host, identity.key"), "\(unknown.stderr)")
        let badAuthor = try federation.run(admin, ["config", "set", "identity.author", "Ana Smith"])
        #expect(badAuthor.exitCode == 2)
        #expect(badAuthor.stderr.contains("identity.author 'Ana Smith' is not valid"), "\(badAuthor.stderr)")
        let missing = try federation.run(admin, ["config", "set", "identity.key", "no-such-key"])
        #expect(missing.exitCode == 2)
        #expect(missing.stderr.contains("no readable key at \(Self.standardized(federation.scratch.path))/no-such-key"), "\(missing.stderr)")
        let notAKey = try federation.run(admin, ["config", "set", "identity.key", federation.remotePath + "/HEAD"])
        #expect(notAKey.exitCode == 2)
        #expect(notAKey.stderr.contains("is not a usable signing key"), "\(notAKey.stderr)")
        let unset = try federation.run(admin, ["config", "get", "identity.instance"])
        #expect(unset.exitCode == 8)
        #expect(unset.stderr.contains("identity.instance is not set"))
        // Nothing of the refused values reached config.yaml.
        let config = try String(contentsOfFile: admin.home + "/config.yaml", encoding: .utf8)
        #expect(!config.contains("Ana Smith") && !config.contains("no-such-key"))
    }

    @Test("whoami: principal, key fingerprint, agent, and the roles each store gives it")
    func whoami() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let text = try federation.run(laptop, ["whoami"])
        #expect(text.exitCode == 0, "\(text.stderr)")
        #expect(text.stdout.contains("principal:  me@laptop"))
        #expect(text.stdout.contains("(\(laptop.key.fingerprint))"))
        #expect(text.stdout.contains("ssh-agent:  none (SSH_AUTH_SOCK is not set)"))
        #expect(text.stdout.contains("store shared: write; key listed"), "\(text.stdout)")
        let admin = try federation.json(federation.admin, ["whoami"])
        let store = try #require(((admin.1["data"] as? [String: Any])?["stores"] as? [[String: Any]])?.first)
        #expect(store["roles"] as? [String] == ["admin", "review", "write"])
        #expect(store["key_listed"] as? Bool == true)
        #expect((admin.1["data"] as? [String: Any])?["key_fingerprint"] as? String == federation.signer)
        // Another key for the same principal: the store does not list it.
        let other = try federation.newMember("other@box")
        let unlisted = try federation.run(laptop, ["whoami", "--key", other.key.privatePath])
        #expect(unlisted.stdout.contains("store shared: write; key NOT listed"), "\(unlisted.stdout)")
        let missing = try federation.run(laptop, ["whoami", "--key", federation.scratch.url("gone")])
        #expect(missing.exitCode == 2)
        #expect(missing.stdout.contains("cannot use it:"))
    }

    @Test("store list shows each store; store remove refuses to drop unpublished memories without --force, then forgets the store")
    func storeListRemove() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let listed = try federation.json(laptop, ["store", "list"])
        let entry = try #require((listed.1["data"] as? [[String: Any]])?.first)
        #expect(entry["name"] as? String == "shared")
        #expect(entry["introduction"] as? String == federation.introduction)
        #expect(entry["verified_tip"] as? String != nil)
        #expect(try federation.run(laptop, ["store", "list"]).stdout.hasPrefix("shared  \(federation.remoteURL)  verified "))

        #expect(try federation.run(laptop, ["remember", "note", "--title", "only here"]).exitCode == 0)
        let refused = try federation.run(laptop, ["store", "remove", "shared"])
        #expect(refused.exitCode == 6)
        #expect(refused.stderr.contains("1 unpublished outbox commit"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: laptop.home + "/stores/shared"))

        let removed = try federation.run(laptop, ["store", "remove", "shared", "--force"])
        #expect(removed.exitCode == 0, "\(removed.stderr)")
        #expect(removed.stdout.contains("discarded 1 unpublished"))
        #expect(!FileManager.default.fileExists(atPath: laptop.home + "/stores/shared"))
        #expect((try federation.json(laptop, ["store", "list"]).1["data"] as? [Any])?.isEmpty == true)
        #expect(try federation.run(laptop, ["store", "remove", "shared"]).exitCode == 8)
        // The same clone joins again.
        try federation.clone(laptop)
    }

    @Test("default_store: with several stores a write needs --store or the default; the default must be a store and leaves with it")
    func defaultStore() throws {
        let federation = try Federation()
        try federation.initialise()
        let admin = federation.admin
        let second = federation.scratch.url("second.git")
        _ = try ProcessRunner.run("git", ["init", "-q", "--bare", "--initial-branch=main", second])
        let made = try federation.run(admin, ["init", "--remote", "file://" + second, "--store", "second"])
        #expect(made.exitCode == 0, "\(made.stderr)")

        let ambiguous = try federation.run(admin, ["remember", "note", "--title", "where does this go"])
        #expect(ambiguous.exitCode == 2)
        #expect(ambiguous.stderr.contains("several stores (shared, second)") && ambiguous.stderr.contains("sfgit config set default_store NAME"), "\(ambiguous.stderr)")
        let unknown = try federation.run(admin, ["config", "set", "default_store", "third"])
        #expect(unknown.exitCode == 2)
        #expect(unknown.stderr.contains("not one of this home's stores (shared, second)"), "\(unknown.stderr)")
        #expect(try federation.run(admin, ["config", "get", "default_store"]).exitCode == 8)

        #expect(try federation.run(admin, ["config", "set", "default_store", "second"]).stdout == "default_store = second\n")
        let written = try federation.run(admin, ["remember", "note", "--title", "goes to the default"])
        #expect(written.exitCode == 0, "\(written.stderr)")
        #expect(try federation.recallAnswers(admin, ["goes", "--store", "second"]).count == 1)
        #expect(try federation.recallAnswers(admin, ["goes", "--store", "shared"]).isEmpty)
        // --store still wins over the default.
        #expect(try federation.run(admin, ["remember", "note", "--title", "named explicitly", "--store", "shared"]).exitCode == 0)
        #expect(try federation.recallAnswers(admin, ["explicitly", "--store", "shared"]).count == 1)

        let removed = try federation.run(admin, ["store", "remove", "second", "--force"])
        #expect(removed.exitCode == 0)
        #expect(removed.stdout.contains("It was default_store, which is now unset"), "\(removed.stdout)")
        #expect(try federation.run(admin, ["config", "get", "default_store"]).exitCode == 8)
        // A hand-edited default that names no store is refused with the file, line and reason.
        let config = admin.home + "/config.yaml"
        try (String(contentsOfFile: config, encoding: .utf8) + "default_store: gone\n").write(toFile: config, atomically: true, encoding: .utf8)
        let broken = try federation.run(admin, ["status"])
        #expect(broken.exitCode == 2)
        #expect(broken.stderr.contains("config.yaml:") && broken.stderr.contains("default_store names gone, which is not one of the stores"), "\(broken.stderr)")
    }

    @Test("verify --store checks the store's own repository with the pin config.yaml holds")
    func verifyStore() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        #expect(try federation.run(laptop, ["remember", "note", "--title", "published"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let verified = try federation.json(laptop, ["verify", "--store", "shared"])
        #expect(verified.0.exitCode == 0, "\(verified.0.stdout)\(verified.0.stderr)")
        #expect((verified.1["data"] as? [String: Any])?["verified_tip"] as? String == (try federation.remoteTip()))
        // The pin comes from config.yaml: pinned to another key, the same history is refused.
        let config = laptop.home + "/config.yaml"
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: federation.signer, with: laptop.key.fingerprint)
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        chmod(config, 0o600)
        #expect(try federation.run(laptop, ["verify", "--store", "shared"]).exitCode == 5)
        let both = try federation.run(laptop, ["verify", "--store", "shared", "--repo", "."])
        #expect(both.exitCode == 2)
        #expect(both.stderr.contains("--store takes the repository and the pin from config.yaml"))
        #expect(try federation.run(laptop, ["verify", "--store", "nope"]).exitCode == 8)
    }

    @Test("config set stores.NAME.trust.*: the store's consumer policy, applied to every recall")
    func consumerPolicy() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let set = try federation.run(laptop, ["config", "set", "stores.shared.trust.min_tier", "reviewed"])
        #expect(set.exitCode == 0, "\(set.stderr)")
        #expect(try federation.run(laptop, ["config", "get", "stores.shared.trust.min_tier"]).stdout == "reviewed\n")
        #expect(try String(contentsOfFile: laptop.home + "/config.yaml", encoding: .utf8).contains("min_tier: reviewed"))
        let recalled = try federation.json(laptop, ["recall"])
        let codes = (recalled.1["warnings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        #expect(codes.contains("CONSUMER_POLICY"), "\(codes)")
        #expect(try federation.run(laptop, ["config", "set", "stores.shared.trust.exclude_retired", "true"]).exitCode == 0)
        #expect(try federation.run(laptop, ["status"]).stdout.contains("trust filter:  min_tier reviewed; exclude_retired"))

        #expect(try federation.run(laptop, ["config", "set", "stores.shared.trust.min_tier", "none"]).exitCode == 0)
        #expect(try federation.run(laptop, ["config", "get", "stores.shared.trust.min_tier"]).exitCode == 8)
        let badTier = try federation.run(laptop, ["config", "set", "stores.shared.trust.min_tier", "trusted"])
        #expect(badTier.exitCode == 2)
        #expect(badTier.stderr.contains("'trusted' is not self, authenticated, reviewed or none"), "\(badTier.stderr)")
        #expect(try federation.run(laptop, ["config", "set", "stores.shared.trust.exclude_retired", "yes"]).exitCode == 2)
        #expect(try federation.run(laptop, ["config", "set", "stores.nope.trust.min_tier", "reviewed"]).exitCode == 8)
        let unknown = try federation.run(laptop, ["config", "set", "stores.shared.trust.colour", "x"])
        #expect(unknown.exitCode == 2)
        #expect(unknown.stderr.contains("stores.NAME.trust.min_tier"), "\(unknown.stderr)")
    }
}

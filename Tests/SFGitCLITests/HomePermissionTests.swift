import Foundation
import SFGitTestSupport
import Testing

/// `SFGIT_HOME` is owner-only: what sfgit creates there is 0700 or 0600 whatever the umask, a
/// configuration another user could write is refused, and a cache another user could write is
/// discarded and rebuilt from git.
@Suite("home: owner-only files")
struct HomePermissionTests {
    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    static func octal(_ mode: mode_t?) -> String { mode.map { String($0, radix: 8) } ?? "missing" }

    /// Runs sfgit as a member under umask 000, so that only the modes sfgit sets count.
    static func runWithOpenUmask(_ federation: Federation, _ member: Federation.Member, _ arguments: [String]) throws -> ProcessResult {
        try ProcessRunner.run("/bin/sh", ["-c", "umask 000 && exec \"$0\" \"$@\"", PackagePaths.sfgitBinary] + arguments,
                              environment: federation.environment(member), currentDirectory: federation.scratch.path)
    }

    /// The home's own directories are 0700 and sfgit's files in them 0600; nothing directly in
    /// them is open to others (libgit2's and SQLite's files inside `repo.git` are behind its 0700).
    static func expectOwnerOnly(_ home: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let store = home + "/stores/shared"
        for directory in [home, home + "/stores", store, store + "/repo.git"] {
            #expect(mode(directory) == 0o700, "\(directory) is \(octal(mode(directory)))", sourceLocation: sourceLocation)
        }
        for file in [home + "/config.yaml", store + "/cache.sqlite", store + "/state.json", store + "/sync.lock"] {
            #expect(mode(file) == 0o600, "\(file) is \(octal(mode(file)))", sourceLocation: sourceLocation)
        }
        for directory in [home, home + "/stores", store] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                let path = directory + "/" + name
                #expect((mode(path) ?? 0) & 0o077 == 0, "\(path) is \(octal(mode(path)))", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("init, clone, remember and sync leave the home owner-only, even under umask 000")
    func modesAfterWrites() throws {
        let federation = try Federation()
        let admin = federation.admin
        let made = try Self.runWithOpenUmask(federation, admin, ["init", "--remote", federation.remoteURL, "--store", "shared", "--json"])
        #expect(made.exitCode == 0, "\(made.stdout)\(made.stderr)")
        let introduction = try #require((((try JSONSerialization.jsonObject(with: Data(made.stdout.utf8))) as? [String: Any])?["data"] as? [String: Any])?["introduction"] as? [String: Any])
        let laptop = try federation.newMember("me@laptop")
        #expect(try Self.runWithOpenUmask(federation, admin, ["trust", "add", laptop.principal, laptop.key.publicPath, "--role", "write"]).exitCode == 0)
        #expect(try Self.runWithOpenUmask(federation, admin, ["sync"]).exitCode == 0)
        Self.expectOwnerOnly(admin.home)

        let cloned = try Self.runWithOpenUmask(federation, laptop, ["clone", federation.remoteURL, "--introduction", introduction["commit"] as! String,
                                                                    "--signer", introduction["signer"] as! String, "--store", "shared"])
        #expect(cloned.exitCode == 0, "\(cloned.stdout)\(cloned.stderr)")
        Self.expectOwnerOnly(laptop.home)
        #expect(try Self.runWithOpenUmask(federation, laptop, ["remember", "note", "--title", "written under umask 000"]).exitCode == 0)
        #expect(try Self.runWithOpenUmask(federation, laptop, ["sync"]).exitCode == 0)
        Self.expectOwnerOnly(laptop.home)
        #expect(try Self.runWithOpenUmask(federation, admin, ["sync"]).exitCode == 0)
        #expect(try Self.runWithOpenUmask(federation, admin, ["recall", "umask"]).stdout.contains("written under umask 000"))
        Self.expectOwnerOnly(admin.home)
    }

    @Test("a config.yaml other users can write, or another user owns, is refused with exit 2 and the fix")
    func configWritableByOthers() throws {
        let federation = try Federation()
        try federation.initialise()
        let config = federation.admin.home + "/config.yaml"
        chmod(config, 0o666)
        let refused = try federation.run(federation.admin, ["status"])
        #expect(refused.exitCode == 2)
        #expect(refused.stderr.contains("refusing to read \(config)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("other users can write it (mode 0666)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("chmod 600 \(config)"), "\(refused.stderr)")
        #expect(try federation.run(federation.admin, ["recall", "anything"]).exitCode == 2)
        chmod(config, 0o620)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 2)
        chmod(config, 0o600)
        #expect(try federation.run(federation.admin, ["status"]).exitCode == 0)

        if geteuid() == 0 {
            #expect(chown(config, 65534, 65534) == 0)
            let foreign = try federation.run(federation.admin, ["status"])
            #expect(foreign.exitCode == 2)
            #expect(foreign.stderr.contains("owned by uid 65534"), "\(foreign.stderr)")
            #expect(foreign.stderr.contains("chmod 600 \(config)"), "\(foreign.stderr)")
            #expect(chown(config, 0, 0) == 0)
        }
    }

    @Test("a home directory others can write is tightened to 0700")
    func homeTightened() throws {
        let federation = try Federation()
        try federation.initialise()
        let home = federation.admin.home
        chmod(home, 0o777)
        chmod(home + "/stores", 0o775)
        #expect(try federation.run(federation.admin, ["status"]).exitCode == 0)
        #expect(Self.mode(home) == 0o700)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        #expect(Self.mode(home + "/stores") == 0o700)
    }

    @Test("a cache other users can write is discarded and rebuilt from git: recall still answers, from an owner-only file")
    func cacheWritableByOthers() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        #expect(try federation.run(federation.admin, ["remember", "learning", "--title", "the cache is disposable"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let cache = laptop.home + "/stores/shared/cache.sqlite"
        // Someone else's write would be served as verified: here, a memory nobody signed.
        let planted = try ProcessRunner.run("python3", ["-c", "import sqlite3,sys; c = sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE memory SET title = 'planted by another user'\"); c.commit()", cache])
        #expect(planted.exitCode == 0, "\(planted.stderr)")
        chmod(cache, 0o666)

        let recalled = try federation.run(laptop, ["recall", "disposable", "--json"], environment: ["SFGIT_LOG": "debug"])
        #expect(recalled.exitCode == 0, "\(recalled.stderr)")
        let items = (try JSONSerialization.jsonObject(with: Data(recalled.stdout.utf8)) as? [String: Any])?["data"] as? [[String: Any]] ?? []
        #expect(items.count == 1)
        #expect(items.first?["title"] as? String == "the cache is disposable")
        #expect(!recalled.stdout.contains("planted"))
        #expect(recalled.stderr.contains("discarding the cache"), "\(recalled.stderr)")
        #expect(Self.mode(cache) == 0o600)

        // The same for a sync, and for a write-ahead log others can write.
        chmod(cache, 0o646)
        let synced = try federation.run(laptop, ["sync"], environment: ["SFGIT_LOG": "debug"])
        #expect(synced.exitCode == 0, "\(synced.stderr)")
        #expect(synced.stderr.contains("discarding the cache"), "\(synced.stderr)")
        #expect(Self.mode(cache) == 0o600)
        #expect(try federation.run(laptop, ["recall", "disposable"]).stdout.contains("the cache is disposable"))
    }
}

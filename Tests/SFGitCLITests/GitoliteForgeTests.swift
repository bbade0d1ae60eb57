import Foundation
import SFGitTestSupport
import Testing

/// gitolite as the store's forge: Debian's `gitolite3` behind a real sshd on 127.0.0.1, set up
/// offline in a scratch HOME with the README's rules (read from the README itself, so that the
/// rules people copy are the rules tested), driven by the built sfgit and by plain git.
@Suite("review: gitolite as the forge")
struct GitoliteForgeTests {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Debian's gitolite3: the command and the shell its authorized_keys lines force.
    static let command = "/usr/bin/gitolite"
    static let shell = "/usr/share/gitolite3/gitolite-shell"

    /// The gitolite rules of README.md (§ Review mode and the store's CI): the fenced block after
    /// "With gitolite (".
    static func readmeRules() throws -> String {
        let readme = try String(contentsOfFile: PackagePaths.root + "/README.md", encoding: .utf8)
        guard let lead = readme.range(of: "With gitolite ("),
              let open = readme.range(of: "```\n", range: lead.upperBound..<readme.endIndex),
              let close = readme.range(of: "\n```", range: open.upperBound..<readme.endIndex) else {
            throw Failure(description: "README.md has no gitolite rules block after 'With gitolite ('")
        }
        return String(readme[open.upperBound..<close.lowerBound]) + "\n"
    }

    /// gitolite installed for this user with its own HOME in a temporary directory. sshd sets HOME
    /// from passwd, so the forced commands carry it: gitolite's own authorized_keys lines,
    /// rewritten to `command="env HOME=<home> …/gitolite-shell NAME",…`.
    final class Forge: @unchecked Sendable {
        let home: String
        /// The store's repository, as gitolite keeps it.
        var repository: String { home + "/repositories/memories.git" }
        private let server: SSHServer
        private var authorized: Set<String> = []

        /// `gitolite setup` with the admin's key (gitolite's user `admin-hq`), then the rules
        /// appended to `~/.gitolite/conf/gitolite.conf` and compiled (`gitolite setup` again),
        /// which creates the `memories` repository with gitolite's update hook.
        init(home: String, server: SSHServer, admin: Federation.Member, rules: String) throws {
            self.home = home
            self.server = server
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            try run(["setup", "-pk", admin.key.publicPath])
            let conf = home + "/.gitolite/conf/gitolite.conf"
            try (String(contentsOfFile: conf, encoding: .utf8) + "\n" + rules).write(toFile: conf, atomically: true, encoding: .utf8)
            try run(["setup"])
            // The shared branch is main (gitolite's git init names master).
            try git(["symbolic-ref", "HEAD", "refs/heads/main"])
            try authorize(admin)
        }

        /// A gitolite command with this HOME.
        @discardableResult
        func run(_ arguments: [String]) throws -> String {
            let result = try ProcessRunner.run(GitoliteForgeTests.command, arguments, environment: ["HOME": home, "GIT_CONFIG_NOSYSTEM": "1"],
                                               currentDirectory: home)
            guard result.exitCode == 0 else { throw Failure(description: "gitolite \(arguments.joined(separator: " ")): exit \(result.exitCode): \(result.stderr)") }
            return result.stdout
        }

        /// git on the store's repository, behind gitolite's back (reads only, and HEAD).
        @discardableResult
        func git(_ arguments: [String]) throws -> String {
            let result = try ProcessRunner.run("git", ["--git-dir", repository] + arguments, environment: ["GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"])
            guard result.exitCode == 0 else { throw Failure(description: "git \(arguments.joined(separator: " ")): exit \(result.exitCode): \(result.stderr)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// The branches of the store's repository, by name.
        func branches() throws -> [String: String] {
            var branches: [String: String] = [:]
            for line in try git(["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/"]).split(separator: "\n") {
                let parts = line.split(separator: " ")
                branches[String(parts[0])] = String(parts[1])
            }
            return branches
        }

        /// A member's key as gitolite's user `author-host` (the key file `author-host.pub`):
        /// the key goes into `~/.gitolite/keydir`, `gitolite setup` writes its authorized_keys
        /// line, and that line (HOME added) goes to the sshd. The member's known_hosts holds the server.
        func admit(_ member: Federation.Member) throws {
            let name = member.principal.replacingOccurrences(of: "@", with: "-")
            try FileManager.default.copyItem(atPath: member.key.publicPath, toPath: home + "/.gitolite/keydir/\(name).pub")
            try run(["setup"])
            try authorize(member)
        }

        private func authorize(_ member: Federation.Member) throws {
            let lines = try String(contentsOfFile: home + "/.ssh/authorized_keys", encoding: .utf8).split(separator: "\n").map(String.init)
            for line in lines where line.hasPrefix("command=\"") && !authorized.contains(line) {
                try server.authorize("command=\"env HOME=\(home) " + line.dropFirst("command=\"".count))
                authorized.insert(line)
            }
            try server.knownHostsLine.write(toFile: member.userHome + "/.ssh/known_hosts", atomically: true, encoding: .utf8)
        }
    }

    @Test("gitolite3 with the README's rules behind a real sshd: a writer's plain git push to main or to another writer's proposal branch is refused, and a rewind of its own; sfgit sync creates and pushes each writer's own proposal branch; a reviewer's review merge --push lands and its plain rewind is refused; every host accepts the merge; an admin's reset (the one rewind) lands")
    func readmeRulesOnGitolite() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.command) && FileManager.default.isExecutableFile(atPath: Self.shell),
                     "gitolite3 is not installed (\(Self.command), \(Self.shell)): run apt-get install gitolite3 (make test's set-up step installs it)")
        let rules = try Self.readmeRules()
        let federation = try Federation()
        let server = try SSHServer(in: federation.scratch.url("sshd"), authorizedKeys: [])
        defer { withExtendedLifetime(server) {} }
        let forge = try Forge(home: federation.scratch.url("gitolite"), server: server, admin: federation.admin, rules: rules)
        federation.remoteURL = "ssh://\(NSUserName())@127.0.0.1:\(server.port)/memories"
        let admin = federation.admin
        try federation.initialise()
        let writer = try federation.join("me@laptop") { try forge.admit($0) }
        let otherWriter = try federation.join("srv@server") { try forge.admit($0) }
        let reviewer = try federation.join("ana@desk", roles: ["review"]) { try forge.admit($0) }
        #expect(try federation.run(admin, ["policy", "set", "mode", "review"]).exitCode == 0)
        #expect(try federation.run(admin, ["sync"]).exitCode == 0)

        // The writer's sync creates its own proposal branch through gitolite (RW, creation).
        let id = try #require((try federation.json(writer, ["remember", "learning", "--title", "through gitolite"]).1["data"] as? [String: Any])?["id"] as? String)
        let proposed = try federation.run(writer, ["sync"])
        #expect(proposed.exitCode == 0, "\(proposed.stdout) \(proposed.stderr)")
        let main = try #require(try forge.branches()["main"])
        let proposal = try #require(try forge.branches()["sfgit/proposals/me@laptop"])

        // The writer's plain git, with its own key: main, another writer's branch and a rewind of
        // its own are refused by gitolite's update hook.
        let work = federation.scratch.url("writer-git")
        let git = GitCLI(directory: work, home: writer.userHome)
        func push(_ refspec: String, as member: Federation.Member) throws -> ProcessResult {
            var environment = git.environment
            environment["GIT_SSH_COMMAND"] = "ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i \(member.key.privatePath) "
                + "-o UserKnownHostsFile=\(member.userHome)/.ssh/known_hosts"
            return try ProcessRunner.run("git", ["push", federation.remoteURL, refspec], environment: environment, currentDirectory: work)
        }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try git.run(["init", "-q", "--bare"])
        try git.run(["fetch", "-q", forge.repository, "refs/heads/*:refs/heads/*"])
        let toMain = try push("\(proposal):refs/heads/main", as: writer)
        #expect(toMain.exitCode != 0)
        #expect(toMain.stderr.contains("W refs/heads/main memories me-laptop DENIED"), "\(toMain.stderr)")
        let toOther = try push("\(proposal):refs/heads/sfgit/proposals/srv@server", as: writer)
        #expect(toOther.exitCode != 0)
        #expect(toOther.stderr.contains("W refs/heads/sfgit/proposals/srv@server memories me-laptop DENIED"), "\(toOther.stderr)")
        let rewindOwn = try push("+\(main):refs/heads/sfgit/proposals/me@laptop", as: writer)
        #expect(rewindOwn.exitCode != 0)
        #expect(rewindOwn.stderr.contains("+ refs/heads/sfgit/proposals/me@laptop memories me-laptop DENIED"), "\(rewindOwn.stderr)")
        #expect(try forge.branches() == ["main": main, "sfgit/proposals/me@laptop": proposal])

        // The other writer's sync creates its own branch: gitolite accepts that one.
        #expect(try federation.run(otherWriter, ["remember", "learning", "--title", "from the server"]).exitCode == 0)
        let otherProposed = try federation.run(otherWriter, ["sync"])
        #expect(otherProposed.exitCode == 0, "\(otherProposed.stdout) \(otherProposed.stderr)")
        #expect(try forge.branches()["sfgit/proposals/srv@server"] != nil)

        // The reviewer's merge lands on main as a fast-forward; its plain rewind is refused.
        let merged = try federation.json(reviewer, ["review", "merge", "me@laptop", "--push"])
        #expect(merged.0.exitCode == 0, "\(merged.0.stdout) \(merged.0.stderr)")
        #expect((merged.1["data"] as? [String: Any])?["state"] as? String == "merged")
        let merge = try forge.git(["rev-parse", "main"])
        #expect(try forge.git(["rev-parse", "main^1"]) == main)
        #expect(try forge.git(["rev-parse", "main^2"]) == proposal)
        let rewindMain = try push("+\(main):refs/heads/main", as: reviewer)
        #expect(rewindMain.exitCode != 0)
        #expect(rewindMain.stderr.contains("+ refs/heads/main memories ana-desk DENIED"), "\(rewindMain.stderr)")
        #expect(try forge.git(["rev-parse", "main"]) == merge)

        // Every host syncs and accepts the merge; the memory is reviewed; the writer's outbox empties.
        for host in [writer, otherWriter, reviewer, admin] {
            let synced = try federation.json(host, ["sync"])
            let report = (synced.1["data"] as? [String: Any])?["stores"] as? [[String: Any]] ?? []
            #expect(synced.0.exitCode == 0, "\(host.principal): \(synced.0.stdout)")
            #expect(report.first?["verified_tip"] as? String == merge, "\(host.principal): \(synced.0.stdout)")
            if host.principal == writer.principal { #expect(report.first?["pending"] as? Int == 0, "\(synced.0.stdout)") }
        }
        #expect((try federation.json(otherWriter, ["show", id]).1["data"] as? [String: Any])?["tier"] as? String == "reviewed")

        // The one rewind sfgit makes, an admin's reset statement, passes gitolite's RW+.
        let reset = try federation.json(admin, ["admin", "reset", "--to", main, "--reason", "undo the merge"])
        #expect(reset.0.exitCode == 0, "\(reset.0.stdout) \(reset.0.stderr)")
        #expect(try forge.git(["rev-parse", "main^"]) == main)
        #expect(try federation.run(writer, ["sync"]).exitCode == 0)
    }
}

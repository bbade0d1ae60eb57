import Foundation
import SFGitTestSupport
import Testing

/// Sync over real servers started on 127.0.0.1 by the test: OpenSSH `sshd` and smart HTTP
/// (lighttpd + `git http-backend`), plus a listener that accepts and never answers.
@Suite("transports: ssh, smart HTTP, deadlines", .serialized)
struct TransportTests {
    static func stores(_ envelope: [String: Any]) -> [[String: Any]] {
        (envelope["data"] as? [String: Any])?["stores"] as? [[String: Any]] ?? []
    }

    /// A federation whose remote is served by sshd; every member's key is authorized and its known_hosts holds the server.
    static func sshFederation() throws -> (Federation, SSHServer) {
        let federation = try Federation()
        let server = try SSHServer(in: federation.scratch.url("sshd"), authorizedKeys: [])
        federation.remoteURL = "ssh://\(NSUserName())@127.0.0.1:\(server.port)\(federation.remotePath)"
        try trust(federation.admin, on: server)
        try federation.initialise()
        return (federation, server)
    }

    static func trust(_ member: Federation.Member, on server: SSHServer) throws {
        try server.authorize(member.key.publicKey)
        try server.knownHostsLine.write(toFile: member.userHome + "/.ssh/known_hosts", atomically: true, encoding: .utf8)
    }

    @Test("ssh://: init, clone, remember, push and fetch through a real sshd, with known_hosts checked")
    func sshRoundTrip() throws {
        let (federation, server) = try Self.sshFederation()
        defer { withExtendedLifetime(server) {} }
        let laptop = try federation.join("me@laptop") { try Self.trust($0, on: server) }
        let reader = try federation.join("srv@server") { try Self.trust($0, on: server) }
        #expect(try federation.run(laptop, ["remember", "learning", "--title", "ssh works"]).exitCode == 0)
        let pushed = try federation.json(laptop, ["sync"])
        #expect(pushed.0.exitCode == 0, "\(pushed.0.stdout)\(pushed.0.stderr)")
        #expect(Self.stores(pushed.1).first?["pushed"] as? Int == 1)
        #expect(try federation.run(reader, ["sync"]).exitCode == 0)
        #expect((try federation.json(reader, ["recall", "ssh"]).1["data"] as? [Any])?.count == 1)
    }

    @Test("ssh://: four hosts remember and sync at the same moment; every sync ends ok by itself, every memory lands once")
    func sshConcurrentSyncs() throws {
        let (federation, server) = try Self.sshFederation()
        defer { withExtendedLifetime(server) {} }
        let hosts = try ["a@one", "b@two", "c@three", "d@four"].map { principal in try federation.join(principal) { try Self.trust($0, on: server) } }
        var written: Set<String> = []
        for host in hosts {
            let remembered = try federation.json(host, ["remember", "note", "--title", "raced from \(host.principal)"])
            written.insert(try #require((remembered.1["data"] as? [String: Any])?["id"] as? String))
        }
        let results = ConcurrentResults()
        DispatchQueue.concurrentPerform(iterations: hosts.count) { index in
            results.record(index, Result { try federation.json(hosts[index], ["sync"]) })
        }
        var retried = 0
        for (index, host) in hosts.enumerated() {
            let (result, envelope) = try #require(try results[index]?.get())
            #expect(result.exitCode == 0, "\(host.principal): \(result.stdout)\(result.stderr)")
            let report = try #require(Self.stores(envelope).first)
            #expect(report["pending"] as? Int == 0)
            #expect(report["pushed"] as? Int == 1)
            let pushes = (report["phases"] as? [[String: Any]] ?? []).filter { $0["name"] as? String == "push" }.compactMap { $0["status"] as? String }
            if pushes.first == "failed" { retried += 1 }
        }
        // Not asserted (the kernel decides who is first), but worth seeing when it goes wrong.
        print("sshConcurrentSyncs: \(retried) of \(hosts.count) syncs lost a race and retried")
        let paths = try federation.remoteMemoryPaths()
        #expect(paths.count == written.count)
        #expect(Set(paths.map { String($0.split(separator: "/").last!.dropLast(5)) }) == written)
    }

    @Test("ssh://: a server that answers a lost race with 'failed to update ref' (cannot lock ref) gets the push again, after a re-fetch")
    func sshServerLostRace() throws {
        let (federation, server) = try Self.sshFederation()
        defer { withExtendedLifetime(server) {} }
        let laptop = try federation.join("me@laptop") { try Self.trust($0, on: server) }
        let desk = try federation.join("ana@desk") { try Self.trust($0, on: server) }
        // The desk publishes a memory; the branch is put back so that the desk's commit can land
        // again while the laptop pushes, as if the desk had been a moment faster.
        let before = try federation.remoteTip()
        #expect(try federation.run(desk, ["remember", "note", "--title", "the desk was first"]).exitCode == 0)
        #expect(try federation.run(desk, ["sync"]).exitCode == 0)
        let deskTip = try federation.remoteTip()
        _ = try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "update-ref", "refs/heads/main", before, deskTip])
        // Once, between the laptop's ref advertisement and its ref update, the branch moves: git
        // receive-pack then answers "failed to update ref" (cannot lock ref … is at X but expected
        // Y), not "non-fast-forward". Ref updates are refused inside the push's quarantine, hence env -u.
        let marker = federation.scratch.url("moved-once")
        let hook = federation.remotePath + "/hooks/pre-receive"
        try """
            #!/bin/sh
            cat >/dev/null
            if [ ! -e '\(marker)' ]; then
                touch '\(marker)'
                env -u GIT_QUARANTINE_PATH git update-ref refs/heads/main \(deskTip) \(before) || exit 1
            fi
            exit 0

            """.write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)

        #expect(try federation.run(laptop, ["remember", "note", "--title", "the laptop came second"]).exitCode == 0)
        let synced = try federation.json(laptop, ["sync"])
        #expect(synced.0.exitCode == 0, "\(synced.0.stdout)\(synced.0.stderr)")
        let report = try #require(Self.stores(synced.1).first)
        let pushes = (report["phases"] as? [[String: Any]] ?? []).filter { $0["name"] as? String == "push" }
        #expect(pushes.map { $0["status"] as? String } == ["failed", "ok"], "\(pushes)")
        #expect((pushes.first?["message"] as? String)?.contains("failed to update ref") == true, "\(pushes)")
        #expect(report["pending"] as? Int == 0)
        #expect(FileManager.default.fileExists(atPath: marker))
        let paths = try federation.remoteMemoryPaths()
        #expect(paths.count == 2)
        #expect(try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "merge-base", "--is-ancestor", deskTip, "main"]).exitCode == 0)
    }

    @Test("ssh://: an unknown host key and a changed one are refused with the fingerprint and the ssh-keyscan -t ed25519 line")
    func sshHostKeys() throws {
        let (federation, server) = try Self.sshFederation()
        defer { withExtendedLifetime(server) {} }
        let stranger = try federation.join("me@laptop", clone: false) { try server.authorize($0.key.publicKey) }
        let knownHosts = stranger.userHome + "/.ssh/known_hosts"
        let keyscan = "ssh-keyscan -t ed25519 -p \(server.port) 127.0.0.1 >> \(knownHosts)"
        let unknown = try federation.run(stranger, ["clone", federation.remoteURL, "--introduction", federation.introduction, "--signer", federation.signer, "--store", "a"])
        #expect(unknown.exitCode == 3)
        #expect(unknown.stderr.contains("the SSH host key of [127.0.0.1]:\(server.port) is unknown"), "\(unknown.stderr)")
        // The server has three host keys; the one it was made to show is the one the advice fetches.
        #expect(unknown.stderr.contains("ssh-ed25519 key \(server.hostKey.fingerprint)"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains(keyscan), "\(unknown.stderr)")

        let impostor = try TestKey.generate(in: federation.scratch.path, name: "impostor_host_key")
        try "[127.0.0.1]:\(server.port) \(impostor.publicKey)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        // A failed clone registered nothing: the same clone command is run again.
        let clone = ["clone", federation.remoteURL, "--introduction", federation.introduction, "--signer", federation.signer, "--store", "a"]
        let changed = try federation.run(stranger, clone)
        #expect(changed.exitCode == 3)
        #expect(changed.stderr.contains("the SSH host key of [127.0.0.1]:\(server.port) has changed"), "\(changed.stderr)")
        #expect(changed.stderr.contains("line 1: ssh-ed25519"), "\(changed.stderr)")
        #expect(changed.stderr.contains(server.hostKey.fingerprint), "\(changed.stderr)")
        #expect(changed.stderr.contains("ssh-keygen -R '[127.0.0.1]:\(server.port)'"), "\(changed.stderr)")
        let listedAfter = try federation.json(stranger, ["store", "list"])
        #expect(listedAfter.0.exitCode == 0)
        #expect((listedAfter.1["data"] as? [Any])?.isEmpty == true, "a failed clone registers nothing: \(listedAfter.0.stdout)")

        // Only the ed25519 line, as the advice writes it: the sync works.
        let scanned = try ProcessRunner.run("/bin/sh", ["-c", keyscan.replacingOccurrences(of: ">>", with: ">")])
        #expect(scanned.exitCode == 0, "\(scanned.stderr)")
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == server.knownHostsLine)
        let synced = try federation.run(stranger, clone)
        #expect(synced.exitCode == 0, "\(synced.stdout)\(synced.stderr)")
        #expect(synced.stdout.hasPrefix("Joined store a"))
    }

    @Test("ssh://: known_hosts as plain ssh-keyscan writes it (ssh-rsa first, plain or hashed) works: sfgit asks for the strongest listed key")
    func sshKeyscanOrder() throws {
        let (federation, server) = try Self.sshFederation()
        defer { withExtendedLifetime(server) {} }
        let laptop = try federation.join("me@laptop", clone: false) { try server.authorize($0.key.publicKey) }
        let knownHosts = laptop.userHome + "/.ssh/known_hosts"
        // ssh-keyscan prints the keys as the answers arrive, usually ssh-rsa first: put it first always.
        let scanned = try ProcessRunner.run("ssh-keyscan", ["-p", String(server.port), "127.0.0.1"]).stdout.split(separator: "\n")
        #expect(scanned.count == 3, "\(scanned)")
        let rsaFirst = scanned.filter { $0.contains(" ssh-rsa ") } + scanned.filter { !$0.contains(" ssh-rsa ") }
        // Another host's line before it stays as it is.
        let other = "[127.0.0.9]:22 \(server.rsaHostKey.publicKey)\n"
        try (other + rsaFirst.joined(separator: "\n") + "\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let before = try String(contentsOfFile: knownHosts, encoding: .utf8)
        let cloned = try federation.run(laptop, ["clone", federation.remoteURL, "--introduction", federation.introduction, "--signer", federation.signer, "--store", "shared"])
        #expect(cloned.exitCode == 0, "\(cloned.stdout)\(cloned.stderr)")
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == before, "the user's known_hosts is never written")

        // Hashed (ssh-keygen -H, what ssh itself writes with HashKnownHosts yes).
        try server.keyscanLines.write(toFile: knownHosts, atomically: true, encoding: .utf8)
        #expect(try ProcessRunner.run("ssh-keygen", ["-H", "-f", knownHosts]).exitCode == 0)
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).hasPrefix("|1|"))
        #expect(try federation.run(laptop, ["remember", "note", "--title", "through a hashed known_hosts"]).exitCode == 0)
        let synced = try federation.run(laptop, ["sync"])
        #expect(synced.exitCode == 0, "\(synced.stdout)\(synced.stderr)")

        // The ECDSA key first: fine as it is (OpenSSH accepts it), and a changed ECDSA key is still refused.
        try (server.knownHostsLine(server.ecdsaHostKey) + server.knownHostsLine(server.rsaHostKey)).write(toFile: knownHosts, atomically: true, encoding: .utf8)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let impostor = try TestKey.generate(in: federation.scratch.path, name: "impostor_ecdsa", type: "ecdsa")
        try (server.knownHostsLine(impostor) + server.knownHostsLine(server.rsaHostKey)).write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let changed = try federation.run(laptop, ["sync"])
        #expect(changed.exitCode == 3)
        #expect(changed.stderr.contains("has changed"), "\(changed.stderr)")
        #expect(changed.stderr.contains(server.ecdsaHostKey.fingerprint), "\(changed.stderr)")
    }

    @Test("ssh://: known_hosts with only the server's ssh-rsa key: exit 3 with why (ssh-rsa is SHA-1) and the ssh-keyscan -t ed25519 line")
    func sshOnlyRSAHostKey() throws {
        let (federation, server) = try Self.sshFederation()
        defer { withExtendedLifetime(server) {} }
        let laptop = try federation.join("me@laptop", clone: false) { try server.authorize($0.key.publicKey) }
        let knownHosts = laptop.userHome + "/.ssh/known_hosts"
        try server.knownHostsLine(server.rsaHostKey).write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let refused = try federation.run(laptop, ["clone", federation.remoteURL, "--introduction", federation.introduction, "--signer", federation.signer, "--store", "shared"])
        #expect(refused.exitCode == 3)
        #expect(refused.stderr.contains("Unable to exchange encryption keys"), "\(refused.stderr)")
        #expect(refused.stderr.contains("lists only an ssh-rsa key for [127.0.0.1]:\(server.port)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("OpenSSH 8.8 and later refuse"), "\(refused.stderr)")
        #expect(refused.stderr.contains("ssh-keyscan -t ed25519 -p \(server.port) 127.0.0.1 >> \(knownHosts)"), "\(refused.stderr)")
    }

    @Test("ssh://: an RSA user key fails with a message that says libssh2 cannot sign with it")
    func sshRSAKey() throws {
        let (federation, server) = try Self.sshFederation()
        defer { withExtendedLifetime(server) {} }
        let member = try federation.join("me@laptop", clone: false) { try Self.trust($0, on: server) }
        let rsa = try TestKey.generate(in: federation.scratch.path, name: "rsa_user", type: "rsa", bits: 3072)
        try server.authorize(rsa.publicKey)
        let result = try federation.run(member, ["clone", federation.remoteURL, "--introduction", federation.introduction, "--signer", federation.signer],
                                        environment: ["SFGIT_SSH_KEY": rsa.privatePath])
        #expect(result.exitCode == 3)
        #expect(result.stderr.contains("RSA key"))
        #expect(result.stderr.contains("ed25519 or ECDSA"))
    }

    @Test("smart HTTP: credentials from the environment; a wrong password fails; a declining pre-receive hook is caught though libgit2 returns success")
    func http() throws {
        let federation = try Federation()
        let server = try HTTPGitServer(in: federation.scratch.url("http"), root: federation.scratch.path, user: "agent", password: "s3cret")
        defer { withExtendedLifetime(server) {} }
        federation.remoteURL = "http://127.0.0.1:\(server.port)/git/remote.git"
        let credentials: [String: String?] = ["SFGIT_HTTP_USERNAME": "agent", "SFGIT_HTTP_PASSWORD": "s3cret"]
        let made = try federation.run(federation.admin, ["init", "--remote", federation.remoteURL, "--store", "shared"], environment: credentials)
        #expect(made.exitCode == 0, "\(made.stdout)\(made.stderr)")
        let introduction = try federation.remoteTip()
        let laptop = try federation.newMember("me@laptop")
        #expect(try federation.run(federation.admin, ["trust", "add", laptop.principal, laptop.key.publicPath, "--role", "write"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"], environment: credentials).exitCode == 0)

        let refused = try federation.run(laptop, ["clone", federation.remoteURL, "--introduction", introduction, "--signer", federation.admin.key.fingerprint, "--store", "shared"],
                                         environment: ["SFGIT_HTTP_USERNAME": "agent", "SFGIT_HTTP_PASSWORD": "wrong"])
        #expect(refused.exitCode == 3)
        #expect(refused.stderr.contains("refused the user name and password") || refused.stderr.contains("authentication"))
        // Nothing was registered: the clone is run again with the right password.
        #expect(try federation.run(laptop, ["clone", federation.remoteURL, "--introduction", introduction, "--signer", federation.admin.key.fingerprint, "--store", "shared"],
                                   environment: credentials).exitCode == 0)
        #expect(try federation.run(laptop, ["remember", "note", "--title", "over http"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"], environment: credentials).exitCode == 0)
        #expect(try federation.remoteMemoryPaths().count == 1)

        // The server's hook declines: the push "succeeds" for libgit2, the status callback says no.
        let hook = federation.remotePath + "/hooks/pre-receive"
        try "#!/bin/sh\necho 'memories are frozen today' >&2\nexit 1\n".write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        #expect(try federation.run(laptop, ["remember", "note", "--title", "refused by the hook"]).exitCode == 0)
        let declined = try federation.json(laptop, ["sync"], environment: credentials)
        #expect(declined.0.exitCode == 3)
        let report = try #require(Self.stores(declined.1).first)
        #expect(report["pending"] as? Int == 1)
        #expect((report["warnings"] as? [[String: Any]])?.contains { ($0["message"] as? String)?.contains("pre-receive hook declined") == true } == true)
        #expect(try federation.remoteMemoryPaths().count == 1)
    }

    @Test("smart HTTP: credentials from git's credential helper; a remote that accepts a push and hides it is caught (split view)")
    func httpHelperAndSplitView() throws {
        let federation = try Federation()
        let server = try HTTPGitServer(in: federation.scratch.url("http"), root: federation.scratch.path, user: "agent", password: "s3cret")
        defer { withExtendedLifetime(server) {} }
        federation.remoteURL = "http://127.0.0.1:\(server.port)/git/remote.git"
        let credentials: [String: String?] = ["SFGIT_HTTP_USERNAME": "agent", "SFGIT_HTTP_PASSWORD": "s3cret"]
        #expect(try federation.run(federation.admin, ["init", "--remote", federation.remoteURL, "--store", "shared"], environment: credentials).exitCode == 0)
        let introduction = try federation.remoteTip()
        let laptop = try federation.newMember("me@laptop")
        #expect(try federation.run(federation.admin, ["trust", "add", laptop.principal, laptop.key.publicPath, "--role", "write"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"], environment: credentials).exitCode == 0)

        // No credentials in the environment: git's credential helper answers.
        try "[credential]\n\thelper = store --file=\(laptop.userHome)/.git-credentials\n".write(toFile: laptop.userHome + "/.gitconfig", atomically: true, encoding: .utf8)
        try "http://agent:s3cret@127.0.0.1:\(server.port)\n".write(toFile: laptop.userHome + "/.git-credentials", atomically: true, encoding: .utf8)
        let cloned = try federation.run(laptop, ["clone", federation.remoteURL, "--introduction", introduction, "--signer", federation.admin.key.fingerprint, "--store", "shared"])
        #expect(cloned.exitCode == 0, "\(cloned.stdout)\(cloned.stderr)")

        // The server takes the push, then quietly puts the branch back.
        let hook = federation.remotePath + "/hooks/post-receive"
        try "#!/bin/sh\nwhile read old new ref; do git update-ref \"$ref\" \"$old\"; done\n".write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        #expect(try federation.run(laptop, ["remember", "note", "--title", "hidden by the server"]).exitCode == 0)
        let hidden = try federation.json(laptop, ["sync"])
        #expect(hidden.0.exitCode == 3)
        let report = try #require(Self.stores(hidden.1).first)
        #expect((report["warnings"] as? [[String: Any]])?.first?["code"] as? String == "PUSH_NOT_VISIBLE")
        #expect(report["pending"] as? Int == 1)
        #expect(try federation.remoteMemoryPaths().isEmpty)
    }

    /// The server's pre-receive hook marks that the pack has arrived and then waits (bounded) for
    /// the test: the sync is killed at that known point of its push, every time.
    @Test("a sync killed with -9 mid-push (its pack received, the server's hook running) loses nothing: the next sync publishes the memory once")
    func killedMidPush() throws {
        let federation = try Federation()
        let server = try HTTPGitServer(in: federation.scratch.url("http"), root: federation.scratch.path, user: "agent", password: "s3cret")
        defer { withExtendedLifetime(server) {} }
        federation.remoteURL = "http://127.0.0.1:\(server.port)/git/remote.git"
        let credentials: [String: String?] = ["SFGIT_HTTP_USERNAME": "agent", "SFGIT_HTTP_PASSWORD": "s3cret"]
        #expect(try federation.run(federation.admin, ["init", "--remote", federation.remoteURL, "--store", "shared"], environment: credentials).exitCode == 0)
        let introduction = try federation.remoteTip()
        let laptop = try federation.newMember("me@laptop")
        #expect(try federation.run(federation.admin, ["trust", "add", laptop.principal, laptop.key.publicPath, "--role", "write"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"], environment: credentials).exitCode == 0)
        #expect(try federation.run(laptop, ["clone", federation.remoteURL, "--introduction", introduction, "--signer", federation.admin.key.fingerprint, "--store", "shared"],
                                   environment: credentials).exitCode == 0)
        let remembered = try federation.json(laptop, ["remember", "note", "--title", "pushed when the sync was killed"])
        let id = try #require((remembered.1["data"] as? [String: Any])?["id"] as? String)
        let tipBefore = try federation.remoteTip()

        let arrived = federation.scratch.url("pack-arrived"), release = federation.scratch.url("release"), finished = federation.scratch.url("hook-finished")
        let hook = federation.remotePath + "/hooks/pre-receive"
        try """
            #!/bin/sh
            cat >/dev/null
            touch '\(arrived)'
            i=0
            while [ ! -e '\(release)' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
            touch '\(finished)'
            exit 1
            """.write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        var environment = federation.environment(laptop)
        for (key, value) in credentials { environment[key] = value }
        let sync = try ProcessRunner.spawn(PackagePaths.sfgitBinary, ["sync"], environment: environment)
        var reached = false
        for _ in 0..<600 where !reached {
            reached = FileManager.default.fileExists(atPath: arrived)
            if !reached { usleep(20_000) }
        }
        #expect(reached, "the push never reached the server's hook")
        sync.signal(SIGKILL)
        sync.wait()
        // Let the hook end (it refuses the push), and wait for it: nothing is left running.
        FileManager.default.createFile(atPath: release, contents: nil)
        var ended = false
        for _ in 0..<600 where !ended {
            ended = FileManager.default.fileExists(atPath: finished)
            if !ended { usleep(20_000) }
        }
        #expect(ended)
        try FileManager.default.removeItem(atPath: hook)
        #expect(try federation.remoteTip() == tipBefore)

        // The killed sync left a sound repository and the memory pending; the next sync publishes it once.
        let fsck = try ProcessRunner.run("git", ["--git-dir", laptop.home + "/stores/shared/repo.git", "fsck", "--no-dangling"])
        #expect(fsck.exitCode == 0, "\(fsck.stderr)")
        #expect(try Self.stores(federation.json(laptop, ["status"]).1).first?["pending"] as? Int == 1)
        let synced = try federation.json(laptop, ["sync"], environment: credentials)
        #expect(synced.0.exitCode == 0, "\(synced.0.stdout)\(synced.0.stderr)")
        #expect(Self.stores(synced.1).first?["pending"] as? Int == 0)
        let paths = try federation.remoteMemoryPaths()
        #expect(paths.count == 1)
        #expect(paths.first?.hasSuffix(id + ".yaml") == true, "\(paths)")
        #expect(!FileManager.default.fileExists(atPath: federation.remotePath + "/refs/heads/main.lock"))
    }

    @Test("a sync killed with -9 takes its network step down with it")
    func networkChildDiesWithSync() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let listener = try LoopbackListener()
        defer { withExtendedLifetime(listener) {} }
        try federation.pointRemote(of: laptop, at: "http://127.0.0.1:\(listener.port)/x.git")
        let sync = try ProcessRunner.spawn(PackagePaths.sfgitBinary, ["sync", "--timeout", "60s"], environment: federation.environment(laptop))
        // Wait (bounded) for the child that hangs on the listener.
        var child: pid_t?
        for _ in 0..<200 where child == nil {
            let children = (try? String(contentsOfFile: "/proc/\(sync.pid)/task/\(sync.pid)/children", encoding: .utf8)) ?? ""
            child = children.split(separator: " ").compactMap { pid_t($0) }.first
            if child == nil { usleep(25_000) }
        }
        let networkStep = try #require(child)
        sync.signal(SIGKILL)
        sync.wait()
        var gone = false
        for _ in 0..<100 where !gone {
            // Dead, or a zombie waiting for whoever adopted it to reap it.
            let stat = (try? String(contentsOfFile: "/proc/\(networkStep)/stat", encoding: .utf8)) ?? ""
            gone = stat.isEmpty || stat.split(separator: ")").last?.split(separator: " ").first == "Z"
            if !gone { usleep(20_000) }
        }
        #expect(gone, "the network step \(networkStep) outlived its sync")
        if !gone { kill(networkStep, SIGKILL) }
    }

    @Test("--timeout bounds a remote that accepts connections and never answers (http and ssh)")
    func timeout() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let listener = try LoopbackListener()
        defer { withExtendedLifetime(listener) {} }
        for url in ["http://127.0.0.1:\(listener.port)/x.git", "ssh://git@127.0.0.1:\(listener.port)/x.git"] {
            try federation.pointRemote(of: laptop, at: "\(url)")
            #expect(try federation.run(laptop, ["remember", "note", "--title", "written while the remote hangs"]).exitCode == 0)
            let started = Date()
            let result = try federation.json(laptop, ["sync", "--timeout", "2s"])
            let elapsed = Date().timeIntervalSince(started)
            #expect(result.0.exitCode == 3)
            #expect((result.1["warnings"] as? [[String: Any]])?.first?["code"] as? String == "FETCH_TIMEOUT")
            #expect(elapsed < 20, "sync took \(elapsed) s with --timeout 2s")
            // The repository is sound after the killed step, and recall still answers.
            let fsck = try ProcessRunner.run("git", ["--git-dir", laptop.home + "/stores/shared/repo.git", "fsck", "--no-dangling"])
            #expect(fsck.exitCode == 0)
            #expect(try federation.run(laptop, ["recall", "hangs"]).exitCode == 0)
        }
    }

    @Test("--timeout bounds a file:// fetch whose git upload-pack never answers, and leaves nothing running")
    func fileTimeout() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        #expect(try federation.run(federation.admin, ["remember", "note", "--title", "news for the laptop"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        // A global git config (protected, so upload-pack honours it) whose pack-objects hook hangs.
        let marker = "31.25"
        let hook = try federation.scratch.write("hang.sh", "#!/bin/sh\nsleep \(marker)\n")
        chmod(hook, 0o755)
        let gitConfig = try federation.scratch.write("hanging.gitconfig", "[uploadpack]\n\tpackObjectsHook = \(hook)\n")
        let started = Date()
        let result = try federation.json(laptop, ["sync", "--timeout", "2s"], environment: ["GIT_CONFIG_GLOBAL": gitConfig])
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.0.exitCode == 3)
        #expect((result.1["warnings"] as? [[String: Any]])?.first?["code"] as? String == "FETCH_TIMEOUT", "\(result.1["warnings"] ?? "")")
        #expect(elapsed < 20, "sync took \(elapsed) s with --timeout 2s")
        let leftovers = try ProcessRunner.run("pgrep", ["-f", "sleep \(marker)"])
        #expect(leftovers.stdout.isEmpty, "left running: \(leftovers.stdout)")
        // Without the hook, the next sync fetches the news.
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        #expect(try federation.run(laptop, ["recall", "news"]).stdout.contains("news for the laptop"))
    }

    @Test("file://: git's services ignore GIT_DIR-style variables that would point them at another repository")
    func fileIgnoresRepositoryVariables() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        #expect(try federation.run(federation.admin, ["remember", "note", "--title", "news through a clean environment"]).exitCode == 0)
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        let elsewhere = federation.scratch.url("elsewhere")
        let misleading: [String: String?] = [
            "GIT_DIR": elsewhere, "GIT_OBJECT_DIRECTORY": elsewhere + "/objects", "GIT_NAMESPACE": "other",
        ]
        #expect(try federation.run(laptop, ["remember", "note", "--title", "sent through a clean environment"]).exitCode == 0)
        let synced = try federation.json(laptop, ["sync"], environment: misleading)
        #expect(synced.0.exitCode == 0, "\(synced.0.stdout)")
        #expect(try federation.run(laptop, ["recall", "news"]).stdout.contains("news through a clean environment"))
        #expect(try federation.remoteMemoryPaths().count == 2)
    }
}

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// One check of `sfgit doctor`: what was looked at, what was found, and what to do about it.
public struct DoctorCheck: Sendable, Codable {
    /// What was checked (`config`, `identity`, `signing key`, `ssh-agent`, `store NAME: …`).
    public var name: String
    /// `ok`, `warning` (works, but not everywhere: under cron, say) or `fail`.
    public var status: String
    /// What was found.
    public var detail: String
    /// What to do, for a warning or a failure.
    @Nullable public var fix: String? = nil
    /// The exit status a failure maps to (0 for ok and warnings).
    public var exitCode: Int32 = 0

    enum CodingKeys: String, CodingKey {
        case name, status, detail, fix, exitCode = "exit_code"
    }
}

/// `sfgit doctor`: the set-up checked piece by piece, each problem with its fix.
public enum Doctor {
    /// Runs every check. The exit status is 2 when the configuration, identity or key cannot
    /// work, else what `status` would say for the stores (5, 6 or 3), else 0.
    public static func run(home: Home, identityOverrides: Identity = Identity(),
                           environment: [String: String] = ProcessInfo.processInfo.environment) -> (checks: [DoctorCheck], exit: ExitStatus) {
        var checks: [DoctorCheck] = []
        func add(_ name: String, _ status: String, _ detail: String, fix: String? = nil, exit: ExitStatus = .ok) {
            checks.append(DoctorCheck(name: name, status: status, detail: detail, fix: fix, exitCode: status == "fail" ? exit.rawValue : 0))
        }
        // The network helper every fetch and push over ssh or HTTP (and every push) runs in.
        let helper = RemoteTransport.locateHelper(environment: environment)
        if helper.hasPrefix("/"), access(helper, X_OK) == 0 {
            add("network helper", "ok", helper)
        } else {
            add("network helper", "fail", "\(RemoteTransport.helperName) is neither beside sfgit, in ../libexec/sfgit from it, nor on PATH: syncs cannot push, nor fetch over ssh or HTTP",
                fix: "reinstall sfgit (`make install` puts it in PREFIX/libexec/sfgit), or name it in $\(RemoteTransport.helperVariable)", exit: .usage)
        }

        let workspace: Workspace
        do {
            workspace = try Workspace(home: home, identityOverrides: identityOverrides, environment: environment)
        } catch {
            add("config", "fail", error.message, fix: "follow the advice above; `sfgit doctor` again", exit: .usage)
            return (checks, .usage)
        }
        add("config", "ok", "\(home.configPath): \(workspace.config.stores.count) store\(workspace.config.stores.count == 1 ? "" : "s"), home owner-only")

        // Identity.
        do {
            add("identity", "ok", try workspace.identity.requirePrincipal())
        } catch {
            add("identity", "fail", error.message, fix: "sfgit config set identity.author NAME && sfgit config set identity.host NAME", exit: .usage)
        }

        // The signing key, and whether it can sign with nobody at the keyboard.
        let agentSocket = environment["SSH_AUTH_SOCK"].flatMap { $0.isEmpty ? nil : $0 }
        if let key = workspace.identity.key {
            if !FileManager.default.isReadableFile(atPath: key) {
                add("signing key", "fail", "\(key) does not exist or is not readable", fix: "sfgit config set identity.key PATH (an ed25519 key)", exit: .usage)
            } else if let problem = KeyCheck.unattendedProblem(key, environment: environment) {
                add("signing key", "fail", problem, fix: "ssh-add \(key), or an unencrypted key of sfgit's own", exit: .usage)
            } else {
                do {
                    let signer = try SigningKey.load(key)
                    let encrypted = KeyCheck.isEncrypted(key)
                    add("signing key", encrypted ? "warning" : "ok", "\(key) (\(signer.publicKey.fingerprint))" + (encrypted ? "; encrypted: it signs only while an ssh-agent holds it, never under cron" : ""),
                        fix: encrypted ? "for cron and systemd, an unencrypted key of sfgit's own: ssh-keygen -t ed25519 -N '' -f ~/.ssh/sfgit_ed25519" : nil)
                } catch {
                    add("signing key", "fail", "\(key): \(error.message)", fix: "sfgit config set identity.key PATH (an ed25519 or ECDSA private key, or the .pub of an ssh-agent key)", exit: .usage)
                }
            }
        } else {
            add("signing key", "fail", "no signing key", fix: "sfgit config set identity.key ~/.ssh/sfgit_ed25519", exit: .usage)
        }
        let agent = Workspace.probeAgent(environment)
        let unencryptedKeyFile = workspace.identity.key.map { !$0.hasSuffix(".pub") && FileManager.default.isReadableFile(atPath: $0) && !KeyCheck.isEncrypted($0) } ?? false
        if agentSocket == nil, unencryptedKeyFile {
            add("ssh-agent", "ok", "none (SSH_AUTH_SOCK is not set) and none needed: the signing key is an unencrypted file")
        } else if agentSocket == nil {
            add("ssh-agent", "warning", "SSH_AUTH_SOCK is not set (as under cron and systemd): only an unencrypted key file can sign and fetch",
                fix: "nothing, if the key is an unencrypted file; else run from a session with an agent")
        } else {
            add("ssh-agent", agent.reachable ? "ok" : "warning", agent.reachable ? "\(agent.socket ?? "") answers, \(agent.keys) key\(agent.keys == 1 ? "" : "s")" : "\(agent.socket ?? "") does not answer",
                fix: agent.reachable ? nil : "start one (eval $(ssh-agent)) or unset SSH_AUTH_SOCK")
        }

        // Each store: what `status` would flag, and the cache.
        let statuses = (try? workspace.status(store: nil)) ?? []
        for status in statuses {
            let name = "store \(status.store)"
            if status.attention.isEmpty, let error = status.lastFetchError {
                // Not yet past --alert-after (status would say STALE then), but not "ok" either.
                add("\(name): sync", "warning", "the last fetch FAILED (\(error)); last successful sync \(status.lastSuccessAt ?? "never"), \(status.pending) pending",
                    fix: fixFor("FETCH_FAILED"))
            } else if status.attention.isEmpty {
                add("\(name): sync", "ok", "last successful sync \(status.lastSuccessAt ?? "never"), \(status.pending) pending")
            }
            for item in status.attention {
                add("\(name): sync", "fail", "\(item.code): \(item.message)", fix: fixFor(item.code), exit: item.status)
            }
            // Clock: another host committed the newest verified commit; a clock behind it by
            // more than a minute makes this host refuse fresh commits as future-dated.
            if let store = try? workspace.stores(named: status.store).first, let repository = try? store.openRepository(),
               let tip = try? repository.reference(Store.verifiedRef), let commit = try? repository.commit(tip) {
                let ahead = Double(commit.committer.time) - Date().timeIntervalSince1970
                if ahead > 60 {
                    add("\(name): clock", "warning", "the newest verified commit is dated \(Monitoring.describe(seconds: ahead)) after this host's clock: it may be behind (commits more than 10 min ahead of it are refused as future-dated)",
                        fix: "check the clock's synchronisation (timedatectl status; chrony or systemd-timesyncd)")
                } else {
                    add("\(name): clock", "ok", "not behind the newest verified commit (\(Timestamp(secondsSinceEpoch: commit.committer.time).text))")
                }
            }
            if let hostKey = HostKeyCheck.check(remote: status.remote, environment: environment) {
                add("\(name): host key", hostKey.ok ? "ok" : "fail", hostKey.detail, fix: hostKey.fix, exit: .degraded)
            }
            // Reachable: connect as a fetch would and read the advertised references, nothing more.
            if let store = try? workspace.stores(named: status.store).first, FileManager.default.fileExists(atPath: store.repositoryPath + "/HEAD") {
                let started = Date()
                let probe = workspace.runRemote(.probe, store, refspecs: [], timeout: reachabilityTimeout, credentials: workspace.remoteCredentials(for: store))
                let milliseconds = Int(Date().timeIntervalSince(started) * 1000)
                if let failure = probe.failure {
                    let localPath = status.remote.hasPrefix("file://") ? String(status.remote.dropFirst("file://".count)) : nil
                    let fix = localPath.map { path in FileManager.default.fileExists(atPath: path)
                        ? "\(path) is there but git cannot read it as a repository: check it with git --git-dir \(path) fsck"
                        : "\(path) is gone: restore the repository there, or point the store at where it is now (its remote: line in \(home.configPath))" }
                        ?? "check the URL, the network and the credentials (git ls-remote \(status.remote)); sfgit sync -v shows the same error"
                    add("\(name): remote", "fail", "\(status.remote) cannot be reached: \(failure)", fix: fix, exit: .degraded)
                } else {
                    add("\(name): remote", "ok", "\(status.remote) answers in \(milliseconds) ms (\(probe.advertisedReferences) reference\(probe.advertisedReferences == 1 ? "" : "s") advertised)")
                }
            }
            if let age = status.cacheAgeSeconds {
                add("\(name): cache", "ok", "\(status.counts.byKind.values.reduce(0, +)) memories at \(status.cacheCommit.map { String($0.prefix(12)) } ?? "none"), updated \(Monitoring.describe(seconds: Double(age))) ago")
            } else {
                add("\(name): cache", "warning", "no cache yet", fix: "sfgit reindex --store \(status.store)")
            }
            if let refused = status.refusedHistory {
                add("\(name): refused history", "ok", "\(refused.kept) refused tip\(refused.kept == 1 ? "" : "s") kept" + (refused.bytes.map { ", \($0 / 1_000_000) MB" } ?? "") + (refused.pruned > 0 ? ", \(refused.pruned) older pruned" : ""))
            }
        }
        let failures = checks.filter { $0.status == "fail" }
        if failures.contains(where: { $0.exitCode == ExitStatus.usage.rawValue }) { return (checks, .usage) }
        // The stores' failures, the host-key ones among them (3: the next sync cannot fetch).
        let attention = failures.map { Attention(code: $0.name, message: $0.detail, status: ExitStatus(rawValue: $0.exitCode) ?? .degraded) }
        return (checks, Monitoring.exitStatus(attention))
    }

    /// How long the reachability check waits for the remote (seconds).
    static let reachabilityTimeout: Double = 10

    static func fixFor(_ code: String) -> String {
        switch code {
        case "BLOCKED": return "read the reason (sfgit status); the refused history is kept under refs/sfgit/quarantine/ for forensics. "
            + "A push every host refuses is undone by an admin: sfgit admin reset --to <the verified tip> --reason \"…\""
        case "OUTBOX_CONFLICT", "PARKED": return "as the message says; then delete the ref it names"
        default: return "sfgit sync -v, and read the fetch or push error"
        }
    }
}

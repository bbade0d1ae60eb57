import Foundation
import SFGitTestSupport
import Testing

/// Unattended operation: `sync --quiet` speaks only when a person is needed, `status` is a
/// monitoring check with an exit code per attention state, `sync --offline` says so, and the
/// shipped cron line and systemd units work as shipped.
@Suite("monitoring: cron, systemd, status as a check")
struct MonitoringTests {
    static func stores(_ envelope: [String: Any]) -> [[String: Any]] {
        (envelope["data"] as? [String: Any])?["stores"] as? [[String: Any]] ?? []
    }

    static func attentionCodes(_ envelope: [String: Any]) -> [String] {
        stores(envelope).flatMap { ($0["attention"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String } }
    }

    /// Rewrites the store's recorded last successful sync, as if it had happened at `time`
    /// (the only way to test a six-hour threshold without waiting six hours).
    static func setLastSuccess(_ home: String, _ time: String) throws {
        let path = home + "/stores/shared/state.json"
        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        state["last_success_at"] = time
        try JSONSerialization.data(withJSONObject: state).write(to: URL(fileURLWithPath: path))
    }

    @Test("sync --quiet: silent on success, on BUSY, and while degraded until the last success is older than --alert-after")
    func quietSync() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")

        let ok = try federation.run(server, ["sync", "--quiet"])
        #expect(ok.exitCode == 0)
        #expect(ok.stdout + ok.stderr == "")

        // BUSY: another sync does the work; the exit code still says so.
        let descriptor = open(server.home + "/stores/shared/sync.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        let busy = try federation.run(server, ["sync", "--quiet"], timeout: 20)
        #expect(busy.exitCode == 4)
        #expect(busy.stdout + busy.stderr == "", "\(busy.stdout)\(busy.stderr)")
        #expect(try federation.run(server, ["sync"], timeout: 20).stdout.contains("busy"))
        flock(descriptor, LOCK_UN)
        close(descriptor)

        // The remote is unreachable, but the last success is recent: nobody needs to hear of it.
        let moved = federation.scratch.url("remote-away.git")
        try FileManager.default.moveItem(atPath: federation.remotePath, toPath: moved)
        let offline = try federation.run(server, ["sync", "--quiet"])
        #expect(offline.exitCode == 3)
        #expect(offline.stdout + offline.stderr == "", "\(offline.stdout)\(offline.stderr)")
        #expect(try federation.json(server, ["status"]).0.exitCode == 0)

        // Seven hours later, still unreachable: past the default 6h, the sync speaks up.
        let sevenHoursAgo = Date().addingTimeInterval(-7 * 3_600)
        try Self.setLastSuccess(server.home, ISO8601DateFormatter().string(from: sevenHoursAgo))
        let stale = try federation.run(server, ["sync", "--quiet"])
        #expect(stale.exitCode == 3)
        #expect(stale.stdout.contains("shared: degraded"), "\(stale.stdout)")
        #expect(stale.stderr.contains("remote.git"), "\(stale.stderr)")
        let patient = try federation.run(server, ["sync", "--quiet", "--alert-after", "8h"])
        #expect(patient.exitCode == 3)
        #expect(patient.stdout + patient.stderr == "")

        // status is the monitoring check: STALE, exit 3, and quiet again with a longer threshold.
        let status = try federation.json(server, ["status"])
        #expect(status.0.exitCode == 3)
        #expect(Self.attentionCodes(status.1) == ["STALE"])
        #expect((status.1["error"] as? [String: Any])?["code"] as? String == "DEGRADED")
        let text = try federation.run(server, ["status"])
        #expect(text.exitCode == 3)
        #expect(text.stdout.contains("ATTENTION:     STALE (exit 3): shared: the last successful sync was 7 h ago"), "\(text.stdout)")
        #expect(try federation.run(server, ["status", "--alert-after", "8h"]).exitCode == 0)
        #expect(try federation.run(server, ["status", "--quiet", "--alert-after", "8h"]).stdout == "")

        // Back online: the sync succeeds, resets the clock, and status is quiet again.
        try FileManager.default.moveItem(atPath: moved, toPath: federation.remotePath)
        let back = try federation.run(server, ["sync", "--quiet"])
        #expect(back.exitCode == 0)
        #expect(back.stdout + back.stderr == "")
        let healthy = try federation.json(server, ["status"])
        #expect(healthy.0.exitCode == 0)
        #expect(Self.attentionCodes(healthy.1).isEmpty)
        #expect(try federation.run(server, ["status", "--quiet"]).stdout == "")
    }

    @Test("bad --alert-after is a usage error naming the flag")
    func badAlertAfter() throws {
        let federation = try Federation()
        try federation.initialise()
        for command in ["sync", "status"] {
            let result = try federation.run(federation.admin, [command, "--alert-after", "soon"])
            #expect(result.exitCode == 2)
            #expect(result.stderr.contains("'soon' is invalid for '--alert-after <alert-after>': expected a duration"), "\(result.stderr)")
        }
    }

    @Test("sync --offline says offline, not ok, and does not count as a successful sync")
    func offlineSaysOffline() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")
        try Self.setLastSuccess(server.home, "2020-01-01T00:00:00Z")
        let text = try federation.run(server, ["sync", "--offline"])
        #expect(text.exitCode == 0)
        #expect(text.stdout.hasPrefix("shared: offline"), "\(text.stdout)")
        #expect(!text.stdout.contains(": ok"))
        let json = try federation.json(server, ["sync", "--offline"])
        let report = try #require(Self.stores(json.1).first)
        #expect(report["offline"] as? Bool == true)
        #expect(report["result"] as? String == "ok")
        #expect(report["last_success_at"] as? String == "2020-01-01T00:00:00Z")
        #expect(try federation.run(server, ["status"]).exitCode == 3)
        // A sync that reached the remote says ok and resets the clock.
        let online = try federation.json(server, ["sync"])
        #expect(Self.stores(online.1).first?["offline"] as? Bool == false)
        #expect(try federation.run(server, ["sync"]).stdout.hasPrefix("shared: ok"))
        #expect(try federation.run(server, ["status"]).exitCode == 0)
    }

    @Test("a store that never synced successfully needs attention; a new store made by init does not")
    func neverSynced() throws {
        let federation = try Federation()
        try federation.initialise()
        #expect(try federation.run(federation.admin, ["status"]).exitCode == 0)
        let path = federation.admin.home + "/stores/shared/state.json"
        try FileManager.default.removeItem(atPath: path)
        let status = try federation.json(federation.admin, ["status"])
        #expect(status.0.exitCode == 3)
        let message = try #require((Self.stores(status.1).first?["attention"] as? [[String: Any]])?.first?["message"] as? String)
        #expect(message.contains("no sync has succeeded yet"))
    }

    @Test("the shipped crontab line runs under cron's environment (PATH=/usr/bin:/bin, no SFGIT_*), silent until it matters")
    func cronLine() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")
        // Under cron only config.yaml says who this host is: move the home to its default place.
        let defaultHome = server.userHome + "/.local/share/sfgit"
        try FileManager.default.createDirectory(atPath: server.userHome + "/.local/share", withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: server.home, toPath: defaultHome)

        let crontab = try String(contentsOfFile: PackagePaths.examples + "/cron/sfgit.crontab", encoding: .utf8)
        let lines = crontab.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(lines.count == 1)
        let fields = try #require(lines.first).split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        #expect(fields.count == 6)
        let command = String(fields[5])
        #expect(!command.contains("%"), "cron turns % into a line break")
        // The binary by absolute path; the random sleep shortened to nothing for the test.
        #expect(command.contains("/usr/local/bin/sfgit sync --quiet"))
        #expect(command.contains("sleep $(shuf -i 0-120 -n 1); "))
        let runnable = command.replacingOccurrences(of: "/usr/local/bin/sfgit", with: PackagePaths.sfgitBinary)
            .replacingOccurrences(of: "shuf -i 0-120 -n 1", with: "shuf -i 0-0 -n 1")
        func cron() throws -> ProcessResult {
            try ProcessRunner.run("/usr/bin/env", ["-i", "PATH=/usr/bin:/bin", "HOME=" + server.userHome, "SHELL=/bin/sh", "LOGNAME=srv",
                                                   "/bin/sh", "-c", runnable])
        }

        let quiet = try cron()
        #expect(quiet.exitCode == 0, "\(quiet.stdout)\(quiet.stderr)")
        #expect(quiet.stdout + quiet.stderr == "")
        try FileManager.default.moveItem(atPath: federation.remotePath, toPath: federation.scratch.url("away.git"))
        let offline = try cron()
        #expect(offline.exitCode == 3)
        #expect(offline.stdout + offline.stderr == "", "cron would mail this: \(offline.stdout)\(offline.stderr)")
        try Self.setLastSuccess(defaultHome, "2020-01-01T00:00:00Z")
        let stale = try cron()
        #expect(stale.exitCode == 3)
        #expect(stale.stdout.contains("degraded"), "\(stale.stdout)\(stale.stderr)")
    }

    @Test("the shipped systemd units pass systemd-analyze verify, user and system variants",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "systemd-analyze is not installed here"))
    func systemdUnits() throws {
        for variant in ["user", "system"] {
            let scratch = try TemporaryDirectory()
            let runtime = scratch.url("runtime")
            try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var units: [String] = []
            for name in ["sfgit-sync.timer", "sfgit-sync.service"] {
                let text = try String(contentsOfFile: PackagePaths.examples + "/systemd/\(variant)/\(name)", encoding: .utf8)
                if name.hasSuffix(".service") {
                    #expect(text.contains("ExecStart=/usr/local/bin/sfgit sync --quiet"))
                    #expect(text.contains("Type=oneshot"))
                    #expect(text.contains(variant == "user" ? "loginctl enable-linger" : "User="))
                } else {
                    #expect(text.contains("RandomizedDelaySec="))
                }
                // verify checks that ExecStart's binary exists: point it at the built one.
                units.append(try scratch.write(name, text.replacingOccurrences(of: "/usr/local/bin/sfgit", with: PackagePaths.sfgitBinary)))
            }
            let verified = try ProcessRunner.run("/usr/bin/systemd-analyze", ["verify"] + (variant == "user" ? ["--user"] : []) + units,
                                                 environment: ["XDG_RUNTIME_DIR": runtime, "SYSTEMD_LOG_LEVEL": "notice"])
            #expect(verified.exitCode == 0, "\(variant): \(verified.stderr)")
            // Unknown keys are only warnings: a unit that verifies prints nothing at all.
            #expect(verified.stderr.isEmpty, "\(variant): \(verified.stderr)")
        }
    }

    @Test("status, like sync and recall, is a usage error on a home with no store: a monitoring check never reads 'nothing to report' there")
    func statusWithoutStores() throws {
        let home = try TemporaryDirectory(prefix: "sfgit-no-store")
        for command in [["status"], ["status", "-q"], ["sync"], ["recall", "x"], ["reindex"], ["breakers"]] {
            let result = try PackagePaths.runSFGit(command, environment: ["SFGIT_HOME": home.url("home")])
            #expect(result.exitCode == 2, "\(command): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.contains("no store yet"), "\(command): \(result.stderr)")
        }
        // Listing is not an error, but it says so rather than printing nothing.
        let listed = try PackagePaths.runSFGit(["store", "list"], environment: ["SFGIT_HOME": home.url("home")])
        #expect(listed.exitCode == 0)
        #expect(listed.stdout.contains("no stores yet"), "\(listed.stdout)")
    }
}

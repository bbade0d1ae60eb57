import Foundation
import SFGitTestSupport
import Testing

/// Progress on stderr only when it is a terminal: a tmux pane is the terminal, a pipe is not.
@Suite("progress: on a terminal only", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "tmux is not installed here"))
struct ProgressTests {
    /// A command run in a detached tmux pane (a real terminal), its screen read back once it
    /// printed `EXIT=<code>`. The bound only keeps a broken run from hanging the suite.
    final class Pane {
        let name = "sfgit-\(UUID().uuidString.prefix(8))"
        let socket: String
        /// The tmux server's process, ended by `close`.
        private(set) var server: Int32 = 0

        init(_ command: String, environment: [String: String?], scratch: String) throws {
            socket = scratch + "/\(name).sock"
            let exports = environment.compactMap { key, value in value.map { "\(key)='\($0)'" } }.joined(separator: " ")
            let unsets = environment.compactMap { key, value in value == nil ? "-u \(key)" : nil }.joined(separator: " ")
            // The pane stays readable after the command ends; the sleep bounds a leaked session.
            let line = "env \(unsets) \(exports) \(command); echo EXIT=$?; sleep 120"
            // The tmux server it starts is a daemon that lives on: spawned, not run through
            // Foundation's Process (see ProcessRunner.spawn), and with every descriptor above 2
            // closed first, so that it holds none of the pipes through which Foundation watches
            // the children other tests run at the same time (they would never be reaped).
            let closeAndStart = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; exec /usr/bin/tmux -S "$1" new-session -d -s "$2" -x 220 -y 50 "$3""#
            let started = try ProcessRunner.spawn("/bin/bash", ["-c", closeAndStart, "tmux", socket, name, line])
            try #require(started.wait() == 0, "tmux new-session failed")
            server = Int32(try ProcessRunner.run("/usr/bin/tmux", ["-S", socket, "display-message", "-p", "#{pid}"]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }

        func screen() throws -> String {
            try ProcessRunner.run("/usr/bin/tmux", ["-S", socket, "capture-pane", "-p", "-t", name]).stdout
        }

        /// The screen once it shows `text` (polled; nil if it never does within the bound).
        func await(_ text: String, bound: Double = 60) throws -> String? {
            let end = Date().addingTimeInterval(bound)
            while Date() < end {
                let shown = try screen()
                if shown.contains(text) { return shown }
                usleep(100_000)
            }
            return nil
        }

        /// Ends the tmux server (the pane's shell then gets its hang-up).
        func close() { if server > 0 { kill(server, SIGKILL) } }
    }

    @Test("clone on a terminal shows the objects received, then memories verified and indexed, on stderr; the same clone piped shows none")
    func cloneProgress() throws {
        let federation = try Federation()
        try federation.initialise()
        for index in 0..<3 {
            #expect(try federation.run(federation.admin, ["remember", "note", "--title", "note \(index)"]).exitCode == 0)
        }
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        let server = try federation.join("srv@server", clone: false)
        let clone = "\(PackagePaths.sfgitBinary) clone \(federation.remoteURL) --introduction \(federation.introduction) --signer \(federation.signer) --store shared"
        let pane = try Pane(clone + " >/dev/null", environment: federation.environment(server), scratch: federation.scratch.path)
        defer { withExtendedLifetime(federation) { pane.close() } }
        let screen = try #require(try pane.await("EXIT="))
        #expect(screen.contains("EXIT=0"), "\(screen)")
        #expect(screen.contains("shared: verified and indexed 3 memories"), "\(screen)")
        // The fetch's phase before it, its last count left on its own line: every object received.
        let objects = try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "rev-list", "--objects", "main"]).stdout
            .split(separator: "\n").count
        #expect(screen.contains("shared: received \(objects)/\(objects) objects, "), "\(screen)")

        // Piped: the same work, nothing on stderr.
        let other = try federation.join("other@box", clone: false)
        let piped = try federation.run(other, ["clone", federation.remoteURL, "--introduction", federation.introduction, "--signer", federation.signer, "--store", "shared"])
        #expect(piped.exitCode == 0)
        #expect(piped.stderr == "", "\(piped.stderr)")
        // -q on a terminal: none either.
        let third = try federation.join("third@box", clone: false)
        let quiet = try Pane(clone + " -q >/dev/null", environment: federation.environment(third), scratch: federation.scratch.path)
        defer { withExtendedLifetime(federation) { quiet.close() } }
        let quietScreen = try #require(try quiet.await("EXIT="))
        #expect(quietScreen.contains("EXIT=0"), "\(quietScreen)")
        #expect(!quietScreen.contains("memories"), "\(quietScreen)")
        // A store name with digits: its phases still end on lines of their own.
        let fourth = try federation.join("fourth@box", clone: false)
        let numbered = try Pane(clone.replacingOccurrences(of: "--store shared", with: "--store store2") + " >/dev/null",
                                environment: federation.environment(fourth), scratch: federation.scratch.path)
        defer { withExtendedLifetime(federation) { numbered.close() } }
        let numberedScreen = try #require(try numbered.await("EXIT="))
        #expect(numberedScreen.contains("EXIT=0"), "\(numberedScreen)")
        // (Each join since published a trust commit: count the remote's objects again.)
        let objectsNow = try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "rev-list", "--objects", "main"]).stdout
            .split(separator: "\n").count
        #expect(numberedScreen.contains("store2: received \(objectsNow)/\(objectsNow) objects, "), "\(numberedScreen)")
        #expect(numberedScreen.contains("store2: verified and indexed 3 memories"), "\(numberedScreen)")
    }

    @Test("sync --wait on a terminal says it is waiting for another sync's lock")
    func lockWait() throws {
        let federation = try Federation()
        try federation.initialise()
        let server = try federation.join("srv@server")
        let descriptor = open(server.home + "/stores/shared/sync.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        #expect(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        let pane = try Pane("\(PackagePaths.sfgitBinary) sync --wait 120s", environment: federation.environment(server), scratch: federation.scratch.path)
        defer { withExtendedLifetime(federation) { pane.close() } }
        let waiting = try pane.await("waiting for another sync")
        flock(descriptor, LOCK_UN)
        close(descriptor)
        #expect(waiting?.contains("shared: waiting for another sync to finish (sync.lock)") == true, "\(String(describing: waiting))")
        let done = try #require(try pane.await("EXIT="))
        #expect(done.contains("EXIT=0"), "\(done)")
        #expect(done.contains("shared: ok"), "\(done)")
    }
}

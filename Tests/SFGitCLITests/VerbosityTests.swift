import Foundation
import SFGitTestSupport
import Testing

/// `-v`/`-q` on every command, and `SFGIT_LOG` validated.
@Suite("verbosity: -v, -q, SFGIT_LOG")
struct VerbosityTests {
    /// Every command a person runs.
    static let commands: [[String]] = [
        ["init"], ["clone"], ["remember"], ["retract"], ["sync"], ["recall"], ["show"], ["status"], ["trust", "list"],
        ["trust", "add"], ["trust", "remove"], ["trust", "revoke"], ["policy", "show"], ["policy", "set"], ["policy", "unset"],
        ["review", "list"], ["review", "show"], ["review", "merge"], ["admin", "reset"], ["reindex"], ["check"], ["verify"], ["breakers"], ["benchmarks"], ["mcp"],
        ["hook", "install"], ["hook", "uninstall"], ["hook", "session-start"],
        ["config", "get"], ["config", "set"], ["whoami"], ["store", "list"], ["store", "remove"], ["completion"], ["doctor"],
    ]

    @Test("every command documents and takes -v/--verbose and -q/--quiet", arguments: commands)
    func everyCommand(_ command: [String]) throws {
        let help = try PackagePaths.runSFGit(command + ["--help"])
        #expect(help.exitCode == 0)
        #expect(help.stdout.contains("-v, --verbose"), "\(command): \(help.stdout)")
        #expect(help.stdout.contains("-q, --quiet"), "\(command): \(help.stdout)")
        // Taken, not only documented: -q and -v together are refused in flag terms.
        let both = try PackagePaths.runSFGit(command + ["-q", "-v"])
        #expect(both.exitCode == 2)
        #expect(!both.stderr.contains("Unknown option"), "\(command): \(both.stderr)")
    }

    @Test("-vv shows each sync phase with its time; -q and the default do not; -v/-q win over SFGIT_LOG")
    func syncPhases() throws {
        let federation = try Federation()
        try federation.initialise()
        let phase = #/shared: fetch ok in \d+ ms/#
        let debug = try federation.run(federation.admin, ["sync", "-vv"])
        #expect(debug.exitCode == 0)
        #expect(debug.stderr.contains(phase), "\(debug.stderr)")
        #expect(debug.stdout.hasPrefix("shared: ok"), "logs stay off stdout: \(debug.stdout)")
        let plain = try federation.run(federation.admin, ["sync"])
        #expect(plain.stderr == "")
        let fromEnvironment = try federation.run(federation.admin, ["sync"], environment: ["SFGIT_LOG": "DEBUG"])
        #expect(fromEnvironment.stderr.contains(phase), "\(fromEnvironment.stderr)")
        let quiet = try federation.run(federation.admin, ["sync", "-q"], environment: ["SFGIT_LOG": "debug"])
        #expect(quiet.exitCode == 0)
        #expect(quiet.stdout + quiet.stderr == "")
    }

    @Test("an unknown SFGIT_LOG level is a warning naming the levels; the command still runs")
    func unknownLevel() throws {
        let federation = try Federation()
        try federation.initialise()
        let result = try federation.run(federation.admin, ["status"], environment: ["SFGIT_LOG": "loud"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stderr.contains("sfgit: warning: SFGIT_LOG='loud' is not a log level (trace, debug, info, notice, warning, error, critical); using warning"), "\(result.stderr)")
        #expect(result.stdout.contains("shared ("))
        #expect(try federation.run(federation.admin, ["status"], environment: ["SFGIT_LOG": "info"]).stderr == "")
    }
}

import Foundation
import SFGitTestSupport
import Testing

/// Errors speak in the user's terms: the flag that carried a bad value, not a line and column
/// of a file sfgit wrote; a subcommand's usage error shows that subcommand's usage.
@Suite("usage: errors in flag terms")
struct FlagErrorTests {
    @Test("remember's invalid values name their flag, never a position in the generated file",
          arguments: [
            (["note", "--title", "bad\u{1B}[2Kx"], "--title:"),
            (["note", "--title", "a\nb"], "--title:"),
            (["note", "--title", "ok", "--body", "line\n\u{1B}x"], "--body:"),
            (["note", "--title", "ok", "--tag", "Bad Tag"], "--tag:"),
            (["benchmark", "--title", "t", "--field", "subject=s", "--field", "metric=m", "--field", "value=abc", "--field", "unit=ms"], "--field value=…:"),
            (["circuit-breaker", "--title", "t", "--field", "subject=s", "--field", "state=weird"], "--field state=…:"),
          ])
    func rememberNamesTheFlag(_ arguments: [String], _ flag: String) throws {
        let federation = try Federation()
        try federation.initialise()
        let result = try federation.run(federation.admin, ["remember"] + arguments)
        #expect(result.exitCode == 7)
        #expect(result.stderr.contains("the memory is not valid: \(flag)"), "\(result.stderr)")
        #expect(result.stderr.range(of: #"\d+:\d+:"#, options: .regularExpression) == nil, "a file position: \(result.stderr)")
    }

    @Test("a usage error a subcommand finds while running shows its own usage, not sfgit's")
    func ownUsage() throws {
        let federation = try Federation()
        try federation.initialise()
        let result = try federation.run(federation.admin, ["recall", "x", "--since", "yesterday"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("Error: --since 'yesterday' is neither a duration"), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: sfgit recall [<options>]"), "\(result.stderr)")
        #expect(result.stderr.contains("See 'sfgit recall --help'"), "\(result.stderr)")
        #expect(!result.stderr.contains("Usage: sfgit <subcommand>"))
    }

    /// Every command a person runs but `trust`'s (changed in parallel by the policy work).
    static let documented = VerbosityTests.commands.filter { $0.first != "trust" }

    @Test("every subcommand's help ends its description with EXAMPLES of itself", arguments: documented)
    func examples(_ command: [String]) throws {
        let help = try PackagePaths.runSFGit(command + ["--help"])
        #expect(help.exitCode == 0)
        #expect(help.stdout.contains("EXAMPLES:\n  sfgit \(command.joined(separator: " "))") || help.stdout.contains("EXAMPLES:\n  echo '{}' | sfgit \(command.joined(separator: " "))")
                || help.stdout.contains("EXAMPLES:\n  source <(sfgit completion"),
                "\(command): \(help.stdout)")
    }
}

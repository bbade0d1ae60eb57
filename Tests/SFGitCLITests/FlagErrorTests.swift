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
        #expect(result.stderr.contains("Error: The value 'yesterday' is invalid for '--since <since>': expected a duration (7d) or a date"), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: sfgit recall [<options>]"), "\(result.stderr)")
        #expect(result.stderr.contains("See 'sfgit recall --help'"), "\(result.stderr)")
        #expect(!result.stderr.contains("Usage: sfgit <subcommand>"))
    }

    /// Typed flags: each value is parsed with the arguments by its facade type, and a refusal
    /// names the flag, the value and what was expected (exit 2), before anything runs.
    static let typedFlags: [([String], String)] = [
        (["recall", "--tier", "gold"], "'gold' is invalid for '--tier <tier>': expected one of self, authenticated, reviewed"),
        (["breakers", "--tier", "gold"], "'gold' is invalid for '--tier <tier>': expected one of self, authenticated, reviewed"),
        (["benchmarks", "--max-age", "0"], "'0' is invalid for '--max-age <max-age>': expected a duration (30d, 12h, 90m)"),
        (["sync", "--wait", "soon"], "'soon' is invalid for '--wait <wait>': expected a duration (120s, 2m, 6h, 2d, or 0)"),
        (["sync", "--timeout", "5x"], "'5x' is invalid for '--timeout <timeout>': expected a duration (120s, 2m, 6h, 2d, or 0)"),
        (["sync", "--timeout", "0"], "--timeout 0 leaves no time for the network step"),
        (["review", "list", "--wait", "x"], "'x' is invalid for '--wait <wait>': expected a duration"),
        (["trust", "add", "ana@desk", "ana.pub", "--role", "owner"], "'owner' is invalid for '--role <role>': expected one of write, review, admin"),
    ]

    @Test("a typed flag's bad value is refused at parse time, naming the flag and what it expects", arguments: typedFlags)
    func typedFlag(_ arguments: [String], _ message: String) throws {
        let home = try TemporaryDirectory(prefix: "sfgit-typed-flags")
        let result = try PackagePaths.runSFGit(arguments, environment: ["SFGIT_HOME": home.url("home")])
        #expect(result.exitCode == 2, "\(arguments): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.url("home")), "\(arguments) made a home before refusing")
    }

    /// Every command a person runs, and the groups' own pages.
    static let documented = VerbosityTests.commands + [["trust"], ["policy"], ["review"], ["admin"], ["hook"], ["config"], ["store"]]

    @Test("every subcommand's help, and every group's, ends its description with EXAMPLES of itself", arguments: documented)
    func examples(_ command: [String]) throws {
        let help = try PackagePaths.runSFGit(command + ["--help"])
        #expect(help.exitCode == 0)
        #expect(help.stdout.contains("EXAMPLES:\n  sfgit \(command.joined(separator: " "))") || help.stdout.contains("EXAMPLES:\n  echo '{}' | sfgit \(command.joined(separator: " "))")
                || help.stdout.contains("EXAMPLES:\n  source <(sfgit completion"),
                "\(command): \(help.stdout)")
    }
}

import ArgumentParser
import Foundation
import Logging
import SFGit

/// The `sfgit` command: subcommands, plus the mapping of every failure to an exit code
/// (docs/COMMANDS.md § Exit codes).
struct SFGitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sfgit",
        abstract: "Share AI-agent memories through a git repository, verified commit by commit.",
        version: "0.1.0",
        subcommands: [
            InitCommand.self, CloneCommand.self, RememberCommand.self, RetractCommand.self, SyncCommand.self,
            RecallCommand.self, ShowCommand.self, StatusCommand.self, TrustCommand.self, PolicyCommand.self, ReviewCommand.self, AdminCommand.self, ReindexCommand.self,
            CheckCommand.self, VerifyCommand.self, BreakersCommand.self, BenchmarksCommand.self, MCPCommand.self, HookCommand.self,
            ConfigCommand.self, WhoamiCommand.self, StoreCommand.self, CompletionCommand.self, DoctorCommand.self,
        ])
}

/// Logs go to stderr, at the level `-q`/`-v` or `SFGIT_LOG` sets (default: warnings only). The
/// level is known only once the arguments are parsed; loggers are made later, when a command runs.
func bootstrapLogging(_ command: ParsableCommand?) {
    let verbosity = command.flatMap(VerbosityOptions.of)
    let (level, warning) = LogSettings.level(environment: ProcessInfo.processInfo.environment["SFGIT_LOG"],
                                              verbose: verbosity?.verbose ?? 0, quiet: verbosity?.quiet ?? false)
    if let warning { printError("sfgit: warning: \(warning)") }
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}

/// The subcommand that was parsed, for its own usage line on a usage error from `run()`.
nonisolated(unsafe) var parsedCommand: ParsableCommand.Type?

do {
    var command = try SFGitCommand.parseAsRoot()
    parsedCommand = type(of: command)
    bootstrapLogging(command)
    TerminalProgress.setUp(quiet: VerbosityOptions.of(command)?.quiet ?? false)
    try command.run()
} catch let exit as ExitCode {
    Foundation.exit(exit.rawValue)
} catch {
    // ArgumentParser reports help and version as errors with exit code 0; anything else it
    // reports is a usage problem, which docs/COMMANDS.md § Exit codes numbers 2.
    let code = SFGitCommand.exitCode(for: error)
    if code == .success {
        printOut(SFGitCommand.fullMessage(for: error))
        Foundation.exit(0)
    }
    let status: ExitStatus = (error as? SFGitError)?.status ?? (code == .validationFailure ? .usage : .internalError)
    let arguments = CommandLine.arguments.dropFirst()
    if arguments.contains("--json") {
        // Scripts asked for JSON: a usage error is an envelope too (the message also goes to stderr).
        let command = arguments.first { !$0.hasPrefix("-") } ?? "sfgit"
        Envelope<String>(command: command, exit: status, data: nil, errorMessage: SFGitCommand.message(for: error)).print()
    }
    if let parsedCommand, parsedCommand != SFGitCommand.self, error is ValidationError {
        // Thrown by a subcommand's run(): ArgumentParser would show the root's usage.
        let usage = SFGitCommand.usageString(for: parsedCommand)
        let path = usage.split(separator: " ").prefix { !$0.hasPrefix("[") && !$0.hasPrefix("<") }.joined(separator: " ")
        printError("Error: \(SFGitCommand.message(for: error))\nUsage: \(usage)\n  See '\(path) --help' for more information.")
    } else {
        printError(SFGitCommand.fullMessage(for: error))
    }
    Foundation.exit(status.rawValue)
}

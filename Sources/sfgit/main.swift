import ArgumentParser
import Foundation
import Logging
import SFGit

/// The `sfgit` command: subcommands, plus the mapping of every failure to SPEC.md's exit codes.
struct SFGitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sfgit",
        abstract: "Share AI-agent memories through a git repository, verified commit by commit.",
        version: "0.1.0",
        subcommands: [
            InitCommand.self, CloneCommand.self, RememberCommand.self, RetractCommand.self, SyncCommand.self,
            RecallCommand.self, ShowCommand.self, StatusCommand.self, TrustCommand.self, PolicyCommand.self, ReviewCommand.self, AdminCommand.self, ReindexCommand.self,
            CheckCommand.self, VerifyCommand.self, BreakersCommand.self, BenchmarksCommand.self, MCPCommand.self, HookCommand.self, RemoteStepCommand.self,
        ])
}

/// Logs go to stderr; `SFGIT_LOG=debug|trace|info` raises the level (default: warnings only).
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = ProcessInfo.processInfo.environment["SFGIT_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
    return handler
}

do {
    var command = try SFGitCommand.parseAsRoot()
    try command.run()
} catch let exit as ExitCode {
    Foundation.exit(exit.rawValue)
} catch {
    // ArgumentParser reports help and version as errors with exit code 0; anything else it
    // reports is a usage problem, which SPEC.md numbers 2.
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
    printError(SFGitCommand.fullMessage(for: error))
    Foundation.exit(status.rawValue)
}

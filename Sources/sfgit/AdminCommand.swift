import ArgumentParser
import Foundation
import SFGit

/// `sfgit admin reset`: undo a bad but authentic history with a signed reset statement.
struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Store recovery for admins.",
        discussion: Examples.adminReset,
        subcommands: [Reset.self])

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset",
            abstract: "Reset the shared branch to an earlier verified commit with a signed reset statement that every host follows.",
            discussion: Examples.adminReset)
        @Option(help: "The earlier commit of the verified history to reset to.") var to: String
        @Option(help: "Why, one line (kept in the statement).") var reason: String
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var timeout: TimeoutOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            let seconds = timeout.seconds
            try perform("admin reset", output, { () throws(SFGitError) in
                let report = try openWorkspace(identity.identity).adminReset(to: to, reason: reason, store: storeOption.store, timeout: seconds)
                return Outcome(data: report, exit: report.sync.status, warnings: report.sync.warnings.map { ($0.code, $0.message) })
            }, text: { report in
                if let statement = report.statement {
                    printOut("\(safe(report.store)): reset from \(report.from.prefix(12)) to \(report.to.prefix(12)) by statement \(statement.prefix(12)); every host follows it on its next sync")
                } else {
                    printOut("\(safe(report.store)): the branch held refused history (\(safe(String(report.from.prefix(12))))); put back on the verified tip \(report.to.prefix(12)), where every host already is")
                }
            })
        }
    }
}

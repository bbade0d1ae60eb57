import ArgumentParser
import SFGit

/// `sfgit check`: validate memory files in a working tree or given files.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate memory files (and a store's layout) in a working tree or given files.",
        discussion: """
            Given a store's root (a directory holding memories/ or .sfgit/), every file is checked, \
            path rules included. Given other directories, store roots and .yaml files inside are checked. \
            Given a file outside a store, its content is checked. Exit 0 when all are valid, 7 otherwise.
            """ + "\n\n" + Examples.check)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, github
    }

    @Argument(help: "Files or directories to check (default: the current directory).")
    var paths: [String] = []

    @Option(help: "Output format: text, json or github (workflow annotations).")
    var format: Format = .text

    @OptionGroup var output: OutputOptions

    func run() throws {
        let format = output.json ? .json : format
        let report: CheckReport
        do {
            report = try StoreChecker().check(paths: paths.isEmpty ? ["."] : paths)
        } catch {
            if format == .json {
                Envelope<CheckReport>(command: "check", exit: error.status, data: nil, errorMessage: error.message).print()
            } else {
                printError("sfgit check: \(error.message)")
            }
            throw ExitCode(error.status.rawValue)
        }
        let exit: ExitStatus = report.isValid ? .ok : .invalid
        switch format {
        case .json:
            let message = report.isValid ? nil : summary(report)
            Envelope(command: "check", exit: exit, data: report, errorMessage: message).print()
        case .text:
            for finding in report.problems { printOut("\(safe(finding.path)):\(finding.line):\(finding.column): error: \(safe(finding.message))") }
            for finding in report.warnings { printOut("\(safe(finding.path)):\(finding.line):\(finding.column): warning: \(safe(finding.message))") }
            printOut(summary(report))
        case .github:
            for finding in report.problems { printOut(annotation("error", finding)) }
            for finding in report.warnings { printOut(annotation("warning", finding)) }
            printOut(summary(report))
        }
        if exit != .ok { throw ExitCode(exit.rawValue) }
    }

    private func summary(_ report: CheckReport) -> String {
        let files = report.files == 1 ? "1 file" : "\(report.files) files"
        let warnings = report.warnings.isEmpty ? "" : ", \(report.warnings.count) warning\(report.warnings.count == 1 ? "" : "s")"
        if report.isValid { return "checked \(files): no problems\(warnings)" }
        let failing = Set(report.problems.map(\.path)).count
        return "checked \(files): \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s") in \(failing) file\(failing == 1 ? "" : "s")\(warnings)"
    }

    /// A GitHub Actions workflow command: each value escaped as one line by `SafeText`, then as
    /// the runner expects.
    private func annotation(_ level: String, _ finding: CheckFinding) -> String {
        "::\(level) file=\(SafeText.githubProperty(finding.path)),line=\(finding.line),col=\(finding.column),"
            + "title=\(SafeText.githubProperty(finding.code))::\(SafeText.githubMessage(finding.message))"
    }
}

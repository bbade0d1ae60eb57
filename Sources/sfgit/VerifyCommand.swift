import ArgumentParser
import SFGit

/// `sfgit verify`: the trust model over a repository's history.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify that every commit of a repository's history is signed by a trusted committer.",
        discussion: """
            Judges each commit from the introduction (or from --from) to REV under the store's trust \
            model. Exit 0: authentic. Exit 5 (UNTRUSTED): a commit was refused; the first one is named \
            with its reason. Exit 7 (INVALID): every commit is authentic but some files are quarantined.

            EXAMPLES:
              sfgit verify --store shared                          # this host's copy, pinned by config.yaml
              sfgit verify --repo . --introduction COMMIT --signer SHA256:FP origin/main
              sfgit verify --repo store.git --from VERIFIED NEW    # a pre-receive hook
            """)

    @Option(help: "The repository (bare, or a clone's work tree).")
    var repo: String?

    @Option(help: ArgumentHelp("A store of this home: its repository, pinned by config.yaml (REV default: its verified tip).", valueName: "NAME"),
            completion: .custom { _, _, _ in ShellCompletion.storeNames() })
    var store: String?

    @Option(help: "The store's introduction commit (given out of band).")
    var introduction: String?

    @Option(help: "The SHA256: fingerprint of the key that signed the introduction.")
    var signer: String?

    @Option(name: .customLong("from"), help: "A commit verified before; only newer commits are judged.")
    var from: String?

    @Flag(help: "Verify a proposal branch (review mode's first-parent rule does not apply).")
    var proposal = false

    @Argument(help: "The revision to verify (default: HEAD; with --store, the store's verified tip).")
    var revision: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if (introduction == nil) != (signer == nil) {
            throw ValidationError("--introduction and --signer go together")
        }
        if store != nil && (repo != nil || introduction != nil) {
            throw ValidationError("--store takes the repository and the pin from config.yaml: it excludes --repo, --introduction and --signer")
        }
    }

    func run() throws {
        let pinned = introduction.flatMap { commit in signer.map { (commit, $0) } }
        let report: VerifyReport
        do {
            if let store {
                report = try openWorkspace().verification(store: store, revision: revision, from: from, proposal: proposal).run()
            } else {
                report = try HistoryVerification(repositoryPath: repo ?? ".", introduction: pinned, from: from, revision: revision ?? "HEAD", proposal: proposal).run()
            }
        } catch {
            if output.json {
                Envelope<VerifyReport>(command: "verify", exit: error.status, data: nil, errorMessage: error.message).print()
            } else {
                printError("sfgit verify: \(error.message)")
            }
            throw ExitCode(error.status.rawValue)
        }
        let exit = report.status
        if output.json {
            let message = report.blocked.map { "commit \($0.commit) is \($0.status): \($0.reason)" }
                ?? (report.quarantined.isEmpty ? nil : "\(report.quarantined.count) file(s) quarantined")
            Envelope(command: "verify", exit: exit, data: report, errorMessage: message).print()
        } else {
            if let blocked = report.blocked {
                let who = blocked.principal.map { " by \(safe($0))" } ?? ""
                printOut("UNTRUSTED: commit \(safe(blocked.commit)) (\(safe("\(blocked.status)"))\(who)): \(safe(blocked.reason))")
            }
            for file in report.quarantined {
                printOut("quarantined \(safe(file.path)) (\(safe(file.reason)), commit \(safe(String(file.commit.prefix(12))))): \(safe(file.detail))")
            }
            let tip = report.verifiedTip.map { "authentic up to \(safe($0))" } ?? "nothing authentic"
            printOut("verified \(report.commits) commit\(report.commits == 1 ? "" : "s"): \(tip)")
        }
        if exit != .ok { throw ExitCode(exit.rawValue) }
    }
}

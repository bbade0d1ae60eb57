import ArgumentParser
import Foundation
import SFGit

/// `sfgit doctor`: each part of the set-up checked, each problem with its fix.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the set-up: config and home, identity, signing key, ssh-agent, each store's sync and cache; each problem with its fix.",
        discussion: """
            Exit 0 when everything works; 2 when the configuration, identity or signing key cannot \
            (an encrypted key with no ssh-agent, as under cron, included); else what status would \
            exit with for the stores (5, 6, 3).

            EXAMPLES:
              sfgit doctor
              env -i PATH=/usr/bin:/bin HOME=$HOME sfgit doctor     # as cron sees it
            """)

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let (checks, exit) = Doctor.run(home: Home.fromEnvironment(), identityOverrides: identity.identity)
        let first = checks.first { $0.status == "fail" }
        try perform("doctor", output, { () throws(SFGitError) in
            Outcome(data: DoctorData(checks: checks), exit: exit, message: first.map { "\($0.name): \($0.detail)" })
        }, text: { data in
            for check in data.checks {
                let mark = check.status == "ok" ? "ok  " : check.status == "warning" ? "WARN" : "FAIL"
                printOut("\(mark)  \(safe(check.name)): \(safe(check.detail))")
                if let fix = check.fix, check.status != "ok" { printOut("      fix: \(safe(fix))") }
            }
        })
    }
}

/// `doctor`'s JSON data.
struct DoctorData: Encodable {
    var checks: [DoctorCheck]
}

import ArgumentParser
import Foundation
import SFGit

/// `sfgit policy show|set|unset`: the store's signed policy (admin commits, published by the next sync).
struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Show or change a store's policy: mode, quotas, limits, half-lives (admin commits, published by the next sync).",
        discussion: Examples.policyGroup,
        subcommands: [Show.self, SetValue.self, Unset.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "The policy as the next sync publishes it, pending changes marked.", discussion: Examples.policyShow)
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            try perform("policy show", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace().policyShow(store: storeOption.store))
            }, text: { report in
                printOut("store \(safe(report.store)) · policy version \(report.version) · branch \(safe(report.branch))\(report.pending ? " · changes pending sync" : "")")
                for setting in report.settings {
                    let notes = [setting.isDefault ? "default" : nil, setting.pending ? "pending sync" : nil].compactMap { $0 }
                    printOut("\(setting.key): \(safe(PolicyCommand.text(setting.value)))\(notes.isEmpty ? "" : "  (\(notes.joined(separator: ", ")))")")
                }
                printOut("principals:")
                for principal in report.principals {
                    let quota = principal.roles.isEmpty ? "removed" : "quota \(principal.quotaPerDay)/day\(principal.quotaIsDefault ? " (default)" : "")"
                    printOut("  \(safe(principal.name))  [\(principal.roles.map(safe).joined(separator: ", "))]  \(quota)\(principal.pending ? "  (pending sync)" : "")")
                }
            })
        }
    }

    struct SetValue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set one setting: mode, quota, max_file_bytes, max_files_per_commit, max_commit_bytes, max_tree_bytes, benchmark_max_age, half_lives.KIND.", discussion: Examples.policySet)
        @Argument(help: "The setting, as the policy file names it.") var key: String
        @Argument(help: "Its value: review|direct, a positive integer, or 30d/12h for benchmark_max_age.") var value: String
        @Option(help: "With quota: this principal's own daily quota instead of the store's default.") var principal: String?
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try perform("policy set", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace(identity.identity).policySet(key, value: value, principal: principal, store: storeOption.store))
            }, text: PolicyCommand.printChange)
        }
    }

    struct Unset: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unset", abstract: "Return one setting to sfgit's default (with --principal: that principal to the store's quota).", discussion: Examples.policyUnset)
        @Argument(help: "The setting, as the policy file names it.") var key: String
        @Option(help: "With quota: drop this principal's own daily quota.") var principal: String?
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try perform("policy unset", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace(identity.identity).policySet(key, value: nil, principal: principal, store: storeOption.store))
            }, text: PolicyCommand.printChange)
        }
    }

    static func printChange(_ report: PolicyChangeReport) {
        let what = "\(report.key)\(report.principal.map { " of \($0)" } ?? "") \(text(report.value ?? .null))"
        if let commit = report.commit {
            printOut("\(safe(what)) in the outbox of \(safe(report.store)) (commit \(safe(String(commit.prefix(12))))); \(AdminChangeText.next(report.publishedBy))")
        } else {
            printOut("\(safe(what)): the policy of \(safe(report.store)) already says so; nothing written")
        }
    }

    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .null: return "(default)"
        default: return "\(value)"
        }
    }
}

/// What happens next to an admin change waiting in the outbox.
enum AdminChangeText {
    static func next(_ publishedBy: String) -> String {
        publishedBy == "review_merge"
            ? "sfgit sync proposes it on this host's proposal branch; it is published once a reviewer merges it (sfgit review merge)"
            : "sfgit sync publishes it"
    }
}

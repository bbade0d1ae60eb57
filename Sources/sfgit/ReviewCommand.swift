import ArgumentParser
import Foundation
import SFGit

/// `sfgit review list|show|merge`: reviewers' work on proposal branches.
struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "List, show and merge writers' proposal branches (sfgit/proposals/PRINCIPAL) with an SSH-signed merge commit.",
        discussion: Examples.reviewGroup,
        subcommands: [List.self, Show.self, Merge.self])

    /// `--offline`, `--timeout`, `--wait` of the review commands.
    struct NetworkOptions: ParsableArguments {
        @Flag(help: "Use the proposals as the last review fetch saw them; touch no network.") var offline = false
        @OptionGroup var timeout: TimeoutOption
        @OptionGroup var wait: WaitOption

        func options() throws -> ReviewOptions {
            var options = ReviewOptions()
            options.offline = offline
            options.timeout = timeout.seconds
            options.wait = wait.seconds
            return options
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Open proposals: principal, memories with provenance, and the verify --proposal result.", discussion: Examples.reviewList)
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var network: NetworkOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let options = try network.options()
            try perform("review list", output, { () throws(SFGitError) in
                let report = try openWorkspace().reviewList(store: storeOption.store, options: options)
                return Outcome(data: report, warnings: report.stale.map { [("PROPOSALS_STALE", $0)] } ?? [])
            }, text: { report in
                if report.proposals.isEmpty { printOut("no open proposals in \(safe(report.store))") }
                for proposal in report.proposals { ReviewCommand.print(proposal, full: false) }
            })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One proposal with its memories' bodies.", discussion: Examples.reviewShow)
        @Argument(help: "The proposing principal, author@host.") var principal: String
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var network: NetworkOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let options = try network.options()
            try perform("review show", output, { () throws(SFGitError) in
                let report = try openWorkspace().reviewList(store: storeOption.store, principal: principal, options: options)
                return Outcome(data: report, warnings: report.stale.map { [("PROPOSALS_STALE", $0)] } ?? [])
            }, text: { report in
                for proposal in report.proposals { ReviewCommand.print(proposal, full: true) }
            })
        }
    }

    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Merge a proposal with a merge commit signed by your review or admin key, checked as peers check it; --push publishes it.",
            discussion: Examples.reviewMerge)
        @Argument(help: "The proposing principal, author@host.") var principal: String
        @Flag(help: "Push the merge to the shared branch (fast-forward only); without it, the merge is made and checked only.") var push = false
        @Option(name: .customLong("expect-tip"), help: "Merge only if the proposal's tip is this commit (the one approved).") var expectTip: String?
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var timeout: TimeoutOption
        @OptionGroup var wait: WaitOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            var options = ReviewOptions()
            options.timeout = timeout.seconds
            options.wait = wait.seconds
            try perform("review merge", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace(identity.identity).reviewMerge(principal: principal, push: push, expectedTip: expectTip, store: storeOption.store, options: options))
            }, text: { report in
                let commit = safe(String((report.commit ?? "").prefix(12)))
                switch report.state {
                case "merged": printOut("merged sfgit/proposals/\(safe(report.principal)) (\(report.memories.count) memories) into \(safe(report.store)) as \(commit), pushed")
                case "checked": printOut("merge \(commit) of sfgit/proposals/\(safe(report.principal)) (\(report.memories.count) memories) is verified; run again with --push to publish it")
                default: printOut("sfgit/proposals/\(safe(report.principal)) is already on the shared branch; nothing to merge")
                }
            })
        }
    }

    static func print(_ proposal: Proposal, full: Bool) {
        let check = proposal.check
        var verdict = check.result
        if let blocked = check.blocked { verdict += ": commit \(blocked.commit.prefix(12)) \(blocked.status): \(blocked.reason)" }
        if !check.quarantined.isEmpty { verdict += ": \(check.quarantined.count) files quarantined" }
        if !check.resetRemoved.isEmpty { verdict += ": \(check.resetRemoved.count) memor\(check.resetRemoved.count == 1 ? "y" : "ies") removed by an admin reset" }
        if !check.foreignCommits.isEmpty { verdict += " · \(check.foreignCommits.count) commits signed by others" }
        if check.blocked == nil { verdict += check.mergesCleanly ? " · merges cleanly" : " · does not merge cleanly" }
        printOut("\(safe(proposal.branch)) · \(proposal.commits) commit\(proposal.commits == 1 ? "" : "s") · tip \(safe(String(proposal.tip.prefix(12)))) · \(safe(verdict))")
        for memory in proposal.memories {
            printOut("   \(safe(memory.kind)) \(safe(memory.id)) · signed by \(safe(memory.signer)) (\(safe(memory.key))) · recorded \(safe(memory.recordedAt))")
            printOut("   > title: \(safe(memory.title))")
            if full, let body = memory.body {
                for line in body.split(separator: "\n", omittingEmptySubsequences: false) { printOut("   > \(safe(String(line)))") }
            }
        }
        for file in proposal.files {
            printOut("   CHANGES \(safe(file.path)) (\(file.change))")
            for line in file.diff ?? [] { printOut("   > \(safe(line))") }
        }
        for file in check.quarantined { printOut("   QUARANTINED \(safe(file.path)): \(safe(file.reason)): \(safe(file.detail))") }
        for removal in check.resetRemoved {
            printOut("   REMOVED BY RESET \(safe(removal.path)): reset statement \(safe(String(removal.statement.prefix(12)))); not merged again")
        }
    }
}

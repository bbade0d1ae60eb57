import ArgumentParser
import Foundation
import SFGit

/// `sfgit trust list|add|remove`: signed changes to a store's trust files.
struct TrustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "List, add or remove the principals and keys a store trusts (admin commits, published by the next sync).",
        discussion: Examples.trustGroup,
        subcommands: [List.self, Add.self, Remove.self, Revoke.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The principals, their roles and keys.", discussion: Examples.trustList)
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            try perform("trust list", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace().trustList(store: storeOption.store))
            }, text: { entries in
                for entry in entries {
                    printOut("\(safe(entry.principal))  [\(entry.roles.map(safe).joined(separator: ", "))]\(entry.pending ? "  (pending sync)" : "")")
                    if let quota = entry.quota {
                        printOut("    quota \(quota.perDay)/day: \(quota.used) used, \(quota.left) left" + (quota.freesAt.map { ", the next frees at \($0)" } ?? "")
                                 + (quota.deferred > 0 ? ", \(quota.deferred) deferred" : ""))
                    }
                    for key in entry.keys { printOut("    \(safe(key))") }
                    for key in entry.revoked {
                        printOut("    REVOKED \(safe(key.key))" + (key.since.map { " after \(safe(String($0.prefix(12))))" } ?? " (always)"))
                    }
                }
            })
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Authorize a principal's key with a role.", discussion: Examples.trustAdd)
        @Argument(help: "The principal, author@host.") var principal: String
        @Argument(help: "Its public key file (KEY.pub).") var key: String
        @Option(name: .customLong("role"), help: "write, review or admin (repeatable).", transform: flagValue()) var roles: [Role] = []
        @Option(help: "Memories per day this principal may add (default: the store's quota).") var quota: Int?
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let quota, quota < 1 { throw ValidationError("--quota must be at least 1") }
            if roles.isEmpty { throw ValidationError("give at least one --role (write, review or admin)") }
        }

        func run() throws {
            let set = Set(roles)
            try perform("trust add", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace(identity.identity).trustAdd(principal: principal, publicKeyPath: key, roles: set, quotaPerDay: quota, store: storeOption.store))
            }, text: { TrustCommand.printChange($0, "added") })
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Declare a principal's keys compromised from a commit on (or always): its later commits are refused, its later memories no longer served.",
            discussion: Examples.trustRevoke)
        @Argument(help: "The principal, author@host.") var principal: String
        @Option(help: "The last commit of the verified history whose signatures by these keys are still trusted (default: none).") var since: String?
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try perform("trust revoke", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace(identity.identity).trustRevoke(principal: principal, since: since, store: storeOption.store))
            }, text: { TrustCommand.printChange($0, "revoked") })
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a principal and its keys.", discussion: Examples.trustRemove)
        @Argument(help: "The principal, author@host.") var principal: String
        @OptionGroup var storeOption: StoreOption
        @OptionGroup var identity: IdentityOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try perform("trust remove", output, { () throws(SFGitError) in
                Outcome(data: try openWorkspace(identity.identity).trustRemove(principal: principal, store: storeOption.store))
            }, text: { TrustCommand.printChange($0, "removed") })
        }
    }

    /// One line for a trust change: what changed and how it is published, or that nothing was.
    static func printChange(_ report: TrustChangeReport, _ verb: String) {
        if let commit = report.commit {
            printOut("\(safe(report.principal)) \(verb) in the outbox of \(safe(report.store)) (commit \(safe(String(commit.prefix(12))))); \(AdminChangeText.next(report.publishedBy))")
        } else {
            printOut("\(safe(report.principal)): the trust files of \(safe(report.store)) already say so; nothing written")
        }
    }
}

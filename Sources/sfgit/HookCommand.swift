import ArgumentParser
import Foundation
import SFGit

/// `sfgit hook`: wiring sfgit into agent harnesses, and the hooks they run.
struct HookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook",
        abstract: "Wire sfgit into Claude Code, Cursor or Hermes, and the session-start hook they run.",
        discussion: Examples.hookGroup,
        subcommands: [HookInstallCommand.self, HookUninstallCommand.self, SessionStartCommand.self])
}

/// Options shared by `hook install` and `hook uninstall`.
struct HarnessOptions: ParsableArguments {
    @Option(help: "claude, cursor or hermes.")
    var harness: String

    @Option(help: "project (files in the current directory, to commit) or user (files in your home).")
    var scope: String = "project"

    @Flag(name: .customLong("dry-run"), help: "Print the changes; write nothing.")
    var dryRun = false

    @Option(help: "The store the server and hook use by default.")
    var store: String?

    func validate() throws {
        guard Harness(rawValue: harness) != nil else { throw ValidationError("--harness takes claude, cursor or hermes") }
        guard HarnessWiring.Scope(rawValue: scope) != nil else { throw ValidationError("--scope takes project or user") }
        if harness == "hermes" && scope == "project" && CommandLine.arguments.contains("--scope") {
            throw ValidationError("Hermes has a user configuration only (~/.hermes/config.yaml): use --scope user")
        }
    }

    /// Plans, prints and (unless a dry run) applies the edits.
    func run(remove: Bool) throws {
        let harness = Harness(rawValue: harness)!
        let registration = MCPRegistration(command: executablePath, arguments: ["mcp"] + (store.map { ["--store", $0] } ?? []),
                                           environment: MCPRegistration.environment())
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        let files = HarnessWiring.files(harness, scope: HarnessWiring.Scope(rawValue: scope)!,
                                        projectDirectory: FileManager.default.currentDirectoryPath, userHome: home)
        do {
            let edits = try HarnessWiring.plan(harness, files: files, registration: registration, remove: remove)
            let changed = edits.filter(\.changes)
            for edit in changed { FileHandle.standardOutput.write(Data(SafeText.escape(edit.diff, for: .lines).utf8)) }
            if !dryRun { try HarnessWiring.apply(changed) }
            let verb = remove ? "removed from" : "installed in"
            if changed.isEmpty {
                printOut("sfgit: nothing to change (\(remove ? "not installed" : "already installed") for \(harness.rawValue))")
            } else if dryRun {
                printOut("sfgit: dry run, nothing written (\(changed.count) file\(changed.count == 1 ? "" : "s") would change)")
            } else {
                for edit in changed { printOut("sfgit: \(verb) \(safe(edit.path))" + (edit.before != nil ? " (backup: \(safe(edit.path)).bak)" : "")) }
                if !remove {
                    switch harness {
                    case .claude: printOut("Claude Code: restart the session; /mcp should list sfgit (5 tools).")
                    case .cursor: printOut("Cursor: enable sfgit under Settings → MCP; it lists 5 tools.")
                    case .hermes: printOut("Hermes: restart it; the tools appear as mcp_sfgit_memory_*.")
                    }
                }
            }
        } catch {
            printError("sfgit hook: \(error.message)")
            printError("The snippet to add by hand:")
            FileHandle.standardError.write(Data(SafeText.escape(registration.snippet(for: harness.rawValue), for: .lines).utf8))
            throw ExitCode(error.status.rawValue)
        }
    }
}

/// `sfgit hook install`.
struct HookInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Register `sfgit mcp` (and, for Claude Code, the session-start hook) in a harness's config files.",
        discussion: "Merges only sfgit's own entries, with minimal edits; keeps a .bak copy and prints a diff. A file that does not parse is left alone.\n\n" + Examples.hookInstall)

    @OptionGroup var options: HarnessOptions
    @OptionGroup var verbosity: VerbosityOptions

    func run() throws { try options.run(remove: false) }
}

/// `sfgit hook uninstall`.
struct HookUninstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall", abstract: "Remove sfgit's entries from a harness's config files, and nothing else.",
        discussion: Examples.hookUninstall)

    @OptionGroup var options: HarnessOptions
    @OptionGroup var verbosity: VerbosityOptions

    func run() throws { try options.run(remove: true) }
}

/// `sfgit hook session-start`: the memories an agent should see when a session starts, for a
/// harness's SessionStart hook (its stdout is added to the context). Fail-open and bounded: it
/// reads the hook's JSON from stdin (ignored beyond being read), answers from the caches only
/// (no network, no sync lock, no rebuild), prints at most `--max-chars` characters, and on any
/// problem or after 2 seconds prints nothing and exits 0.
struct SessionStartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session-start", abstract: "Print the fenced memories for a new agent session (for SessionStart hooks; fail-open).",
        discussion: Examples.sessionStart)

    @Option(name: .customLong("max-chars"), help: "The most characters printed.")
    var maxChars: Int = 6_000

    @Option(help: "Only this store.")
    var store: String?

    @OptionGroup var verbosity: VerbosityOptions

    func run() throws {
        signal(SIGALRM) { _ in _exit(0) }
        alarm(2)
        Self.drainInput()
        let now = Date().timeIntervalSince1970
        guard var workspace = try? openWorkspace() else { return }
        workspace.residentCaches = ResidentCaches()
        var rules = RecallQuery(now: now)
        rules.kinds = ["contract", "anti-pattern", "circuit-breaker"]
        rules.limit = 8
        var learnings = RecallQuery(now: now)
        learnings.kinds = ["learning"]
        learnings.limit = 4
        var items: [RecallItem] = []
        for query in [rules, learnings] {
            guard let found = try? workspace.recall(query, store: store).items else { continue }
            items += found.filter { item in !items.contains { $0.id == item.id } }
        }
        guard !items.isEmpty else { return }
        let rendering = MemoryFence.render(items, heading: "Session start: this host's contracts, anti-patterns and circuit breakers, then the newest learnings. memory_recall finds more.",
                                           maxCharacters: max(MemoryFence.minimumCharacters, maxChars))
        FileHandle.standardOutput.write(Data((rendering.text + "\n").utf8))
    }

    /// Reads what the harness wrote on stdin (its hook JSON), up to 1 MiB and 0.5 s, so that it
    /// never blocks on a full pipe; a terminal is not read.
    static func drainInput() {
        guard isatty(0) == 0 else { return }
        let deadline = Date().addingTimeInterval(0.5)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var total = 0
        while total < 1 << 20 {
            let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var poller = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&poller, 1, left) > 0 else { return }
            let count = read(0, &buffer, buffer.count)
            if count <= 0 { return }
            total += count
        }
    }
}

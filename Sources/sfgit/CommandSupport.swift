import ArgumentParser
import Foundation
import SFGit

/// `--store NAME`.
struct StoreOption: ParsableArguments {
    @Option(name: .long, help: "The store to act on (default: all stores for reads, the only store for writes).",
            completion: .custom { _, _, _ in ShellCompletion.storeNames() })
    var store: String?
}

/// `--author`, `--host`, `--key`: override config.yaml and SFGIT_AUTHOR/SFGIT_HOST/SFGIT_SIGNING_KEY.
struct IdentityOptions: ParsableArguments {
    @Option(help: "The author half of this host's principal (author@host).")
    var author: String?

    @Option(help: "The host half of this host's principal.")
    var host: String?

    @Option(help: "The SSH private key that signs (ed25519 or ECDSA; a .pub of an ssh-agent key).")
    var key: String?

    var identity: Identity { Identity(author: author, host: host, key: key) }
}

/// `--timeout`: the deadline of each network step.
struct TimeoutOption: ParsableArguments {
    @Option(help: "Deadline of each network step (120s, 2m; more than 0).", transform: flagValue())
    var timeout = TimeSpan(argumentText: "120s")!

    func validate() throws {
        if timeout.seconds <= 0 { throw ValidationError("--timeout \(timeout) leaves no time for the network step: give a duration above 0 (120s, 2m)") }
    }

    /// The deadline in seconds.
    var seconds: Double { timeout.seconds }
}

/// `--wait`: how long to wait for another sync's lock on the same store.
struct WaitOption: ParsableArguments {
    @Option(help: "How long to wait for another sync of the same store (0: exit BUSY at once; 30s).", transform: flagValue())
    var wait = TimeSpan(argumentText: "0")!

    /// The wait in seconds.
    var seconds: Double { wait.seconds }
}

/// `--alert-after`: how long a store may go without a successful sync before it needs a person.
struct AlertAfterOption: ParsableArguments {
    @Option(name: .customLong("alert-after"), help: "How long a store may go without a successful sync before it needs attention (6h, 30m, 2d).",
            transform: flagValue())
    var alertAfter = TimeSpan(argumentText: "6h")!

    /// The threshold in seconds.
    var seconds: Double { alertAfter.seconds }
}

/// What a command produced: its JSON `data`, exit status, warnings and (for failures) message.
struct Outcome<Payload: Encodable> {
    var data: Payload
    var exit: ExitStatus = .ok
    var warnings: [(code: String, message: String)] = []
    var message: String?
    /// Print no text at all, whatever the exit status (`sync --quiet` while nothing needs a
    /// person); `--json` still prints the envelope.
    var silent = false
    /// The text output already says `message`: it is not repeated on stderr.
    var messageInText = false
}

/// The path of this executable, as harness configurations name it.
let executablePath: String = {
    if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
    return Bundle.main.executablePath ?? CommandLine.arguments[0]
}()

/// Opens the home with this identity; network steps run in the `sfgit-network` child, killed at
/// the deadline (the library's default).
func openWorkspace(_ identity: Identity = Identity()) throws(SFGitError) -> Workspace {
    var workspace = try Workspace(home: Home.fromEnvironment(), identityOverrides: identity)
    workspace.progress = TerminalProgress.shared?.sink
    return workspace
}

/// Runs a command body and renders its outcome: one JSON envelope with `--json`, else text on
/// stdout and diagnostics on stderr; then exits with the outcome's status.
func perform<Payload: Encodable>(
    _ command: String, _ output: OutputOptions, quiet: Bool = false,
    _ body: () throws(SFGitError) -> Outcome<Payload>, text: (Payload) -> Void
) throws {
    let outcome: Outcome<Payload>
    // The progress line, if any, is ended before the command's own output.
    do {
        outcome = try body()
        TerminalProgress.shared?.finish()
    } catch {
        TerminalProgress.shared?.finish()
        if output.json {
            Envelope<Payload>(command: command, exit: error.status, data: nil, errorMessage: error.message).print()
        } else {
            printError("sfgit \(command): \(error.message)")
        }
        throw ExitCode(error.status.rawValue)
    }
    if output.json {
        Envelope(command: command, exit: outcome.exit, warnings: outcome.warnings.map { .init(code: $0.code, message: $0.message) },
                 data: outcome.data, errorMessage: outcome.message).print()
    } else if !outcome.silent {
        if !quiet || outcome.exit != .ok { text(outcome.data) }
        for warning in outcome.warnings { printError("warning: \(warning.message)") }
        if let message = outcome.message, outcome.exit != .ok, !outcome.messageInText, !outcome.warnings.contains(where: { $0.message == message }) {
            printError("sfgit \(command): \(message)")
        }
    }
    if outcome.exit != .ok { throw ExitCode(outcome.exit.rawValue) }
}

/// The parser of a flag whose value is one of the facade's `ArgumentValue` types: the text is
/// parsed with the arguments, and ArgumentParser's refusal names the flag and the value, then
/// says what was expected ("The value 'x' is invalid for '--since <since>': expected a duration …").
func flagValue<Value: ArgumentValue>() -> @Sendable (String) throws -> Value {
    { text in
        guard let value = Value(argumentText: text) else { throw ValidationError("expected \(Value.expectation)") }
        return value
    }
}

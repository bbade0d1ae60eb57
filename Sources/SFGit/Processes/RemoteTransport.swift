import Foundation
import SFGitProcess
import SFGitRepository

/// Where network steps run. Every workspace bounds them by default: a library caller gets the
/// same deadlines and memory cap as the `sfgit` command (docs/ARCHITECTURE.md § Processes).
public enum RemoteTransport: Sendable {
    /// In this process, unbounded: libgit2 1.5 has no network timeout, so a server that accepts a
    /// connection and never answers hangs the caller (tests and callers that bound it themselves).
    case inProcess
    /// Bounded by the deadline: in a child `executable` (the `sfgit-network` helper) killed at the
    /// deadline, except a fetch from a local `file://` remote, whose git upload-pack child is
    /// killed from this process.
    case childProcess(executable: String)

    /// The helper's file name.
    public static let helperName = "sfgit-network"
    /// The environment variable naming the helper explicitly.
    public static let helperVariable = "SFGIT_NETWORK_HELPER"

    /// The default: the `sfgit-network` helper, found by `locateHelper`.
    public static var standard: RemoteTransport { .childProcess(executable: locateHelper()) }

    /// The helper's path: `$SFGIT_NETWORK_HELPER`; else `sfgit-network` beside the running
    /// program, or in `../libexec/sfgit/` from it (where `make install` and the .deb put it);
    /// else on PATH. When none exists, the bare name: a network step then fails saying how to
    /// install it.
    public static func locateHelper(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment[helperVariable], !explicit.isEmpty { return explicit }
        if let program = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let directory = (program as NSString).deletingLastPathComponent
            for candidate in ["\(directory)/\(helperName)", "\(directory)/../libexec/sfgit/\(helperName)"]
            where access(candidate, X_OK) == 0 {
                return (candidate as NSString).standardizingPath
            }
        }
        return Launcher.resolve(helperName, path: environment["PATH"]) ?? helperName
    }

    /// Runs a step, bounded by `timeout` seconds when in a child process; `progress` gets lines
    /// on a fetch's objects as they arrive.
    func run(_ request: RemoteRequest, timeout: Double, httpPassword: String?, progress: (@Sendable (String) -> Void)? = nil) -> RemoteResponse {
        switch self {
        case .inProcess:
            return RemoteStep.perform(request, progress: progress)
        case .childProcess where request.operation != .push && LocalGitTransport.serves(request.url):
            // A local fetch talks to a git upload-pack child that can be killed at the deadline
            // from here: no second process to start.
            let response = RemoteStep.perform(request, deadline: Date().addingTimeInterval(timeout), progress: progress)
            return response.timedOut ? Self.timedOut(request, timeout) : response
        case .childProcess(let executable):
            var request = request
            request.reportProgress = progress != nil && request.operation == .fetch
            return Self.runChild(executable, request, timeout: timeout, httpPassword: httpPassword, progress: progress)
        }
    }

    private static func timedOut(_ request: RemoteRequest, _ timeout: Double) -> RemoteResponse {
        let what = request.operation == .push ? "push to" : request.operation == .fetch ? "fetch from" : "connection to"
        return RemoteResponse(failure: "\(what) \(request.url) did not finish within \(formatSeconds(timeout)) (--timeout); stopped", timedOut: true)
    }

    /// The request goes as JSON on the child's stdin, the response comes as JSON on its stdout,
    /// and progress lines (`RemoteStep.progressPrefix`) on its stderr as they arrive.
    private static func runChild(_ executable: String, _ request: RemoteRequest, timeout: Double, httpPassword: String?,
                                 progress: (@Sendable (String) -> Void)?) -> RemoteResponse {
        var environment = ParentBinding.naming(thisProcessIn: ProcessInfo.processInfo.environment)
        environment[RemoteStep.httpPasswordVariable] = httpPassword
        let child = ChildCommand(executable, environment: environment)
        let result: ChildResult
        do {
            result = try Launcher.run(child, input: (try? JSONEncoder().encode(request)) ?? Data(),
                                      deadline: Date().addingTimeInterval(timeout), errorLine: progress.map { progress in
                { line in if line.hasPrefix(RemoteStep.progressPrefix) { progress(String(line.dropFirst(RemoteStep.progressPrefix.count))) } }
            })
        } catch {
            return RemoteResponse(failure: "\(error) for the network step (install \(helperName) beside sfgit, or name it in $\(helperVariable))")
        }
        if result.timedOut { return timedOut(request, timeout) }
        guard let response = try? JSONDecoder().decode(RemoteResponse.self, from: result.output) else {
            // A child that died of a signal nobody sent it was stopped by the runtime, which is
            // what an allocation refused by the memory cap does.
            if let signal = result.signal {
                return RemoteResponse(failure: "the network step from \(request.url) was killed by signal \(signal): \(RemoteStep.memoryCapMessage)")
            }
            return RemoteResponse(failure: "the network step ended with status \(result.shellStatus) and no result")
        }
        return response
    }
}

/// Seconds as people write them (`120s`, `0.5s`).
func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds))s" : String(format: "%.1fs", seconds)
}

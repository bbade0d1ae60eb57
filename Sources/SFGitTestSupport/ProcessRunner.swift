import Foundation
import SFGitProcess

/// What a finished child process printed and how it exited.
public struct ProcessResult: Sendable {
    /// Standard output, decoded as UTF-8.
    public var stdout: String
    /// Standard error, decoded as UTF-8.
    public var stderr: String
    /// The exit status (or 128 + signal when killed).
    public var exitCode: Int32
}

/// Runs programs (the built `sfgit`, `git`, `ssh-keygen`, `python3`) with a bounded wait.
public enum ProcessRunner {
    /// Error thrown when a process outlives its timeout (it is killed first).
    public struct TimedOut: Error, CustomStringConvertible {
        public let command: [String]
        public var description: String { "timed out: \(command.joined(separator: " "))" }
    }

    /// Runs `executable` with `arguments`; `environment` entries are added to (or, with nil
    /// values, removed from) the current environment.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:],
        currentDirectory: String? = nil, stdin: Data? = nil, timeout: TimeInterval = 120
    ) throws -> ProcessResult {
        let path = executable.contains("/") ? executable : try which(executable)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        // In this process's group, as a shell would start it; killed alone at the timeout.
        let command = ChildCommand(path, arguments, environment: env, workingDirectory: currentDirectory, ownProcessGroup: false)
        let result = try Launcher.run(command, input: stdin ?? Data(), deadline: Date().addingTimeInterval(timeout), outputLimit: 1 << 30)
        if result.timedOut { throw TimedOut(command: [executable] + arguments) }
        return ProcessResult(stdout: result.outputText, stderr: result.errorText, exitCode: result.shellStatus)
    }

    /// Starts a program without waiting (servers, a sync to kill); its output goes to `log`, or
    /// nowhere.
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String?] = [:], log: String? = nil) throws -> SpawnedProcess {
        let path = executable.contains("/") ? executable : try which(executable)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let output = open(log ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: log ?? "/dev/null"]) }
        defer { close(output) }
        let pid = try Launcher.spawn(ChildCommand(path, arguments, environment: env, ownProcessGroup: false), stdin: nil, stdout: output, stderr: output)
        return SpawnedProcess(pid: pid)
    }

    /// The absolute path of a program on PATH.
    public static func which(_ name: String) throws -> String {
        guard let path = Launcher.resolve(name) else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name]) }
        return path
    }
}

/// A child started with `ProcessRunner.spawn`.
// @unchecked Sendable: `reaped` is read and written under `lock`; `pid` is a constant.
public final class SpawnedProcess: @unchecked Sendable {
    /// Its process id.
    public let pid: pid_t
    private var reaped = false
    private let lock = NSLock()

    init(pid: pid_t) { self.pid = pid }

    /// Sends a signal.
    public func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for it to end and returns its wait status.
    @discardableResult
    public func wait() -> Int32 {
        lock.lock(); defer { lock.unlock() }
        guard !reaped else { return 0 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        reaped = true
        return status
    }

    /// SIGTERM, then SIGKILL if it is still there after a second; always reaped.
    public func stop() {
        signal(SIGTERM)
        for _ in 0..<100 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { lock.withLock { reaped = true }; return }
            usleep(10_000)
        }
        signal(SIGKILL)
        wait()
    }

    deinit { if !reaped { stop() } }
}

import Foundation

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.contains("/") ? executable : try which(executable))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }

        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe

        // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
        let collected = Collected()
        let group = DispatchGroup()
        for (pipe, isOut) in [(outPipe, true), (errPipe, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isOut: isOut)
                group.leave()
            }
        }
        // Foundation's Process.run is not safe to call from several threads at once on Linux.
        try launchLock.withLock { try process.run() }
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try? inPipe.fileHandleForWriting.close()

        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            process.waitUntilExit()
            finished.signal()
        }
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
            group.wait()
            throw TimedOut(command: [executable] + arguments)
        }
        group.wait()
        let code = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProcessResult(
            stdout: String(decoding: collected.out, as: UTF8.self),
            stderr: String(decoding: collected.err, as: UTF8.self),
            exitCode: code)
    }

    private static let launchLock = NSLock()

    /// Starts a program without waiting (servers, a sync to kill); its output goes to `log`, or
    /// nowhere. Uses posix_spawn rather than Foundation's Process: Foundation watches a child
    /// through an inherited socket, and a daemon such as sshd that closes inherited descriptors
    /// makes Foundation block in waitpid on it, after which no other child is ever reaped.
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String?] = [:], log: String? = nil) throws -> SpawnedProcess {
        let path = executable.contains("/") ? executable : try which(executable)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let output = log ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard result == 0 else { throw CocoaError(.executableLoad, userInfo: [NSFilePathErrorKey: path]) }
        return SpawnedProcess(pid: pid)
    }

    /// The absolute path of a program on PATH.
    public static func which(_ name: String) throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: name])
    }

    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var out = Data()
        private(set) var err = Data()
        func set(_ data: Data, isOut: Bool) {
            lock.lock(); defer { lock.unlock() }
            if isOut { out = data } else { err = data }
        }
    }
}

/// A child started with `ProcessRunner.spawn`.
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

import Foundation
internal import SFGitPOSIX

/// A program to start and the bounds it runs under.
public struct ChildCommand: Sendable {
    /// An absolute path, or a name looked up on the `PATH` of `environment`.
    public var executable: String
    /// Its arguments (without the program name).
    public var arguments: [String]
    /// Its whole environment.
    public var environment: [String: String]
    /// Where it starts; nil: this process's current directory.
    public var workingDirectory: String?
    /// The most memory it may map for its data (`RLIMIT_DATA`), or nil for no cap. posix_spawn
    /// cannot set a limit in the child and Glibc's `prlimit` is not visible to Swift, so a capped
    /// command is started as `/bin/sh -c 'ulimit -d …; exec …'`: the shell becomes the program
    /// (same pid, same process group), and whatever the program starts inherits the cap.
    public var dataLimitBytes: Int?
    /// Whether it runs in a process group of its own, so that a deadline's kill reaches
    /// everything it started (git's `pack-objects`, ssh).
    public var ownProcessGroup: Bool

    /// Creates a command; `environment` defaults to this process's.
    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment,
                workingDirectory: String? = nil, dataLimitBytes: Int? = nil, ownProcessGroup: Bool = true) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.dataLimitBytes = dataLimitBytes
        self.ownProcessGroup = ownProcessGroup
    }

    /// The command as text, for messages.
    public var description: String { ([executable] + arguments).joined(separator: " ") }
}

/// A child that could not be started.
public struct LaunchError: Error, CustomStringConvertible, Sendable {
    /// Why, naming the program.
    public let description: String
}

/// How a child run by `Launcher.run` ended, and what it printed.
public struct ChildResult: Sendable {
    /// Its standard output (at most the run's `outputLimit` bytes).
    public var output: Data
    /// Its standard error (at most the run's `outputLimit` bytes).
    public var errors: Data
    /// Its exit status, or nil when a signal ended it.
    public var exitStatus: Int32?
    /// The signal that ended it, or nil.
    public var signal: Int32?
    /// Whether the run's deadline passed and the launcher killed it.
    public var timedOut: Bool

    /// Whether it ran to the end and exited 0.
    public var succeeded: Bool { exitStatus == 0 && !timedOut }
    /// The status as a shell reports it: the exit status, or 128 + the signal.
    public var shellStatus: Int32 { exitStatus ?? 128 + (signal ?? 0) }
    /// Its standard output as UTF-8 text.
    public var outputText: String { String(decoding: output, as: UTF8.self) }
    /// Its standard error as UTF-8 text.
    public var errorText: String { String(decoding: errors, as: UTF8.self) }
}

/// The one way sfgit starts a child process (git's services and maintenance, ssh-keygen, ssh-add,
/// git's credential helpers, the network step), over posix_spawn.
///
/// Why not Foundation's `Process`: on Linux its `run` crashed when several threads launched at
/// once (so every caller needed a lock), its `waitUntilExit` polls a run loop (up to 50 ms late),
/// and it watches a child through an inherited descriptor that a daemon closing its descriptors
/// turns into a blocked `waitpid`. posix_spawn is safe from any thread, and every descriptor the
/// launcher makes is close-on-exec, so two launches at the same moment never inherit each
/// other's pipes: no launch lock is needed. Stdin is a socket written with `MSG_NOSIGNAL`, so a
/// child that exits without reading it costs an error, never a SIGPIPE here.
public enum Launcher {
    /// Starts `command` with `stdin`, `stdout` and `stderr` as its descriptors 0, 1 and 2 (nil:
    /// `/dev/null`); the caller keeps its own copies and reaps the child (`reap`).
    public static func spawn(_ command: ChildCommand, stdin: Int32?, stdout: Int32?, stderr: Int32?) throws(LaunchError) -> Int32 {
        guard let program = resolve(command.executable, path: command.environment["PATH"]) else {
            throw LaunchError(description: "cannot start \(command.executable): not found on PATH")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, source) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            if let source {
                posix_spawn_file_actions_adddup2(&actions, source, target)  // dup2 clears close-on-exec
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        if let directory = command.workingDirectory { posix_spawn_file_actions_addchdir_np(&actions, directory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling, whatever this process ignores.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF)
        if command.ownProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var arguments = [program] + command.arguments
        var path = program
        if let limit = command.dataLimitBytes {
            arguments = ["/bin/sh", "-c", "ulimit -d \(max(1, limit >> 10)) && exec \"$0\" \"$@\""] + arguments
            path = "/bin/sh"
        }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = command.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let failed = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard failed == 0 else {
            throw LaunchError(description: "cannot start \(program): \(String(cString: strerror(failed)))")
        }
        return child
    }

    /// Runs `command` to its end on the calling thread: writes `input` to its stdin, collects its
    /// stdout and stderr (each up to `outputLimit` bytes; more is read and dropped, so the child
    /// never blocks on a full pipe), hands each complete stderr line to `errorLine` as it
    /// arrives, and at `deadline` kills it (its whole process group when it has one) and reports
    /// `timedOut`. One `poll` loop, no helper threads.
    public static func run(_ command: ChildCommand, input: Data = Data(), deadline: Date? = nil, outputLimit: Int = 16 << 20,
                           errorLine: ((String) -> Void)? = nil) throws(LaunchError) -> ChildResult {
        var inputPair: [Int32] = [-1, -1]
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &inputPair) == 0 else {
            throw LaunchError(description: "cannot start \(command.executable): socketpair: \(String(cString: strerror(errno)))")
        }
        guard pipe2(&outputPipe, O_CLOEXEC) == 0 else {
            closeAll(inputPair)
            throw LaunchError(description: "cannot start \(command.executable): pipe: \(String(cString: strerror(errno)))")
        }
        guard pipe2(&errorPipe, O_CLOEXEC) == 0 else {
            closeAll(inputPair + outputPipe)
            throw LaunchError(description: "cannot start \(command.executable): pipe: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            pid = try spawn(command, stdin: inputPair[1], stdout: outputPipe[1], stderr: errorPipe[1])
        } catch {
            closeAll(inputPair + outputPipe + errorPipe)
            throw error
        }
        closeAll([inputPair[1], outputPipe[1], errorPipe[1]])
        var exchange = Exchange(input: input, inputSocket: inputPair[0], output: outputPipe[0], errors: errorPipe[0],
                                limit: outputLimit, errorLine: errorLine)
        let timedOut = !exchange.run(until: deadline)
        if timedOut {
            kill(command.ownProcessGroup ? -pid : pid, SIGKILL)
            exchange.drain(for: 1)  // what it wrote before it died, bounded: a grandchild may hold the pipes
        }
        exchange.closeAll()
        let status = timedOut ? reap(pid) : reap(pid, deadline: deadline, killing: command.ownProcessGroup ? -pid : pid)
        return ChildResult(output: exchange.collectedOutput, errors: exchange.collectedErrors,
                           exitStatus: exited(status) ? (status >> 8) & 0xff : nil,
                           signal: exited(status) ? nil : status & 0x7f,
                           timedOut: timedOut || status == killedAtDeadline)
    }

    /// A pipe whose two ends are close-on-exec from the start (no other launch can inherit them),
    /// for a caller that hands one end to `spawn`.
    public static func closeOnExecPipe() throws(LaunchError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe2(&ends, O_CLOEXEC) == 0 else { throw LaunchError(description: "pipe: \(String(cString: strerror(errno)))") }
        return (ends[0], ends[1])
    }

    /// Waits for `pid` to end and returns its wait status.
    @discardableResult
    public static func reap(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// A wait status no real child has: a child that closed its output but outlived the deadline.
    private static let killedAtDeadline: Int32 = -1

    /// Waits for `pid` until `deadline`; past it, kills `target` and reaps.
    private static func reap(_ pid: Int32, deadline: Date?, killing target: Int32) -> Int32 {
        guard let deadline else { return reap(pid) }
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { return status }
            if done < 0 && errno != EINTR { return status }
            // Its output is closed, so it is exiting: a short sleep notices within a fraction of
            // a millisecond (a child that closes its output and lives on is killed at the deadline).
            if Date() >= deadline {
                kill(target, SIGKILL)
                _ = reap(pid)
                return killedAtDeadline
            }
            usleep(100)
        }
    }

    /// Whether a wait status is a normal exit (WIFEXITED).
    private static func exited(_ status: Int32) -> Bool { status != killedAtDeadline && status & 0x7f == 0 }

    /// The absolute path of `name`: itself when it names a path, else the first executable file of
    /// that name on `path` (this process's `PATH` when nil).
    public static func resolve(_ name: String, path: String? = nil) -> String? {
        if name.contains("/") { return name }
        let directories = (path ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return directories.lazy.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    private static func closeAll(_ descriptors: [Int32]) {
        for descriptor in descriptors where descriptor >= 0 { close(descriptor) }
    }
}

/// The parent side of one run's descriptors: input still to write, output and errors read so far.
private struct Exchange {
    private var input: Data
    private var written = 0
    private var inputSocket: Int32
    private var output: Int32
    private var errors: Int32
    private let limit: Int
    private let errorLine: ((String) -> Void)?
    private(set) var collectedOutput = Data()
    private(set) var collectedErrors = Data()
    private var pendingLine = Data()

    init(input: Data, inputSocket: Int32, output: Int32, errors: Int32, limit: Int, errorLine: ((String) -> Void)?) {
        self.input = input
        self.inputSocket = inputSocket
        self.output = output
        self.errors = errors
        self.limit = limit
        self.errorLine = errorLine
        _ = fcntl(inputSocket, F_SETFL, fcntl(inputSocket, F_GETFL) | O_NONBLOCK)
        if input.isEmpty { closeInput() }
    }

    /// Moves bytes until the child has closed its output and errors; false when `deadline`
    /// passed first.
    mutating func run(until deadline: Date?) -> Bool {
        while output >= 0 || errors >= 0 {
            var waiting: [pollfd] = []
            if inputSocket >= 0 { waiting.append(pollfd(fd: inputSocket, events: Int16(POLLOUT), revents: 0)) }
            if output >= 0 { waiting.append(pollfd(fd: output, events: Int16(POLLIN), revents: 0)) }
            if errors >= 0 { waiting.append(pollfd(fd: errors, events: Int16(POLLIN), revents: 0)) }
            var timeout: Int32 = -1
            if let deadline {
                let left = deadline.timeIntervalSinceNow
                if left <= 0 { return false }
                timeout = Int32(min(left * 1000 + 1, Double(Int32.max)))
            }
            let ready = poll(&waiting, nfds_t(waiting.count), timeout)
            if ready < 0 && errno == EINTR { continue }
            if ready < 0 { return true }  // cannot happen with valid descriptors; stop rather than spin
            for entry in waiting where entry.revents != 0 {
                if entry.fd == inputSocket { writeInput() } else { read(entry.fd) }
            }
        }
        closeInput()
        return true
    }

    /// Reads what the child wrote before it was killed, for at most `seconds`.
    mutating func drain(for seconds: Double) {
        closeInput()
        _ = run(until: Date().addingTimeInterval(seconds))
    }

    mutating func closeAll() {
        closeInput()
        if output >= 0 { close(output); output = -1 }
        if errors >= 0 { close(errors); errors = -1 }
        if let errorLine, !pendingLine.isEmpty { errorLine(String(decoding: pendingLine, as: UTF8.self)) }
        pendingLine.removeAll()
    }

    private mutating func closeInput() {
        if inputSocket >= 0 { close(inputSocket); inputSocket = -1 }
    }

    private mutating func writeInput() {
        let sent = input.withUnsafeBytes { bytes in
            send(inputSocket, bytes.baseAddress! + written, bytes.count - written, Int32(MSG_NOSIGNAL))
        }
        if sent > 0 {
            written += sent
            if written == input.count { closeInput() }
        } else if sent < 0 && errno != EINTR && errno != EAGAIN {
            closeInput()  // it closed its stdin (EPIPE): what it did with the rest is its answer
        }
    }

    private mutating func read(_ descriptor: Int32) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 && (errno == EINTR || errno == EAGAIN) { return }
        guard count > 0 else {
            close(descriptor)
            if descriptor == output { output = -1 } else { errors = -1 }
            return
        }
        let bytes = chunk[0..<count]
        if descriptor == output {
            if collectedOutput.count < limit { collectedOutput.append(contentsOf: bytes.prefix(limit - collectedOutput.count)) }
        } else {
            if collectedErrors.count < limit { collectedErrors.append(contentsOf: bytes.prefix(limit - collectedErrors.count)) }
            if let errorLine { deliverLines(bytes, to: errorLine) }
        }
    }

    private mutating func deliverLines(_ bytes: ArraySlice<UInt8>, to errorLine: (String) -> Void) {
        pendingLine.append(contentsOf: bytes)
        while let newline = pendingLine.firstIndex(of: UInt8(ascii: "\n")) {
            errorLine(String(decoding: pendingLine[pendingLine.startIndex..<newline], as: UTF8.self))
            pendingLine.removeSubrange(pendingLine.startIndex...newline)
        }
        if pendingLine.count > 65_536 { pendingLine.removeAll() }  // no line at all: not for reading
    }
}

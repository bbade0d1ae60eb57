import Foundation
internal import SFGitLibgit2
import SFGitProcess

/// Fetches from and pushes to `file://` remotes by talking the smart protocol to
/// `git upload-pack` and `git receive-pack`, the way git does for a `file://` URL and libgit2
/// does over ssh.
///
/// Why: libgit2 1.5's own `file://` transport builds a new pack object by object, with a full
/// delta search, for every fetch — 3.6 s for a 10,000-memory store, where `git upload-pack`
/// streams the remote's existing packs (0.25 s). Its pushes write into the remote's refs
/// directly, so a push killed midway left the remote's `refs/heads/main.lock` behind and every
/// later push failed; `receive-pack` notices that its client went away and removes its locks,
/// and it enforces the remote's `receive.*` settings. libgit2 still negotiates, builds, receives
/// and indexes the packs, so what lands in either repository is checked as over ssh or HTTP.
///
/// Memory: both services run with their data capped (`serviceMemoryCapBytes`, `RLIMIT_DATA`,
/// inherited by the `pack-objects` upload-pack starts). The remote directory decides what they
/// read, and git reads every commit it walks whole: a 256 MiB commit made upload-pack peak at
/// 276 MB. Over the cap git stops with "out of memory", and the fetch fails naming the cap.
///
/// Safety: neither service runs the remote directory's hooks (`core.hooksPath=/dev/null`: they
/// would run as the syncing user, and libgit2's transport never ran them either), upload-pack
/// reads only the repository it is named (`--strict`), and neither gets the `GIT_*` variables
/// that would point it elsewhere. Without a `git` program, libgit2's transport is used. Like
/// libgit2's, git refuses a repository another user owns until the user lists it in
/// `safe.directory`; git's message says how.
public enum LocalGitTransport {
    /// The `git` program on PATH, or nil (then libgit2's own local transport is used).
    static let git: String? = Launcher.resolve("git")

    /// The most memory (`RLIMIT_DATA`) `upload-pack` and `receive-pack`, and what they start,
    /// may map for their data: the same bound as the network step's child process. A normal
    /// 100,000-memory clone's upload-pack stays far below (see README, Benchmarks).
    public static let serviceMemoryCapBytes = 160 << 20

    /// The sentence that names the cap in a failure it caused.
    static var serviceMemoryCapMessage: String {
        "git's service for this file:// remote ran into its memory cap of \(serviceMemoryCapBytes >> 20) MiB (the remote holds an object far larger than a store's, such as a commit of hundreds of MB); stopped"
    }

    /// Whether fetches from and pushes to `url` go through git's services: a local `file://`
    /// URL or absolute path naming an existing repository, and git installed. Such a fetch can be bounded by a
    /// deadline in this process (see `Repository.fetch`), without a child process around it.
    public static func serves(_ url: String) -> Bool {
        // A missing directory is left to libgit2, whose message says so (git's would not).
        guard git != nil, let path = repositoryPath(url) else { return false }
        return access(path + "/objects", F_OK) == 0
    }

    /// The directory a `file://` URL (percent-decoded) or an absolute path names; nil for
    /// `file://host/…` forms and anything else.
    static func repositoryPath(_ url: String) -> String? {
        if url.hasPrefix("/") { return url }
        guard url.hasPrefix("file:///") else { return nil }
        return String(url.dropFirst("file://".count)).removingPercentEncoding
    }

    /// Variables git itself clears before it runs `upload-pack` for a local URL: each would make
    /// the server side read another repository, object store or configuration.
    static let localRepositoryVariables: Set<String> = [
        "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
        "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE",
        "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX", "GIT_SHALLOW_FILE",
        "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PROTOCOL",
    ]
}

/// One fetch's or push's use of the local git transport: the subtransport definition libgit2 is
/// handed, the deadline every read from the child is bounded by, and whether it passed.
final class LocalGitConnection {
    let deadline: Date?
    let definition: UnsafeMutablePointer<git_smart_subtransport_definition>
    /// Set once the deadline killed the child: whatever libgit2 tries next (it writes a goodbye)
    /// fails with the deadline's message, not with the broken pipe it causes.
    var timedOut = false

    init(deadline: Date?) {
        self.deadline = deadline
        definition = .allocate(capacity: 1)
        definition.initialize(to: git_smart_subtransport_definition(callback: makeSubtransport, rpc: 0, param: nil))
        definition.pointee.param = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { definition.deallocate() }
}

/// One `git upload-pack` or `git receive-pack` child: its stdin and stdout are one end of a socket pair (so a write to
/// a child that died fails with EPIPE instead of raising SIGPIPE here), its stderr a pipe.
private final class GitServiceProcess {
    let pid: pid_t
    private var socket: Int32
    private let errors: Int32
    private let connection: LocalGitConnection

    /// `upload-pack` or `receive-pack`, for messages.
    let service: String

    init(git: String, service: String, repository: String, connection: LocalGitConnection) throws(GitError) {
        self.connection = connection
        self.service = service
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw GitError(function: service, code: -1, errorClass: Int32(GIT_ERROR_OS.rawValue), message: "socketpair: \(String(cString: strerror(errno)))")
        }
        let errorPipe: (read: Int32, write: Int32)
        do {
            errorPipe = try Launcher.closeOnExecPipe()
        } catch {
            close(pair[0]); close(pair[1])
            throw GitError(function: service, code: -1, errorClass: Int32(GIT_ERROR_OS.rawValue), message: error.description)
        }
        // Its own process group, so that a deadline kills it and anything it started.
        let command = ChildCommand(
            git, ["-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", service] + (service == "upload-pack" ? ["--strict"] : []) + [repository],
            environment: ProcessInfo.processInfo.environment.filter { !LocalGitTransport.localRepositoryVariables.contains($0.key) },
            dataLimitBytes: LocalGitTransport.serviceMemoryCapBytes, ownProcessGroup: true)
        let child: pid_t
        do {
            child = try Launcher.spawn(command, stdin: pair[1], stdout: pair[1], stderr: errorPipe.write)
        } catch {
            close(pair[0]); close(pair[1]); close(errorPipe.read); close(errorPipe.write)
            throw GitError(function: service, code: -1, errorClass: Int32(GIT_ERROR_OS.rawValue), message: error.description)
        }
        close(pair[1])
        close(errorPipe.write)
        pid = child
        socket = pair[0]
        errors = errorPipe.read
    }

    /// Reads what is available; 0 bytes at the end. The child's stderr becomes the error when it
    /// stops without answering (not a repository, a damaged pack).
    func read(into buffer: UnsafeMutablePointer<CChar>, size: Int, count: inout Int) -> Int32 {
        while true {
            if let deadline = connection.deadline {
                var waiting = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
                let milliseconds = Int32(max(0, min(deadline.timeIntervalSinceNow * 1000, Double(Int32.max))))
                let ready = poll(&waiting, 1, milliseconds)
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 && !connection.timedOut {
                    kill(-pid, SIGKILL)
                    connection.timedOut = true
                }
                if connection.timedOut { return deadlinePassed(&count) }
            }
            let n = Glibc.read(socket, buffer, size)
            if n > 0 { count = n; return 0 }
            if n < 0 && errno == EINTR { continue }
            count = 0
            let reason = n < 0 ? String(cString: strerror(errno)) : stderrText()
            if reason.isEmpty { return 0 }
            git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "git \(service): \(reason)")
            return -1
        }
    }

    /// Writes everything or fails.
    func write(_ buffer: UnsafePointer<CChar>, length: Int) -> Int32 {
        var none = 0
        if connection.timedOut { return deadlinePassed(&none) }
        var offset = 0
        while offset < length {
            let n = send(socket, buffer + offset, length - offset, Int32(MSG_NOSIGNAL))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = stderrText()
                git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "git \(service): " + (reason.isEmpty ? String(cString: strerror(errno)) : reason))
                return -1
            }
            offset += n
        }
        return 0
    }

    private func deadlinePassed(_ count: inout Int) -> Int32 {
        count = 0
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "git \(service) did not answer before the deadline; stopped")
        return -1
    }

    /// Closes the connection (the service exits on end of input, or on EPIPE if it was still
    /// sending, removing any lock it held) and reaps the child.
    func finish() {
        guard socket >= 0 else { return }
        close(socket)
        socket = -1
        Launcher.reap(pid)
        close(errors)
    }

    /// What the child wrote on stderr once it has stopped (bounded).
    private func stderrText() -> String {
        var collected = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while collected.count < 16_384 {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(errors, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            collected += chunk[0..<n]
        }
        let text = String(decoding: collected, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.localizedCaseInsensitiveContains("out of memory") ? "\(text): \(LocalGitTransport.serviceMemoryCapMessage)" : text
    }

    deinit { finish() }
}

/// The Swift side of one subtransport: at most one service child, reused from the reference
/// listing to the pack transfer as libgit2's stateful subtransports do.
private final class LocalGitSubtransport {
    let connection: LocalGitConnection
    var process: GitServiceProcess?
    var stream: UnsafeMutablePointer<git_smart_subtransport_stream>?

    init(connection: LocalGitConnection) { self.connection = connection }

    func endStream() {
        process?.finish()
        process = nil
        if let stream {
            stream.deallocate()
            self.stream = nil
        }
    }
}

private func context(of subtransport: UnsafeMutablePointer<git_smart_subtransport>?) -> LocalGitSubtransport? {
    guard let subtransport else { return nil }
    let outer = UnsafeMutableRawPointer(subtransport).assumingMemoryBound(to: sfgit_subtransport.self)
    guard let context = outer.pointee.context else { return nil }
    return Unmanaged<LocalGitSubtransport>.fromOpaque(context).takeUnretainedValue()
}

private func process(of stream: UnsafeMutablePointer<git_smart_subtransport_stream>?) -> GitServiceProcess? {
    context(of: stream?.pointee.subtransport)?.process
}

private let makeSubtransport: git_smart_subtransport_cb = { out, _, param in
    guard let param else { return -1 }
    let connection = Unmanaged<LocalGitConnection>.fromOpaque(param).takeUnretainedValue()
    let outer = UnsafeMutablePointer<sfgit_subtransport>.allocate(capacity: 1)
    outer.initialize(to: sfgit_subtransport())
    outer.pointee.parent.action = subtransportAction
    outer.pointee.parent.close = { subtransport in
        context(of: subtransport)?.endStream()
        return 0
    }
    outer.pointee.parent.free = { subtransport in
        guard let subtransport else { return }
        let outer = UnsafeMutableRawPointer(subtransport).assumingMemoryBound(to: sfgit_subtransport.self)
        if let context = outer.pointee.context {
            let owner = Unmanaged<LocalGitSubtransport>.fromOpaque(context)
            owner.takeUnretainedValue().endStream()
            owner.release()
        }
        outer.deallocate()
    }
    outer.pointee.context = Unmanaged.passRetained(LocalGitSubtransport(connection: connection)).toOpaque()
    out?.pointee = UnsafeMutableRawPointer(outer).assumingMemoryBound(to: git_smart_subtransport.self)
    return 0
}

private let subtransportAction: @convention(c) (
    UnsafeMutablePointer<UnsafeMutablePointer<git_smart_subtransport_stream>?>?,
    UnsafeMutablePointer<git_smart_subtransport>?, UnsafePointer<CChar>?, git_smart_service_t
) -> Int32 = { out, subtransport, url, service in
    guard let owner = context(of: subtransport), let url else { return -1 }
    let name: String
    switch service {
    case GIT_SERVICE_UPLOADPACK_LS, GIT_SERVICE_UPLOADPACK: name = "upload-pack"
    case GIT_SERVICE_RECEIVEPACK_LS, GIT_SERVICE_RECEIVEPACK: name = "receive-pack"
    default:
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "unknown git service \(service.rawValue)")
        return -1
    }
    // The transfer after a listing continues on the listing's connection. So does libgit2's
    // goodbye when it closes, which asks for UPLOADPACK even after a push (as git:// and ssh do,
    // the current stream is returned: starting another child would free the one in use).
    if service == GIT_SERVICE_UPLOADPACK || service == GIT_SERVICE_RECEIVEPACK, let stream = owner.stream {
        out?.pointee = stream
        return 0
    }
    owner.endStream()
    guard let git = LocalGitTransport.git, let path = LocalGitTransport.repositoryPath(String(cString: url)) else {
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "not a local file:// URL: \(String(cString: url))")
        return -1
    }
    do {
        owner.process = try GitServiceProcess(git: git, service: name, repository: path, connection: owner.connection)
    } catch {
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), (error as? GitError)?.message ?? "\(error)")
        return -1
    }
    let stream = UnsafeMutablePointer<git_smart_subtransport_stream>.allocate(capacity: 1)
    stream.initialize(to: git_smart_subtransport_stream())
    stream.pointee.subtransport = subtransport
    stream.pointee.read = { stream, buffer, size, count in
        guard let process = process(of: stream), let buffer, let count else { return -1 }
        var read = 0
        let result = process.read(into: buffer, size: size, count: &read)
        count.pointee = read
        return result
    }
    stream.pointee.write = { stream, buffer, length in
        guard let process = process(of: stream), let buffer else { return -1 }
        return process.write(buffer, length: length)
    }
    stream.pointee.free = { stream in
        context(of: stream?.pointee.subtransport)?.endStream()
    }
    owner.stream = stream
    out?.pointee = stream
    return 0
}

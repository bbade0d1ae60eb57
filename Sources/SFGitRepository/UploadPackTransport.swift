import Foundation
internal import SFGitLibgit2

/// Fetches from `file://` remotes by talking the smart protocol to `git upload-pack`, the way
/// `git fetch` does for a `file://` URL and libgit2 does over ssh.
///
/// Why: libgit2 1.5's own `file://` transport builds a new pack object by object, with a full
/// delta search, for every fetch — 3.6 s for a 10,000-memory store, where `git upload-pack`
/// streams the remote's existing packs (0.25 s). libgit2 still negotiates, receives and indexes
/// the pack, so what lands in the repository is checked exactly as over ssh or HTTP.
///
/// Safety: `upload-pack` runs no hooks of the remote repository, reads only the repository it is
/// named (`--strict`), and gets none of the `GIT_*` variables that would point it elsewhere.
/// Pushes keep libgit2's transport: `receive-pack` would run the remote directory's hooks as the
/// pushing user. Without a `git` program, fetches fall back to libgit2's transport. Like
/// libgit2's, upload-pack refuses a repository another user owns until the user lists it in
/// `safe.directory`; git's message says how.
enum UploadPackTransport {
    /// The `git` program on PATH, or nil (then libgit2's own local transport is used).
    static let git: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/git" }.first { access($0, X_OK) == 0 }
    }()

    /// Makes a fetch on `callbacks` use `git upload-pack` when `url` is a local `file://` URL
    /// and git is installed.
    static func install(on callbacks: inout git_remote_callbacks, url: String) {
        // A missing directory is left to libgit2, whose message says so (git's would not).
        guard git != nil, let path = repositoryPath(url), access(path + "/objects", F_OK) == 0 else { return }
        callbacks.transport = { out, owner, _ in
            git_transport_smart(out, owner, UnsafeMutableRawPointer(subtransportDefinition))
        }
    }

    /// The directory a `file://` URL names (percent-decoded); nil for `file://host/…` forms.
    static func repositoryPath(_ url: String) -> String? {
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

/// One `git upload-pack` child: its stdin and stdout are one end of a socket pair (so a write to
/// a child that died fails with EPIPE instead of raising SIGPIPE here), its stderr a pipe.
private final class UploadPackProcess {
    let pid: pid_t
    private var socket: Int32
    private let errors: Int32

    init(git: String, repository: String) throws(GitError) {
        var pair: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw GitError(function: "upload-pack", code: -1, errorClass: Int32(GIT_ERROR_OS.rawValue), message: "socketpair: \(String(cString: strerror(errno)))")
        }
        guard pipe(&errorPipe) == 0, fcntl(errorPipe[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(errorPipe[1], F_SETFD, FD_CLOEXEC) == 0 else {
            close(pair[0]); close(pair[1])
            throw GitError(function: "upload-pack", code: -1, errorClass: Int32(GIT_ERROR_OS.rawValue), message: "pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pair[1], 0)
        posix_spawn_file_actions_adddup2(&actions, pair[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        let arguments = [git, "-c", "core.fsmonitor=false", "upload-pack", "--strict", repository]
        let environment = ProcessInfo.processInfo.environment
            .filter { !UploadPackTransport.localRepositoryVariables.contains($0.key) }
            .map { "\($0.key)=\($0.value)" }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, git, &actions, nil, argv, envp)
        close(pair[1])
        close(errorPipe[1])
        guard spawned == 0 else {
            close(pair[0]); close(errorPipe[0])
            throw GitError(function: "upload-pack", code: -1, errorClass: Int32(GIT_ERROR_OS.rawValue), message: "cannot start \(git): \(String(cString: strerror(spawned)))")
        }
        pid = child
        socket = pair[0]
        errors = errorPipe[0]
    }

    /// Reads what is available; 0 bytes at the end. The child's stderr becomes the error when it
    /// stops without answering (not a repository, a damaged pack).
    func read(into buffer: UnsafeMutablePointer<CChar>, size: Int, count: inout Int) -> Int32 {
        while true {
            let n = Glibc.read(socket, buffer, size)
            if n > 0 { count = n; return 0 }
            if n < 0 && errno == EINTR { continue }
            count = 0
            let reason = n < 0 ? String(cString: strerror(errno)) : stderrText()
            if reason.isEmpty { return 0 }
            git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "git upload-pack: \(reason)")
            return -1
        }
    }

    /// Writes everything or fails.
    func write(_ buffer: UnsafePointer<CChar>, length: Int) -> Int32 {
        var offset = 0
        while offset < length {
            let n = send(socket, buffer + offset, length - offset, Int32(MSG_NOSIGNAL))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = stderrText()
                git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "git upload-pack: " + (reason.isEmpty ? String(cString: strerror(errno)) : reason))
                return -1
            }
            offset += n
        }
        return 0
    }

    /// Closes the connection (upload-pack exits on end of input, or on EPIPE if it was still
    /// sending) and reaps the child.
    func finish() {
        guard socket >= 0 else { return }
        close(socket)
        socket = -1
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
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
        return String(decoding: collected, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit { finish() }
}

/// The Swift side of one subtransport: at most one upload-pack child, reused from the
/// reference listing to the pack download as libgit2's stateful subtransports do.
private final class UploadPackSubtransport {
    var process: UploadPackProcess?
    var stream: UnsafeMutablePointer<sfgit_subtransport_stream>?

    func endStream() {
        process?.finish()
        process = nil
        if let stream {
            stream.deallocate()
            self.stream = nil
        }
    }
}

private func context(of subtransport: UnsafeMutablePointer<git_smart_subtransport>?) -> UploadPackSubtransport? {
    guard let subtransport else { return nil }
    let outer = UnsafeMutableRawPointer(subtransport).assumingMemoryBound(to: sfgit_subtransport.self)
    guard let context = outer.pointee.context else { return nil }
    return Unmanaged<UploadPackSubtransport>.fromOpaque(context).takeUnretainedValue()
}

private func process(of stream: UnsafeMutablePointer<git_smart_subtransport_stream>?) -> UploadPackProcess? {
    context(of: stream?.pointee.subtransport)?.process
}

nonisolated(unsafe) private let subtransportDefinition: UnsafeMutablePointer<git_smart_subtransport_definition> = {
    let definition = UnsafeMutablePointer<git_smart_subtransport_definition>.allocate(capacity: 1)
    definition.initialize(to: git_smart_subtransport_definition(callback: makeSubtransport, rpc: 0, param: nil))
    return definition
}()

private let makeSubtransport: git_smart_subtransport_cb = { out, _, _ in
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
            let owner = Unmanaged<UploadPackSubtransport>.fromOpaque(context)
            owner.takeUnretainedValue().endStream()
            owner.release()
        }
        outer.deallocate()
    }
    outer.pointee.context = Unmanaged.passRetained(UploadPackSubtransport()).toOpaque()
    out?.pointee = UnsafeMutableRawPointer(outer).assumingMemoryBound(to: git_smart_subtransport.self)
    return 0
}

private let subtransportAction: @convention(c) (
    UnsafeMutablePointer<UnsafeMutablePointer<git_smart_subtransport_stream>?>?,
    UnsafeMutablePointer<git_smart_subtransport>?, UnsafePointer<CChar>?, git_smart_service_t
) -> Int32 = { out, subtransport, url, service in
    guard let owner = context(of: subtransport), let url else { return -1 }
    switch service {
    case GIT_SERVICE_UPLOADPACK_LS, GIT_SERVICE_UPLOADPACK:
        if service == GIT_SERVICE_UPLOADPACK, let stream = owner.stream {
            out?.pointee = UnsafeMutableRawPointer(stream).assumingMemoryBound(to: git_smart_subtransport_stream.self)
            return 0
        }
        owner.endStream()
        guard let git = UploadPackTransport.git, let path = UploadPackTransport.repositoryPath(String(cString: url)) else {
            git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "not a local file:// URL: \(String(cString: url))")
            return -1
        }
        do {
            owner.process = try UploadPackProcess(git: git, repository: path)
        } catch {
            git_error_set_str(Int32(GIT_ERROR_NET.rawValue), (error as? GitError)?.message ?? "\(error)")
            return -1
        }
        let stream = UnsafeMutablePointer<sfgit_subtransport_stream>.allocate(capacity: 1)
        stream.initialize(to: sfgit_subtransport_stream())
        stream.pointee.parent.subtransport = subtransport
        stream.pointee.parent.read = { stream, buffer, size, count in
            guard let process = process(of: stream), let buffer, let count else { return -1 }
            var read = 0
            let result = process.read(into: buffer, size: size, count: &read)
            count.pointee = read
            return result
        }
        stream.pointee.parent.write = { stream, buffer, length in
            guard let process = process(of: stream), let buffer else { return -1 }
            return process.write(buffer, length: length)
        }
        stream.pointee.parent.free = { stream in
            context(of: stream?.pointee.subtransport)?.endStream()
        }
        owner.stream = stream
        out?.pointee = UnsafeMutableRawPointer(stream).assumingMemoryBound(to: git_smart_subtransport_stream.self)
        return 0
    default:
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), "pushes to file:// go through libgit2's local transport")
        return -1
    }
}

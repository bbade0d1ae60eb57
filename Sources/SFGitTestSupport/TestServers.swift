import Foundation

/// A free TCP port on 127.0.0.1 (bound, read, released; the server binds it next).
public func freeLoopbackPort() throws -> UInt16 {
    let listener = try LoopbackListener()
    return listener.port
}

/// A TCP listener on 127.0.0.1 that never accepts or answers: the kernel completes handshakes
/// into its backlog, so a client connects and then waits forever — the case `--timeout` exists for.
// @unchecked Sendable: constants only (the descriptor and port); the descriptor is closed once, in deinit.
public final class LoopbackListener: @unchecked Sendable {
    /// The socket.
    public let descriptor: Int32
    /// Its port.
    public let port: UInt16

    /// Binds and listens on an ephemeral port.
    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else { throw CocoaError(.fileWriteUnknown) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(descriptor) }
}

/// A real OpenSSH `sshd` on 127.0.0.1 with its own config, host key and authorized keys,
/// stopped when released.
// @unchecked Sendable: constants only (the port, host keys and the spawned sshd); sshd is stopped once, in deinit.
public final class SSHServer: @unchecked Sendable {
    /// The port it listens on.
    public let port: UInt16
    /// Its ed25519 host key.
    public let hostKey: TestKey
    /// Its RSA host key (a stock server has all three; `ssh-keyscan` lists this one first).
    public let rsaHostKey: TestKey
    /// Its ECDSA host key.
    public let ecdsaHostKey: TestKey
    private let process: SpawnedProcess
    /// Its log.
    public let logPath: String
    private let authorizedPath: String

    /// Starts sshd authorizing `authorizedKeys` (public key lines) for the current user.
    public init(in directory: String, authorizedKeys: [String]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        hostKey = try TestKey.generate(in: directory, name: "ssh_host_ed25519_key")
        rsaHostKey = try TestKey.generate(in: directory, name: "ssh_host_rsa_key", type: "rsa", bits: 2048)
        ecdsaHostKey = try TestKey.generate(in: directory, name: "ssh_host_ecdsa_key", type: "ecdsa")
        let authorized = directory + "/authorized_keys"
        authorizedPath = authorized
        try (authorizedKeys.joined(separator: "\n") + "\n").write(toFile: authorized, atomically: true, encoding: .utf8)
        port = try freeLoopbackPort()
        let config = directory + "/sshd_config"
        try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(rsaHostKey.privatePath)
            HostKey \(ecdsaHostKey.privatePath)
            HostKey \(hostKey.privatePath)
            AuthorizedKeysFile \(authorized)
            PidFile \(directory)/sshd.pid
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            PubkeyAcceptedAlgorithms +ssh-rsa
            LogLevel VERBOSE

            """.write(toFile: config, atomically: true, encoding: .utf8)
        // sshd needs its privilege-separation directory.
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        logPath = directory + "/sshd.log"
        process = try ProcessRunner.spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], log: logPath)
        try waitForPort(port)
    }

    /// Authorizes one more public key line (sshd reads the file at each login).
    public func authorize(_ publicKeyLine: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: authorizedPath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((publicKeyLine + "\n").utf8))
    }

    /// The `known_hosts` line for this server's ed25519 key.
    public var knownHostsLine: String { knownHostsLine(hostKey) }

    /// The `known_hosts` line for one of this server's keys.
    public func knownHostsLine(_ key: TestKey) -> String { "[127.0.0.1]:\(port) \(key.publicKey)\n" }

    /// What `ssh-keyscan -p PORT 127.0.0.1 >> known_hosts` appends: the RSA key first.
    public var keyscanLines: String { [rsaHostKey, ecdsaHostKey, hostKey].map(knownHostsLine).joined() }

    deinit {
        process.stop()
    }
}

/// A real smart-HTTP git server: lighttpd running `git http-backend` as CGI on 127.0.0.1, with
/// basic authentication; stopped when released.
// @unchecked Sendable: constants only (the port and the spawned lighttpd); it is stopped once, in deinit.
public final class HTTPGitServer: @unchecked Sendable {
    /// The port.
    public let port: UInt16
    private let process: SpawnedProcess

    /// Serves the repositories under `root` at `http://127.0.0.1:PORT/git/NAME`, requiring `user`/`password`.
    public init(in directory: String, root: String, user: String, password: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try freeLoopbackPort()
        try "\(user):\(password)\n".write(toFile: directory + "/users", atomically: true, encoding: .utf8)
        let backend = FileManager.default.fileExists(atPath: "/usr/lib/git-core/git-http-backend")
            ? "/usr/lib/git-core/git-http-backend" : "/usr/libexec/git-core/git-http-backend"
        let config = directory + "/lighttpd.conf"
        try """
            server.modules = ("mod_alias", "mod_cgi", "mod_setenv", "mod_auth", "mod_authn_file")
            server.document-root = "\(directory)"
            server.bind = "127.0.0.1"
            server.port = \(port)
            server.errorlog = "\(directory)/error.log"
            alias.url = ("/git" => "\(backend)")
            $HTTP["url"] =~ "^/git" {
                cgi.assign = ("" => "")
                setenv.add-environment = ("GIT_PROJECT_ROOT" => "\(root)", "GIT_HTTP_EXPORT_ALL" => "1")
            }
            auth.backend = "plain"
            auth.backend.plain.userfile = "\(directory)/users"
            auth.require = ("/git" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))

            """.write(toFile: config, atomically: true, encoding: .utf8)
        process = try ProcessRunner.spawn("/usr/sbin/lighttpd", ["-D", "-f", config], log: directory + "/lighttpd.log")
        try waitForPort(port)
    }

    deinit {
        process.stop()
    }
}

/// Waits (bounded) until something accepts connections on 127.0.0.1:port.
func waitForPort(_ port: UInt16) throws {
    for _ in 0..<200 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(descriptor)
        if connected == 0 { return }
        usleep(25_000)
    }
    throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "nothing listens on 127.0.0.1:\(port)"])
}

/// A hostile smart-HTTP server on 127.0.0.1: it answers `info/refs` with a ref advertisement
/// that never ends (pkt-lines of new branch names, chunk after chunk) until `seconds` have
/// passed since it started, then stops. A tiny Python program, stopped when released.
// @unchecked Sendable: constants only (the port and the spawned script); it is stopped once, in deinit.
public final class EndlessAdvertisementServer: @unchecked Sendable {
    /// The port it listens on.
    public let port: UInt16
    private let process: SpawnedProcess

    /// A URL of a repository it pretends to serve.
    public var url: String { "http://127.0.0.1:\(port)/store.git" }

    /// Starts the server, writing its program into `directory`.
    public init(in directory: String, seconds: Double = 60) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = directory + "/endless_refs.py"
        try Self.program.write(toFile: script, atomically: true, encoding: .utf8)
        // The server binds port 0 and writes the port the kernel gave it: no other test's server
        // can take it between a free-port probe and the bind.
        let portFile = directory + "/port"
        process = try ProcessRunner.spawn(try ProcessRunner.which("python3"), [script, portFile, String(seconds)], log: directory + "/endless_refs.log")
        var written: UInt16?
        for _ in 0..<600 where written == nil {  // bounded: 30 s for python to start on a loaded machine
            written = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { UInt16($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if written == nil { usleep(50_000) }
        }
        guard let written else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "the endless-advertisement server did not start"]) }
        port = written
        try waitForPort(port)
    }

    deinit { process.stop() }

    static let program = #"""
        import os, socket, sys, threading, time
        port_file, seconds = sys.argv[1], float(sys.argv[2])
        end = time.time() + seconds

        def pkt(data):
            return b"%04x" % (len(data) + 4) + data

        def chunk(data):
            return b"%x\r\n" % len(data) + data + b"\r\n"

        def serve(conn):
            try:
                conn.settimeout(max(0.1, end - time.time()))
                request = conn.recv(65536)
                if not request:
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n"
                             b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
                head = pkt(b"# service=git-upload-pack\n") + b"0000"
                head += pkt(b"%040x HEAD\0multi_ack thin-pack side-band side-band-64k ofs-delta\n" % 1)
                conn.sendall(chunk(head))
                n = 2
                while time.time() < end:
                    lines = b"".join(pkt(b"%040x refs/heads/branch-%d-with-a-rather-long-name-to-grow-faster\n" % (i, i)) for i in range(n, n + 2000))
                    n += 2000
                    conn.sendall(chunk(lines))
            except OSError:
                pass
            finally:
                conn.close()

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(listener.getsockname()[1]))
        os.rename(port_file + ".tmp", port_file)
        while time.time() < end:
            listener.settimeout(max(0.1, end - time.time()))
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()
        """#
}

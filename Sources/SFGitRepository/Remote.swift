import Foundation
internal import SFGitLibgit2

/// How a fetch or push authenticates: an SSH key file or ssh-agent for `ssh://` and scp-style
/// URLs, a user name and password (or token) for smart HTTP(S).
public struct RemoteCredentials: Sendable, Hashable {
    /// A private key file for SSH (its `.pub` next to it is used when present).
    public var sshKeyPath: String?
    /// Whether to fall back to ssh-agent (`SSH_AUTH_SOCK`) for SSH.
    public var useAgent: Bool
    /// HTTP user name.
    public var httpUsername: String?
    /// HTTP password or token.
    public var httpPassword: String?
    /// How many times libgit2 may ask for credentials before the attempt fails: it asks again
    /// after every refused try, and a server that refuses forever would otherwise loop.
    public var maxAttempts: Int
    /// Whether an SSH connection may read a private copy of known_hosts with the host's
    /// strongest key first (see `HostKeySteering`). It changes `HOME` for the duration of the
    /// call, so only a process doing nothing else may ask for it (the `sfgit-network` child).
    public var steerHostKeys: Bool

    /// Creates credentials.
    public init(sshKeyPath: String? = nil, useAgent: Bool = true, httpUsername: String? = nil, httpPassword: String? = nil, maxAttempts: Int = 3,
                steerHostKeys: Bool = false) {
        self.sshKeyPath = sshKeyPath
        self.useAgent = useAgent
        self.httpUsername = httpUsername
        self.httpPassword = httpPassword
        self.maxAttempts = maxAttempts
        self.steerHostKeys = steerHostKeys
    }
}

/// A reference the server refused to update during a push, with the server's reason.
public struct PushRejection: Sendable, Hashable, Codable {
    /// The remote reference (`refs/heads/main`).
    public var reference: String
    /// The server's status (`non-fast-forward`, `pre-receive hook declined`, …).
    public var status: String

    /// Creates a rejection.
    public init(reference: String, status: String) {
        self.reference = reference
        self.status = status
    }
}

/// State shared with libgit2's C callbacks for one network operation.
private final class RemoteSession {
    let credentials: RemoteCredentials
    let url: String
    var attempts = 0
    var triedKeyFile = false
    var triedAgent = false
    var rejections: [PushRejection] = []
    var serverMessages = ""
    /// Set when a `file://` fetch or push goes through git's own services.
    let localGit: LocalGitConnection?
    /// The SSH server's host and port, for an SSH URL.
    let address: SSHAddress?
    /// The user's known_hosts (read for messages; libgit2 does the checking).
    let knownHosts: KnownHosts?
    /// The private known_hosts copy this connection reads, if any.
    var steering: HostKeySteering?
    /// Told of a fetch's objects as they arrive.
    var transferProgress: ((FetchProgress) -> Void)?

    init(credentials: RemoteCredentials, url: String, deadline: Date? = nil) {
        self.credentials = credentials
        self.url = url
        localGit = LocalGitTransport.serves(url) ? LocalGitConnection(deadline: deadline) : nil
        address = SSHAddress(url: url)
        knownHosts = address.map { _ in KnownHosts(path: KnownHosts.userFile()) }
        if credentials.steerHostKeys, let address, let knownHosts { steering = HostKeySteering.prepare(address, knownHosts: knownHosts) }
    }

    /// Runs one libgit2 network call, reading the private known_hosts copy if there is one.
    func connect(_ body: () -> Int32) -> Int32 {
        guard let steering else { return body() }
        return steering.run(body)
    }

    /// libssh2's "Unable to exchange encryption keys" says nothing about why: when known_hosts is
    /// the reason, say so and what to change.
    func explainNegotiation(_ error: GitError) -> GitError {
        guard error.message.contains("Unable to exchange encryption keys"), let address, let knownHosts else { return error }
        let entries = knownHosts.entries(for: address)
        let file = knownHosts.path
        let keyscan = address.keyscan(type: "ed25519", into: file)
        var error = error
        if entries.isEmpty {
            guard steering?.placeholder != nil else { return error }
            error.message += ": \(address.knownHostsName) is not in \(file), and it offers no ssh-ed25519 host key (sfgit asked for one so as to show its fingerprint); ask its owner which key it has and its fingerprint, then add that key's line"
            return error
        }
        let first = entries[0]
        if KnownHosts.rank(first.keyType) == 2 {
            let onlyRSA = entries.allSatisfy { KnownHosts.rank($0.keyType) == 2 }
            error.message += ": \(file) lists \(onlyRSA ? "only an ssh-rsa key" : "an ssh-rsa key first (line \(first.line + 1))") for \(address.knownHostsName); libgit2 1.5 then asks the server for that one algorithm, ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse (plain ssh still works: it negotiates rsa-sha2-512). "
                + (onlyRSA ? "Add the server's ed25519 key, after checking its fingerprint with the server's owner: \(keyscan)"
                           : "Put the host's ssh-ed25519 line first in \(file), or remove the ssh-rsa line; to add the ed25519 key: \(keyscan)")
        } else {
            let listed = Set(entries.map(\.keyType)).sorted().joined(separator: ", ")
            error.message += ": libgit2 1.5 asks \(address.knownHostsName) for the host key type \(file) lists first for it (\(first.keyType), line \(first.line + 1); listed: \(listed)), and the server offers none of them; check the key with the server's owner, then \(keyscan)"
        }
        return error
    }

    /// Answers libgit2's request for credentials; returns a libgit2 code.
    func acquire(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>?, username: String?, allowed: UInt32) -> Int32 {
        attempts += 1
        if attempts > credentials.maxAttempts {
            return fail(GIT_ERROR_SSH, "authentication to \(url) failed after \(credentials.maxAttempts) attempts: the server refused every credential offered")
        }
        let user = username ?? credentials.httpUsername ?? "git"
        if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0, username == nil, allowed & GIT_CREDENTIAL_SSH_KEY.rawValue == 0 {
            return git_credential_username_new(out, user)
        }
        if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
            if let key = credentials.sshKeyPath, !triedKeyFile {
                triedKeyFile = true
                if let refusal = Self.refuseRSA(keyPath: key) { return fail(GIT_ERROR_SSH, refusal) }
                let publicPath = FileManager.default.fileExists(atPath: key + ".pub") ? key + ".pub" : nil
                return git_credential_ssh_key_new(out, user, publicPath, key, nil)
            }
            if credentials.useAgent, !triedAgent, ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"] != nil {
                triedAgent = true
                return git_credential_ssh_key_from_agent(out, user)
            }
            let offered = credentials.sshKeyPath.map { "the key \($0)" } ?? "no key file (set SFGIT_SSH_KEY or the store's ssh_key)"
            return fail(GIT_ERROR_SSH, "the SSH server at \(url) refused \(offered)\(triedAgent ? " and ssh-agent's keys" : "")")
        }
        if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 {
            guard let name = credentials.httpUsername, let password = credentials.httpPassword else {
                return fail(GIT_ERROR_HTTP, "\(url) asks for credentials: set SFGIT_HTTP_USERNAME and SFGIT_HTTP_PASSWORD, or configure a git credential helper")
            }
            if attempts > 1 { return fail(GIT_ERROR_HTTP, "\(url) refused the user name and password for \(name)") }
            return git_credential_userpass_plaintext_new(out, name, password)
        }
        return fail(GIT_ERROR_NET, "\(url) asks for a kind of credential sfgit cannot give (allowed types \(allowed))")
    }

    /// libssh2 1.10 signs with ssh-rsa (SHA-1) only, which OpenSSH 8.8 and later refuse: say so
    /// instead of letting the server's opaque refusal through.
    static func refuseRSA(keyPath: String) -> String? {
        let publicPath = keyPath.hasSuffix(".pub") ? keyPath : keyPath + ".pub"
        let text = (try? String(contentsOfFile: publicPath, encoding: .utf8))
            ?? (try? String(contentsOfFile: keyPath, encoding: .utf8)) ?? ""
        let isRSA = text.hasPrefix("ssh-rsa ") || text.contains("BEGIN RSA PRIVATE KEY")
        guard isRSA else { return nil }
        return "the SSH key \(keyPath) is an RSA key: libssh2 1.10 can only sign with ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse; use an ed25519 or ECDSA key"
    }

    /// Judges the server's certificate or host key; returns a libgit2 code.
    func checkCertificate(_ cert: UnsafeMutablePointer<git_cert>?, valid: Int32, host: String) -> Int32 {
        guard let cert else { return GIT_PASSTHROUGH.rawValue }
        guard cert.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else {
            // TLS: libgit2 has already checked the chain against the system's CA bundle.
            return valid != 0 ? 0 : fail(GIT_ERROR_NET, "the TLS certificate of \(host) is not trusted", code: GIT_ECERTIFICATE)
        }
        // libgit2 has matched the key against ~/.ssh/known_hosts; returning 0 for an unmatched key
        // would override that check, so an unknown or changed key is always refused.
        let hostKey = UnsafeRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
        let presented = hostKey.hostkey.map { Data(bytes: $0, count: hostKey.hostkey_len).base64EncodedString() }
        if valid != 0 {
            // The placeholder of a private known_hosts copy is never a real key: no server may match it.
            if let placeholder = steering?.placeholder, presented == placeholder {
                return fail(GIT_ERROR_SSH, "the SSH server at \(host) presented sfgit's own placeholder host key: refused", code: GIT_ECERTIFICATE)
            }
            return 0
        }
        let digest = withUnsafeBytes(of: hostKey.hash_sha256) { Data($0) }
        let fingerprint = "SHA256:" + digest.base64EncodedString().replacingOccurrences(of: "=", with: "")
        let keyType = Self.keyTypeName(hostKey.raw_type)
        let address = self.address ?? SSHAddress(url: "ssh://\(host)/")!
        let file = knownHosts?.path ?? KnownHosts.userFile()
        // The key type to fetch: the one the server showed, unless it is RSA (see HostKeySteering).
        let scanType = keyType == "ssh-ed25519" ? "ed25519" : keyType.hasPrefix("ecdsa-") ? "ecdsa" : "ed25519"
        let keyscan = address.keyscan(type: scanType, into: file)
        let listed = knownHosts?.entries(for: address) ?? []
        let message: String
        if listed.isEmpty {
            message = """
                the SSH host key of \(address.knownHostsName) is unknown: \(file) has no line for it. The server showed the \(keyType) key \(fingerprint). \
                Check that fingerprint with the server's owner (ssh-keygen -lf /etc/ssh/ssh_host_\(scanType)_key.pub on the server), then add it: \(keyscan)
                """
        } else {
            let lines = listed.map { "line \($0.line + 1): \($0.keyType)" }.joined(separator: ", ")
            message = """
                the SSH host key of \(address.knownHostsName) has changed: \(file) lists another key for it (\(lines)), but the server showed the \(keyType) key \(fingerprint). \
                Someone may be intercepting the connection, or the server was reinstalled: ask its owner. Only if the new key is right, \
                remove the old lines (ssh-keygen -R '\(address.knownHostsName)' -f \(file)) and add it: \(keyscan)
                """
        }
        return fail(GIT_ERROR_SSH, message, code: GIT_ECERTIFICATE)
    }

    /// The SSH name of a libgit2 raw host-key type.
    static func keyTypeName(_ type: git_cert_ssh_raw_type_t) -> String {
        switch type {
        case GIT_CERT_SSH_RAW_TYPE_RSA: return "ssh-rsa"
        case GIT_CERT_SSH_RAW_TYPE_DSS: return "ssh-dss"
        case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256: return "ecdsa-sha2-nistp256"
        case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384: return "ecdsa-sha2-nistp384"
        case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521: return "ecdsa-sha2-nistp521"
        case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519: return "ssh-ed25519"
        default: return "unknown-type"
        }
    }

    /// Sets the message libgit2's caller will see and returns `code` (an authentication failure by default).
    private func fail(_ errorClass: git_error_t, _ message: String, code: git_error_code = GIT_EAUTH) -> Int32 {
        git_error_set_str(Int32(errorClass.rawValue), message)
        return code.rawValue
    }
}

private let credentialCallback: git_credential_acquire_cb = { out, _, username, allowed, payload in
    guard let payload else { return -1 }
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    return session.acquire(out, username: username.map { String(cString: $0) }, allowed: allowed)
}

private let certificateCallback: git_transport_certificate_check_cb = { cert, valid, host, payload in
    guard let payload else { return -1 }
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    return session.checkCertificate(cert, valid: valid, host: host.map { String(cString: $0) } ?? "?")
}

private let pushUpdateCallback: git_push_update_reference_cb = { reference, status, payload in
    guard let payload, let status else { return 0 }
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    session.rejections.append(PushRejection(reference: reference.map { String(cString: $0) } ?? "?", status: String(cString: status)))
    return 0
}

/// Hands libgit2 a smart transport whose stream is a `git upload-pack` or `receive-pack` child.
private let localGitTransportCallback: git_transport_cb = { out, owner, payload in
    guard let payload else { return -1 }
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    guard let connection = session.localGit else { return -1 }
    return git_transport_smart(out, owner, UnsafeMutableRawPointer(connection.definition))
}

private let transferProgressCallback: git_indexer_progress_cb = { stats, payload in
    guard let payload, let stats else { return 0 }
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    let counts = stats.pointee
    session.transferProgress?(FetchProgress(receivedObjects: Int(counts.received_objects), totalObjects: Int(counts.total_objects),
                                            receivedBytes: Int(counts.received_bytes)))
    return 0
}

/// How far a fetch's download has come.
public struct FetchProgress: Sendable, Equatable {
    /// Objects received so far.
    public var receivedObjects: Int
    /// Objects the server is sending.
    public var totalObjects: Int
    /// Bytes received so far.
    public var receivedBytes: Int

    /// `received 120/300 objects, 1.2 MiB`.
    public var description: String {
        "received \(receivedObjects)/\(totalObjects) objects, " + String(format: "%.1f MiB", Double(receivedBytes) / 1_048_576)
    }
}

private let sidebandCallback: git_transport_message_cb = { text, length, payload in
    guard let payload, let text, length > 0 else { return 0 }
    let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
    if session.serverMessages.utf8.count < 8_192 {
        session.serverMessages += String(decoding: UnsafeRawBufferPointer(start: text, count: Int(length)), as: UTF8.self)
    }
    return 0
}

extension Repository {
    /// Fetches `refspecs` from `url` (an anonymous remote: nothing is written to the config).
    /// libgit2 1.5 has no network timeout: `deadline` bounds only fetches that
    /// `LocalGitTransport.serves`; callers bound the others from outside.
    /// `progress` is told of the objects as they arrive (often: a caller shows only some).
    public func fetch(url: String, refspecs: [String], credentials: RemoteCredentials, deadline: Date? = nil,
                      progress: ((FetchProgress) -> Void)? = nil) throws(GitError) {
        let session = RemoteSession(credentials: credentials, url: url, deadline: deadline)
        session.transferProgress = progress
        let remote = try anonymousRemote(url)
        defer { git_remote_free(remote) }
        var options = git_fetch_options()
        try check(git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)), "git_fetch_options_init")
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
        options.update_fetchhead = 0
        Self.install(&options.callbacks, session)
        if progress != nil { options.callbacks.transfer_progress = transferProgressCallback }
        let result = withStringArray(refspecs) { array in
            withExtendedLifetime(session) { session.connect { git_remote_fetch(remote, &array, &options, "sfgit: fetch") } }
        }
        if result < 0, session.localGit?.timedOut == true { throw lastError(GIT_EUSER.rawValue, "git_remote_fetch(\(url))") }
        do { try check(result, "git_remote_fetch(\(url))") } catch { throw session.explainNegotiation(error) }
    }

    /// Pushes `refspecs` to `url` and returns the references the server refused. A server-side
    /// refusal (a hook, `receive.denyNonFastForwards`) arrives only in a callback while libgit2
    /// returns success, so the caller must treat any returned rejection as a failed push.
    public func push(url: String, refspecs: [String], credentials: RemoteCredentials) throws(GitError) -> (rejections: [PushRejection], serverMessages: String) {
        let session = RemoteSession(credentials: credentials, url: url)
        let remote = try anonymousRemote(url)
        defer { git_remote_free(remote) }
        var options = git_push_options()
        try check(git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION)), "git_push_options_init")
        Self.install(&options.callbacks, session)
        options.callbacks.push_update_reference = pushUpdateCallback
        let result = withStringArray(refspecs) { array in
            withExtendedLifetime(session) { session.connect { git_remote_push(remote, &array, &options) } }
        }
        do { try check(result, "git_remote_push(\(url))") } catch { throw session.explainNegotiation(error) }
        return (session.rejections, session.serverMessages)
    }

    /// Connects to `url` as a fetch would (credentials, host key, the same transports), reads the
    /// references it advertises and disconnects: nothing is downloaded or written. Returns their
    /// names. Like `fetch`, bounded by `deadline` only for `LocalGitTransport` remotes.
    public func advertisedReferences(url: String, credentials: RemoteCredentials, deadline: Date? = nil) throws(GitError) -> [String] {
        let session = RemoteSession(credentials: credentials, url: url, deadline: deadline)
        let remote = try anonymousRemote(url)
        defer { git_remote_free(remote) }
        var callbacks = git_remote_callbacks()
        try check(git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION)), "git_remote_init_callbacks")
        Self.install(&callbacks, session)
        let result = withExtendedLifetime(session) { session.connect { git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nil, nil) } }
        if result < 0, session.localGit?.timedOut == true { throw lastError(GIT_EUSER.rawValue, "git_remote_connect(\(url))") }
        do { try check(result, "git_remote_connect(\(url))") } catch { throw session.explainNegotiation(error) }
        defer { _ = git_remote_disconnect(remote) }
        var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
        var count = 0
        try check(git_remote_ls(&heads, &count, remote), "git_remote_ls(\(url))")
        return (0..<count).compactMap { index in heads?[index].map { String(cString: $0.pointee.name) } }
    }

    private func anonymousRemote(_ url: String) throws(GitError) -> OpaquePointer {
        var remote: OpaquePointer?
        try check(git_remote_create_anonymous(&remote, pointer, url), "git_remote_create_anonymous(\(url))")
        return remote!
    }

    private static func install(_ callbacks: inout git_remote_callbacks, _ session: RemoteSession) {
        callbacks.credentials = credentialCallback
        callbacks.certificate_check = certificateCallback
        callbacks.sideband_progress = sidebandCallback
        callbacks.payload = Unmanaged.passUnretained(session).toOpaque()
        if session.localGit != nil { callbacks.transport = localGitTransportCallback }
    }
}

/// Calls `body` with a `git_strarray` of `strings` that lives for the duration of the call.
private func withStringArray<R>(_ strings: [String], _ body: (inout git_strarray) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeMutableBufferPointer { buffer in
        var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return body(&array)
    }
}

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

    /// Creates credentials.
    public init(sshKeyPath: String? = nil, useAgent: Bool = true, httpUsername: String? = nil, httpPassword: String? = nil, maxAttempts: Int = 3) {
        self.sshKeyPath = sshKeyPath
        self.useAgent = useAgent
        self.httpUsername = httpUsername
        self.httpPassword = httpPassword
        self.maxAttempts = maxAttempts
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

    init(credentials: RemoteCredentials, url: String, deadline: Date? = nil) {
        self.credentials = credentials
        self.url = url
        localGit = LocalGitTransport.serves(url) ? LocalGitConnection(deadline: deadline) : nil
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
        if valid != 0 { return 0 }
        let hostKey = UnsafeRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
        let digest = withUnsafeBytes(of: hostKey.hash_sha256) { Data($0) }
        let fingerprint = "SHA256:" + digest.base64EncodedString().replacingOccurrences(of: "=", with: "")
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "~"
        let message = """
            the SSH host key of \(host) (\(fingerprint)) is unknown or has changed: it is not in \(home)/.ssh/known_hosts; \
            check the fingerprint with the server's owner, then add it (ssh-keyscan -p PORT \(host) >> \(home)/.ssh/known_hosts)
            """
        return fail(GIT_ERROR_SSH, message, code: GIT_ECERTIFICATE)
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
    public func fetch(url: String, refspecs: [String], credentials: RemoteCredentials, deadline: Date? = nil) throws(GitError) {
        let session = RemoteSession(credentials: credentials, url: url, deadline: deadline)
        let remote = try anonymousRemote(url)
        defer { git_remote_free(remote) }
        var options = git_fetch_options()
        try check(git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)), "git_fetch_options_init")
        options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
        options.update_fetchhead = 0
        Self.install(&options.callbacks, session)
        let result = withStringArray(refspecs) { array in
            withExtendedLifetime(session) { git_remote_fetch(remote, &array, &options, "sfgit: fetch") }
        }
        if result < 0, session.localGit?.timedOut == true { throw lastError(GIT_EUSER.rawValue, "git_remote_fetch(\(url))") }
        try check(result, "git_remote_fetch(\(url))")
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
            withExtendedLifetime(session) { git_remote_push(remote, &array, &options) }
        }
        try check(result, "git_remote_push(\(url))")
        return (session.rejections, session.serverMessages)
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

/// The process a fetch or push runs in when its caller bounds it with a deadline.
public enum NetworkChildProcess {
    /// Makes the kernel kill this process when its parent dies (a sync killed with -9 must not
    /// leave its network step writing refs on alone); false when `parent` is already gone. The
    /// parent's pid comes from the parent itself: read here, it could already be init's.
    public static func dieWithParent(_ parent: Int32) -> Bool {
        _ = sfgit_kill_on_parent_death()
        return getppid() == parent
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

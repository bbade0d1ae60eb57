import Foundation

/// One network step (fetch or push) as data, so that it can run in a child process that is
/// killed at its deadline: libgit2 1.5 has no network timeout, and a server that accepts a
/// connection and never answers would hang it forever.
public struct RemoteRequest: Sendable, Codable {
    /// Fetch or push; or probe: connect, read the advertised references, write nothing (`doctor`).
    public enum Operation: String, Sendable, Codable { case fetch, push, probe }

    /// What to do.
    public var operation: Operation
    /// The store's bare repository.
    public var repository: String
    /// The remote URL.
    public var url: String
    /// Refspecs (`+refs/heads/main:refs/sfgit/fetched`, `refs/sfgit/outbox:refs/heads/main`).
    public var refspecs: [String]
    /// An SSH private key file.
    public var sshKeyPath: String?
    /// HTTP user name (the password travels in the child's environment, never in its arguments).
    public var httpUsername: String?
    /// Whether a child process reports a fetch's progress on its stderr (`RemoteStep.progressPrefix`).
    public var reportProgress: Bool?

    /// Creates a request.
    public init(operation: Operation, repository: String, url: String, refspecs: [String], sshKeyPath: String? = nil, httpUsername: String? = nil) {
        self.operation = operation
        self.repository = repository
        self.url = url
        self.refspecs = refspecs
        self.sshKeyPath = sshKeyPath
        self.httpUsername = httpUsername
    }
}

/// What a network step did.
public struct RemoteResponse: Sendable, Codable {
    /// Why the step failed, or nil.
    public var failure: String?
    /// Whether it failed because the deadline passed.
    public var timedOut: Bool
    /// Whether libgit2 refused a push as not fast-forward before sending it.
    public var nonFastForward: Bool
    /// References the server refused (push).
    public var rejections: [PushRejection]
    /// What the server printed (hook output, refusal reasons), capped.
    public var serverMessages: String
    /// How many references the server advertised (a probe).
    public var advertisedReferences: Int = 0

    /// Creates a response.
    public init(failure: String? = nil, timedOut: Bool = false, nonFastForward: Bool = false, rejections: [PushRejection] = [], serverMessages: String = "") {
        self.failure = failure
        self.timedOut = timedOut
        self.nonFastForward = nonFastForward
        self.rejections = rejections
        self.serverMessages = serverMessages
    }

    /// Whether the step did everything it was asked.
    public var succeeded: Bool { failure == nil && rejections.isEmpty }

    /// Whether a push failed because another host updated the branch first, so that fetching,
    /// verifying, replaying and pushing again can succeed: every lost-race answer counts
    /// (docs/TRUST.md § Publishing own memories).
    public var lostRace: Bool {
        nonFastForward || rejections.contains { Self.isLostRace($0.status) } || failure.map(Self.isLostRace) == true
    }

    /// The answers, from libgit2 or from the server, that mean "someone pushed first". The one
    /// place that knows them: a server that loses the ref update inside its own transaction says
    /// so in its words, not as "non-fast-forward".
    static let lostRaceAnswers = [
        // git receive-pack with receive.denyNonFastForwards, and most forges.
        "non-fast-forward",
        // git receive-pack when the branch moved between its advertisement and the ref update:
        // status "failed to update ref", with "cannot lock ref 'refs/heads/main': is at X but
        // expected Y" (or the lock file being held) in its message.
        "failed to update ref", "cannot lock ref", "failed to lock",
        // The git client's names for the same refusals, which some servers echo.
        "fetch first", "stale info",
        // libgit2's own check against the advertised refs (GIT_ENONFASTFORWARD).
        "cannot push non-fastforwardable reference", "contains commits that are not present locally",
    ]

    /// Whether one status or error text from a push is a lost-race answer.
    public static func isLostRace(_ answer: String) -> Bool {
        let text = answer.lowercased()
        return lostRaceAnswers.contains { text.contains($0) }
    }
}

/// Performs a network step: in this process, or as the `sfgit-network` child the facade starts
/// for every fetch and push and kills at its deadline (docs/ARCHITECTURE.md § Processes).
public enum RemoteStep {
    /// The environment variable carrying the HTTP password into a child step (never its arguments).
    public static let httpPasswordVariable = "SFGIT_HTTP_PASSWORD"

    /// What starts a progress line on a network child's stderr (anything else there is ignored).
    public static let progressPrefix = "sfgit-progress: "

    /// A fetch's progress as lines, at most ten a second, a line never twice, the last one
    /// (every object received) always.
    public static func throttled(_ emit: @escaping (String) -> Void) -> (FetchProgress) -> Void {
        var lastTime = 0.0
        var lastLine = ""
        return { progress in
            let now = Date().timeIntervalSince1970
            let done = progress.totalObjects > 0 && progress.receivedObjects == progress.totalObjects
            let line = progress.description
            guard line != lastLine, done || now - lastTime >= 0.1 else { return }
            lastTime = now
            lastLine = line
            emit(line)
        }
    }

    /// The most memory a network step in a child process may map for its data (`RLIMIT_DATA`):
    /// a remote controls how much a fetch receives and libgit2 1.5 bounds none of it (an endless
    /// ref advertisement grew a fetch by ≈ 70 MB/s until the deadline). A normal fetch stays far
    /// below: see README, Benchmarks.
    public static let memoryCapBytes = 160 << 20

    /// The sentence that names the cap in a failure it caused.
    public static var memoryCapMessage: String {
        "the network step ran into its memory cap of \(memoryCapBytes >> 20) MiB (a remote sending far more than a store, such as an endless ref advertisement); stopped"
    }

    /// What the `sfgit-network` child runs: caps its own memory, then performs the request. An
    /// allocation refused by the cap fails the step (libgit2's "out of memory") or kills the
    /// child (the Swift runtime stops on one); either way the parent reports the cap.
    public static func performCapped(_ request: RemoteRequest) -> RemoteResponse {  // the `sfgit-network` child: alone in its process
        var limit = rlimit(rlim_cur: rlim_t(memoryCapBytes), rlim_max: rlim_t(memoryCapBytes))
        var current = rlimit()
        if getrlimit(Int32(RLIMIT_DATA.rawValue), &current) == 0, current.rlim_max < limit.rlim_max {
            limit = current  // already tighter
        }
        _ = setrlimit(Int32(RLIMIT_DATA.rawValue), &limit)
        let progress: ((String) -> Void)? = request.reportProgress == true
            ? { FileHandle.standardError.write(Data((progressPrefix + $0 + "\n").utf8)) } : nil
        var response = perform(request, alone: true, progress: progress)
        if let failure = response.failure, failure.localizedCaseInsensitiveContains("out of memory") {
            response.failure = "\(failure): \(memoryCapMessage)"
        }
        return response
    }

    /// Runs the request to completion. Only a fetch served by `git upload-pack` (a local
    /// `file://` remote) heeds `deadline`; anything else runs however long it takes.
    /// `alone`: this process does nothing else (the `sfgit-network` child), so an SSH connection
    /// may read a known_hosts copy with the host's strongest key first (see `RemoteCredentials`).
    /// `progress` gets a line on a fetch's objects at most ten times a second.
    public static func perform(_ request: RemoteRequest, deadline: Date? = nil, alone: Bool = false, progress: ((String) -> Void)? = nil) -> RemoteResponse {
        let credentials = RemoteCredentials(
            sshKeyPath: request.sshKeyPath, useAgent: true, httpUsername: request.httpUsername,
            httpPassword: ProcessInfo.processInfo.environment[httpPasswordVariable], steerHostKeys: alone)
        do {
            let repository = try Repository.open(request.repository)
            switch request.operation {
            case .fetch:
                try repository.fetch(url: request.url, refspecs: request.refspecs, credentials: credentials, deadline: deadline,
                                     progress: progress.map(throttled))
                return RemoteResponse()
            case .probe:
                var response = RemoteResponse()
                response.advertisedReferences = try repository.advertisedReferences(url: request.url, credentials: credentials, deadline: deadline).count
                return response
            case .push:
                let (rejections, messages) = try repository.push(url: request.url, refspecs: request.refspecs, credentials: credentials)
                return RemoteResponse(
                    failure: rejections.isEmpty ? nil : rejections.map { "\($0.reference): \($0.status)" }.joined(separator: "; "),
                    rejections: rejections, serverMessages: messages)
            }
        } catch {
            return RemoteResponse(failure: error.message, timedOut: error.isTimeout, nonFastForward: error.isNonFastForward)
        }
    }
}


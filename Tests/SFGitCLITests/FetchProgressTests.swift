import Foundation
@testable import SFGit
import SFGitRepository
import SFGitTestSupport
import Testing

/// A fetch's objects as they arrive, as the terminal progress line shows them: from the
/// `sfgit-network` child over smart HTTP (its stderr, read line by line) and from git's own
/// upload-pack for a `file://` remote, through the transport every workspace uses by default.
@Suite("progress: objects received by a fetch")
struct FetchProgressTests {
    /// Collects progress lines from whichever thread reports them.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    /// A fresh bare repository fetches the remote's `main` through `transport`, with progress.
    static func fetch(_ url: String, into federation: Federation, _ name: String, password: String? = nil) throws -> (RemoteResponse, [String]) {
        let target = federation.scratch.url(name)
        _ = try ProcessRunner.run("git", ["init", "-q", "--bare", target])
        let lines = Lines()
        let request = RemoteRequest(operation: .fetch, repository: target, url: url, refspecs: ["+refs/heads/main:refs/heads/fetched"],
                                    httpUsername: password == nil ? nil : "agent")
        let response = RemoteTransport.standard
            .run(request, timeout: 60, httpPassword: password, progress: { lines.append($0) })
        return (response, lines.all)
    }

    @Test("over smart HTTP (the network child) and file:// (git upload-pack), the last line counts every object received")
    func objectsReceived() throws {
        let federation = try Federation()
        try federation.initialise()
        for index in 0..<5 {
            #expect(try federation.run(federation.admin, ["remember", "note", "--title", "note \(index)"]).exitCode == 0)
        }
        #expect(try federation.run(federation.admin, ["sync"]).exitCode == 0)
        let objects = try ProcessRunner.run("git", ["--git-dir", federation.remotePath, "rev-list", "--objects", "main"]).stdout
            .split(separator: "\n").count

        let server = try HTTPGitServer(in: federation.scratch.url("http"), root: federation.scratch.path, user: "agent", password: "s3cret")
        defer { withExtendedLifetime(server) {} }
        let (overHTTP, httpLines) = try Self.fetch("http://127.0.0.1:\(server.port)/git/remote.git", into: federation, "http-target.git", password: "s3cret")
        #expect(overHTTP.succeeded, "\(String(describing: overHTTP.failure))")
        #expect(httpLines.last?.hasPrefix("received \(objects)/\(objects) objects, ") == true, "\(httpLines)")
        #expect(Set(httpLines).count == httpLines.count, "a line repeated: \(httpLines)")

        let (overFile, fileLines) = try Self.fetch(federation.remoteURL, into: federation, "file-target.git")
        #expect(overFile.succeeded, "\(String(describing: overFile.failure))")
        #expect(fileLines.last?.hasPrefix("received \(objects)/\(objects) objects, ") == true, "\(fileLines)")

        // Without a progress handler the child reports none and the fetch is the same.
        let quiet = federation.scratch.url("quiet.git")
        _ = try ProcessRunner.run("git", ["init", "-q", "--bare", quiet])
        let plain = RemoteTransport.standard.run(
            RemoteRequest(operation: .fetch, repository: quiet, url: "http://127.0.0.1:\(server.port)/git/remote.git",
                          refspecs: ["+refs/heads/main:refs/heads/fetched"], httpUsername: "agent"),
            timeout: 60, httpPassword: "s3cret")
        #expect(plain.succeeded, "\(String(describing: plain.failure))")
    }
}

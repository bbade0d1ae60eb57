import Foundation
import SFGitTestSupport
import Testing
@testable import SFGitRepository

/// Fetches from `file://` remotes: served by `git upload-pack` when git can serve the directory,
/// by libgit2's own local transport when it cannot.
@Suite("file:// fetch")
struct FileFetchTests {
    /// A non-bare repository written by plain git, with `main` and a `hidden` branch, and the
    /// bare remote cloned from it.
    static func makeRemote(in dir: TemporaryDirectory) throws -> (remote: String, work: GitCLI) {
        let work = GitCLI(directory: dir.url("work"), home: dir.path)
        try FileManager.default.createDirectory(atPath: dir.url("work"), withIntermediateDirectories: true)
        try work.run(["init", "-q", "--initial-branch=main"])
        for n in 0..<3 {
            _ = try dir.write("work/note-\(n).txt", "note \(n)\n")
            try work.run(["add", "."])
            try work.unsignedCommit("note \(n)")
        }
        try work.run(["branch", "hidden"])
        try work.run(["clone", "-q", "--bare", dir.url("work"), dir.url("remote.git")])
        return (dir.url("remote.git"), work)
    }

    @Test("a file:// or plain-path fetch is answered by git upload-pack, so the remote's upload-pack settings apply")
    func servedByUploadPack() throws {
        let dir = try TemporaryDirectory()
        let (remote, _) = try Self.makeRemote(in: dir)
        // libgit2's local transport ignores uploadpack.hideRefs; upload-pack honours it.
        try GitCLI(directory: remote, home: dir.path).run(["config", "uploadpack.hideRefs", "refs/heads/hidden"])
        let remoteMain = try GitCLI(directory: remote, home: dir.path).run(["rev-parse", "main"])
        // A plain absolute path is the same remote as its file:// URL.
        for (name, url) in [("local.git", "file://" + remote), ("plain.git", remote)] {
            let local = try Repository.initBare(dir.url(name))
            try local.fetch(url: url, refspecs: ["+refs/heads/*:refs/remotes/origin/*"], credentials: RemoteCredentials())
            #expect(try local.resolveCommit("refs/remotes/origin/main").hex == remoteMain)
            #expect(throws: GitError.self) { try local.resolveCommit("refs/remotes/origin/hidden") }
            #expect(try GitCLI(directory: dir.url(name), home: dir.path).result(["fsck", "--strict"]).exitCode == 0)
        }
    }

    @Test("a second fetch brings only the new commit, and the result is sound")
    func incremental() throws {
        let dir = try TemporaryDirectory()
        let (remote, work) = try Self.makeRemote(in: dir)
        let local = try Repository.initBare(dir.url("local.git"))
        let url = "file://" + remote
        try local.fetch(url: url, refspecs: ["+refs/heads/main:refs/remotes/origin/main"], credentials: RemoteCredentials())
        _ = try dir.write("work/later.txt", "later\n")
        try work.run(["add", "."])
        let later = try work.unsignedCommit("later")
        try work.run(["push", "-q", remote, "main"])
        try local.fetch(url: url, refspecs: ["+refs/heads/main:refs/remotes/origin/main"], credentials: RemoteCredentials())
        #expect(try local.resolveCommit("refs/remotes/origin/main").hex == later)
        #expect(try GitCLI(directory: dir.url("local.git"), home: dir.path).result(["fsck", "--strict"]).exitCode == 0)
    }

    @Test("a missing file:// repository fails with its path in the message")
    func missingRepository() throws {
        let dir = try TemporaryDirectory()
        let local = try Repository.initBare(dir.url("local.git"))
        let missing = dir.url("nowhere.git")
        let error = #expect(throws: GitError.self) {
            try local.fetch(url: "file://" + missing, refspecs: ["+refs/heads/*:refs/remotes/origin/*"], credentials: RemoteCredentials())
        }
        #expect(error?.message.contains(missing) == true)
    }

    @Test("a repository owned by another user is refused with git's safe.directory advice",
          .enabled(if: geteuid() == 0, "needs root to give the remote to another user"))
    func otherOwnerRefused() throws {
        let dir = try TemporaryDirectory()
        let (remote, _) = try Self.makeRemote(in: dir)
        _ = try ProcessRunner.run("chown", ["-R", "65534:65534", remote])
        let local = try Repository.initBare(dir.url("local.git"))
        let error = #expect(throws: GitError.self) {
            try local.fetch(url: "file://" + remote, refspecs: ["+refs/heads/*:refs/remotes/origin/*"], credentials: RemoteCredentials())
        }
        #expect(error?.message.contains("dubious ownership") == true)
        #expect(error?.message.contains("safe.directory") == true)
        #expect(throws: GitError.self) { try local.resolveCommit("refs/remotes/origin/main") }
    }

    @Test("a file:// push goes through git receive-pack: the remote's receive settings apply, its hooks never run")
    func pushThroughReceivePack() throws {
        let dir = try TemporaryDirectory()
        let (remote, work) = try Self.makeRemote(in: dir)
        let remoteGit = GitCLI(directory: remote, home: dir.path)
        try remoteGit.run(["config", "receive.denyNonFastForwards", "true"])
        let marker = dir.url("hook-ran")
        let hook = try dir.write("remote.git/hooks/pre-receive", "#!/bin/sh\ntouch \(marker)\n")
        chmod(hook, 0o755)
        let local = try Repository.open(dir.url("work/.git"))
        // A fast-forward is accepted.
        _ = try dir.write("work/more.txt", "more\n")
        try work.run(["add", "."])
        let ahead = try work.unsignedCommit("more")
        let pushed = try local.push(url: "file://" + remote, refspecs: ["refs/heads/main:refs/heads/main"], credentials: RemoteCredentials())
        #expect(pushed.rejections.isEmpty)
        #expect(try remoteGit.run(["rev-parse", "main"]) == ahead)
        // A forced rewrite is refused by the remote's setting, and reported as a rejection.
        try work.run(["reset", "-q", "--hard", "HEAD~2"])
        let refused = try local.push(url: "file://" + remote, refspecs: ["+refs/heads/main:refs/heads/main"], credentials: RemoteCredentials())
        #expect(refused.rejections.map(\.reference) == ["refs/heads/main"])
        #expect(try remoteGit.run(["rev-parse", "main"]) == ahead)
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(!FileManager.default.fileExists(atPath: remote + "/refs/heads/main.lock"))
    }
}

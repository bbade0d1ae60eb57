import Foundation
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import SFGitTrust

/// Verifies a chain of 10,000 ed25519-signed commits (each adding one memory) from scratch,
/// next to `git log --format=%G?` over the same repository in the same run.
enum VerifyBenchmark {
    static let commitCount = 10_000
    static let gitSample = 300

    static func run() throws {
        // The store's layout spreads memories over kind and month directories: six kinds over ten
        // months put about 170 files in each directory; one kind puts a thousand in each, which
        // makes every commit rebuild a larger tree (the worst case, shown for comparison).
        try measure(kinds: SyntheticMemories.kinds, name: "six-kinds", label: "six kinds, ≈170 files per directory", baseline: true)
        print("")
        try measure(kinds: [.learning], name: "one-kind", label: "one kind, ≈1,000 files per directory", baseline: false)
    }

    static func measure(kinds: [MemoryKind], name: String, label: String, baseline: Bool) throws {
        // SFGIT_BENCH_FIXTURES names a directory to keep the generated chain in between runs.
        let kept = ProcessInfo.processInfo.environment["SFGIT_BENCH_FIXTURES"].map { $0 + "/verify-chain-" + name }
        let scratch = try TemporaryDirectory(prefix: "sfgit-bench-verify")
        let root = kept ?? scratch.path
        let keyPath = root + "/admin"
        let storePath = root + "/store.git"
        let git = GitCLI(directory: storePath, home: root)
        let principal = "bench@host"
        let introduction: ObjectID, tip: ObjectID
        if FileManager.default.fileExists(atPath: storePath + "/refs/heads/main") || FileManager.default.fileExists(atPath: storePath + "/packed-refs") {
            let repository = try Repository.open(storePath)
            tip = try repository.resolveCommit("main")
            introduction = try repository.commits(from: [tip], excluding: []).first!
            print("verify: chain of \(commitCount) signed commits, one memory each, packed, \(label) (kept in \(root))")
        } else {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let made = try ProcessRunner.run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", keyPath])
            benchRequire(made.exitCode == 0, made.stderr)
            let start = DispatchTime.now().uptimeNanoseconds
            GitSettings.setFsync(false)  // a fixture, not data to keep
            let repository = try Repository.initBare(storePath)
            (introduction, tip) = try buildChain(repository, signer: try SigningKey.load(keyPath), principal: principal, kinds: kinds)
            GitSettings.setFsync(true)
            // A store's objects arrive by fetch, already packed: verify the packed form.
            try git.run(["repack", "-adq"])
            let built = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print("verify: chain of \(commitCount) signed commits, one memory each, packed, \(label) (built in \(String(format: "%.1f", built)) s)")
        }
        let signer = try SigningKey.load(keyPath)

        let pinned = Introduction(commit: introduction, signer: signer.publicKey.fingerprint)
        var result: VerificationResult?
        let seconds = try best(of: 3) {
            let fresh = try Repository.open(storePath)
            result = try Verifier(repository: fresh, introduction: pinned).verify(from: nil, to: tip)
        }
        benchRequire(result?.isAuthentic == true && result?.accepted.count == commitCount, "the chain did not verify")
        let rate = Double(commitCount + 1) / seconds

        if !baseline || ProcessInfo.processInfo.environment["SFGIT_BENCH_NO_BASELINE"] != nil {
            Report.row("sfgit verify from the introduction", value: rate, unit: "commits/s")
            return
        }
        // git checks each signature by running ssh-keygen: time it over the newest commits only.
        try "\(principal) namespaces=\"git\" \(signer.publicKey.openSSH)\n".write(toFile: root + "/allowed", atomically: true, encoding: .utf8)
        let gitStart = DispatchTime.now().uptimeNanoseconds
        let log = try git.run(["-c", "gpg.ssh.allowedSignersFile=\(root)/allowed", "log", "-\(gitSample)", "--format=%G?", "main"])
        let gitSeconds = Double(DispatchTime.now().uptimeNanoseconds - gitStart) / 1e9
        benchRequire(log.split(separator: "\n").allSatisfy { $0 == "G" }, "git did not find good signatures")
        let gitRate = Double(gitSample) / gitSeconds

        Report.row("git log --format=%G? (\(gitSample) newest)", value: gitRate, unit: "commits/s")
        Report.row("sfgit verify from the introduction", value: rate, unit: "commits/s",
                   note: String(format: "%.0f× git in this run; target ≥ 7,700 commits/s (100× the 77/s git measured for the issue): %@",
                                rate / gitRate, rate >= 7_700 ? "met" : "MISSED"))
    }

    /// An introduction (policy, allowed_signers) and `commitCount` commits each adding one memory.
    static func buildChain(_ repository: Repository, signer: any CommitSigner, principal: String, kinds: [MemoryKind]) throws -> (ObjectID, ObjectID) {
        let writer = SignedCommitWriter(repository: repository, signer: signer)
        let policy = Policy(principals: [.init(name: principal, roles: [.admin, .write])], maxFilesPerCommit: 10)
        let signers = "\(principal) namespaces=\"git\" \(signer.publicKey.openSSH)\n"
        var tree = try repository.updateTree(nil, [
            .upsert(path: ".sfgit/policy.yaml", id: try repository.writeBlob(Array(policy.render().utf8))),
            .upsert(path: ".sfgit/allowed_signers", id: try repository.writeBlob(Array(signers.utf8))),
        ])
        var time: Int64 = 1_767_225_600
        let introduction = try writer.commit(tree: tree, parents: [], author: author(time), message: "sfgit: introduction")
        var tip = introduction
        var rng = SeededGenerator(seed: 7)
        for i in 0..<commitCount {
            time += 2_600  // ten months over the chain: about a thousand memories per month directory
            let memory = SyntheticMemories.memory(
                index: i, milliseconds: UInt64(time) * 1000, kind: kinds[i % kinds.count], author: "bench", host: "host", using: &rng)
            let blob = try repository.writeBlob(try MemorySerializer().serialize(memory))
            tree = try repository.updateTree(tree, [.upsert(path: memory.path.description, id: blob)])
            tip = try writer.commit(tree: tree, parents: [tip], author: author(time), message: "sfgit: remember \(memory.id)")
        }
        try repository.setReference("refs/heads/main", to: tip, message: "bench")
        return (introduction, tip)
    }

    static func author(_ time: Int64) -> GitSignature {
        GitSignature(name: "bench", email: "bench@host", time: time)
    }
}

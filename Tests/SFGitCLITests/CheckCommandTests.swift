import Foundation
import SFGit
import SFGitTestSupport
import Testing

/// `sfgit check` end to end: the built binary, its stdout, stderr and exit code.
@Suite("sfgit check (binary)")
struct CheckCommandTests {
    @Test("the sample store prints nothing but a summary and exits 0")
    func sampleStore() throws {
        let result = try PackagePaths.runSFGit(["check", "examples/store"])
        #expect(result.exitCode == 0)
        #expect(result.stdout == "checked 11 files: no problems\n")
        #expect(result.stderr == "")
    }

    @Test("the invalid examples are each listed with line and column, exit 7")
    func invalidExamples() throws {
        let result = try PackagePaths.runSFGit(["check", "examples/invalid"])
        #expect(result.exitCode == 7)
        #expect(result.stderr == "")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let problemLines = lines.dropLast()
        let entries = try FileManager.default.contentsOfDirectory(atPath: PackagePaths.examples + "/invalid").filter { $0 != "README.md" }
        #expect(problemLines.count == entries.count)
        for entry in entries {
            #expect(problemLines.contains { $0.hasPrefix("examples/invalid/\(entry)") }, "no problem listed for \(entry)")
        }
        for line in problemLines {
            #expect(line.wholeMatch(of: /examples\/invalid\/[^:]+:\d+:\d+: error: .+/) != nil, "\(line)")
        }
        #expect(lines.last?.hasSuffix(" files: \(entries.count) problems in \(entries.count) files") == true, "\(lines.last ?? "")")
        #expect(problemLines.contains("examples/invalid/duplicate-key.yaml:11:1: error: duplicate key 'title' (first defined on line 10)"))
    }

    @Test("--json prints the SPEC envelope with every problem")
    func jsonEnvelope() throws {
        let result = try PackagePaths.runSFGit(["check", "--json", "examples/invalid/wrong-type.yaml", "examples/store"])
        #expect(result.exitCode == 7)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "sfgit.v1")
        #expect(object["command"] as? String == "check")
        #expect(object["status"] as? String == "error")
        #expect(object["exit_code"] as? Int == 7)
        #expect((object["error"] as? [String: Any])?["code"] as? String == "INVALID")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["files"] as? Int == 12)
        let problems = try #require(data["problems"] as? [[String: Any]])
        #expect(problems.count == 1)
        #expect(problems.first?["path"] as? String == "examples/invalid/wrong-type.yaml")
        #expect(problems.first?["line"] as? Int == 8)
        #expect(problems.first?["column"] as? Int == 7)
        #expect(problems.first?["code"] as? String == "wrong-type")
        #expect((problems.first?["message"] as? String)?.contains("tags") == true)

        let ok = try PackagePaths.runSFGit(["check", "--format", "json", "examples/store"])
        #expect(ok.exitCode == 0)
        let okObject = try #require(try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])
        #expect(okObject["status"] as? String == "ok")
        #expect(okObject["error"] is NSNull)
    }

    @Test("--format github prints workflow annotations")
    func githubAnnotations() throws {
        let result = try PackagePaths.runSFGit(["check", "--format", "github", "examples/invalid/anchor.yaml"])
        #expect(result.exitCode == 7)
        #expect(result.stdout == """
            ::error file=examples/invalid/anchor.yaml,line=11,col=7,title=anchor::anchor '&text' is not allowed (anchors and aliases are refused)
            checked 1 file: 1 problem in 1 file

            """)
    }

    @Test("a missing path is a usage error (exit 2) naming the path, on stderr")
    func missingPath() throws {
        let result = try PackagePaths.runSFGit(["check", "examples/nope"])
        #expect(result.exitCode == 2)
        #expect(result.stdout == "")
        #expect(result.stderr == "sfgit check: examples/nope: no such file or directory\n")
    }

    @Test("an unknown flag is a usage error (exit 2)")
    func unknownFlag() throws {
        let result = try PackagePaths.runSFGit(["check", "--no-such-flag"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("Unknown option '--no-such-flag'"))
    }

    @Test("with --json, a usage error is an envelope on stdout too")
    func usageErrorEnvelope() throws {
        let result = try PackagePaths.runSFGit(["check", "--json", "--format", "yaml"])
        #expect(result.exitCode == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["command"] as? String == "check")
        #expect(object["status"] as? String == "error")
        #expect(object["exit_code"] as? Int == 2)
        #expect((object["error"] as? [String: Any])?["code"] as? String == "USAGE")
        #expect(((object["error"] as? [String: Any])?["message"] as? String)?.contains("yaml") == true)
        #expect(object["data"] is NSNull)
    }

    @Test("a store's stray files, symlinks and bad paths are all problems; .git and .github are not")
    func storeLayout() throws {
        let dir = try TemporaryDirectory()
        try dir.write("store/" + MemoryFixtures.validPath, MemoryFixtures.valid)
        try dir.write("store/README.md", "# store\n")
        try dir.write("store/.github/workflows/check.yml", "on: pull_request\n")
        try dir.write("store/.git/config", "[core]\n")
        try dir.write("store/notes.txt", "stray\n")
        try dir.write("store/memories/learning/2026/04/readme.md", "stray\n")
        try dir.write("store/memories/Learning/2026/04/\(MemoryFixtures.id).yaml", MemoryFixtures.valid)
        try FileManager.default.createSymbolicLink(atPath: dir.url("store/memories/link.yaml"), withDestinationPath: "/etc/passwd")
        let result = try PackagePaths.runSFGit(["check", dir.url("store")])
        #expect(result.exitCode == 7)
        let problems = result.stdout.split(separator: "\n").dropLast().map { String($0.dropFirst(dir.path.count + 7)) }
        #expect(problems == [
            "memories/Learning/2026/04/\(MemoryFixtures.id).yaml:1:1: error: kind directory 'Learning' does not match [a-z][a-z0-9-]{0,31}",
            "memories/learning/2026/04/readme.md:1:1: error: file name 'readme.md' is not <ULID>.yaml (26 upper-case Crockford base32 characters)",
            "memories/link.yaml:1:1: error: only regular files belong in a store; symbolic links and special files are refused",
            "notes.txt:1:1: error: file does not belong in a store: only memories/, .sfgit/policy.yaml, .sfgit/allowed_signers, README.md and .github/ are allowed",
        ])
    }

    @Test("an oversized trust file is refused on its size")
    func oversizedTrustFile() throws {
        let dir = try TemporaryDirectory()
        try dir.write("store/.sfgit/policy.yaml", String(repeating: "#", count: 300 * 1024) + "\n")
        try dir.write("store/" + MemoryFixtures.validPath, MemoryFixtures.valid)
        let result = try PackagePaths.runSFGit(["check", dir.url("store")])
        #expect(result.exitCode == 7)
        #expect(result.stdout.contains("/.sfgit/policy.yaml:1:1: error: file is 307201 bytes, over the limit of 262144 bytes for trust files"))
    }

    @Test("a single file inside a store is checked against its store path")
    func fileInsideStore() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("store/memories/note/2026/04/\(MemoryFixtures.id).yaml", MemoryFixtures.valid)
        let result = try PackagePaths.runSFGit(["check", file])
        #expect(result.exitCode == 7)
        #expect(result.stdout.contains(":4:7: error: kind 'learning' does not match the path's kind 'note'"))
        // The same content outside any store is valid: only its content is checked.
        let loose = try dir.write("loose/memory.yaml", MemoryFixtures.valid)
        let looseResult = try PackagePaths.runSFGit(["check", loose])
        #expect(looseResult.exitCode == 0)
        #expect(looseResult.stdout == "checked 1 file: no problems\n")
    }

    @Test("a newer schema is a warning: listed, exit 0")
    func newerSchemaWarning() throws {
        let dir = try TemporaryDirectory()
        let file = try dir.write("m.yaml", MemoryFixtures.valid.replacingOccurrences(of: "schema: 1", with: "schema: 3"))
        let result = try PackagePaths.runSFGit(["check", file])
        #expect(result.exitCode == 0)
        #expect(result.stdout == "\(file):2:9: warning: schema 3 is newer than this sfgit understands (1); known fields were read and the rest kept\nchecked 1 file: no problems, 1 warning\n")
    }
}

@Suite("sfgit check: store-level rules")
struct CheckStoreRulesTests {
    static func store(policyMaxBytes: Int, extraSigner: String? = nil) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let policy = try String(contentsOfFile: PackagePaths.examples + "/store/.sfgit/policy.yaml", encoding: .utf8)
            .replacingOccurrences(of: "max_file_bytes: 65536", with: "max_file_bytes: \(policyMaxBytes)")
        var signers = try String(contentsOfFile: PackagePaths.examples + "/store/.sfgit/allowed_signers", encoding: .utf8)
        if let extraSigner { signers += extraSigner }
        try dir.write("store/.sfgit/policy.yaml", policy)
        try dir.write("store/.sfgit/allowed_signers", signers)
        try dir.write("store/" + MemoryFixtures.validPath, MemoryFixtures.valid)
        return dir
    }

    @Test("memory files are held to the store policy's max_file_bytes")
    func policySizeLimit() throws {
        let size = MemoryFixtures.valid.utf8.count
        let tight = try Self.store(policyMaxBytes: size - 1)
        let result = try PackagePaths.runSFGit(["check", tight.url("store")])
        #expect(result.exitCode == 7)
        #expect(result.stdout.contains("\(MemoryFixtures.validPath):1:1: error: file is \(size) bytes, over the limit of \(size - 1) bytes"))
        let roomy = try Self.store(policyMaxBytes: size)
        #expect(try PackagePaths.runSFGit(["check", roomy.url("store")]).exitCode == 0)
    }

    @Test("a key whose principal has no role in the policy is a problem")
    func keyWithoutRole() throws {
        // A fresh key (each key may be listed once) for a principal the policy does not name.
        let dir = try TemporaryDirectory()
        let ghost = try TestKey.generate(in: dir.path, name: "ghost")
        let store = try Self.store(policyMaxBytes: 65_536, extraSigner: "ghost@nowhere namespaces=\"git\" \(ghost.publicKey)\n")
        let result = try PackagePaths.runSFGit(["check", store.url("store")])
        #expect(result.exitCode == 7)
        #expect(result.stdout.contains("/.sfgit/allowed_signers:5:1: error: principal 'ghost@nowhere' has a key but no entry (or no role) in .sfgit/policy.yaml"))
    }
}

import Foundation
import PropertyBased
import SFGitTestSupport
import Testing
@testable import SFGitRepository

@Suite("Repository (libgit2)")
struct RepositoryTests {
    static func makeRepo() throws -> (TemporaryDirectory, Repository, GitCLI) {
        let dir = try TemporaryDirectory()
        let repo = try Repository.initBare(dir.url("store.git"))
        return (dir, repo, GitCLI(directory: dir.url("store.git"), home: dir.path))
    }

    static let author = GitSignature(name: "t", email: "t@h", time: 1_767_225_600)

    func commit(_ repo: Repository, tree: ObjectID, parents: [ObjectID], message: String = "m") throws -> ObjectID {
        try repo.createCommit(buffer: try repo.commitBuffer(tree: tree, parents: parents, author: Self.author, committer: Self.author, message: message), signature: nil)
    }

    @Test("the header walk reads only the new commits (a merge of old history included) and finds an oversized commit or a non-commit behind any parent")
    func commitHeaderWalk() throws {
        let (dir, repo, _) = try Self.makeRepo()
        defer { _ = dir }
        let tree = try repo.updateTree(nil, [.upsert(path: "a", id: try repo.writeBlob([1]))])
        func at(_ time: Int64, _ parents: [ObjectID], _ message: String = "m") throws -> ObjectID {
            let signature = GitSignature(name: "t", email: "t@h", time: time)
            return try repo.createCommit(buffer: try repo.commitBuffer(tree: tree, parents: parents, author: signature, committer: signature, message: message), signature: nil)
        }
        // 200 verified commits; the old fork point is the 10th.
        var old: [ObjectID] = [try at(1_000, [])]
        for i in 1..<200 { old.append(try at(1_000 + Int64(i), [old[i - 1]])) }
        let verified = old.last!
        let side = try at(5_000, [old[10]])
        let merge = try at(5_001, [verified, side])
        let tip = try at(5_002, [merge])
        var checked = 0
        #expect(try repo.checkCommitHeaders(from: tip, known: verified, maxCommitBytes: 1 << 20, checked: &checked) == nil)
        #expect(checked == 3, "the walk read \(checked) commits as new")
        // Skewed times only cost: a new commit dated before all of history is still read as new.
        let early = try at(1, [verified])
        checked = 0
        #expect(try repo.checkCommitHeaders(from: early, known: verified, maxCommitBytes: 1 << 20, checked: &checked) == nil)
        #expect(checked == 1)
        // An oversized commit behind the merge's second parent, and a parent that is a tree.
        let big = try at(5_000, [old[10]], String(repeating: "x", count: 4096))
        let bigTip = try at(5_003, [try at(5_001, [verified, big])])
        checked = 0
        let problem = try repo.checkCommitHeaders(from: bigTip, known: verified, maxCommitBytes: 1024, checked: &checked)
        #expect(problem?.id == big)
        #expect(problem?.reason.contains("over the cap of 1024 bytes") == true, "\(String(describing: problem))")
        #expect(try repo.checkCommitHeaders(from: tree, known: verified, maxCommitBytes: 1 << 20, checked: &checked)?.reason.contains("should be a commit, but it is a tree") == true)
    }

    @Test("a bare repository starts on the branch asked for, and git agrees")
    func initialBranch() throws {
        let (dir, _, git) = try Self.makeRepo()
        #expect(try git.run(["symbolic-ref", "HEAD"]) == "refs/heads/main")
        #expect(try git.run(["rev-parse", "--is-bare-repository"]) == "true")
        _ = dir
    }

    @Test("trees, blobs and commits written by sfgit read back through git, and fsck is clean")
    func writeAndRead() throws {
        let (dir, repo, git) = try Self.makeRepo()
        let blob = try repo.writeBlob(Array("hello\n".utf8))
        #expect(blob.hex == (try git.run(["hash-object", "--stdin"], stdin: Data("hello\n".utf8))))
        #expect(try repo.blobSize(blob) == 6)
        #expect(try repo.blob(blob) == Array("hello\n".utf8))
        let tree = try repo.updateTree(nil, [.upsert(path: "memories/learning/2026/01/A.yaml", id: blob), .upsert(path: "README.md", id: blob)])
        let first = try commit(repo, tree: tree, parents: [])
        try repo.updateReference("refs/heads/main", to: first, expected: nil, message: "init")
        #expect(try git.run(["show", "main:memories/learning/2026/01/A.yaml"]) == "hello")
        #expect(try git.run(["ls-tree", "-r", "--name-only", "main"]) == "README.md\nmemories/learning/2026/01/A.yaml")
        let info = try repo.commit(first)
        #expect(info.treeID == tree)
        #expect(info.parentIDs.isEmpty)
        #expect(info.author == Self.author)
        #expect(try repo.signature(of: first) == nil)
        #expect(try repo.entry(at: "memories/learning/2026/01/A.yaml", inTree: tree)?.id == blob)
        #expect(try repo.entry(at: "memories/nope", inTree: tree) == nil)
        #expect(try repo.entry(at: "memories", inTree: tree)?.mode == .tree)
        #expect(try repo.entry(at: "README.md/inside", inTree: tree) == nil)  // through a blob
        #expect(try repo.entry(at: "", inTree: tree) == nil)
        #expect(try repo.entry(at: "memories//learning", inTree: tree) == nil)
        #expect(try git.result(["fsck", "--strict"]).exitCode == 0)
        // Removing the only file prunes the directories that became empty.
        let pruned = try repo.updateTree(tree, [.remove(path: "memories/learning/2026/01/A.yaml")])
        #expect(try repo.tree(pruned).map(\.name) == ["README.md"])
        _ = dir
    }

    @Test("references move only by compare-and-swap")
    func compareAndSwap() throws {
        let (dir, repo, _) = try Self.makeRepo()
        let tree = try repo.emptyTree()
        let a = try commit(repo, tree: tree, parents: [], message: "a")
        let b = try commit(repo, tree: tree, parents: [a], message: "b")
        try repo.updateReference("refs/heads/main", to: a, expected: nil, message: "create")
        #expect(throws: GitError.self) { try repo.updateReference("refs/heads/main", to: b, expected: nil, message: "must not exist") }
        do {
            try repo.updateReference("refs/heads/main", to: b, expected: b, message: "stale")
            Issue.record("stale compare-and-swap succeeded")
        } catch {
            #expect(error.isModified)
        }
        try repo.updateReference("refs/heads/main", to: b, expected: a, message: "advance")
        #expect(try repo.reference("refs/heads/main") == b)
        #expect(try repo.reference("refs/heads/nope") == nil)
        try repo.setReference("refs/sfgit/quarantine/x", to: a, message: "keep")
        #expect(try repo.references(matching: "refs/sfgit/*").map(\.name) == ["refs/sfgit/quarantine/x"])
        try repo.deleteReference("refs/sfgit/quarantine/x")
        #expect(try repo.references(matching: "refs/sfgit/*").isEmpty)
        #expect(try repo.isDescendant(b, of: a))
        #expect(try !repo.isDescendant(a, of: b))
        #expect(try !repo.isDescendant(a, of: a))
        #expect(try repo.commits(from: [b], excluding: [a]) == [b])
        #expect(try repo.commits(from: [b], excluding: []) == [a, b])
        _ = dir
    }

    @Test("a clean merge yields the merged tree; a conflict yields nil")
    func cleanMerge() throws {
        let (dir, repo, _) = try Self.makeRepo()
        let x = try repo.writeBlob(Array("x\n".utf8)), y = try repo.writeBlob(Array("y\n".utf8)), z = try repo.writeBlob(Array("z\n".utf8))
        let baseTree = try repo.updateTree(nil, [.upsert(path: "a", id: x)])
        let base = try commit(repo, tree: baseTree, parents: [])
        let left = try commit(repo, tree: try repo.updateTree(baseTree, [.upsert(path: "b", id: y)]), parents: [base])
        let right = try commit(repo, tree: try repo.updateTree(baseTree, [.upsert(path: "c", id: z)]), parents: [base])
        let merged = try #require(try repo.cleanMergeTree(left, right))
        #expect(try repo.tree(merged).map(\.name) == ["a", "b", "c"])
        let conflicting = try commit(repo, tree: try repo.updateTree(baseTree, [.upsert(path: "b", id: z)]), parents: [base])
        #expect(try repo.cleanMergeTree(left, conflicting) == nil)
        _ = dir
    }

    @Test("configuration values live in the repository's own config")
    func config() throws {
        let (dir, repo, git) = try Self.makeRepo()
        #expect(try repo.configValue("sfgit.introduction") == nil)
        try repo.setConfigValue("sfgit.introduction", "abc")
        #expect(try repo.configValue("sfgit.introduction") == "abc")
        #expect(try git.run(["config", "sfgit.introduction"]) == "abc")
        _ = dir
    }

    @Test("errors name the C function and libgit2's message")
    func errors() throws {
        do {
            _ = try Repository.open("/nonexistent/sfgit")
            Issue.record("opened a missing repository")
        } catch {
            #expect(error.function.hasPrefix("git_repository_open_ext"))
            #expect(error.isNotFound)
            #expect(!error.message.isEmpty)
        }
    }

    /// The tree diff, checked against `git diff-tree -r` on random edits of a nested tree. Each
    /// case edits distinct paths: libgit2 refuses an edit list that names a path twice (checked
    /// on its own below), so every random case must be accepted and compared.
    @Test("the O(changed) tree diff agrees with git diff-tree on random edits")
    func treeDiffAgreesWithGit() async throws {
        let (dir, repo, git) = try Self.makeRepo()
        let blobs = try (0..<8).map { try repo.writeBlob(Array("blob \($0)\n".utf8)) }
        let paths = ["a", "b/c", "b/d", "b/e/f", "b/e/g", "memories/learning/2026/01/X.yaml", "memories/learning/2026/02/Y.yaml", "memories/note/2026/01/Z.yaml", "z"]
        let base = try repo.updateTree(nil, paths.enumerated().map { .upsert(path: $1, id: blobs[$0 % blobs.count]) })
        let edit = Gen.int(in: 0...3).array(of: 1...6)
        let targets = Gen.shuffled(Array(0..<paths.count))  // distinct paths
        let tally = Tally()
        await propertyCheck(count: 200, input: edit, targets) { ops, picks in
            var updates: [Repository.TreeUpdate] = []
            var files = Set(paths)  // what the edited tree must hold
            for (k, op) in ops.enumerated() {
                let path = paths[picks[k]]
                switch op {
                case 0:
                    updates.append(.upsert(path: path, id: blobs[(k + 3) % blobs.count]))
                case 1:
                    updates.append(.remove(path: path))
                    files.remove(path)
                case 2:
                    updates.append(.upsert(path: path + "-new/leaf", id: blobs[k % blobs.count]))
                    files.insert(path + "-new/leaf")
                default:
                    updates.append(.upsert(path: path, id: blobs[k % blobs.count], mode: .executable))
                }
            }
            let edited = try repo.updateTree(base, updates)
            let ours = try repo.diffTrees(base, edited).map { change -> String in
                let kind = change.kind == .added ? "A" : change.kind == .deleted ? "D" : "M"
                return "\(kind)\t\(change.path)"
            }.sorted()
            let theirs = try git.run(["diff-tree", "-r", "--no-renames", "--name-status", base.hex, edited.hex])
                .split(separator: "\n").map(String.init).sorted()
            #expect(ours == theirs)
            #expect(!ours.isEmpty || updates.allSatisfy { if case .upsert = $0 { return true } else { return false } })
            // And the edited tree holds exactly the files the edits say.
            let listed = try git.run(["ls-tree", "-r", "--name-only", edited.hex]).split(separator: "\n").map(String.init)
            #expect(Set(listed) == files)
            tally.add("compared")
        }
        #expect(tally.count("compared") >= 200, "\(tally.counts)")
        #expect(try repo.diffTrees(base, base).isEmpty)
        #expect(try repo.diffTrees(nil, base).count == paths.count)
        // A path named twice in one edit list is refused, not applied in order.
        let twice = #expect(throws: GitError.self) {
            try repo.updateTree(base, [.upsert(path: "b/d", id: blobs[1]), .upsert(path: "b/d", id: blobs[2])])
        }
        #expect(twice?.message.contains("duplicate entries") == true, "\(String(describing: twice))")
        _ = dir
    }

    @Test("the tree diff does not enter subtrees whose ids are equal")
    func treeDiffPrunes() throws {
        let (dir, repo, _) = try Self.makeRepo()
        let blob = try repo.writeBlob(Array("x".utf8))
        // A large untouched subtree next to one changed file.
        let big = try repo.updateTree(nil, (0..<2000).map { .upsert(path: "memories/learning/2026/01/F\($0).yaml", id: blob) })
        let changed = try repo.updateTree(big, [.upsert(path: "memories/note/2026/01/NEW.yaml", id: blob)])
        var visited = 0
        let changes = try repo.diffTrees(big, changed, visitedTrees: &visited)
        #expect(changes.map(\.path) == ["memories/note/2026/01/NEW.yaml"])
        // Root and memories/ on both sides, then note/2026/01 on the new side only: the
        // 2,000-file learning/ subtree, equal on both sides, is never read.
        #expect(visited == 7)
        var none = 0
        #expect(try repo.diffTrees(big, big, visitedTrees: &none).isEmpty)
        #expect(none == 2)
        _ = dir
    }
}

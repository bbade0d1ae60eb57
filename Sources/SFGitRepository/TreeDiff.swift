internal import SFGitLibgit2

/// One file that differs between two trees.
public struct TreeChange: Sendable, Hashable {
    /// What happened to the path.
    public enum Kind: Sendable, Hashable { case added, deleted, modified }

    /// Added, deleted or modified (a change of mode or content).
    public var kind: Kind
    /// The `/`-separated path.
    public var path: String
    /// The entry before (nil when added).
    public var old: TreeEntry?
    /// The entry after (nil when deleted).
    public var new: TreeEntry?
}

extension Repository {
    /// The files that differ between two trees (nil is the empty tree), in git's path order.
    ///
    /// Both trees are walked side by side in git's sort order and only subtrees whose ids
    /// differ are entered, so the cost follows the changed paths rather than the size of the
    /// tree (libgit2's `git_diff_tree_to_tree` visits every file). A path that turns from a
    /// directory into a file, or back, is reported as the deletions and additions it amounts to.
    ///
    /// Every tree read on the new side must be canonical (see `canonicalProblem`), and every
    /// entry the walk enters as a tree must be one: otherwise this throws a malformed-object
    /// error, because a walk by position over such a tree would report a replaced file as an
    /// added one. The old side is a tree judged before (its unchanged subtrees are skipped).
    public func diffTrees(_ old: ObjectID?, _ new: ObjectID?) throws(GitError) -> [TreeChange] {
        var visited = 0
        return try diffTrees(old, new, visitedTrees: &visited)
    }

    /// The same diff, counting the trees it had to read (for tests of its pruning).
    func diffTrees(_ old: ObjectID?, _ new: ObjectID?, visitedTrees: inout Int) throws(GitError) -> [TreeChange] {
        var changes: [TreeChange] = []
        try forEachTreeChange(old, new, visitedTrees: &visitedTrees) { changes.append($0) }
        return changes
    }

    /// The same diff, each change handed to `body` as the walk finds it (in git's path order),
    /// so that a caller going through a whole store's tree never holds all of its changes.
    public func forEachTreeChange(_ old: ObjectID?, _ new: ObjectID?, _ body: (TreeChange) -> Void) throws(GitError) {
        var visited = 0
        try forEachTreeChange(old, new, visitedTrees: &visited, body)
    }

    private func forEachTreeChange(_ old: ObjectID?, _ new: ObjectID?, visitedTrees: inout Int, _ changes: (TreeChange) -> Void) throws(GitError) {
        visitedTrees += (old == nil ? 0 : 1) + (new == nil ? 0 : 1)
        let oldTree = try old.map { (id) throws(GitError) in try lookupTree(id) }
        defer { if let oldTree { git_tree_free(oldTree) } }
        let newTree = try new.map { (id) throws(GitError) in try lookupTree(id, expecting: "the commit's tree") }
        defer { if let newTree { git_tree_free(newTree) } }
        if let newTree, let problem = Self.canonicalProblem(newTree) {
            throw GitError.malformed("diffTrees", "tree \(new!.short()) (the root) is not canonical: \(problem)")
        }
        try diff(oldTree, newTree, prefix: "", into: changes, visited: &visitedTrees)
    }

    private func diff(_ old: OpaquePointer?, _ new: OpaquePointer?, prefix: String, into changes: (TreeChange) -> Void, visited: inout Int) throws(GitError) {
        let oldCount = old.map { git_tree_entrycount($0) } ?? 0
        let newCount = new.map { git_tree_entrycount($0) } ?? 0
        var i = 0, j = 0
        while i < oldCount || j < newCount {
            let a = i < oldCount ? git_tree_entry_byindex(old, i) : nil
            let b = j < newCount ? git_tree_entry_byindex(new, j) : nil
            let order: Int32
            if let a, let b { order = git_tree_entry_cmp(a, b) } else { order = a == nil ? 1 : -1 }
            if order == 0 {
                i += 1; j += 1
                if git_oid_equal(git_tree_entry_id(a), git_tree_entry_id(b)) == 1,
                   git_tree_entry_filemode_raw(a) == git_tree_entry_filemode_raw(b) { continue }
                try compare(a, b, prefix: prefix, into: changes, visited: &visited)
            } else if order < 0 {
                i += 1
                try compare(a, nil, prefix: prefix, into: changes, visited: &visited)
            } else {
                j += 1
                try compare(nil, b, prefix: prefix, into: changes, visited: &visited)
            }
        }
    }

    private func compare(_ old: OpaquePointer?, _ new: OpaquePointer?, prefix: String, into changes: (TreeChange) -> Void, visited: inout Int) throws(GitError) {
        let oldEntry = old.map(Self.copyEntry)
        let newEntry = new.map(Self.copyEntry)
        let path = prefix + (newEntry ?? oldEntry)!.name
        let oldIsTree = oldEntry?.mode == .tree
        let newIsTree = newEntry?.mode == .tree
        if oldIsTree || newIsTree {
            let oldSubtree = try oldIsTree ? lookupTree(oldEntry!.id) : nil
            defer { if let oldSubtree { git_tree_free(oldSubtree) } }
            let newSubtree = try newIsTree ? lookupTree(newEntry!.id, expecting: path) : nil
            defer { if let newSubtree { git_tree_free(newSubtree) } }
            if let newSubtree, let problem = Self.canonicalProblem(newSubtree) {
                throw GitError.malformed("diffTrees", "tree \(path)/ is not canonical: \(problem)")
            }
            visited += (oldSubtree == nil ? 0 : 1) + (newSubtree == nil ? 0 : 1)
            try diff(oldSubtree, newSubtree, prefix: path + "/", into: changes, visited: &visited)
        }
        switch (oldIsTree ? nil : oldEntry, newIsTree ? nil : newEntry) {
        case (nil, let added?): changes(TreeChange(kind: .added, path: path, old: nil, new: added))
        case (let deleted?, nil): changes(TreeChange(kind: .deleted, path: path, old: deleted, new: nil))
        case (let before?, let after?): changes(TreeChange(kind: .modified, path: path, old: before, new: after))
        case (nil, nil): break
        }
    }

    /// Why a parsed tree is not canonical as `git fsck` demands, or nil: every name non-empty,
    /// without `/`, not `.`, `..` or `.git` (in any case), unique, the entries strictly in git's
    /// order (a tree sorts as if its name ended in `/`), and each mode one git writes. libgit2
    /// keeps a tree's entries in the order the object holds them and looks names up by binary
    /// search, so a tree that breaks these rules can show one file to a lookup and another to
    /// a walk.
    /// docs/TRUST.md § Canonical trees.
    static func canonicalProblem(_ tree: OpaquePointer) -> String? {
        let count = git_tree_entrycount(tree)
        var previous: OpaquePointer?
        for index in 0..<count {
            let entry = git_tree_entry_byindex(tree, index)!
            let name = git_tree_entry_name(entry)!
            let length = strlen(name)
            let bytes = UnsafeRawBufferPointer(start: name, count: length)
            // Made only for a message: this loop runs over every entry of every changed tree.
            var shown: String { String(decoding: bytes, as: UTF8.self).debugDescription }
            if length == 0 { return "entry \(index) has an empty name" }
            if bytes.contains(UInt8(ascii: "/")) { return "the name \(shown) contains '/'" }
            if bytes.elementsEqual(".".utf8) || bytes.elementsEqual("..".utf8) { return "an entry is named \(shown)" }
            if bytes.count == 4, bytes.map({ $0 | 0x20 }).elementsEqual(".git".utf8) { return "an entry is named \(shown)" }
            let mode = git_tree_entry_filemode_raw(entry).rawValue
            guard [0o040000, 0o100644, 0o100755, 0o120000, 0o160000].contains(mode) else {
                return "\(shown) has mode \(String(mode, radix: 8)), which git never writes"
            }
            if let previous {
                let order = git_tree_entry_cmp(previous, entry)
                if order == 0 { return "the name \(shown) appears twice" }
                if order > 0 { return "\(shown) is out of git's sort order" }
            }
            // A file and a directory of the same name sort apart ("a" < "a-b" < "a/"): look
            // back over the names between them.
            if mode == 0o040000 {
                var back = index
                while back > 0 {
                    back -= 1
                    let other = git_tree_entry_name(git_tree_entry_byindex(tree, back)!)!
                    let otherLength = strlen(other)
                    guard otherLength >= length, memcmp(other, name, length) == 0 else { break }
                    if otherLength == length { return "the name \(shown) appears twice" }
                }
            }
            previous = entry
        }
        return nil
    }

    static func copyEntry(_ entry: OpaquePointer) -> TreeEntry {
        let name = git_tree_entry_name(entry)!
        return TreeEntry(
            nameBytes: Array(UnsafeRawBufferPointer(start: name, count: strlen(name))),
            id: ObjectID(git_tree_entry_id(entry)),
            mode: FileMode(raw: git_tree_entry_filemode_raw(entry).rawValue))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

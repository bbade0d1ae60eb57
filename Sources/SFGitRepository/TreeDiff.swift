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
    public func diffTrees(_ old: ObjectID?, _ new: ObjectID?) throws(GitError) -> [TreeChange] {
        var visited = 0
        return try diffTrees(old, new, visitedTrees: &visited)
    }

    /// The same diff, counting the trees it had to read (for tests of its pruning).
    func diffTrees(_ old: ObjectID?, _ new: ObjectID?, visitedTrees: inout Int) throws(GitError) -> [TreeChange] {
        var changes: [TreeChange] = []
        visitedTrees += (old == nil ? 0 : 1) + (new == nil ? 0 : 1)
        let oldTree = try old.map { (id) throws(GitError) in try lookupTree(id) }
        defer { if let oldTree { git_tree_free(oldTree) } }
        let newTree = try new.map { (id) throws(GitError) in try lookupTree(id) }
        defer { if let newTree { git_tree_free(newTree) } }
        try diff(oldTree, newTree, prefix: "", into: &changes, visited: &visitedTrees)
        return changes
    }

    private func diff(_ old: OpaquePointer?, _ new: OpaquePointer?, prefix: String, into changes: inout [TreeChange], visited: inout Int) throws(GitError) {
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
                try compare(a, b, prefix: prefix, into: &changes, visited: &visited)
            } else if order < 0 {
                i += 1
                try compare(a, nil, prefix: prefix, into: &changes, visited: &visited)
            } else {
                j += 1
                try compare(nil, b, prefix: prefix, into: &changes, visited: &visited)
            }
        }
    }

    private func compare(_ old: OpaquePointer?, _ new: OpaquePointer?, prefix: String, into changes: inout [TreeChange], visited: inout Int) throws(GitError) {
        let oldEntry = old.map(Self.copyEntry)
        let newEntry = new.map(Self.copyEntry)
        let path = prefix + (newEntry ?? oldEntry)!.name
        let oldIsTree = oldEntry?.mode == .tree
        let newIsTree = newEntry?.mode == .tree
        if oldIsTree || newIsTree {
            let oldSubtree = try oldIsTree ? lookupTree(oldEntry!.id) : nil
            defer { if let oldSubtree { git_tree_free(oldSubtree) } }
            let newSubtree = try newIsTree ? lookupTree(newEntry!.id) : nil
            defer { if let newSubtree { git_tree_free(newSubtree) } }
            visited += (oldSubtree == nil ? 0 : 1) + (newSubtree == nil ? 0 : 1)
            try diff(oldSubtree, newSubtree, prefix: path + "/", into: &changes, visited: &visited)
        }
        switch (oldIsTree ? nil : oldEntry, newIsTree ? nil : newEntry) {
        case (nil, let added?): changes.append(TreeChange(kind: .added, path: path, old: nil, new: added))
        case (let deleted?, nil): changes.append(TreeChange(kind: .deleted, path: path, old: deleted, new: nil))
        case (let before?, let after?): changes.append(TreeChange(kind: .modified, path: path, old: before, new: after))
        case (nil, nil): break
        }
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

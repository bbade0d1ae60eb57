import Foundation

/// One entry of a tree written byte by byte, for trees `git` itself refuses to write
/// (duplicate names, `/` in a name, entries out of order, modes git never writes).
public struct RawTreeEntry: Sendable {
    /// The mode as the tree object spells it (`100644`, `40000`, or anything an attacker likes).
    public var mode: String
    /// The name's bytes.
    public var name: [UInt8]
    /// The object id, in hex.
    public var id: String

    /// Creates an entry.
    public init(mode: String, name: [UInt8], id: String) {
        self.mode = mode
        self.name = name
        self.id = id
    }

    /// Creates an entry with a text name.
    public init(mode: String, name: String, id: String) {
        self.init(mode: mode, name: Array(name.utf8), id: id)
    }
}

extension GitCLI {
    /// The entries of a tree (`git ls-tree`), in the order the tree holds them.
    public func rawEntries(of treeish: String) throws -> [RawTreeEntry] {
        let listing = try run(["ls-tree", "-z", treeish])
        return listing.split(separator: "\0").map { line in
            let (meta, name) = (line.split(separator: "\t", maxSplits: 1)[0], line.split(separator: "\t", maxSplits: 1)[1])
            let fields = meta.split(separator: " ")
            return RawTreeEntry(mode: String(fields[0]), name: String(name), id: String(fields[2]))
        }
    }

    /// Writes a tree object exactly as given, bypassing git's checks
    /// (`git hash-object -t tree --literally`), and returns its id.
    public func writeRawTree(_ entries: [RawTreeEntry]) throws -> String {
        var bytes: [UInt8] = []
        for entry in entries {
            bytes += Array("\(entry.mode) ".utf8) + entry.name + [0]
            var hex = Substring(entry.id)
            while !hex.isEmpty {
                bytes.append(UInt8(hex.prefix(2), radix: 16)!)
                hex = hex.dropFirst(2)
            }
        }
        return try run(["hash-object", "-t", "tree", "--literally", "-w", "--stdin"], stdin: Data(bytes))
    }

    /// Replaces the tree at `path` (a `/`-separated directory of `root`; "" is the root itself)
    /// by `tree`, rewriting each tree above it, and returns the new root.
    public func replaceTree(at path: String, in root: String, with tree: String) throws -> String {
        if path.isEmpty { return tree }
        let parts = path.split(separator: "/").map(String.init)
        let parentPath = parts.dropLast().joined(separator: "/")
        let parent = parentPath.isEmpty ? root : try run(["rev-parse", "\(root):\(parentPath)"])
        var entries = try rawEntries(of: parent)
        let index = entries.firstIndex { $0.name == Array(parts.last!.utf8) }!
        entries[index].id = tree
        return try replaceTree(at: parentPath, in: root, with: try writeRawTree(entries))
    }

    /// Commits `tree` with `parents`, signed with the SSH key at `key` (`git commit-tree -S`),
    /// and returns the commit id; no reference moves.
    public func commitTree(_ tree: String, key: String, parents: [String], message: String) throws -> String {
        try run(["-c", "gpg.format=ssh", "-c", "user.signingkey=\(key)", "commit-tree", "-S", tree, "-m", message]
                + parents.flatMap { ["-p", $0] })
    }
}

extension StoreBuilder {
    /// Commits `tree` on top of `main` (or `parents`), signed by `principal`, moves `main`
    /// there (the work tree is left alone) and returns the commit id.
    @discardableResult
    public func commitTree(_ tree: String, as principal: String, parents: [String]? = nil, message: String = "hand-made tree") throws -> String {
        let parents = try parents ?? [git.run(["rev-parse", "refs/heads/main"])]
        let commit = try git.commitTree(tree, key: keys[principal]!.privatePath, parents: parents, message: message)
        try git.run(["update-ref", "refs/heads/main", commit])
        return commit
    }
}

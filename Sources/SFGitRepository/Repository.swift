internal import SFGitLibgit2
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The mode of a tree entry.
public enum FileMode: Sendable, Hashable {
    case tree, blob, executable, symlink, submodule
    case other(UInt32)

    init(raw: UInt32) {
        switch raw {
        case 0o040000: self = .tree
        case 0o100644: self = .blob
        case 0o100755: self = .executable
        case 0o120000: self = .symlink
        case 0o160000: self = .submodule
        default: self = .other(raw)
        }
    }

    /// The octal mode git stores.
    public var rawValue: UInt32 {
        switch self {
        case .tree: return 0o040000
        case .blob: return 0o100644
        case .executable: return 0o100755
        case .symlink: return 0o120000
        case .submodule: return 0o160000
        case .other(let raw): return raw
        }
    }
}

/// One entry of a tree, copied out of libgit2.
public struct TreeEntry: Sendable, Hashable {
    /// The entry's name as git stores it (any bytes but `/` and NUL).
    public var nameBytes: [UInt8]
    /// The name decoded as UTF-8 (invalid bytes become U+FFFD, which no path rule accepts).
    public var name: String { String(decoding: nameBytes, as: UTF8.self) }
    /// The object the entry points at.
    public var id: ObjectID
    /// The entry's mode.
    public var mode: FileMode
}

/// A person or tool and a time, as in a commit's author and committer headers.
public struct GitSignature: Sendable, Hashable {
    /// Display name.
    public var name: String
    /// E-mail address.
    public var email: String
    /// Seconds since the Unix epoch.
    public var time: Int64
    /// Offset from UTC in minutes.
    public var offsetMinutes: Int32

    /// Creates a signature.
    public init(name: String, email: String, time: Int64, offsetMinutes: Int32 = 0) {
        self.name = name
        self.email = email
        self.time = time
        self.offsetMinutes = offsetMinutes
    }
}

/// A commit's fields, copied out of libgit2.
public struct CommitInfo: Sendable, Hashable {
    /// The commit's id.
    public var id: ObjectID
    /// Its root tree.
    public var treeID: ObjectID
    /// Its parents, in order.
    public var parentIDs: [ObjectID]
    /// The full message.
    public var message: String
    /// Author header (display only: never trusted).
    public var author: GitSignature
    /// Committer header (display only: never trusted).
    public var committer: GitSignature
    /// The raw header block (tree, parents, author, committer, gpgsig, …).
    public var rawHeader: String
}

/// A signature header and the exact bytes it signs (the commit without that header).
public struct CommitSignature: Sendable, Hashable {
    /// The armored signature text.
    public var signature: [UInt8]
    /// The signed payload.
    public var signedData: [UInt8]
    /// How many `gpgsig` headers the commit has (an authentic commit has exactly one).
    public var headerCount: Int
}

/// A git repository opened through libgit2. Not thread-safe: libgit2 objects belong to the
/// thread that uses them, so open one `Repository` per thread.
public final class Repository {
    let pointer: OpaquePointer
    /// The repository's path (the `.git` directory, or the bare repository itself).
    public let path: String
    /// Recently used trees, held here because libgit2's own cache evicts at random once full:
    /// in a store with big month directories, verification kept re-inflating and re-hashing
    /// the same trees from their delta chains (a 100,000-memory clone spent minutes on it).
    private var recentTrees = RecentTrees()
    /// The largest tree object a walk that checks headers reads (a month directory of a busy
    /// store is a few hundred KB; anything near this cap is an attack on memory).
    public var maxTreeBytes = 16 << 20

    private init(pointer: OpaquePointer) {
        self.pointer = pointer
        self.path = String(cString: git_repository_path(pointer))
    }

    deinit {
        recentTrees.removeAll()
        git_repository_free(pointer)
    }

    /// Opens an existing repository (bare or with a work tree). With `gitEnvironment`, git's
    /// environment variables are honoured as the git CLI does — inside a pre-receive hook, that
    /// is how the pushed objects (held in a quarantine directory until accepted) are found.
    public static func open(_ path: String, gitEnvironment: Bool = false) throws(GitError) -> Repository {
        Libgit2.ensure()
        var repo: OpaquePointer?
        let flags = gitEnvironment ? GIT_REPOSITORY_OPEN_FROM_ENV.rawValue : GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue
        try check(git_repository_open_ext(&repo, path, UInt32(flags), nil), "git_repository_open_ext(\(path))")
        return Repository(pointer: repo!)
    }

    /// Creates a bare repository whose HEAD points at `initialBranch` (libgit2 would pick `master`).
    public static func initBare(_ path: String, initialBranch: String = "main") throws(GitError) -> Repository {
        Libgit2.ensure()
        var options = git_repository_init_options()
        try check(git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION)), "git_repository_init_options_init")
        options.flags = UInt32(GIT_REPOSITORY_INIT_BARE.rawValue | GIT_REPOSITORY_INIT_MKPATH.rawValue)
        var repo: OpaquePointer?
        let result = initialBranch.withCString { branch in
            options.initial_head = branch
            return git_repository_init_ext(&repo, path, &options)
        }
        try check(result, "git_repository_init_ext(\(path))")
        return Repository(pointer: repo!)
    }

    // MARK: - Commits

    /// Reads a commit's fields.
    public func commit(_ id: ObjectID) throws(GitError) -> CommitInfo {
        let commit = try lookupCommit(id)
        defer { git_commit_free(commit) }
        var parents: [ObjectID] = []
        for index in 0..<git_commit_parentcount(commit) {
            parents.append(ObjectID(git_commit_parent_id(commit, index)))
        }
        return CommitInfo(
            id: id,
            treeID: ObjectID(git_commit_tree_id(commit)),
            parentIDs: parents,
            message: git_commit_message_raw(commit).map { String(cString: $0) } ?? "",
            author: Self.signature(git_commit_author(commit)),
            committer: Self.signature(git_commit_committer(commit)),
            rawHeader: git_commit_raw_header(commit).map { String(cString: $0) } ?? "")
    }

    /// The parents of a commit, without reading the rest.
    public func parents(of id: ObjectID) throws(GitError) -> [ObjectID] {
        let commit = try lookupCommit(id)
        defer { git_commit_free(commit) }
        return (0..<git_commit_parentcount(commit)).map { ObjectID(git_commit_parent_id(commit, $0)) }
    }

    /// The parents and the committer time (seconds since the epoch) of a commit, without reading
    /// the rest: what the first-parent walk of the history clock needs.
    public func parentsAndCommitTime(of id: ObjectID) throws(GitError) -> (parents: [ObjectID], time: Int64) {
        let commit = try lookupCommit(id)
        defer { git_commit_free(commit) }
        return ((0..<git_commit_parentcount(commit)).map { ObjectID(git_commit_parent_id(commit, $0)) }, Int64(git_commit_time(commit)))
    }

    /// The signature (`gpgsig` header) of a commit and the exact bytes it signs, or nil when unsigned.
    public func signature(of id: ObjectID) throws(GitError) -> CommitSignature? {
        var signature = git_buf()
        var signedData = git_buf()
        defer {
            git_buf_dispose(&signature)
            git_buf_dispose(&signedData)
        }
        var oid = id.oid
        let result = git_commit_extract_signature(&signature, &signedData, pointer, &oid, nil)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try check(result, "git_commit_extract_signature(\(id))")
        let commit = try lookupCommit(id)
        defer { git_commit_free(commit) }
        // Count `gpgsig` header lines (continuations start with a space, so they never match).
        var count = 0
        if let header = git_commit_raw_header(commit) {
            var atLineStart = true
            var p = header
            while p.pointee != 0 {
                if atLineStart, strncmp(p, "gpgsig", 6) == 0 { count += 1 }
                atLineStart = p.pointee == 0x0A
                p += 1
            }
        }
        return CommitSignature(signature: Self.bytes(signature), signedData: Self.bytes(signedData), headerCount: count)
    }

    /// Commits reachable from `tips` but not from `excluded`, parents before children.
    public func commits(from tips: [ObjectID], excluding excluded: [ObjectID]) throws(GitError) -> [ObjectID] {
        var walk: OpaquePointer?
        try check(git_revwalk_new(&walk, pointer), "git_revwalk_new")
        defer { git_revwalk_free(walk) }
        try check(git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_REVERSE.rawValue), "git_revwalk_sorting")
        for tip in tips {
            var oid = tip.oid
            try check(git_revwalk_push(walk, &oid), "git_revwalk_push(\(tip))")
        }
        for id in excluded {
            var oid = id.oid
            try check(git_revwalk_hide(walk, &oid), "git_revwalk_hide(\(id))")
        }
        var out: [ObjectID] = []
        var oid = git_oid()
        while true {
            let result = git_revwalk_next(&oid, walk)
            if result == GIT_ITEROVER.rawValue { break }
            try check(result, "git_revwalk_next")
            out.append(ObjectID(oid))
        }
        return out
    }

    /// An object that may not be read as it is: its id, and why (`Repository.checkCommitHeaders`).
    public struct ObjectProblem: Sendable, Hashable, Error {
        /// The object (a commit, or whatever stands where a commit should).
        public var id: ObjectID
        /// What is wrong, naming the cap or the type.
        public var reason: String
    }

    /// Checks, from object headers alone, the commits reachable from `tip` and not from `known`
    /// (a tip verified before; nil: the whole history): each must be a commit object of at most
    /// `maxCommitBytes`. A header (`git_odb_read_header`) gives type and size without inflating
    /// the object; a commit is read (to find its parents) only once its header passed. libgit2's
    /// revwalk and graph functions read every commit they meet whole, so this runs before them.
    ///
    /// The walk stops at ancestors of `known`, found by a second, lazy walk from `known` in
    /// commit-time order that advances only down to the time of the commit in question. Commit
    /// times are the signer's to choose, but they only steer how far that second walk goes: a
    /// commit is taken as known only once that walk reached it, so a skewed time costs reading
    /// more old (already verified, so small) commits, never skipping a new one. Returns the
    /// first problem, or nil; `checked` counts the new commits whose headers were read.
    /// docs/TRUST.md § Resource bounds.
    public func checkCommitHeaders(from tip: ObjectID, known: ObjectID?, maxCommitBytes: Int, checked: inout Int) throws(GitError) -> ObjectProblem? {
        var knownWalk: OpaquePointer?
        defer { if let knownWalk { git_revwalk_free(knownWalk) } }
        if let known {
            try check(git_revwalk_new(&knownWalk, pointer), "git_revwalk_new")
            try check(git_revwalk_sorting(knownWalk, GIT_SORT_TIME.rawValue), "git_revwalk_sorting")
            var oid = known.oid
            try check(git_revwalk_push(knownWalk, &oid), "git_revwalk_push(\(known))")
        }
        var knownSet = Set<ObjectID>()
        var knownFloor = Int64.max  // the commit time the known walk last reached
        var seen = Set<ObjectID>()
        var stack: [(id: ObjectID, child: ObjectID?)] = [(tip, nil)]
        while let (id, child) = stack.popLast() {
            guard seen.insert(id).inserted, !knownSet.contains(id) else { continue }
            let (size, type) = try objectHeader(id)
            guard type == GIT_OBJECT_COMMIT else {
                let what = child.map { "commit \($0.short()) names \(id.short()) as a parent" } ?? "the tip \(id.short()) should be a commit"
                return ObjectProblem(id: child ?? id, reason: "\(what), but it is a \(Self.typeName(type))")
            }
            guard size <= maxCommitBytes else {
                return ObjectProblem(id: id, reason: "commit \(id.short()) is \(size) bytes, over the cap of \(maxCommitBytes) bytes for a commit object (judged from its header, never read)")
            }
            let commit = try lookupCommit(id)
            defer { git_commit_free(commit) }
            let time = git_commit_time(commit)
            while let walk = knownWalk, !knownSet.contains(id), knownFloor > time {
                var oid = git_oid()
                let result = git_revwalk_next(&oid, walk)
                if result == GIT_ITEROVER.rawValue {
                    git_revwalk_free(walk)
                    knownWalk = nil
                    break
                }
                try check(result, "git_revwalk_next")
                let reached = ObjectID(oid)
                knownSet.insert(reached)
                let old = try lookupCommit(reached)
                knownFloor = git_commit_time(old)
                git_commit_free(old)
            }
            if knownSet.contains(id) { continue }
            checked += 1
            let count = git_commit_parentcount(commit)
            for index in (0..<count).reversed() {
                stack.append((ObjectID(git_commit_parent_id(commit, index)), id))
            }
        }
        return nil
    }

    /// Whether `commit` descends from `ancestor` (false when they are the same commit).
    public func isDescendant(_ commit: ObjectID, of ancestor: ObjectID) throws(GitError) -> Bool {
        var a = commit.oid, b = ancestor.oid
        let result = git_graph_descendant_of(pointer, &a, &b)
        try check(result, "git_graph_descendant_of")
        return result == 1
    }

    /// The best common ancestor of two commits (nil when they share no history).
    public func mergeBase(_ a: ObjectID, _ b: ObjectID) throws(GitError) -> ObjectID? {
        var out = git_oid()
        var left = a.oid, right = b.oid
        let result = git_merge_base(&out, pointer, &left, &right)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try check(result, "git_merge_base(\(a), \(b))")
        return ObjectID(out)
    }

    /// The tree of a clean merge of two commits, or nil when the merge has conflicts.
    public func cleanMergeTree(_ ours: ObjectID, _ theirs: ObjectID) throws(GitError) -> ObjectID? {
        let left = try lookupCommit(ours)
        defer { git_commit_free(left) }
        let right = try lookupCommit(theirs)
        defer { git_commit_free(right) }
        var options = git_merge_options()
        try check(git_merge_options_init(&options, UInt32(GIT_MERGE_OPTIONS_VERSION)), "git_merge_options_init")
        options.flags |= GIT_MERGE_FAIL_ON_CONFLICT.rawValue
        var index: OpaquePointer?
        let result = git_merge_commits(&index, pointer, left, right, &options)
        if result == GIT_EMERGECONFLICT.rawValue { return nil }
        try check(result, "git_merge_commits(\(ours), \(theirs))")
        defer { git_index_free(index) }
        if git_index_has_conflicts(index) != 0 { return nil }
        var tree = git_oid()
        try check(git_index_write_tree_to(&tree, index, pointer), "git_index_write_tree_to")
        return ObjectID(tree)
    }

    // MARK: - Trees and blobs

    /// The entries of a tree, in git's order.
    public func tree(_ id: ObjectID) throws(GitError) -> [TreeEntry] {
        let tree = try lookupTree(id)
        defer { git_tree_free(tree) }
        let count = git_tree_entrycount(tree)
        var entries: [TreeEntry] = []
        entries.reserveCapacity(count)
        for index in 0..<count {
            entries.append(Self.copyEntry(git_tree_entry_byindex(tree, index)!))
        }
        return entries
    }

    /// The entry at a `/`-separated path inside a tree, or nil when there is none.
    public func entry(at path: String, inTree treeID: ObjectID) throws(GitError) -> TreeEntry? {
        // Walked here rather than by git_tree_entry_bypath, so that every level comes from the
        // recent trees.
        var components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard let last = components.popLast(), !last.isEmpty else { return nil }
        var current = treeID
        for component in components {
            guard let next = try entry(named: String(component), inTree: current), next.mode == .tree else { return nil }
            current = next.id
        }
        return try entry(named: String(last), inTree: current)
    }

    private func entry(named name: String, inTree treeID: ObjectID) throws(GitError) -> TreeEntry? {
        guard !name.isEmpty else { return nil }
        let tree = try lookupTree(treeID)
        defer { git_tree_free(tree) }
        guard let entry = git_tree_entry_byname(tree, name) else { return nil }
        return Self.copyEntry(entry)
    }

    /// The size of a blob in bytes, read from the object header without loading the content.
    /// An object of another type is a malformed-object error (a tree where a file is named).
    public func blobSize(_ id: ObjectID) throws(GitError) -> Int {
        let (size, type) = try objectHeader(id)
        guard type == GIT_OBJECT_BLOB else {
            throw GitError.malformed("blobSize(\(id))", "\(id.short()) is named as a file but is a \(Self.typeName(type))")
        }
        return size
    }

    /// An object's size in bytes and its type (`commit`, `tree`, `blob`, `tag`), from its header:
    /// the content is not inflated.
    public func objectInfo(_ id: ObjectID) throws(GitError) -> (size: Int, type: String) {
        let (size, type) = try objectHeader(id)
        return (size, Self.typeName(type))
    }

    /// An object's size and type, from its header (the content is not inflated).
    func objectHeader(_ id: ObjectID) throws(GitError) -> (size: Int, type: git_object_t) {
        var odb: OpaquePointer?
        try check(git_repository_odb(&odb, pointer), "git_repository_odb")
        defer { git_odb_free(odb) }
        var size = 0
        var type = GIT_OBJECT_ANY
        var oid = id.oid
        try check(git_odb_read_header(&size, &type, odb, &oid), "git_odb_read_header(\(id))")
        return (size, type)
    }

    static func typeName(_ type: git_object_t) -> String {
        switch type {
        case GIT_OBJECT_COMMIT: return "commit"
        case GIT_OBJECT_TREE: return "tree"
        case GIT_OBJECT_BLOB: return "blob"
        case GIT_OBJECT_TAG: return "tag"
        default: return "object of type \(type.rawValue)"
        }
    }

    /// A blob's content.
    public func blob(_ id: ObjectID) throws(GitError) -> [UInt8] {
        var blob: OpaquePointer?
        var oid = id.oid
        try check(git_blob_lookup(&blob, pointer, &oid), "git_blob_lookup(\(id))")
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let content = git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: content, count: size))
    }

    /// Whether an object exists in the object database.
    public func contains(_ id: ObjectID) -> Bool {
        var odb: OpaquePointer?
        guard git_repository_odb(&odb, pointer) == 0 else { return false }
        defer { git_odb_free(odb) }
        var oid = id.oid
        return git_odb_exists(odb, &oid) == 1
    }

    // MARK: - Writing objects

    /// Writes a blob and returns its id.
    public func writeBlob(_ bytes: [UInt8]) throws(GitError) -> ObjectID {
        var oid = git_oid()
        let result = bytes.withUnsafeBytes { git_blob_create_from_buffer(&oid, pointer, $0.baseAddress, $0.count) }
        try check(result, "git_blob_create_from_buffer")
        return ObjectID(oid)
    }

    /// The id of the empty tree, written if needed.
    public func emptyTree() throws(GitError) -> ObjectID {
        var builder: OpaquePointer?
        try check(git_treebuilder_new(&builder, pointer, nil), "git_treebuilder_new")
        defer { git_treebuilder_free(builder) }
        var oid = git_oid()
        try check(git_treebuilder_write(&oid, builder), "git_treebuilder_write")
        return ObjectID(oid)
    }

    /// A change to apply to a tree: put a blob at a path, or remove the path.
    public enum TreeUpdate: Sendable {
        case upsert(path: String, id: ObjectID, mode: FileMode = .blob)
        case remove(path: String)
    }

    /// Writes the tree that results from applying `updates` to `base` (the empty tree when nil);
    /// only the trees on changed paths are rewritten.
    public func updateTree(_ base: ObjectID?, _ updates: [TreeUpdate]) throws(GitError) -> ObjectID {
        let baseID: ObjectID
        if let base { baseID = base } else { baseID = try emptyTree() }
        let baseTree = try lookupTree(baseID)
        defer { git_tree_free(baseTree) }
        var paths: [UnsafeMutablePointer<CChar>] = []
        defer { paths.forEach { free($0) } }
        var raw: [git_tree_update] = []
        for update in updates {
            var item = git_tree_update()
            switch update {
            case .upsert(let path, let id, let mode):
                item.action = GIT_TREE_UPDATE_UPSERT
                item.id = id.oid
                item.filemode = git_filemode_t(rawValue: mode.rawValue)
                paths.append(strdup(path))
            case .remove(let path):
                item.action = GIT_TREE_UPDATE_REMOVE
                paths.append(strdup(path))
            }
            item.path = UnsafePointer(paths.last!)
            raw.append(item)
        }
        var oid = git_oid()
        try check(git_tree_create_updated(&oid, pointer, baseTree, raw.count, &raw), "git_tree_create_updated")
        return ObjectID(oid)
    }

    /// The exact bytes of a commit object, ready to be signed.
    public func commitBuffer(
        tree: ObjectID, parents: [ObjectID], author: GitSignature, committer: GitSignature, message: String
    ) throws(GitError) -> [UInt8] {
        let treeObject = try lookupTree(tree)
        defer { git_tree_free(treeObject) }
        var parentObjects: [OpaquePointer?] = []
        defer { parentObjects.forEach { git_commit_free($0) } }
        for parent in parents { parentObjects.append(try lookupCommit(parent)) }
        let authorSignature = try Self.makeSignature(author)
        defer { git_signature_free(authorSignature) }
        let committerSignature = try Self.makeSignature(committer)
        defer { git_signature_free(committerSignature) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        let result = parentObjects.withUnsafeMutableBufferPointer { parentPointers in
            git_commit_create_buffer(
                &buffer, pointer, authorSignature, committerSignature, nil, message, treeObject,
                parentPointers.count, parentPointers.baseAddress)
        }
        try check(result, "git_commit_create_buffer")
        return Self.bytes(buffer)
    }

    /// Writes a commit from its bytes plus an armored signature (`gpgsig` header), or unsigned
    /// when `signature` is nil. References are not moved.
    public func createCommit(buffer: [UInt8], signature: String?) throws(GitError) -> ObjectID {
        var oid = git_oid()
        let content = String(decoding: buffer, as: UTF8.self)
        let result: Int32
        if let signature {
            result = git_commit_create_with_signature(&oid, pointer, content, signature, nil)
        } else {
            result = git_commit_create_with_signature(&oid, pointer, content, nil, nil)
        }
        try check(result, "git_commit_create_with_signature")
        return ObjectID(oid)
    }

    // MARK: - References

    /// The commit a reference points at (following symbolic references), or nil.
    public func reference(_ name: String) throws(GitError) -> ObjectID? {
        var oid = git_oid()
        let result = git_reference_name_to_id(&oid, pointer, name)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try check(result, "git_reference_name_to_id(\(name))")
        return ObjectID(oid)
    }

    /// Points a reference at `id` if it still points at `expected` (nil: must not exist yet).
    /// A lost race throws a `GitError` whose `isModified` (or `code == GIT_EEXISTS`) is set.
    public func updateReference(_ name: String, to id: ObjectID, expected: ObjectID?, message: String) throws(GitError) {
        var reference: OpaquePointer?
        var target = id.oid
        let result: Int32
        if let expected {
            var current = expected.oid
            result = git_reference_create_matching(&reference, pointer, name, &target, 1, &current, message)
        } else {
            result = git_reference_create(&reference, pointer, name, &target, 0, message)
        }
        try check(result, "git_reference_create(\(name))")
        git_reference_free(reference)
    }

    /// Points a reference at `id` unconditionally.
    public func setReference(_ name: String, to id: ObjectID, message: String) throws(GitError) {
        var reference: OpaquePointer?
        var target = id.oid
        try check(git_reference_create(&reference, pointer, name, &target, 1, message), "git_reference_create(\(name))")
        git_reference_free(reference)
    }

    /// Deletes a reference if it exists.
    public func deleteReference(_ name: String) throws(GitError) {
        var reference: OpaquePointer?
        let result = git_reference_lookup(&reference, pointer, name)
        if result == GIT_ENOTFOUND.rawValue { return }
        try check(result, "git_reference_lookup(\(name))")
        defer { git_reference_free(reference) }
        try check(git_reference_delete(reference), "git_reference_delete(\(name))")
    }

    /// References whose names match a glob (`refs/sfgit/*`), with the commits they point at.
    public func references(matching glob: String) throws(GitError) -> [(name: String, id: ObjectID)] {
        var iterator: OpaquePointer?
        try check(git_reference_iterator_glob_new(&iterator, pointer, glob), "git_reference_iterator_glob_new")
        defer { git_reference_iterator_free(iterator) }
        var out: [(String, ObjectID)] = []
        var reference: OpaquePointer?
        while true {
            let result = git_reference_next(&reference, iterator)
            if result == GIT_ITEROVER.rawValue { break }
            try check(result, "git_reference_next")
            defer { git_reference_free(reference) }
            var resolved: OpaquePointer?
            guard git_reference_resolve(&resolved, reference) == 0 else { continue }
            defer { git_reference_free(resolved) }
            if let target = git_reference_target(resolved) {
                out.append((String(cString: git_reference_name(reference)), ObjectID(target)))
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Resolves a revision expression (`HEAD`, `main~2`, a hex id) to a commit.
    public func resolveCommit(_ revision: String) throws(GitError) -> ObjectID {
        var object: OpaquePointer?
        try check(git_revparse_single(&object, pointer, revision), "git_revparse_single(\(revision))")
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        try check(git_object_peel(&commit, object, GIT_OBJECT_COMMIT), "git_object_peel(\(revision))")
        defer { git_object_free(commit) }
        return ObjectID(git_object_id(commit))
    }

    // MARK: - Configuration

    /// A string from the repository's own config file (global and system files are never read).
    public func configValue(_ name: String) throws(GitError) -> String? {
        var config: OpaquePointer?
        try check(git_repository_config_snapshot(&config, pointer), "git_repository_config_snapshot")
        defer { git_config_free(config) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        let result = git_config_get_string_buf(&buffer, config, name)
        if result == GIT_ENOTFOUND.rawValue { return nil }
        try check(result, "git_config_get_string_buf(\(name))")
        return String(decoding: Self.bytes(buffer), as: UTF8.self)
    }

    /// Writes a string into the repository's own config file.
    public func setConfigValue(_ name: String, _ value: String) throws(GitError) {
        var config: OpaquePointer?
        try check(git_repository_config(&config, pointer), "git_repository_config")
        defer { git_config_free(config) }
        try check(git_config_set_string(config, name, value), "git_config_set_string(\(name))")
    }

    // MARK: - Helpers

    private func lookupCommit(_ id: ObjectID) throws(GitError) -> OpaquePointer {
        var commit: OpaquePointer?
        var oid = id.oid
        try check(git_commit_lookup(&commit, pointer, &oid), "git_commit_lookup(\(id))")
        return commit!
    }

    /// A tree handle the caller frees with `git_tree_free`. With `expecting` (what names the
    /// tree, for the message), an object of another type is a malformed-object error rather
    /// than libgit2's "not found", and a tree over `maxTreeBytes` is refused before it is read.
    func lookupTree(_ id: ObjectID, expecting: String? = nil) throws(GitError) -> OpaquePointer {
        if let held = recentTrees.handle(id) { return Self.duplicate(held) }
        var tree: OpaquePointer?
        var oid = id.oid
        if let expecting {
            let (size, type) = try objectHeader(id)
            guard type == GIT_OBJECT_TREE else {
                throw GitError.malformed("lookupTree(\(id))", "\(expecting) names \(id.short()) as a tree, but it is a \(Self.typeName(type))")
            }
            guard size <= maxTreeBytes else {
                throw GitError.malformed("lookupTree(\(id))", "tree \(expecting) is \(size) bytes, over the cap of \(maxTreeBytes)")
            }
        }
        let result = git_tree_lookup(&tree, pointer, &oid)
        if result < 0, let expecting {
            // The header said tree: libgit2 could not parse it (an empty name, a bad mode).
            throw GitError.malformed("lookupTree(\(id))", "tree \(expecting) cannot be parsed: \(lastError(result, "git_tree_lookup").message)")
        }
        try check(result, "git_tree_lookup(\(id))")
        recentTrees.insert(id, Self.duplicate(tree!))
        return tree!
    }

    private static func duplicate(_ tree: OpaquePointer) -> OpaquePointer {
        var copy: OpaquePointer?
        _ = git_object_dup(&copy, tree)  // a reference count increment: it cannot fail
        return copy!
    }

    private static func signature(_ pointer: UnsafePointer<git_signature>?) -> GitSignature {
        guard let s = pointer?.pointee else { return GitSignature(name: "", email: "", time: 0) }
        return GitSignature(
            name: s.name.map { String(cString: $0) } ?? "", email: s.email.map { String(cString: $0) } ?? "",
            time: s.when.time, offsetMinutes: s.when.offset)
    }

    private static func makeSignature(_ s: GitSignature) throws(GitError) -> UnsafeMutablePointer<git_signature> {
        var out: UnsafeMutablePointer<git_signature>?
        try check(git_signature_new(&out, s.name, s.email, s.time, s.offsetMinutes), "git_signature_new")
        return out!
    }

    private static func bytes(_ buffer: git_buf) -> [UInt8] {
        guard let base = buffer.ptr, buffer.size > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: buffer.size))
    }
}

/// The most recently used tree handles, each holding a reference of its own. Verification
/// needs the trees of the commit before (a few per commit); a big month directory parses to
/// a few hundred KB, so the capacity stays small.
///
/// Held trees are bounded by count and by their entries together: a remote can send many trees
/// each just under the tree cap, and 128 of those would be gigabytes. 131,072 entries (≈ 12 MB
/// parsed) hold the changed directories of a few commits of a 100,000-memory store; a tree too
/// big for a quarter of the budget is not held.
private struct RecentTrees {
    private static let capacity = 128
    private static let maxEntries = 128 * 1024
    private var handles: [ObjectID: (tree: OpaquePointer, used: UInt64, entries: Int)] = [:]
    private var clock: UInt64 = 0
    private var entries = 0

    mutating func handle(_ id: ObjectID) -> OpaquePointer? {
        guard let held = handles[id] else { return nil }
        clock += 1
        handles[id]!.used = clock
        return held.tree
    }

    mutating func insert(_ id: ObjectID, _ tree: OpaquePointer) {
        let count = git_tree_entrycount(tree)
        guard count <= Self.maxEntries / 4 else {
            git_tree_free(tree)
            return
        }
        if let previous = handles.removeValue(forKey: id) {
            git_tree_free(previous.tree)
            entries -= previous.entries
        }
        while handles.count >= Self.capacity || (entries + count > Self.maxEntries && !handles.isEmpty),
              let oldest = handles.min(by: { $0.value.used < $1.value.used }) {
            git_tree_free(oldest.value.tree)
            entries -= oldest.value.entries
            handles[oldest.key] = nil
        }
        clock += 1
        handles[id] = (tree, clock, count)
        entries += count
    }

    mutating func removeAll() {
        for held in handles.values { git_tree_free(held.tree) }
        handles.removeAll()
        entries = 0
    }
}

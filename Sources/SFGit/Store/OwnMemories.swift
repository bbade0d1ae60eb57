import Foundation
import Logging
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// Indexes this host's pending outbox memories at tier `self`, but for those an admin's reset
/// statement on the verified history removed from the store (still pending only until the next
/// replay drops them, or while a proposal branch holding them waits to be deleted).
enum OwnMemories {
    static func index(_ repository: Repository, _ index: MemoryIndex, verified: ObjectID?, principal: String?, key: String?) throws {
        guard let principal else { return }
        let pending = try Outbox(repository: repository).unpublished(verified: verified)
        guard !pending.isEmpty else { return }
        var batch = IndexBatch()
        var removed: [String: ObjectID] = [:]
        if let verified, let base = try repository.commit(pending[0]).parentIDs.first {
            removed = try ResetStatement.removedMemories(in: repository, verified: verified, since: base)
            // Forgotten here if indexed as this host's own; a file the verified tree holds is not ours to drop.
            let tree = try repository.commit(verified).treeID
            batch.removedPaths = try removed.keys.filter { try index.contains(path: $0) && repository.entry(at: $0, inTree: tree) == nil }
        }
        let parser = MemoryParser.sizeJudged  // this host's own files: remember validated them
        let now = Date().timeIntervalSince1970
        for commitID in pending {
            let commit = try repository.commit(commitID)
            let parentTree = try commit.parentIDs.first.map { (id) throws(GitError) in try repository.commit(id).treeID }
            for change in try repository.diffTrees(parentTree, commit.treeID) where change.kind == .added && change.path.hasPrefix("memories/") {
                guard let entry = change.new, removed[change.path] == nil, try !index.contains(path: change.path),
                      let parsed = try? parser.parse(try repository.blob(entry.id), storePath: change.path) else { continue }
                batch.upserts.append(IndexedMemory(memory: parsed.memory, path: change.path, blob: entry.id.hex, commit: commitID.hex,
                                                   signer: principal, key: key ?? "", tier: .own, firstSeen: now))
            }
        }
        if !batch.upserts.isEmpty || !batch.removedPaths.isEmpty { try index.apply(batch) }
    }
}

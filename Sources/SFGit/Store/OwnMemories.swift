import Foundation
import Logging
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// Indexes this host's pending outbox memories at tier `self`.
enum OwnMemories {
    static func index(_ repository: Repository, _ index: MemoryIndex, verified: ObjectID?, principal: String?, key: String?) throws {
        guard let principal else { return }
        let pending = try Outbox(repository: repository).unpublished(verified: verified)
        guard !pending.isEmpty else { return }
        var batch = IndexBatch()
        let parser = MemoryParser.sizeJudged  // this host's own files: remember validated them
        let now = Date().timeIntervalSince1970
        for commitID in pending {
            let commit = try repository.commit(commitID)
            let parentTree = try commit.parentIDs.first.map { (id) throws(GitError) in try repository.commit(id).treeID }
            for change in try repository.diffTrees(parentTree, commit.treeID) where change.kind == .added && change.path.hasPrefix("memories/") {
                guard let entry = change.new, try !index.contains(path: change.path),
                      let parsed = try? parser.parse(try repository.blob(entry.id), storePath: change.path) else { continue }
                batch.upserts.append(IndexedMemory(memory: parsed.memory, path: change.path, blob: entry.id.hex, commit: commitID.hex,
                                                   signer: principal, key: key ?? "", tier: .own, firstSeen: now))
            }
        }
        if !batch.upserts.isEmpty { try index.apply(batch) }
    }
}

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

extension Workspace {
    /// Runs a read on a store's cache. A cache that turns out damaged is discarded, rebuilt from
    /// the verified tip and read again, once.
    func reading<T>(_ store: Store, _ body: (MemoryIndex) throws -> T) throws -> T {
        if let residentCaches {
            // A resident reader never rebuilds (that takes the sync lock): a damaged cache is
            // dropped here and reported; the next sync or `sfgit reindex` replaces it.
            guard let index = residentCaches.index(path: store.cachePath) else {
                throw SFGitError(.degraded, "store \(store.name) has no usable cache yet: run sfgit sync (or sfgit reindex)")
            }
            do {
                return try body(index)
            } catch {
                if MemoryIndex.isCorruption(error) { residentCaches.invalidate(path: store.cachePath) }
                throw error
            }
        }
        do {
            return try body(try readyIndex(store))
        } catch {
            guard MemoryIndex.isCorruption(error) else { throw error }
            MemoryIndex.discard(path: store.cachePath)
            return try body(try readyIndex(store))
        }
    }

    /// The store's cache, rebuilt first when it reflects no commit (new, deleted, damaged, of
    /// another version, or recreated by a reader that could not rebuild it). The rebuild takes
    /// the sync lock only if it is free: a sync holding it rebuilds the cache itself, and a read
    /// never waits for a sync.
    private func readyIndex(_ store: Store) throws -> MemoryIndex {
        // The common case, on every recall: a cache that reflects a commit, read through one
        // read-only connection.
        if let index = MemoryIndex.openForReading(path: store.cachePath), try index.state(StoreIndexer.indexedCommitKey) != nil {
            return index
        }
        let index = try store.openIndex()
        let reflectsNothing = try index.isFresh || index.state(StoreIndexer.indexedCommitKey) == nil
        guard reflectsNothing, FileManager.default.fileExists(atPath: store.repositoryPath + "/HEAD") else { return index }
        // A verified tip the cache does not reflect yet, with the lock held elsewhere: a sync is
        // rebuilding it. Until then the cache cannot tell "nothing matches" from "not indexed
        // yet": fail DEGRADED rather than answer empty. (With nothing verified, empty is true.)
        guard let lock = try StoreLock.acquire(store.lockPath, wait: 0) else {
            guard try store.openRepository().reference(Store.verifiedRef) == nil else {
                throw SFGitError(.degraded, "store \(store.name): the cache has to be rebuilt and a sync holds the lock (\(store.lockPath)); "
                    + "it rebuilds the cache itself: ask again when it has finished")
            }
            return index
        }
        try withExtendedLifetime(lock) { try rebuild(store, index) }
        return index
    }

    func rebuild(_ store: Store, _ index: MemoryIndex) throws {
        let repository = try store.openRepository()
        let verified = try repository.reference(Store.verifiedRef)
        if let verified {
            var indexer = StoreIndexer(repository: repository, introduction: try store.introduction(), index: index)
            let name = store.name
            indexer.progress = progress.map { sink in ProgressSink { sink.emit("\(name): \($0)") } }
            _ = try VerifiedIndexing.update(indexer, to: verified)
        }
        if let principal = identity.principal {
            try OwnMemories.index(repository, index, verified: verified, principal: principal, key: (try? signer())?.publicKey.fingerprint)
        }
    }
}

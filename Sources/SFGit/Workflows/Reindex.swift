import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

extension Workspace {
    /// Rebuilds each chosen store's cache from its verified tip (the cache is disposable).
    public func reindex(store name: String?, wait: Double = 30) throws(SFGitError) -> [StoreStatus] {
        for store in try chosenStores(named: name) {
            let progress = self.progress
            guard let lock = try StoreLock.acquire(store.lockPath, wait: wait, waiting: { progress?.emit("\(store.name): waiting for a sync to finish (sync.lock)") }) else {
                throw SFGitError(.busy, "a sync holds \(store.lockPath); try again, or pass --wait")
            }
            try withExtendedLifetime(lock) { () throws(SFGitError) in
                // Built beside the old cache and swapped in whole: readers keep the old answers
                // until the new ones are complete.
                let building = store.cachePath + ".rebuild"
                MemoryIndex.discard(path: building)
                try workflow("store \(store.name)") {
                    do {
                        let index = try MemoryIndex(path: building)
                        try rebuild(store, index)
                    }  // closed here: the new cache leaves no WAL behind
                    try MemoryIndex.install(building, at: store.cachePath)
                }
            }
        }
        return try status(store: name)
    }
}

import SFGitRepository
import SFGitTrust

/// The verify and index phases of a sync (and of `init`, and of a cache rebuilt on read), in
/// that order: the verifier judges the commits since the indexed one (every commit for a fresh
/// cache), then the indexer writes what it verified, nothing else. A fresh cache is written while
/// verification runs (`StoreIndexer.Pass.sink`), its transaction committed only if the verified
/// tree holds exactly what was handed over.
/// docs/ARCHITECTURE.md § Data flow of one sync.
enum VerifiedIndexing {
    /// Brings `indexer`'s cache up to `tip`, or to the newest authentic commit before it.
    static func update(_ indexer: StoreIndexer, to tip: ObjectID) throws -> StoreIndexer.Update {
        var fromIntroduction = false
        while true {
            // verify…
            let pass = try indexer.begin(fromIntroduction: fromIntroduction)
            let result: VerificationResult
            do {
                result = try Verifier(repository: indexer.repository, introduction: indexer.introduction, options: pass.options)
                    .verify(from: pass.start, to: tip, accepting: pass.sink)
            } catch {
                pass.abandon()
                throw error
            }
            // …then index.
            switch try indexer.finish(pass, result) {
            case .indexed(let update):
                return update
            case .verifyFromIntroduction:
                // Once at most: a pass from the introduction always ends indexed.
                precondition(!fromIntroduction, "a verification from the introduction asked to start again")
                fromIntroduction = true
            }
        }
    }
}

import Foundation
@testable import SFGit
import SFGitTestSupport
import Testing

/// A recall over several stores: their answers merged into one order.
@Suite("recall: several stores' answers merged")
struct StoreMergeTests {
    typealias Item = (score: Double, id: String)

    @Test("the first k of the merged order never depend on how much each store answered: pages concatenate, and each store's own order is kept",
          arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func prefixStable(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        // Each store's answer in its own order: not sorted by score (blocks, signers' shares).
        let stores = (0..<Int.random(in: 2...4, using: &generator)).map { store in
            (0..<Int.random(in: 0...40, using: &generator)).map { position -> Item in
                (Double(Int.random(in: 0...20, using: &generator)) / 20, "s\(store)-\(String(format: "%03d", position))")
            }
        }
        let full = Workspace.mergeStores(stores) { $0 }
        #expect(full.count == stores.map(\.count).reduce(0, +))
        for k in 0...full.count {
            // What each store answers for a page ending at k: its own first k.
            let page = Workspace.mergeStores(stores.map { Array($0.prefix(k)) }) { $0 }
            #expect(page.prefix(k).map(\.id) == full.prefix(k).map(\.id), "k = \(k)")
        }
        for store in stores {
            let kept = full.filter { item in store.contains { $0.id == item.id } }
            #expect(kept.map(\.id) == store.map(\.id), "a store's own order was changed")
        }
    }
}

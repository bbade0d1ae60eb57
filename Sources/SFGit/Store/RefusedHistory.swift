import Foundation
import SFGitRepository

/// What a store keeps of refused history, for `status` (`refused_history` in its JSON).
public struct RefusedHistorySummary: Sendable, Codable, Hashable {
    /// Refused tips kept under `refs/sfgit/quarantine/`.
    public var kept: Int
    /// Bytes on disk of the objects only those tips reach (nil: git is not installed to count them).
    public var bytes: Int?
    /// Refused tips pruned over the store's life, their objects with them.
    public var pruned: Int

    /// Creates a summary.
    public init(kept: Int, bytes: Int?, pruned: Int) {
        self.kept = kept
        self.bytes = bytes
        self.pruned = pruned
    }
}

/// Refused fetched tips kept for forensics under `refs/sfgit/quarantine/`, bounded: a remote
/// must not be able to fill the disk one refused pack at a time. The newest `maxTips` are kept
/// while the objects only they reach take at most `maxBytes`; the newest one (the tip `status`
/// shows as blocked) is always kept. Older ones are deleted and their objects removed from disk.
/// docs/TRUST.md § Refused history.
enum RefusedHistory {
    /// How many refused tips are kept.
    static let maxTips = 10
    /// How many bytes of objects that only refused tips reach are kept (the newest tip's aside).
    static let maxBytes = 64 << 20

    /// References that are not quarantine but still point at refused history: the fetched tip.
    static let alsoRefused = [Store.fetchedRef]

    /// Records `tip` as refused (once: a tip refused again keeps its reference), applies the
    /// bounds, and returns what is kept. `pruned` is the count pruned before this call.
    static func record(_ tip: ObjectID, in repository: Repository, prunedBefore: Int, now: Date = Date()) -> RefusedHistorySummary {
        var refs = (try? repository.references(matching: Store.quarantinePrefix + "*")) ?? []
        if !refs.contains(where: { $0.id == tip }) {
            let name = Store.quarantinePrefix + String(format: "%010d", Int(now.timeIntervalSince1970)) + "-" + String(tip.hex.prefix(12))
            if (try? repository.setReference(name, to: tip, message: "sfgit: refused")) != nil { refs.append((name, tip)) }
        }
        // Newest first: the names start with the time of the refusal.
        refs.sort { order($0.name) > order($1.name) }
        var keep = Array(refs.prefix(maxTips))
        var drop = Array(refs.dropFirst(maxTips))
        let ignoring = [Store.quarantinePrefix + "*"] + alsoRefused
        var bytes = repository.diskUsage(reachableFrom: keep.map(\.id), ignoring: ignoring)
        if bytes == nil, keep.count > 1 {
            // Not counted (no git, or git ran into its memory cap on a huge refused commit): the
            // budget cannot be checked, so only the newest is kept.
            drop = Array(keep.dropFirst()) + drop
            keep = Array(keep.prefix(1))
            bytes = repository.diskUsage(reachableFrom: keep.map(\.id), ignoring: ignoring)
        } else if let total = bytes, total > maxBytes, keep.count > 1 {
            // Keep the longest run of newest tips within the budget (the newest always).
            var count = keep.count - 1
            while count > 1, let used = repository.diskUsage(reachableFrom: keep.prefix(count).map(\.id), ignoring: ignoring), used > maxBytes {
                count -= 1
            }
            drop = Array(keep.dropFirst(count)) + drop
            keep = Array(keep.prefix(count))
            bytes = repository.diskUsage(reachableFrom: keep.map(\.id), ignoring: ignoring)
        }
        guard !drop.isEmpty else { return RefusedHistorySummary(kept: keep.count, bytes: bytes, pruned: prunedBefore) }
        var deleted = 0
        for ref in drop where (try? repository.deleteReference(ref.name)) != nil { deleted += 1 }
        if deleted > 0 { repository.dropUnreachableObjects() }
        return RefusedHistorySummary(kept: keep.count, bytes: repository.diskUsage(reachableFrom: keep.map(\.id), ignoring: ignoring), pruned: prunedBefore + deleted)
    }

    /// The pack files of the object store (`pack-*.pack`).
    static func packs(of repository: Repository) -> Set<String> {
        let directory = URL(fileURLWithPath: repository.path).appendingPathComponent("objects/pack").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(names.filter { $0.hasPrefix("pack-") && $0.hasSuffix(".pack") }.map { directory + "/" + $0 })
    }

    /// Deletes the fetched reference and the packs a fetch added (`before`: the packs there
    /// before it). Only for a fetch whose history was refused before any of it was verified:
    /// nothing else can need those objects.
    static func discard(fetchedSince before: Set<String>, in repository: Repository) {
        try? repository.deleteReference(Store.fetchedRef)
        for pack in packs(of: repository).subtracting(before) {
            let stem = String(pack.dropLast(".pack".count))
            for suffix in [".keep", ".idx", ".rev", ".pack"] { unlink(stem + suffix) }
        }
    }

    /// Sort key of a quarantine reference: its time, then the rest of its name.
    private static func order(_ name: String) -> String {
        let leaf = name.dropFirst(Store.quarantinePrefix.count)
        let digits = leaf.prefix { $0.isNumber }
        return String(repeating: "0", count: max(0, 12 - digits.count)) + digits + leaf.dropFirst(digits.count)
    }
}

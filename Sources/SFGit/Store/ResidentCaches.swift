import Foundation
import SFGitIndex

/// The caches a long-running reader (`sfgit mcp`) keeps open: one read-only connection per
/// store, opened on first use and kept between calls, so that a call pays for a query and not
/// for opening SQLite.
///
/// Freshness costs one `stat` per call. A sync writes through SQLite's WAL, which the open
/// connection reads at its next transaction, so the indexed commit it moves is seen at once. A
/// cache replaced as a file (`sfgit reindex`, a damaged cache rebuilt, a cache of another
/// version) has a new inode: the connection is closed and the new file opened.
///
/// Readers never take the store's sync lock and never rebuild a cache: a store without a usable
/// cache answers DEGRADED until a sync or `sfgit reindex` makes one.
// @unchecked Sendable: `entries` and `opened` are read and written under `lock`; MemoryIndex is Sendable.
public final class ResidentCaches: @unchecked Sendable {
    private struct Entry {
        var device: UInt64
        var inode: UInt64
        var index: MemoryIndex
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var opened = 0

    /// No cache open yet.
    public init() {}

    /// How many times a cache was opened (the first time and after each replacement).
    public var openCount: Int { lock.withLock { opened } }

    /// The open cache at `path`, reopened when the file was replaced; nil when there is no
    /// usable cache there.
    func index(path: String) -> MemoryIndex? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            lock.withLock { _ = entries.removeValue(forKey: path) }
            return nil
        }
        let device = UInt64(info.st_dev), inode = UInt64(info.st_ino)
        if let entry = lock.withLock({ entries[path] }), entry.device == device, entry.inode == inode { return entry.index }
        guard let index = MemoryIndex.openForReading(path: path, resident: true) else { return nil }
        lock.withLock {
            entries[path] = Entry(device: device, inode: inode, index: index)
            opened += 1
        }
        return index
    }

    /// Forgets the cache at `path` (after it turned out damaged).
    func invalidate(path: String) {
        lock.withLock { _ = entries.removeValue(forKey: path) }
    }
}

import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// One store of a home: a bare repository (the source of truth), the SQLite cache derived from
/// it, the sync lock and the last sync's state. Hosts never check files out.
public struct Store: Sendable {
    /// The store's configuration entry.
    public let config: StoreConfig
    /// `stores/<name>/`.
    public let directory: String

    /// The store's name.
    public var name: String { config.name }
    /// The bare repository.
    public var repositoryPath: String { directory + "/repo.git" }
    /// The cache.
    public var cachePath: String { directory + "/cache.sqlite" }
    /// The file `sync` locks.
    public var lockPath: String { directory + "/sync.lock" }
    /// The last sync's state (fetch time and error, blocked commit).
    public var statePath: String { directory + "/state.json" }

    /// The newest commit whose whole history passed verification.
    public static let verifiedRef = "refs/sfgit/verified"
    /// Where a fetch puts the remote branch before it is verified.
    public static let fetchedRef = "refs/sfgit/fetched"
    /// This host's signed commits not yet on the shared branch.
    public static let outboxRef = "refs/sfgit/outbox"
    /// Refused remote tips, kept for forensics.
    public static let quarantinePrefix = "refs/sfgit/quarantine/"
    /// Where the first fetch of a store puts every remote branch, before the introduction's
    /// policy says which one is shared.
    public static let headsPrefix = "refs/sfgit/heads/"
    /// Outboxes set aside because they need a human.
    public static let parkedPrefix = "refs/sfgit/parked/"
    /// Outbox commits the shared branch cannot take (an outbox conflict), one ref each.
    public static let heldPrefix = "refs/sfgit/held/"
    /// In review mode, where a fetch puts this writer's own proposal branch.
    public static let proposalRef = "refs/sfgit/proposal"

    /// The home it belongs to.
    let home: Home

    /// Creates a handle.
    public init(config: StoreConfig, home: Home) {
        self.config = config
        self.home = home
        self.directory = home.storeDirectory(config.name)
    }

    /// Creates the store's directory (and the home's) owner-only, or tightens them.
    func makeDirectory() throws(SFGitError) {
        try home.makeDirectory(directory)
    }

    /// The pinned introduction.
    public func introduction() throws(SFGitError) -> Introduction {
        guard let commit = ObjectID(hex: config.introduction) else {
            throw SFGitError(.usage, "store \(name): introduction '\(config.introduction)' is not a commit id")
        }
        return Introduction(commit: commit, signer: config.signer)
    }

    /// Opens the bare repository, creating it when missing.
    func openRepository() throws(SFGitError) -> Repository {
        try makeDirectory()
        do {
            if FileManager.default.fileExists(atPath: repositoryPath + "/HEAD") { return try Repository.open(repositoryPath) }
            let repository = try Repository.initBare(repositoryPath)
            chmod(repositoryPath, OwnerOnly.directoryMode)
            return repository
        } catch {
            throw SFGitError(.internalError, "store \(name): \(error)")
        }
    }

    /// Opens the cache (recreated empty when missing, corrupt or of another version).
    func openIndex() throws(SFGitError) -> MemoryIndex {
        try makeDirectory()
        do {
            return try MemoryIndex(path: cachePath)
        } catch {
            throw SFGitError(.internalError, "store \(name): cannot open the cache \(cachePath): \(error)")
        }
    }

    /// The last sync's recorded state.
    public func loadState() -> SyncState {
        guard let data = FileManager.default.contents(atPath: statePath),
              let state = try? JSONDecoder().decode(SyncState.self, from: data) else { return SyncState() }
        return state
    }

    /// Records the sync's state atomically.
    public func saveState(_ state: SyncState) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        if let data = try? encoder.encode(state) { try? OwnerOnly.write(data, to: statePath) }
    }

    /// Removes lock files a killed sync left behind. Called under the sync lock: the refs only a
    /// sync writes (fetched, verified, quarantine) cannot be locked by anyone alive; the outbox and
    /// packed-refs may be held by a `remember` for milliseconds, so only old locks of theirs go.
    func removeStaleLocks() {
        let manager = FileManager.default
        let refs = repositoryPath + "/refs/sfgit"
        var candidates = [repositoryPath + "/packed-refs.lock"]
        if let walker = manager.enumerator(atPath: refs) {
            for case let relative as String in walker where relative.hasSuffix(".lock") { candidates.append(refs + "/" + relative) }
        }
        let cutoff = Date().addingTimeInterval(-30)
        for path in candidates {
            let syncOnly = path.hasSuffix("/fetched.lock") || path.hasSuffix("/verified.lock") || path.contains("/refs/sfgit/quarantine/")
            if !syncOnly {
                guard let modified = (try? manager.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < cutoff else { continue }
            }
            try? manager.removeItem(atPath: path)
        }
    }
}

/// What the last sync of a store recorded, for `status`.
public struct SyncState: Sendable, Codable, Hashable {
    /// When the last fetch was attempted (ISO 8601 UTC).
    public var lastFetchAt: String?
    /// Why it failed, or nil when it worked.
    public var lastFetchError: String?
    /// The remote tip last fetched.
    public var fetchedTip: String?
    /// The refused commit that blocks this store, if any.
    public var blocked: BlockedCommit?
    /// When the last push succeeded.
    public var lastPushAt: String?
    /// Why the last push failed, or nil.
    public var lastPushError: String?
    /// Refused history kept for forensics, and how much was pruned.
    public var refusedHistory: RefusedHistorySummary?
    /// When a sync last ended `ok` having reached the remote (or `init` pushed the
    /// introduction): what `--alert-after` is measured from.
    public var lastSuccessAt: String?
    /// The last sync's phases and their times (for `status --prometheus`).
    public var lastPhases: [StoreSyncReport.Phase]?
    /// Why this writer's proposal branch cannot take its pending memories, while it cannot
    /// (`status` shows it until a sync proposes again).
    public var proposalRefused: String?

    /// Creates an empty state.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case lastFetchAt = "last_fetch_at", lastFetchError = "last_fetch_error", fetchedTip = "fetched_tip", blocked
        case lastPushAt = "last_push_at", lastPushError = "last_push_error", refusedHistory = "refused_history"
        case lastSuccessAt = "last_success_at", lastPhases = "last_phases", proposalRefused = "proposal_refused"
    }
}

/// A commit the trust model refused, and why.
public struct BlockedCommit: Sendable, Codable, Hashable {
    /// Why.
    public var reason: String
    /// The commit.
    public var commit: String

    /// Creates a record.
    public init(reason: String, commit: String) {
        self.reason = reason
        self.commit = commit
    }
}

/// An exclusive lock on a store's `sync.lock`, held with `flock`: the kernel drops it when the
/// process dies, so a killed sync never leaves a store locked.
final class StoreLock {
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }

    /// Takes the lock, polling until `wait` seconds have passed; nil when another process holds
    /// it. `waiting` is called once, when the lock is busy and the wait begins.
    static func acquire(_ path: String, wait: Double, waiting: () -> Void = {}) throws(SFGitError) -> StoreLock? {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, OwnerOnly.fileMode)
        guard descriptor >= 0 else { throw SFGitError(.internalError, "cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        // flock needs only a descriptor: a lock file others can open lets them hold every sync off.
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o077 != 0 { fchmod(descriptor, OwnerOnly.fileMode) }
        let deadline = Date().addingTimeInterval(wait)
        var told = false
        while true {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return StoreLock(descriptor: descriptor) }
            if Date() >= deadline {
                close(descriptor)
                return nil
            }
            if !told {
                told = true
                waiting()
            }
            usleep(20_000)
        }
    }
}

/// The current time as ISO 8601 UTC.
func isoNow() -> String {
    Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).text
}

import Foundation
import SFGitIndex
import SFGitMemory

/// What shell completion offers beyond the command tree: memory kinds, this home's store names
/// and its memories' ids. Never fails: a completion that cannot read the home offers nothing.
public enum ShellCompletion {
    /// The kinds sfgit knows (docs/FORMAT.md § Kinds).
    public static var kinds: [String] { MemoryKind.known.map(\.name) }

    /// The stores of the home the environment names (`SFGIT_HOME` and its defaults).
    public static func storeNames(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        (try? Home.fromEnvironment(environment).loadConfig())?.stores.map(\.name) ?? []
    }

    /// The memory ids in this home's caches that start with `prefix`, newest first (at most
    /// `limit` per store), for the id arguments of `show` and `retract` and `--supersedes`. Read
    /// through read-only connections: completing never rebuilds or waits for a cache.
    public static func memoryIDs(prefix: String, limit: Int = 200,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        let home = Home.fromEnvironment(environment)
        guard let config = try? home.loadConfig() else { return [] }
        let ids = config.stores.flatMap { entry in
            MemoryIndex.openForReading(path: Store(config: entry, home: home).cachePath)
                .flatMap { try? $0.ids(withPrefix: prefix, limit: limit) } ?? []
        }
        // Shells keep only the candidates that start with what was typed, case and all: ids are
        // upper case, and sfgit reads them in any case, so a lower-case prefix gets them lower-cased.
        let typedLowerCase = prefix.contains { $0.isLowercase }
        return Array(Set(ids)).sorted(by: >).map { typedLowerCase ? $0.lowercased() : $0 }
    }
}

import Foundation
import SFGitMemory

/// What shell completion offers beyond the command tree: memory kinds and this home's store
/// names. Never fails: a completion that cannot read the home offers nothing.
public enum ShellCompletion {
    /// The kinds sfgit knows (docs/FORMAT.md § Kinds).
    public static var kinds: [String] { MemoryKind.known.map(\.name) }

    /// The stores of the home the environment names (`SFGIT_HOME` and its defaults).
    public static func storeNames(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        (try? Home.fromEnvironment(environment).loadConfig())?.stores.map(\.name) ?? []
    }
}

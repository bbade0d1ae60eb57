import Foundation
import SFGitProcess

/// The few things libgit2 1.5 cannot do to a repository (it has no gc, prune or repack), done by
/// the `git` program on PATH — the same one the local transport runs. Nothing here reads the
/// user's hooks, and git is asked never to run its own automatic gc.
///
/// git reads every commit it walks whole, and refused history can hold a commit of hundreds of
/// MB (refused from its header before sfgit read it): git runs here with its data capped at
/// `maintenanceMemoryCap`, and a step that fails on it is reported as unknown, never retried.
extension Repository {
    /// The most memory (`RLIMIT_DATA`) git may map for its data here.
    public static let maintenanceMemoryCap = 128 << 20

    /// Whether `git` is available for `diskUsage` and `dropUnreachableObjects`.
    public static var canMaintain: Bool { LocalGitTransport.git != nil }

    /// The bytes on disk of the objects reachable from `tips` and from no reference outside
    /// `ignoring` (reference names or globs, such as `refs/sfgit/quarantine/*`): what deleting
    /// those references and `dropUnreachableObjects` would give back. Nil without git.
    public func diskUsage(reachableFrom tips: [ObjectID], ignoring: [String]) -> Int? {
        guard !tips.isEmpty else { return 0 }
        let arguments = ["rev-list", "--objects", "--disk-usage"] + tips.map(\.hex)
            + ["--not"] + ignoring.map { "--exclude=\($0)" } + ["--all"]
        guard let (status, output) = runGit(arguments), status == 0 else { return nil }
        return Int(output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Rewrites the object store as one pack of what the references reach (`git repack -a -d`),
    /// so that objects no reference reaches any more leave the disk. Fetched objects live in
    /// packs, which `git prune` never touches; loose objects nothing reaches are left alone (one
    /// written by a `remember` running now may not have its reference yet). Returns git's error, or nil.
    @discardableResult
    public func dropUnreachableObjects() -> String? {
        guard let (status, output) = runGit(["repack", "-a", "-d", "-q"]) else { return "git is not installed" }
        return status == 0 ? nil : "git repack exited \(status): \(output.prefix(500))"
    }

    /// Runs git on this repository under `maintenanceMemoryCap`: its status and what it printed
    /// on stdout, then stderr; nil when git is missing or cannot start.
    private func runGit(_ arguments: [String]) -> (Int32, String)? {
        guard let git = LocalGitTransport.git else { return nil }
        let command = ChildCommand(
            git, ["--git-dir", path, "-c", "core.hooksPath=/dev/null", "-c", "gc.auto=0", "-c", "core.fsmonitor=false"] + arguments,
            environment: ProcessInfo.processInfo.environment.filter { !LocalGitTransport.localRepositoryVariables.contains($0.key) },
            dataLimitBytes: Self.maintenanceMemoryCap)
        guard let result = try? Launcher.run(command) else { return nil }
        return (result.shellStatus, result.outputText + result.errorText)
    }
}

import Foundation
internal import SFGitPOSIX

/// Ties a child's life to the process that started it.
public enum ParentBinding {
    /// The environment variable in which a parent passes its pid to a child that binds to it.
    public static let variable = "SFGIT_PARENT_PID"

    /// Makes the kernel kill this process when the thread of its parent that started it ends (a
    /// sync killed with -9 must not leave its network step writing refs on alone); false when that
    /// parent is already gone, or this process was not started by one that set `variable`. The
    /// parent's pid comes from the parent itself: read here, it could already be init's.
    public static func dieWithParent(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let text = environment[variable], let parent = Int32(text) else { return false }
        _ = sfgit_kill_on_parent_death()
        return getppid() == parent
    }

    /// `environment` with this process named as the parent.
    public static func naming(thisProcessIn environment: [String: String]) -> [String: String] {
        var environment = environment
        environment[variable] = String(getpid())
        return environment
    }
}

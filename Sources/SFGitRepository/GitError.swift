internal import SFGitLibgit2

/// A libgit2 failure: the C function, libgit2's return code and error class, and its message.
public struct GitError: Error, Sendable, CustomStringConvertible {
    /// The C function that failed (or the Swift operation, for sfgit's own checks).
    public var function: String
    /// libgit2's return code (`GIT_ENOTFOUND` = -3, `GIT_EMODIFIED` = -15, …).
    public var code: Int32
    /// libgit2's error class (`GIT_ERROR_NET` = 12, `GIT_ERROR_SSH` = 23, …), or 0.
    public var errorClass: Int32
    /// libgit2's message, copied when the error happened.
    public var message: String

    /// Creates an error.
    public init(function: String, code: Int32, errorClass: Int32 = 0, message: String) {
        self.function = function
        self.code = code
        self.errorClass = errorClass
        self.message = message
    }

    /// The object or reference was not found.
    public var isNotFound: Bool { code == GIT_ENOTFOUND.rawValue }
    /// A compare-and-swap lost: the reference moved since it was read.
    public var isModified: Bool { code == GIT_EMODIFIED.rawValue }
    /// A reference that had to be new already exists.
    public var isExists: Bool { code == GIT_EEXISTS.rawValue }
    /// libgit2 refused a push as not fast-forward from the refs the remote advertised.
    public var isNonFastForward: Bool { code == GIT_ENONFASTFORWARD.rawValue }
    /// A network step sfgit stopped at its deadline (`GIT_EUSER`: libgit2 never returns it itself).
    public var isTimeout: Bool { code == GIT_EUSER.rawValue }
    /// sfgit's own code for an object that breaks git's rules for what it may hold: a tree that
    /// is not canonical, an object of the wrong type where a tree or blob is named, an object
    /// over its size cap. Outside libgit2's range of codes.
    public static let malformedObjectCode: Int32 = -1000
    /// The object breaks git's rules (see `malformedObjectCode`): history holding it is refused.
    public var isMalformedObject: Bool { code == Self.malformedObjectCode }

    /// An error for an object that breaks git's rules.
    static func malformed(_ function: String, _ message: String) -> GitError {
        GitError(function: function, code: malformedObjectCode, message: message)
    }

    /// The C function, its error code and libgit2's message.
    public var description: String { "\(function) failed (\(code)): \(message)" }
}

/// The one funnel for libgit2 return codes: reads `git_error_last()` at once, on this thread.
@inline(__always)
func check(_ result: Int32, _ function: @autoclosure () -> String) throws(GitError) {
    guard result < 0 else { return }
    throw lastError(result, function())
}

/// The current thread's libgit2 error, copied into a Swift value.
func lastError(_ result: Int32, _ function: String) -> GitError {
    if let error = git_error_last() {
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        return GitError(function: function, code: result, errorClass: error.pointee.klass, message: message)
    }
    return GitError(function: function, code: result, message: "unknown error")
}

/// Initialises libgit2 once per process and shuts out every configuration file outside the
/// repository: nothing is read from the user's global, XDG or system git config.
enum Libgit2 {
    static let initialised: Bool = {
        git_libgit2_init()
        for level in [GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA] {
            _ = sfgit_opts_set_search_path(Int32(level.rawValue), "")
        }
        _ = sfgit_opts_enable_fsync_gitdir(1)
        // Every object here entered through libgit2's indexer, which names each object of a
        // received pack by hashing its content, or through sfgit's own writes. Re-hashing each
        // read as well (the default) only re-checks the local disk, and cost a third of a
        // 100,000-memory clone's verification: every version of every month tree, SHA-1 with
        // collision detection, again.
        _ = sfgit_opts_enable_strict_hash_verification(0)
        // libgit2 caches parsed trees only up to 4 KiB; a month directory of a busy store is far
        // larger, and re-inflating its delta chain for every commit dominated verification.
        _ = sfgit_opts_set_cache_object_limit(GIT_OBJECT_TREE, 4 << 20)
        _ = sfgit_opts_set_cache_object_limit(GIT_OBJECT_COMMIT, 64 << 10)
        // Each tree is needed again only by the next commit's diff, and the repository holds its
        // recent trees itself (`RecentTrees`). This cache counts raw object bytes while a parsed
        // tree takes about twice that: kept small, a 100,000-memory clone stays under its bound.
        _ = sfgit_opts_set_cache_max_size(4 << 20)
        // Pack files are read through mapped windows (1 GiB each by default): every page a clone
        // touches stays resident until the window closes. Small windows under a small total let
        // libgit2 unmap the least recently used, so a big pack costs a bounded share of memory.
        _ = sfgit_opts_set_mwindow_size(8 << 20)
        _ = sfgit_opts_set_mwindow_mapped_limit(32 << 20)
        return true
    }()

    static func ensure() { precondition(initialised) }
}

/// Process-wide libgit2 settings.
public enum GitSettings {
    /// Whether object and reference writes are fsynced (on by default, so that a commit sfgit
    /// reports as written survives a crash). Benchmarks that build large fixtures turn it off.
    public static func setFsync(_ enabled: Bool) {
        Libgit2.ensure()
        _ = sfgit_opts_enable_fsync_gitdir(enabled ? 1 : 0)
    }
}

import Foundation

/// Owner-only files and directories: everything sfgit keeps in `SFGIT_HOME` (the configuration,
/// each store's repository, cache, lock and state) is readable and writable by its user alone.
///
/// The modes are set explicitly rather than through the process umask: the umask is global to a
/// process (a library caller such as an MCP server shares it with everything else it runs), and
/// sfgit's own children inherit it — the `git receive-pack` of a `file://` push writes into a
/// shared remote, whose group-readable files a umask of 077 would break for every other user.
/// The home, `stores/`, each store directory and its `repo.git` are 0700, so what libgit2 and
/// SQLite create inside them under the ordinary umask is out of every other user's reach; the
/// files sfgit writes itself are created 0600.
/// docs/TRUST.md § Local state.
public enum OwnerOnly {
    /// The mode of every directory sfgit creates in a home.
    public static let directoryMode: mode_t = 0o700
    /// The mode of every file sfgit creates in a home.
    public static let fileMode: mode_t = 0o600

    /// Why another user could change the file or directory at `path` (group or other write
    /// permission, or another owner); nil when only this user can, or when it does not exist.
    public static func foreignWriter(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = info.st_mode & 0o7777
        if info.st_uid != geteuid() {
            return "it is owned by uid \(info.st_uid), not by this user (uid \(geteuid()))"
        }
        if mode & 0o022 != 0 {
            return "other users can write it (mode \(String(mode, radix: 8, uppercase: false).leftPadded(to: 4)))"
        }
        return nil
    }

    /// Creates the directory `path` (its missing parents with ordinary modes) as 0700. An existing
    /// one of this user's that others can read or write is tightened to 0700; one owned by another
    /// user is refused.
    public static func directory(_ path: String) throws(OwnerOnlyError) {
        if mkdir(path, directoryMode) == 0 {
            chmod(path, directoryMode)  // exactly 0700, whatever the umask
            return
        }
        if errno == ENOENT {
            let parent = (path as NSString).deletingLastPathComponent
            do { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
                throw OwnerOnlyError(path: parent, problem: "\(error)")
            }
            if mkdir(path, directoryMode) == 0 || errno == EEXIST { chmod(path, directoryMode); return }
        }
        guard errno == EEXIST else { throw OwnerOnlyError(path: path, problem: String(cString: strerror(errno))) }
        try tighten(path)
    }

    /// Tightens an existing directory of this user's to 0700; refuses one another user owns.
    public static func tighten(_ path: String) throws(OwnerOnlyError) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw OwnerOnlyError(path: path, problem: "it is not a directory") }
        guard info.st_uid == geteuid() else {
            throw OwnerOnlyError(path: path, problem: "it is owned by uid \(info.st_uid), not by this user (uid \(geteuid())); run sfgit as its owner or use another SFGIT_HOME")
        }
        if info.st_mode & 0o077 != 0 { chmod(path, directoryMode) }
    }

    /// Creates an empty 0600 file at `path` unless something is there already.
    public static func createFile(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, fileMode)
        if descriptor >= 0 {
            fchmod(descriptor, fileMode)
            close(descriptor)
        }
    }

    /// Replaces the file at `path` with `bytes` atomically (a crash leaves the old file or the new
    /// one), as a 0600 file written and fsynced before it is renamed into place.
    public static func write(_ bytes: Data, to path: String) throws(OwnerOnlyError) {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, fileMode)
        guard descriptor >= 0 else { throw OwnerOnlyError(path: temporary, problem: String(cString: strerror(errno))) }
        fchmod(descriptor, fileMode)
        var failure: String?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw OwnerOnlyError(path: path, problem: failure)
        }
    }
}

/// A home path sfgit cannot make or keep owner-only.
public struct OwnerOnlyError: Error, CustomStringConvertible {
    /// The path.
    public var path: String
    /// What is wrong.
    public var problem: String
    /// `path: problem`.
    public var description: String { "\(path): \(problem)" }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

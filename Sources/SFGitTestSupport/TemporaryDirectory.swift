import Foundation

/// A fresh directory under the system's temporary directory, removed when the value is released.
// @unchecked Sendable: its only stored property is a constant path; the directory is removed once, in deinit.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The directory's absolute path.
    public let path: String

    /// Creates the directory; `prefix` names it for people looking at /tmp.
    public init(prefix: String = "sfgit-test") throws {
        let template = NSTemporaryDirectory() + "/\(prefix).XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let result = mkdtemp(&bytes) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: template])
        }
        path = String(cString: result)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The absolute path of a relative path inside the directory.
    public func url(_ relative: String) -> String {
        relative.isEmpty ? path : path + "/" + relative
    }

    /// Writes bytes to a relative path, creating parent directories.
    @discardableResult
    public func write(_ relative: String, bytes: [UInt8]) throws -> String {
        let full = url(relative)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: full])
        }
        return full
    }

    /// Writes UTF-8 text to a relative path, creating parent directories.
    @discardableResult
    public func write(_ relative: String, _ text: String) throws -> String {
        try write(relative, bytes: Array(text.utf8))
    }
}

/// Counts outcomes by name across the cases of a property check (which may run concurrently).
// @unchecked Sendable: `values` is read and written under `lock`.
public final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: Int] = [:]

    /// An empty tally.
    public init() {}

    /// Counts one `name`.
    public func add(_ name: String) { lock.withLock { values[name, default: 0] += 1 } }

    /// How many `name` were counted.
    public func count(_ name: String) -> Int { lock.withLock { values[name, default: 0] } }

    /// Every count.
    public var counts: [String: Int] { lock.withLock { values } }
}

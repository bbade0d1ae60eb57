import Foundation

/// Where the package's files and built products are, for tests.
public enum PackagePaths {
    /// The package's root directory (the one holding Package.swift).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// The `examples/` directory.
    public static var examples: String { root + "/examples" }

    /// The Python that runs the tests' scripts: the virtual environment `make setup` makes at
    /// `.build/venv` (with scripts/requirements-test.txt installed), else `python3` on PATH.
    public static let python: String = {
        let venv = root + "/.build/venv/bin/python3"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }()

    /// The built `sfgit` executable next to the test bundle (SwiftPM builds it because the test
    /// target depends on it).
    public static let sfgitBinary: String = {
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["SFGIT_BINARY"] { candidates.append(override) }
        let bundleDirectory = Bundle.main.bundleURL
        candidates.append(bundleDirectory.appendingPathComponent("sfgit").path)
        candidates.append(bundleDirectory.deletingLastPathComponent().appendingPathComponent("sfgit").path)
        for argument in CommandLine.arguments.prefix(1) {
            candidates.append(URL(fileURLWithPath: argument).deletingLastPathComponent().appendingPathComponent("sfgit").path)
        }
        candidates.append(root + "/.build/debug/sfgit")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }()

    /// Runs the built `sfgit` with arguments.
    public static func runSFGit(
        _ arguments: [String], environment: [String: String?] = [:], currentDirectory: String? = nil,
        stdin: Data? = nil, timeout: TimeInterval = 120
    ) throws -> ProcessResult {
        try ProcessRunner.run(sfgitBinary, arguments, environment: environment,
                              currentDirectory: currentDirectory ?? root, stdin: stdin, timeout: timeout)
    }
}

import Foundation
import Logging
import SFGitMemory
import SFGitTrust

/// One problem or warning reported by `sfgit check`, positioned in a file.
public struct CheckFinding: Sendable, Hashable, Codable {
    /// The file, as reached from the paths given on the command line.
    public var path: String
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int
    /// A stable kebab-case name of the reason (`duplicate-key`, `id-path-mismatch`, …).
    public var code: String
    /// The sentence shown to people.
    public var message: String
}

/// The result of checking files: how many were checked, and what was found.
public struct CheckReport: Sendable, Codable {
    /// Files checked (memory files and `.sfgit/*`; a stray file counts too).
    public var files: Int
    /// Errors; any error makes the check fail with INVALID.
    public var problems: [CheckFinding]
    /// Warnings, which do not fail the check.
    public var warnings: [CheckFinding]

    /// Whether every file passed.
    public var isValid: Bool { problems.isEmpty }
}

/// Validates memory files in working trees (a store's clone) or given files.
///
/// A directory that holds `memories/` or `.sfgit/` is a store root: everything in it is checked,
/// path rules included, so a stray file anywhere is a problem. Another directory is searched for
/// store roots and `.yaml` files. A file inside a store is checked with its store path; a file
/// outside any store is checked for its content only.
public struct StoreChecker: Sendable {
    /// The limits applied to each memory file.
    public var limits: MemoryLimits
    private let logger = Logger(label: "sfgit.check")

    /// The codes the checker gives itself, beside those of memory files, the policy and
    /// allowed_signers.
    public enum Code: String, Sendable, CaseIterable {
        /// A symbolic link or special file in a store.
        case notARegularFile = "not-a-regular-file"
        /// A file that could not be read.
        case unreadable
        /// A key in allowed_signers whose principal the policy does not list with a role.
        case principalNotInPolicy = "principal-not-in-policy"
        /// A trust file over `Policy.maxTrustFileBytes` (the memory files' code, reused).
        case trustFileTooLarge = "file-too-large"
    }

    /// Every code `check` can report: the union of the enums each reader gives its problems.
    public static var reportableCodes: Set<String> {
        var codes = Set<String>()
        codes.formUnion(MemoryProblem.Code.allCases.map(\.rawValue))
        codes.formUnion(Policy.Code.allCases.map(\.rawValue))
        codes.formUnion(AllowedSigners.Problem.Code.allCases.map(\.rawValue))
        codes.formUnion(Code.allCases.map(\.rawValue))
        return codes
    }

    /// Creates a checker.
    public init(limits: MemoryLimits = .default) {
        self.limits = limits
    }

    /// Checks the given paths; a path that does not exist is a usage error.
    public func check(paths: [String]) throws(SFGitError) -> CheckReport {
        var report = CheckReport(files: 0, problems: [], warnings: [])
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw SFGitError(.usage, "\(path): no such file or directory")
            }
            if isDirectory.boolValue {
                checkDirectory(path, into: &report)
            } else if let root = Self.enclosingStoreRoot(of: path) {
                checkStoreFile(displayPath: path, storePath: Self.relative(path, to: root), into: &report)
            } else {
                checkMemoryFile(displayPath: path, storePath: nil, into: &report)
            }
        }
        report.problems.sort { ($0.path, $0.line, $0.column) < ($1.path, $1.line, $1.column) }
        report.warnings.sort { ($0.path, $0.line, $0.column) < ($1.path, $1.line, $1.column) }
        return report
    }

    /// Whether a directory is a store's root (it holds `memories/` or `.sfgit/`).
    public static func isStoreRoot(_ directory: String) -> Bool {
        var isDirectory: ObjCBool = false
        for marker in ["memories", ".sfgit"] {
            if FileManager.default.fileExists(atPath: join(directory, marker), isDirectory: &isDirectory), isDirectory.boolValue {
                return true
            }
        }
        return false
    }

    private func checkDirectory(_ directory: String, into report: inout CheckReport) {
        if Self.isStoreRoot(directory) {
            checkStore(root: directory, into: &report)
            return
        }
        for name in Self.sortedChildren(of: directory) where name != ".git" {
            let child = Self.join(directory, name)
            switch Self.fileType(child) {
            case .directory: checkDirectory(child, into: &report)
            case .regular where name.hasSuffix(".yaml") || name.hasSuffix(".yml"):
                checkMemoryFile(displayPath: child, storePath: nil, into: &report)
            default: break
            }
        }
    }

    /// Checks every file under a store root (a clone's `.git` aside); memory files are held to
    /// the store's own size limit when its policy is readable.
    private func checkStore(root: String, into report: inout CheckReport) {
        logger.debug("checking store", metadata: ["root": "\(root)"])
        var checker = self
        let trust = lintTrustFiles(root: root, into: &report)
        if let policy = trust.policy { checker.limits = policy.memoryLimits }
        var pending = [""]
        while let relativeDirectory = pending.popLast() {
            for name in Self.sortedChildren(of: Self.join(root, relativeDirectory)).reversed() {
                if relativeDirectory.isEmpty && name == ".git" { continue }
                let relative = relativeDirectory.isEmpty ? name : relativeDirectory + "/" + name
                let full = Self.join(root, relative)
                switch Self.fileType(full) {
                case .directory:
                    pending.append(relative)
                case .regular:
                    if relative == ".sfgit/policy.yaml" || relative == ".sfgit/allowed_signers" { continue }  // linted above
                    checker.checkStoreFile(displayPath: full, storePath: relative, into: &report)
                case .other:
                    report.files += 1
                    report.problems.append(CheckFinding(
                        path: full, line: 1, column: 1, code: Code.notARegularFile.rawValue,
                        message: "only regular files belong in a store; symbolic links and special files are refused"))
                }
            }
        }
    }

    private func checkStoreFile(displayPath: String, storePath: String, into report: inout CheckReport) {
        switch StoreEntry.classify(storePath) {
        case .memory:
            checkMemoryFile(displayPath: displayPath, storePath: storePath, into: &report)
        case .policy, .allowedSigners:
            // A single trust file given on its own: lint the store it belongs to.
            if let root = Self.enclosingStoreRoot(of: displayPath) {
                var scratch = CheckReport(files: 0, problems: [], warnings: [])
                _ = lintTrustFiles(root: root, into: &scratch)
                let name = (displayPath as NSString).lastPathComponent
                report.files += 1
                report.problems += scratch.problems.filter { ($0.path as NSString).lastPathComponent == name }
            }
        case .readme, .forgeConfiguration:
            break
        case .invalid(let problem):
            report.files += 1
            let finding = MemoryProblem(.path(problem), at: .start)
            report.problems.append(CheckFinding(path: displayPath, line: 1, column: 1, code: finding.code, message: finding.message))
        }
    }

    private func checkMemoryFile(displayPath: String, storePath: String?, into report: inout CheckReport) {
        report.files += 1
        let parser = MemoryParser(limits: limits)
        do {
            // The size comes from the file system, so an oversized file is never read.
            let size = Self.fileSize(displayPath)
            try parser.checkSize(size)
            guard let data = FileManager.default.contents(atPath: displayPath) else {
                report.problems.append(CheckFinding(path: displayPath, line: 1, column: 1, code: Code.unreadable.rawValue, message: "file could not be read"))
                return
            }
            let parsed = try parser.parse([UInt8](data), storePath: storePath)
            for warning in parsed.warnings {
                report.warnings.append(CheckFinding(
                    path: displayPath, line: warning.position.line, column: warning.position.column,
                    code: warning.code, message: warning.message))
            }
        } catch {
            for problem in error.problems {
                report.problems.append(CheckFinding(
                    path: displayPath, line: problem.position.line, column: problem.position.column,
                    code: problem.code, message: problem.message))
            }
        }
    }

    /// Lints `.sfgit/policy.yaml` and `.sfgit/allowed_signers` of a store, and that every key's
    /// principal has an entry in the policy. Returns what could be read.
    private func lintTrustFiles(root: String, into report: inout CheckReport) -> (policy: Policy?, signers: AllowedSigners?) {
        let policyPath = Self.join(root, ".sfgit/policy.yaml")
        let signersPath = Self.join(root, ".sfgit/allowed_signers")
        for path in [policyPath, signersPath] where Self.fileType(path) == .regular {
            let size = Self.fileSize(path)
            if size > Policy.maxTrustFileBytes {
                report.files += 1
                report.problems.append(CheckFinding(path: path, line: 1, column: 1, code: Code.trustFileTooLarge.rawValue,
                                                   message: "file is \(size) bytes, over the limit of \(Policy.maxTrustFileBytes) bytes for trust files"))
                return (nil, nil)
            }
        }
        let policy = lintTrustFile(policyPath, into: &report) { (bytes) throws(PolicyError) in try Policy.parse(bytes) } findings: { error in
            error.problems.map { CheckFinding(path: policyPath, line: $0.position.line, column: $0.position.column, code: $0.code, message: $0.message) }
        }
        let signers = lintTrustFile(signersPath, into: &report) { (bytes) throws(AllowedSignersError) in try AllowedSigners.parse(bytes) } findings: { error in
            error.problems.map { CheckFinding(path: signersPath, line: $0.line, column: $0.column, code: $0.problem.code, message: $0.problem.description) }
        }
        if let policy, let signers {
            for entry in policy.keysWithoutRole(in: signers) {
                report.problems.append(CheckFinding(
                    path: signersPath, line: entry.line, column: 1, code: Code.principalNotInPolicy.rawValue,
                    message: Policy.keyWithoutRoleMessage(entry)))
            }
        }
        return (policy, signers)
    }

    /// Reads and parses one trust file if it exists, turning its parse error into findings.
    private func lintTrustFile<Value, Failure: Error>(
        _ path: String, into report: inout CheckReport, parse: ([UInt8]) throws(Failure) -> Value, findings: (Failure) -> [CheckFinding]
    ) -> Value? {
        guard Self.fileType(path) == .regular, let data = FileManager.default.contents(atPath: path) else { return nil }
        report.files += 1
        do {
            return try parse([UInt8](data))
        } catch {
            report.problems += findings(error)
            return nil
        }
    }

    // MARK: - File system helpers

    /// A file's size in bytes from the file system (0 when unreadable).
    static func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    enum FileType { case regular, directory, other }

    /// The type of a path without following symbolic links.
    static func fileType(_ path: String) -> FileType {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .other }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    static func sortedChildren(of directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static func join(_ directory: String, _ name: String) -> String {
        if directory.isEmpty { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The nearest ancestor directory of a file that is a store root.
    static func enclosingStoreRoot(of file: String) -> String? {
        var url = URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent()
        while url.path != "/" {
            if isStoreRoot(url.path) { return url.path }
            url.deleteLastPathComponent()
        }
        return nil
    }

    static func relative(_ file: String, to root: String) -> String {
        let full = URL(fileURLWithPath: file).standardizedFileURL.path
        return String(full.dropFirst(root.count).drop { $0 == "/" })
    }
}

import Foundation
import SFGit
import SFGitMemory
import SFGitTrust
import SFGitTestSupport
import Testing

/// The JSON Schema in schema/ and the Swift validator must agree. Python's `jsonschema` (with
/// PyYAML) is the independent judge: it shares no code with sfgit.
@Suite("JSON Schema agrees with the Swift validator")
struct SchemaAgreementTests {
    struct Verdict: Decodable {
        var path: String
        var loaded: Bool
        var valid: Bool
        var error: String?
    }

    static func pythonVerdicts(_ files: [String], policy: Bool = false) throws -> [String: Verdict] {
        let result = try ProcessRunner.run(PackagePaths.python, [PackagePaths.root + "/schema/validate.py"] + (policy ? ["--policy"] : []) + files)
        #expect(result.exitCode == 0, "\(result.stderr)")
        var verdicts: [String: Verdict] = [:]
        for line in result.stdout.split(separator: "\n") {
            let verdict = try JSONDecoder().decode(Verdict.self, from: Data(line.utf8))
            verdicts[verdict.path] = verdict
        }
        return verdicts
    }

    /// For each `key: value` line that `include` accepts, one file without the line and one per
    /// replacement value; returns their paths.
    static func writeVariants(
        of lines: [String], replacements: [String], into dir: TemporaryDirectory, prefix: String, include: (String) -> Bool
    ) throws -> [String] {
        var files: [String] = []
        for (i, line) in lines.enumerated() {
            guard let colon = line.firstIndex(of: ":"), include(line) else { continue }
            let key = line[..<colon]
            var removed = lines
            removed.remove(at: i)
            files.append(try dir.write("\(prefix)-\(i)-removed.yaml", removed.joined(separator: "\n")))
            for (r, replacement) in replacements.enumerated() {
                var changed = lines
                changed[i] = "\(key): \(replacement)"
                files.append(try dir.write("\(prefix)-\(i)-\(r).yaml", changed.joined(separator: "\n")))
            }
        }
        return files
    }

    /// Codes for rules the schema states; the others (YAML hygiene, paths, size) are sfgit's alone.
    static let schemaCodes: Set<String> = [
        "missing-field", "wrong-type", "invalid-value", "invalid-timestamp", "unsupported-schema",
        "not-a-mapping", "missing-document", "too-many-documents",
    ]

    @Test("examples: the store is valid for both; schema-level errors are errors for both")
    func examples() throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: PackagePaths.examples)
            .filter { ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) && !$0.contains(".sfgit/") }
            .map { PackagePaths.examples + "/" + $0 }
        let verdicts = try Self.pythonVerdicts(files)
        #expect(verdicts.count == files.count)
        var schemaLevel = 0
        for file in files {
            let report = try StoreChecker().check(paths: [file])
            let python = try #require(verdicts[file])
            if file.contains("/examples/store/") {
                #expect(report.isValid && python.valid, "\(file): \(report.problems) / \(python.error ?? "")")
            } else {
                // Two entries hold a valid memory and are refused only as part of their store:
                // a stray file beside it, and the memory reached through a symbolic link.
                #expect(!report.isValid || file.contains("/stray-file/") || file.contains("/not-a-regular-file/"), "\(file) accepted by sfgit")
                if let code = report.problems.first?.code, Self.schemaCodes.contains(code) {
                    schemaLevel += 1
                    #expect(!python.valid, "\(file): sfgit says \(code), the schema accepts it")
                }
            }
        }
        #expect(schemaLevel >= 7)
    }

    /// Every top-level field of each sample memory removed, or replaced by values of other types.
    @Test("generated variants of the sample store get the same verdict from both")
    func variants() throws {
        let store = PackagePaths.examples + "/store/memories"
        let originals = try FileManager.default.subpathsOfDirectory(atPath: store).filter { $0.hasSuffix(".yaml") }.sorted()
        let replacements = ["42", "-1", "1.5", "true", "null", "''", "[x]", "[]", "{a: 1}", "'two\\nlines'", "2026-02-03T04:05:06Z", "'01KP0GDKE0R84P57VFQVC2R1YD'", "open", "Upper Case"]
        let dir = try TemporaryDirectory()
        var files: [String] = []
        for (n, original) in originals.enumerated() {
            let lines = try String(contentsOfFile: store + "/" + original, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            // Top-level `key: value` lines only; block bodies and nested fields are left alone.
            files += try Self.writeVariants(of: lines, replacements: replacements, into: dir, prefix: "v\(n)") {
                !$0.hasPrefix(" ") && !$0.hasPrefix("-") && !$0.hasSuffix("|")
            }
        }
        #expect(files.count > 1000)
        let verdicts = try Self.pythonVerdicts(files)
        var disagreements: [String] = []
        var accepted = 0
        for file in files {
            let report = try StoreChecker().check(paths: [file])
            let python = try #require(verdicts[file])
            if report.isValid { accepted += 1 }
            // Both must load the file for the comparison to be about the schema.
            guard python.loaded, report.problems.allSatisfy({ Self.schemaCodes.contains($0.code) }) else { continue }
            if report.isValid != python.valid {
                let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
                disagreements.append("\(file): sfgit \(report.problems.map(\.message)) / schema \(python.error ?? "valid")\n\(text)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5).joined(separator: "\n---\n"))")
        #expect(accepted > 100 && accepted < files.count - 100)
    }

    /// Every top-level line of the sample policy removed or replaced, and principal entries altered.
    @Test("the policy schema and the Swift policy reader agree on examples and variants")
    func policyVariants() throws {
        let original = try String(contentsOfFile: PackagePaths.examples + "/store/.sfgit/policy.yaml", encoding: .utf8)
        let lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let replacements = ["1", "2", "0", "-3", "'x'", "[]", "[admin]", "{per_day: 5}", "null", "review", "direct", "main", "../x", "a@b", "Upper@Case", "[owner]", "2000000"]
        let dir = try TemporaryDirectory()
        var files: [String] = []
        files += try Self.writeVariants(of: lines, replacements: replacements, into: dir, prefix: "p") { !$0.hasPrefix("#") }
        files.append(PackagePaths.examples + "/store/.sfgit/policy.yaml")
        files.append(PackagePaths.examples + "/invalid/unsupported-policy-version/.sfgit/policy.yaml")
        let verdicts = try Self.pythonVerdicts(files, policy: true)
        var disagreements: [String] = []
        var accepted = 0
        for file in files {
            let python = try #require(verdicts[file])
            let swift: Result<Policy, PolicyError> = Result { () throws(PolicyError) in try Policy.parse([UInt8](try! Data(contentsOf: URL(fileURLWithPath: file)))) }
            var swiftValid = false
            var codes: [String] = []
            switch swift {
            case .success: swiftValid = true; accepted += 1
            case .failure(let error): codes = error.problems.map(\.code)
            }
            // Rules only sfgit states (YAML hygiene, duplicate principals) are left out of the comparison.
            let sfgitOnly: Set<String> = ["duplicate-key", "anchor", "alias", "explicit-tag", "duplicate-principal", "yaml-syntax", "tab-indentation"]
            guard python.loaded, codes.allSatisfy({ !sfgitOnly.contains($0) }) else { continue }
            if swiftValid != python.valid {
                disagreements.append("\(file): sfgit \(codes) / schema \(python.error ?? "valid")\n\((try? String(contentsOfFile: file, encoding: .utf8)) ?? "")")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(3).joined(separator: "\n---\n"))")
        #expect(accepted > 20 && accepted < files.count - 50, "accepted \(accepted) of \(files.count)")
    }
}

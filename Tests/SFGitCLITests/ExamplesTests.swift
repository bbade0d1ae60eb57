import Foundation
import SFGit
import SFGitMemory
import SFGitTestSupport
import Testing

@Suite("examples/")
struct ExamplesTests {
    @Test("every file of examples/store is valid, memories of every known kind among them")
    func storeIsValid() throws {
        let report = try StoreChecker().check(paths: [PackagePaths.examples + "/store"])
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.warnings.isEmpty)
        let kinds = try FileManager.default.contentsOfDirectory(atPath: PackagePaths.examples + "/store/memories")
        for kind in MemoryKind.known { #expect(kinds.contains(kind.name), "no \(kind) in the sample store") }
    }

    /// Each entry is named `<code>` or `<code>--<variant>` after the one error it shows.
    @Test("every file of examples/invalid is rejected for exactly its named reason")
    func invalidRejectedForNamedReason() throws {
        let directory = PackagePaths.examples + "/invalid"
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != "README.md" }.sorted()
        #expect(entries.count >= 25)
        for entry in entries {
            let expected = String(entry.split(separator: ".").first!.components(separatedBy: "--")[0])
            let report = try StoreChecker().check(paths: [directory + "/" + entry])
            #expect(report.problems.map(\.code) == [expected], "\(entry): \(report.problems)")
        }
    }

    /// Codes no file in a repository can show, with why.
    static let withoutExample: [String: String] = [
        "unreadable": "a file the checker may not read: git keeps no permission that denies reading, and root reads anything",
    ]

    /// The list of codes comes from the enums the readers give their problems, so a new code
    /// without an example fails here.
    @Test("every code sfgit check can report has its example in examples/invalid")
    func everyCodeHasAnExample() throws {
        let directory = PackagePaths.examples + "/invalid"
        let named = Set(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != "README.md" }
            .map { String($0.split(separator: ".").first!.components(separatedBy: "--")[0]) })
        let codes = StoreChecker.reportableCodes
        #expect(codes.count >= 45, "\(codes.sorted())")
        let missing = codes.subtracting(named).subtracting(Self.withoutExample.keys)
        #expect(missing.isEmpty, "codes without an example: \(missing.sorted())")
        #expect(named.subtracting(codes).isEmpty, "examples named for no code: \(named.subtracting(codes).sorted())")
        #expect(Set(Self.withoutExample.keys).isSubset(of: codes))
    }
}

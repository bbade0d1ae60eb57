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
}

import Foundation
import SFGit
import SFGitTestSupport
import Testing

@Suite("Oversized files")
struct LargeFileTests {
    /// Bytes this process has read through read(2) and friends, from /proc/self/io.
    static func bytesRead() throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/io", encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("rchar:") })
        return try #require(Int(line.split(separator: " ").last!))
    }

    @Test("a 50 MB file is refused on its size without being read")
    func fiftyMegabytes() throws {
        let dir = try TemporaryDirectory()
        let path = dir.url("huge.yaml")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 50 * 1024 * 1024)
        try handle.close()

        let before = try Self.bytesRead()
        let report = try StoreChecker().check(paths: [path])
        let read = try Self.bytesRead() - before
        #expect(report.problems.map(\.code) == ["file-too-large"])
        #expect(report.problems.first?.message == "file is 52428800 bytes, over the limit of 65536 bytes")
        // Other tests read small files concurrently; reading the 50 MB file would add 50 MB.
        #expect(read < 8 * 1024 * 1024, "read \(read) bytes")

        let cli = try PackagePaths.runSFGit(["check", path])
        #expect(cli.exitCode == 7)
        #expect(cli.stdout.hasPrefix("\(path):1:1: error: file is 52428800 bytes, over the limit of 65536 bytes"))
    }
}

import Foundation
import SFGitProcess

/// `sfgit-bench [NAME...]`: runs the named benchmarks (all by default) and prints each figure
/// next to its baseline. Build in release mode (`make bench`): debug numbers mean little.
/// `SFGIT_BENCH_FIXTURES=DIR` keeps generated repositories between runs; `SFGIT_BENCH_NO_BASELINE=1`
/// skips the git baselines (for profiling sfgit alone); `SFGIT_BENCH_SLOW=1` names recall queries
/// slower than 20 ms.
let benchmarks: [(name: String, run: () throws -> Void)] = [
    ("memory-parse", MemoryParseBenchmark.run),
    ("verify", VerifyBenchmark.run),
    ("index", IndexBenchmark.run),
    ("sync", SyncBenchmark.run),
    ("hostile", HostileSyncBenchmark.run),
    ("mcp", MCPBenchmark.run),
]

let selected = CommandLine.arguments.dropFirst()
if selected.isEmpty {
    // Each benchmark in a process of its own, so that memory figures (peak RSS) are not
    // inflated by what an earlier benchmark left behind.
    for benchmark in benchmarks {
        let child = try Launcher.spawn(ChildCommand(CommandLine.arguments[0], [benchmark.name], ownProcessGroup: false), stdin: 0, stdout: 1, stderr: 2)
        let status = Launcher.reap(child)
        guard status == 0 else { exit(status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)) }
    }
} else {
    for benchmark in benchmarks where selected.contains(benchmark.name) {
        try benchmark.run()
        print("")
    }
}

/// Seconds of the fastest of `runs` runs of `body`.
func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var fastest = Double.infinity
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        fastest = min(fastest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return fastest
}

/// Aligned result lines.
enum Report {
    static func row(_ label: String, value: Double, unit: String, note: String = "") {
        let number = value >= 100 ? String(format: "%.0f", value) : String(format: "%.3f", value)
        defer { fflush(nil) }
        print("  " + label.padding(toLength: 34, withPad: " ", startingAt: 0) + number.leftPadded(to: 10) + " " + unit + (note.isEmpty ? "" : "   " + note))
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}

/// Stops the benchmark with `message` on stderr when `condition` fails. Unlike `precondition`,
/// whose message a release build drops, this says which step failed and why.
func benchRequire(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "", file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    FileHandle.standardError.write(Data("sfgit-bench: step at \(file):\(line) failed\n\(message())\n".utf8))
    exit(1)
}

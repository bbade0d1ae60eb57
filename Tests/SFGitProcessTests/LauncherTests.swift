import Foundation
import SFGitProcess
import Testing

/// The one launcher every child process goes through: its pipes, its deadline, its caps.
@Suite("launcher: child processes with pipes, deadlines and caps")
struct LauncherTests {
    @Test("stdin goes in, stdout and stderr come back apart, the exit status is the child's")
    func roundTrip() throws {
        let result = try Launcher.run(ChildCommand("/bin/sh", ["-c", "cat; echo oops >&2; exit 3"]), input: Data("hello\n".utf8))
        #expect(result.outputText == "hello\n")
        #expect(result.errorText == "oops\n")
        #expect(result.exitStatus == 3 && result.signal == nil && !result.timedOut && !result.succeeded)
        #expect(try Launcher.run(ChildCommand("true")).succeeded, "a name is looked up on PATH")
    }

    @Test("megabytes both ways at once: the child never blocks on a full pipe, and neither does the parent")
    func largeStreams() throws {
        let input = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 % 251) })
        let result = try Launcher.run(ChildCommand("/bin/sh", ["-c", "tee /dev/stderr"]), input: input, deadline: Date().addingTimeInterval(60))
        #expect(result.succeeded)
        #expect(result.output == input && result.errors == input)
    }

    @Test("output past the limit is read and dropped, so the child runs to its end")
    func outputLimit() throws {
        let result = try Launcher.run(ChildCommand("head", ["-c", "5000000", "/dev/zero"]), deadline: Date().addingTimeInterval(60), outputLimit: 1_000)
        #expect(result.succeeded)
        #expect(result.output.count == 1_000)
    }

    @Test("a child that exits without reading its stdin costs no SIGPIPE here")
    func unreadInput() throws {
        let result = try Launcher.run(ChildCommand("true"), input: Data(count: 8 << 20), deadline: Date().addingTimeInterval(60))
        #expect(result.succeeded)
    }

    @Test("stderr lines reach the callback as they arrive, the last one without its newline too")
    func errorLines() throws {
        final class Lines: @unchecked Sendable { var all: [String] = [] }  // @unchecked Sendable: written by the run's own thread only
        let lines = Lines()
        let result = try Launcher.run(ChildCommand("/bin/sh", ["-c", "printf 'one\\ntwo\\nthree' >&2"]), errorLine: { lines.all.append($0) })
        #expect(result.succeeded)
        #expect(lines.all == ["one", "two", "three"])
    }

    @Test("at the deadline the child and everything it started are killed, and the run says so")
    func deadlineKillsTheGroup() throws {
        let scratch = NSTemporaryDirectory() + "/launcher-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let started = Date()
        let result = try Launcher.run(ChildCommand("/bin/sh", ["-c", "sleep 60 & echo $! > \(scratch)/grandchild; echo started; wait"]),
                                      deadline: Date().addingTimeInterval(0.5))
        #expect(result.timedOut && !result.succeeded)
        #expect(result.outputText == "started\n", "what it wrote before the deadline is kept")
        #expect(Date().timeIntervalSince(started) < 10)
        let grandchild = try #require(Int32(try String(contentsOfFile: scratch + "/grandchild", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        var gone = false
        for _ in 0..<200 where !gone {
            let state = (try? String(contentsOfFile: "/proc/\(grandchild)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
            gone = state == nil || state == "Z"
            if !gone { usleep(10_000) }
        }
        #expect(gone, "the background sleep outlived the deadline")
    }

    @Test("a memory cap holds for the child: an allocation past it fails there, not here")
    func memoryCap() throws {
        let python = try #require(Launcher.resolve("python3"), "python3 is needed (make setup installs it)")
        let allocate = ChildCommand(python, ["-c", "bytearray(200 * 1024 * 1024)"], dataLimitBytes: 64 << 20)
        let capped = try Launcher.run(allocate, deadline: Date().addingTimeInterval(60))
        #expect(!capped.succeeded)
        #expect(capped.errorText.contains("MemoryError"), "\(capped.errorText)")
        var uncapped = allocate
        uncapped.dataLimitBytes = nil
        #expect(try Launcher.run(uncapped, deadline: Date().addingTimeInterval(60)).succeeded)
    }

    @Test("launches from many threads at once each get their own pipes")
    func concurrentLaunches() throws {
        final class Answers: @unchecked Sendable {  // @unchecked Sendable: each slot written by one thread, read after all joined
            var values = [String?](repeating: nil, count: 48)
        }
        let answers = Answers()
        DispatchQueue.concurrentPerform(iterations: 48) { index in
            let result = try? Launcher.run(ChildCommand("/bin/sh", ["-c", "read line; echo \"$line-$0\"", "\(index)"]),
                                           input: Data("n\(index)\n".utf8), deadline: Date().addingTimeInterval(60))
            answers.values[index] = result?.outputText
        }
        for index in 0..<48 { #expect(answers.values[index] == "n\(index)-\(index)\n") }
    }

    @Test("a program that does not exist is an error naming it")
    func missingProgram() {
        #expect {
            try Launcher.run(ChildCommand("sfgit-no-such-program"))
        } throws: { error in
            "\(error)".contains("sfgit-no-such-program")
        }
    }
}

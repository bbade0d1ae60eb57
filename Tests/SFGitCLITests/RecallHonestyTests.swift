import Foundation
import SFGitTestSupport
import Testing

/// Answers that say what they left out, through the built binary: paging, a signer's share,
/// and "can't tell" never reported as "nothing".
@Suite("recall: honest result sets")
struct RecallHonestyTests {
    static func items(_ envelope: [String: Any]) -> [[String: Any]] { envelope["data"] as? [[String: Any]] ?? [] }
    static func codes(_ envelope: [String: Any]) -> [String] { (envelope["warnings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String } }

    /// `recall --json`, failing the test on an unparsable answer.
    static func recall(_ federation: Federation, _ member: Federation.Member, _ arguments: [String]) throws -> (ProcessResult, [String: Any]) {
        let (result, envelope) = try federation.json(member, ["recall"] + arguments)
        #expect(!envelope.isEmpty, "recall printed no envelope: \(result.stdout) \(result.stderr)")
        return (result, envelope)
    }

    @Test("no store configured is a usage error (exit 2), not 'no memories match'")
    func noStore() throws {
        let federation = try Federation()
        let lonely = try federation.newMember("lonely@host")
        let text = try federation.run(lonely, ["recall", "anything"])
        #expect(text.exitCode == 2)
        #expect(text.stderr.contains("no store yet"))
        #expect(!text.stdout.contains("no memories match"))
        #expect(try federation.json(lonely, ["recall"]).1["status"] as? String == "error")
    }

    @Test("a host's own memories offline all come back; pages concatenate; what is left out is said, in JSON and as one text line")
    func ownMemoriesAndPaging() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        for n in 1...5 { #expect(try federation.run(laptop, ["remember", "note", "--title", "quota lesson \(n)"]).exitCode == 0) }
        let all = try Self.recall(federation, laptop, ["quota"])
        #expect(all.0.exitCode == 0)
        #expect(Self.items(all.1).count == 5)
        #expect(Self.codes(all.1).isEmpty)

        let first = try Self.recall(federation, laptop, ["quota", "--limit", "2"])
        let second = try Self.recall(federation, laptop, ["quota", "--limit", "2", "--offset", "2"])
        let third = try Self.recall(federation, laptop, ["quota", "--limit", "2", "--offset", "4"])
        let paged = [first, second, third].flatMap { Self.items($0.1).compactMap { $0["id"] as? String } }
        #expect(paged == Self.items(all.1).compactMap { $0["id"] as? String })
        #expect(Self.codes(first.1) == ["MORE_RESULTS"])
        let more = try #require((first.1["warnings"] as? [[String: Any]])?.first?["message"] as? String)
        #expect(more.contains("3 more memories match") && more.contains("--offset 2"), "\(more)")
        #expect(Self.codes(third.1).isEmpty)
        // The top item does not depend on the page size.
        #expect(Self.items(try Self.recall(federation, laptop, ["quota", "--limit", "1"]).1).first?["id"] as? String == paged.first)

        let text = try federation.run(laptop, ["recall", "quota", "--limit", "2"])
        #expect(text.exitCode == 0)
        let lastLine = try #require(text.stdout.split(separator: "\n").last)
        #expect(lastLine.hasPrefix("(") && lastLine.contains("3 more memories match"), "\(lastLine)")
        #expect(!text.stderr.contains("warning"))
    }

    @Test("--explain shows the arithmetic that makes the score, with and without a query")
    func explainAddsUp() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        #expect(try federation.run(laptop, ["remember", "note", "--title", "explained lesson"]).exitCode == 0)
        for arguments in [["recall", "--explain"], ["recall", "explained", "--explain"]] {
            let text = try federation.run(laptop, arguments).stdout
            let line = try #require(text.split(separator: "\n").first { $0.contains("score ") }, "\(text)")
            let numbers = line.split(whereSeparator: { !"0123456789.".contains($0) }).compactMap { Double($0) }
            if arguments.count == 2 {
                // score = recency = 0.5 ^ (age / half-life)
                #expect(line.contains("no query: recency alone"))
                #expect(abs(numbers[0] - numbers[1]) < 1e-3)
                #expect(abs(numbers[1] - pow(0.5, numbers[3] / numbers[4])) < 1e-3, "\(line)")
            } else {
                // score = 0.7 × relevance + 0.3 × recency
                let (score, relevance, recency) = (numbers[0], numbers[2], numbers[6])
                #expect(abs(score - (0.7 * relevance + 0.3 * recency)) < 1e-3, "\(line)")
            }
        }
    }

    @Test("a cache another process is rebuilding cannot answer: CACHE_REBUILDING, exit 3, never an empty ok")
    func cacheBeingRebuilt() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        #expect(try federation.run(laptop, ["remember", "note", "--title", "a lesson to find"]).exitCode == 0)
        #expect(try federation.run(laptop, ["sync"]).exitCode == 0)
        let store = laptop.home + "/stores/shared"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + "/cache.sqlite" + suffix) }
        // Another process holds the store's lock (as a sync rebuilding the cache does).
        // (--close: flock itself holds the lock, not its sleep, so stopping flock frees it.)
        let holder = try ProcessRunner.spawn("/usr/bin/flock", ["--close", store + "/sync.lock", "sleep", "20"])
        defer { holder.stop() }
        var held = false
        for _ in 0..<50 where !held {
            held = (try ProcessRunner.run("flock", ["-n", store + "/sync.lock", "true"])).exitCode != 0
            if !held { usleep(50_000) }
        }
        #expect(held)
        let busy = try Self.recall(federation, laptop, ["lesson"])
        #expect(busy.0.exitCode == 3)
        #expect(busy.1["status"] as? String == "degraded")
        #expect(Self.codes(busy.1).contains("CACHE_REBUILDING"))
        let text = try federation.run(laptop, ["recall", "lesson"])
        #expect(text.exitCode == 3)
        #expect(!text.stdout.contains("no memories match"))
        holder.stop()
        let answered = try Self.recall(federation, laptop, ["lesson"])
        #expect(answered.0.exitCode == 0)
        #expect(Self.items(answered.1).first?["title"] as? String == "a lesson to find")
    }
}

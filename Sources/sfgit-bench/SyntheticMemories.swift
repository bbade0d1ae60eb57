import Foundation
import SFGitMemory
import SFGitTestSupport

/// Realistic memories of about one kilobyte each, from a fixed vocabulary of the trade.
enum SyntheticMemories {
    static let vocabulary: [String] = """
        provider timeout retry fallback latency p99 502 503 rate-limit quota token context window \
        postgres migration index vacuum deadlock replica lag connection pool pgbouncer kafka consumer \
        offset rebalance partition redis eviction memory cache ttl kubernetes pod oom restart probe \
        deployment rollout canary helm terraform state drift lock s3 bucket presigned url cors \
        gpt-4.1 kimi-coding/k2p5 claude sonnet embedding vector rerank prompt tool-call json schema \
        ERR_CONN_RESET ECONNREFUSED ETIMEDOUT TLS handshake certificate expiry dns resolver ipv6 \
        benchmark throughput regression flaky test ci cache artifact docker layer build cargo swift \
        compile linker symbol segfault race mutex actor async await cancellation backpressure queue \
        webhook idempotency key duplicate delivery ordering exactly-once at-least-once retry-after \
        pagination cursor limit offset invoice billing refund currency rounding decimal timezone utc
        """.split(whereSeparator: \.isWhitespace).map(String.init)

    static let kinds: [MemoryKind] = [.learning, .antiPattern, .contract, .benchmark, .circuitBreaker, .note]
    static let authors = ["sf", "claude", "hermes", "cursor", "codex"]
    static let hosts = ["mikki-bunker", "build-07", "laptop-ana", "ci-runner-3", "gpu-box"]
    /// What benchmarks measure and breakers guard: a fleet's providers, so that the fleet views
    /// combine many observations per subject.
    static let subjects = [
        "kimi-coding/k2p5", "openai/gpt-4.1", "openai/gpt-4.1-mini", "anthropic/sonnet", "anthropic/haiku", "google/gemini-pro",
        "mistral/large", "local/llama-70b", "local/qwen-32b", "deepseek/v3", "postgres/primary", "redis/cache",
        "s3/artifacts", "kafka/events", "github/api", "stripe/api", "slack/webhook", "pypi/mirror", "npm/mirror", "docker/registry",
    ]
    static let metrics = ["p50 latency", "p99 latency", "first token"]

    /// The trade's terms mixed into 20,000 made-up words, ranked so that word frequencies follow
    /// Zipf's law as in real text: a few words are in most memories, most words in a few.
    static let lexicon: [String] = {
        let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "be", "do", "fa", "gu", "hi", "jo", "pe", "qua", "se", "ti", "wu", "xa"]
        var made: [String] = []
        made.reserveCapacity(20_000)
        var i = 0
        while made.count < 20_000 {
            var n = i, word = ""
            repeat { word += syllables[n % syllables.count]; n /= syllables.count } while n > 0
            if word.count >= 4 { made.append(word) }
            i += 1
        }
        // Spread the trade's terms over the ranks: some common, most rare.
        var words = made
        for (k, term) in vocabulary.enumerated() { words.insert(term, at: min(words.count, k * k * 3 + 5)) }
        return words
    }()

    /// Cumulative Zipf weights (exponent 1.07) over the lexicon's ranks.
    static let cumulative: [Double] = {
        var total = 0.0
        return lexicon.indices.map { rank in
            total += 1 / pow(Double(rank + 1), 1.07)
            return total
        }
    }()

    static func words(_ count: Int, using rng: inout SeededGenerator) -> String {
        (0..<count).map { _ in
            let target = Double(rng.next() % 1_000_000_000) / 1e9 * cumulative.last!
            var low = 0, high = cumulative.count - 1
            while low < high {
                let mid = (low + high) / 2
                if cumulative[mid] < target { low = mid + 1 } else { high = mid }
            }
            return lexicon[low]
        }.joined(separator: " ")
    }

    /// `count` memories with their store paths and file bytes, written by sfgit's own serializer.
    static func make(count: Int, seed: UInt64 = 42, offset: Int = 0) throws -> [(path: String, bytes: [UInt8])] {
        var rng = SeededGenerator(seed: seed &+ UInt64(offset))
        let start: UInt64 = 1_767_225_600_000  // 2026-01-01
        var files: [(String, [UInt8])] = []
        files.reserveCapacity(count)
        for i in offset..<(offset + count) {
            let ms = start + UInt64(i) * 60_000 + rng.next() % 60_000
            let kind = kinds[Int(rng.next() % UInt64(kinds.count))]
            let memory = memory(index: i, milliseconds: ms, kind: kind, author: authors[i % authors.count], host: hosts[(i / 5) % hosts.count], using: &rng)
            files.append((memory.path.description, try MemorySerializer().serialize(memory)))
        }
        return files
    }

    /// Benchmark and breaker reports of the last `days` days before `now` (the fleet views' work:
    /// the main corpus is older than any benchmark age limit), two benchmarks for each breaker.
    static func fleet(count: Int, now: Double, days: Double = 20, seed: UInt64 = 5) -> [Memory] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { i in
            let ms = UInt64((now - Double(rng.next() % UInt64(days * 86_400)) - 60) * 1000)
            var memory = memory(index: i, milliseconds: ms, kind: i % 3 == 2 ? .circuitBreaker : .benchmark, author: "bench", host: "box", using: &rng)
            if memory.kind == .circuitBreaker, memory.body.state != .closed {
                // Breakers reset hours after they were reported; some are still open now.
                memory.body.resetsAt = Timestamp(secondsSinceEpoch: Int64(ms / 1000) + Int64(rng.next() % (3 * 86_400)) + 600)
            }
            return memory
        }
    }

    /// One realistic memory of about a kilobyte, with the fields its kind requires.
    static func memory(index i: Int, milliseconds ms: UInt64, kind: MemoryKind, author: String, host: String, using rng: inout SeededGenerator) -> Memory {
        let id = ULID(milliseconds: ms, random: (UInt16(truncatingIfNeeded: rng.next()), rng.next()))
        var body = MemoryBody(title: words(8, using: &rng))
        var paragraphs: [String] = []
        for _ in 0..<5 { paragraphs.append(words(24, using: &rng)) }
        body.body = paragraphs.joined(separator: "\n") + "\n"
        switch kind {
        case .antiPattern: body.instead = words(12, using: &rng)
        case .contract: body.subject = words(3, using: &rng)
        case .benchmark:
            body.subject = subjects[Int(rng.next() % UInt64(subjects.count))]; body.metric = metrics[Int(rng.next() % UInt64(metrics.count))]
            body.value = Double(rng.next() % 100_000) / 100; body.unit = "ms"; body.samples = 100
        case .circuitBreaker:
            body.subject = subjects[Int(rng.next() % UInt64(subjects.count))]
            body.state = BreakerState.allCases[Int(rng.next() % 3)]
            if body.state != .closed { body.resetsAt = Timestamp(secondsSinceEpoch: Int64(ms / 1000) + Int64(rng.next() % 172_800) + 600) }
        default: break
        }
        return Memory(
            frontMatter: FrontMatter(
                id: id, kind: kind, author: author, host: host, instance: "proj-\(i % 7)", agent: "sf/3.2.0",
                recordedAt: Timestamp(secondsSinceEpoch: Int64(ms / 1000)),
                tags: [words(1, using: &rng), words(1, using: &rng)].map { $0.replacingOccurrences(of: "/", with: "-") }),
            body: body)
    }
}

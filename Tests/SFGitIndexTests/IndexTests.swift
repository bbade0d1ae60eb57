import Foundation
import GRDB
import PropertyBased
import SFGitMemory
import SFGitTestSupport
import Testing
@testable import SFGitIndex

/// Builds indexed memories for tests.
struct Fixture {
    static let now: Double = 1_780_000_000  // 2026-05-28
    static let day: Double = 86_400
    var counter: UInt64 = 0

    mutating func memory(
        _ kind: MemoryKind = .learning, title: String, body: String = "", signer: String = "sf@mikki-bunker",
        daysAgo: Double = 1, tags: [String] = [], supersedes: [ULID] = [], target: ULID? = nil, expiresInDays: Double? = nil,
        tier: Tier = .authenticated
    ) -> IndexedMemory {
        counter += 1
        let recorded = Int64(Self.now - daysAgo * Self.day)
        let id = ULID(milliseconds: UInt64(recorded) * 1000 + counter, random: (UInt16(counter), counter))
        let parts = signer.split(separator: "@").map(String.init)
        var memoryBody = MemoryBody(title: title, body: body.isEmpty ? nil : body)
        switch kind {
        case .contract: memoryBody.subject = "api"
        case .benchmark: memoryBody.subject = "s"; memoryBody.metric = "m"; memoryBody.value = 1
        case .circuitBreaker: memoryBody.subject = "s"; memoryBody.state = .open
        case .retraction: memoryBody.target = target; memoryBody.reason = "withdrawn"
        default: break
        }
        let memory = Memory(
            frontMatter: FrontMatter(
                id: id, kind: kind, author: parts[0], host: parts[1], recordedAt: Timestamp(secondsSinceEpoch: recorded), tags: tags,
                expiresAt: expiresInDays.map { Timestamp(secondsSinceEpoch: Int64(Self.now + $0 * Self.day)) }, supersedes: supersedes),
            body: memoryBody)
        return IndexedMemory(memory: memory, path: memory.path.description, blob: String(repeating: "b", count: 40),
                             commit: String(repeating: "c", count: 40), signer: signer, key: "SHA256:k", tier: tier, firstSeen: Self.now)
    }
}

func makeIndex(_ records: [IndexedMemory]) throws -> (TemporaryDirectory, MemoryIndex) {
    let dir = try TemporaryDirectory()
    let index = try MemoryIndex(path: dir.url("cache.sqlite"))
    var batch = IndexBatch()
    batch.upserts = records
    try index.apply(batch)
    return (dir, index)
}

func recall(_ index: MemoryIndex, _ text: String?, configure: (inout RecallQuery) -> Void = { _ in }) throws -> [RecallItem] {
    var query = RecallQuery(text: text, now: Fixture.now)
    configure(&query)
    return try index.recall(query)
}

@Suite("Index and recall")
struct IndexTests {
    @Test("signer status: retired only when the recorded principals leave the signer out; unreadable principals retire nobody")
    func signerStatusFromPrincipals() throws {
        var f = Fixture()
        let (dir, index) = try makeIndex([f.memory(title: "quota alarm", signer: "a@h"), f.memory(title: "quota alarm again", signer: "b@h")])
        defer { withExtendedLifetime(dir) {} }
        func statuses(_ principals: String?) throws -> [String: RecallItem.SignerStatus] {
            var batch = IndexBatch()
            batch.state[MemoryIndex.principalsKey] = principals ?? ""
            try index.apply(batch)
            return Dictionary(uniqueKeysWithValues: try recall(index, "quota").map { ($0.signer, $0.signerStatus) })
        }
        #expect(try statuses(#"["a@h"]"#) == ["a@h": .active, "b@h": .retired])
        #expect(try statuses(#"["a@h","b@h"]"#) == ["a@h": .active, "b@h": .active])
        // Not a list of principals: "can't tell", so nobody is called retired.
        #expect(try statuses("not json") == ["a@h": .active, "b@h": .active])
        #expect(try statuses(#"["a@h", 7]"#) == ["a@h": .active, "b@h": .active])
    }

    @Test("identifiers are found by their own spelling and by their parts")
    func identifiers() throws {
        var f = Fixture()
        let records = [
            f.memory(title: "kimi-coding/k2p5 drops requests around 03:00 UTC"),
            f.memory(title: "gpt-4.1 first-token latency", signer: "a@h"),
            f.memory(title: "retry on ERR_CONN_RESET from the proxy", signer: "b@h"),
            f.memory(title: "unrelated postgres vacuum note", signer: "c@h"),
        ]
        let (dir, index) = try makeIndex(records)
        defer { withExtendedLifetime(dir) {} }
        #expect(try recall(index, "kimi-coding/k2p5").first?.title == records[0].memory.body.title)
        #expect(try recall(index, "k2p5").first?.title == records[0].memory.body.title)
        #expect(try recall(index, "gpt-4.1").map(\.title) == [records[1].memory.body.title])
        #expect(try recall(index, "ERR_CONN_RESET").map(\.title) == [records[2].memory.body.title])
        #expect(try recall(index, "err_conn_reset").count == 1)
    }

    @Test("hostile query strings never raise an FTS error", arguments: [
        "\"", "\"unbalanced", "a AND", "OR", "NOT x", "NEAR(a b, 2)", "*", "a*", "(x", "x)", "title: x", "-x", "c++",
        "'; DROP TABLE memory; --", "^", "\u{0}", "🙂", "a\"b\"c", "{title body}: x", "",
    ])
    func hostileQueries(text: String) throws {
        var f = Fixture()
        let (dir, index) = try makeIndex([f.memory(title: "a x drop table c title")])
        defer { withExtendedLifetime(dir) {} }
        _ = try recall(index, text)
        #expect(try recall(index, nil).count == 1)  // the table survived
    }

    @Test("relevance and recency are blended, with per-kind half-lives")
    func ranking() throws {
        var f = Fixture()
        let oldStrong = f.memory(title: "postgres deadlock postgres deadlock", body: "postgres deadlock", daysAgo: 400)
        let newWeak = f.memory(title: "a note mentioning postgres once", signer: "x@h", daysAgo: 1)
        let (dir, index) = try makeIndex([oldStrong, newWeak])
        defer { withExtendedLifetime(dir) {} }
        let items = try recall(index, "postgres deadlock")
        #expect(items.first?.id == oldStrong.memory.id.description)  // relevance wins for a learning (180-day half-life)
        #expect(items.allSatisfy { $0.explanation.relevance >= 0 && $0.explanation.relevance <= 1 })

        // A benchmark of equal relevance decays far faster than a contract.
        var g = Fixture()
        let bench = g.memory(.benchmark, title: "latency of the billing api", daysAgo: 30, expiresInDays: 10)
        let contract = g.memory(.contract, title: "latency of the billing api", signer: "y@h", daysAgo: 30)
        let (dir2, index2) = try makeIndex([bench, contract])
        defer { withExtendedLifetime(dir2) {} }
        let ranked = try recall(index2, "billing latency")
        #expect(ranked.map(\.kind) == ["contract", "benchmark"])
        #expect(ranked[0].explanation.halfLifeDays == 365)
        #expect(ranked[1].explanation.recency < 0.1)
    }

    @Test("BM25 scores the newest matches; when too few of them pass the filters, all matches are ranked")
    func scoredWindow() throws {
        var f = Fixture()
        // Twelve older memories that stay valid, then eight newer ones that have expired.
        let valid = (0..<12).map { f.memory(title: "provider outage \($0)", signer: "s\($0)@h", daysAgo: 30 - Double($0)) }
        let expired = (0..<8).map { f.memory(title: "provider outage late \($0)", signer: "e\($0)@h", daysAgo: 10 - Double($0), expiresInDays: -1) }
        let (dir, index) = try makeIndex(valid + expired)
        defer { withExtendedLifetime(dir) {} }
        let everything = try recall(index, "provider") { $0.limit = 5 }
        // A window of the newest six holds only expired memories: the full query finds the rest.
        let fallback = try recall(index, "provider") { $0.limit = 5; $0.scoredWindow = 6 }
        #expect(fallback.count == 5)
        #expect(fallback.map(\.id) == everything.map(\.id))
        #expect(Set(fallback.map(\.id)).isSubset(of: Set(valid.map(\.memory.id.description))))
        // A window of the newest ten holds two valid ones: with a limit of two it is the answer.
        let windowed = try recall(index, "provider") { $0.limit = 2; $0.scoredWindow = 10 }
        #expect(Set(windowed.map(\.id)) == Set(valid.suffix(2).map(\.memory.id.description)))
        // A window larger than the matches ranks exactly as the full query.
        #expect(try recall(index, "provider") { $0.limit = 5; $0.scoredWindow = 50 }.map(\.id) == everything.map(\.id))
    }

    @Test("no query: newest first")
    func newestFirst() throws {
        var f = Fixture()
        let records = (0..<5).map { f.memory(title: "m\($0)", signer: "s\($0)@h", daysAgo: Double($0)) }
        let (dir, index) = try makeIndex(records)
        defer { withExtendedLifetime(dir) {} }
        #expect(try recall(index, nil).map(\.title) == ["m0", "m1", "m2", "m3", "m4"])
        #expect(try recall(index, "   ").map(\.title) == ["m0", "m1", "m2", "m3", "m4"])
    }

    @Test("expired, superseded and retracted memories are left out unless asked for")
    func staleSupersededRetracted() throws {
        var f = Fixture()
        let expired = f.memory(title: "provider outage", expiresInDays: -1)
        let original = f.memory(title: "provider outage original claim", daysAgo: 3)
        let correction = f.memory(title: "provider outage corrected", daysAgo: 2, supersedes: [original.memory.id])
        let withdrawn = f.memory(title: "provider outage withdrawn", daysAgo: 3)
        let retraction = f.memory(.retraction, title: "withdraw", daysAgo: 1, target: withdrawn.memory.id)
        // Someone else cannot supersede sf's memory.
        let foreign = f.memory(title: "provider outage foreign", signer: "mallory@evil", supersedes: [correction.memory.id])
        let (dir, index) = try makeIndex([expired, original, correction, withdrawn, retraction, foreign])
        defer { withExtendedLifetime(dir) {} }
        let ids = try Set(recall(index, "provider outage").map(\.id))
        #expect(ids == [correction.memory.id.description, foreign.memory.id.description])
        let all = try recall(index, "provider outage") { $0.includeStale = true; $0.includeSuperseded = true; $0.perSignerShare = 10 }
        #expect(all.count == 5)
        #expect(all.first { $0.id == original.memory.id.description }?.supersededBy == [correction.memory.id.description])
        #expect(all.first { $0.id == withdrawn.memory.id.description }?.retracted == true)
        #expect(all.first { $0.id == expired.memory.id.description }?.stale == true)
        #expect(try recall(index, nil) { $0.kinds = ["retraction"] }.map(\.id) == [retraction.memory.id.description])
    }

    @Test("every filter is applied in SQL")
    func filters() throws {
        var f = Fixture()
        let a = f.memory(.antiPattern, title: "outage one", signer: "sf@mikki-bunker", daysAgo: 10, tags: ["provider"])
        let b = f.memory(.learning, title: "outage two", signer: "claude@build-07", daysAgo: 2, tags: ["db"])
        let c = f.memory(.note, title: "outage three", signer: "hermes@laptop-ana", daysAgo: 1, tags: ["provider", "db"])
        let (dir, index) = try makeIndex([a, b, c])
        defer { withExtendedLifetime(dir) {} }
        func ids(_ configure: (inout RecallQuery) -> Void) throws -> Set<String> { Set(try recall(index, "outage", configure: configure).map(\.title)) }
        #expect(try ids { $0.kinds = ["anti-pattern", "note"] } == ["outage one", "outage three"])
        #expect(try ids { $0.tags = ["db"] } == ["outage two", "outage three"])
        #expect(try ids { $0.authors = ["claude"] } == ["outage two"])
        #expect(try ids { $0.authors = ["hermes@laptop-ana"] } == ["outage three"])
        #expect(try ids { $0.host = "mikki-bunker" } == ["outage one"])
        #expect(try ids { $0.since = Fixture.now - 3 * Fixture.day } == ["outage two", "outage three"])
        #expect(try ids { $0.limit = 1 }.count == 1)
    }

    @Test("a signer's share: items over it make way for other signers' items, and back-fill what is left")
    func perSignerShare() throws {
        var f = Fixture()
        let flood = (0..<10).map { f.memory(title: "cache eviction \($0)", signer: "flood@h", daysAgo: Double($0)) }
        let other = f.memory(title: "cache eviction elsewhere", signer: "calm@h", daysAgo: 20)
        let (dir, index) = try makeIndex(flood + [other])
        defer { withExtendedLifetime(dir) {} }
        // Four places: the flood's share of three, then the other signer's item.
        let four = try recall(index, "cache eviction") { $0.limit = 4 }
        #expect(four.map(\.signer) == ["flood@h", "flood@h", "flood@h", "calm@h"])
        var query = RecallQuery(text: "cache eviction", now: Fixture.now)
        query.limit = 4
        let page = try index.recallPage(query)
        #expect(page.omissions.first { $0.code == "CAPPED_BY_SIGNER" }?.count == 7)
        #expect(page.omissions.first { $0.code == "MORE_RESULTS" }?.count == 7)
        // Eleven places: everything, the rest of the flood back-filled in rank order.
        let all = try recall(index, "cache eviction") { $0.limit = 11 }
        #expect(all.count == 11)
        #expect(Array(all.prefix(4)) == four)
        #expect(all.dropFirst(4).allSatisfy { $0.signer == "flood@h" })
        // A filter naming the one signer lifts the share; --per-signer 0 has none.
        #expect(try recall(index, "cache eviction") { $0.signers = ["flood@h"]; $0.limit = 5 }.count == 5)
        #expect(try recall(index, "cache eviction") { $0.perSignerShare = 0; $0.limit = 4 }.allSatisfy { $0.signer == "flood@h" })
    }

    @Test("for any store, limit and offset: pages concatenate to the whole ordered answer, and an item is displaced only by another signer's")
    func pagingAndShareProperty() async throws {
        // Each memory: (signer 0–3, days ago 0–60, matches the query or not).
        let memories = zip(Gen.int(in: 0...3), Gen.int(in: 0...60), Gen.bool).array(of: 1...40)
        // Small BM25 windows and candidate blocks make a small store span several segments and
        // blocks, the way a common word does in a large one.
        await propertyCheck(count: 40, input: memories, Gen.int(in: 1...7), Gen.int(in: 0...3), Gen.bool, Gen.int(in: 0...2)) { specs, limit, share, withText, sizes in
            var f = Fixture()
            let records = specs.map { signer, daysAgo, matches in
                f.memory(title: matches ? "quota exhausted again" : "an unrelated finding", signer: "s\(signer)@h", daysAgo: Double(daysAgo))
            }
            let (dir, index) = try makeIndex(records)
            defer { withExtendedLifetime(dir) {} }
            let text: String? = withText ? "quota" : nil
            func page(offset: Int, limit: Int, share: Int) throws -> RecallPage {
                var query = RecallQuery(text: text, now: Fixture.now)
                query.offset = offset
                query.limit = limit
                query.perSignerShare = share
                query.scoredWindow = [3, 8, MemoryIndex.commonTermWindow][sizes]
                query.candidateBlock = [2, 5, MemoryIndex.candidateLimit][sizes]
                return try index.recallPage(query)
            }
            let whole = try page(offset: 0, limit: 1000, share: share).items
            #expect(whole.count == (withText ? specs.filter(\.2).count : specs.count))
            #expect(try page(offset: 0, limit: 1000, share: share).omissions.isEmpty)
            // Pages of any size concatenate to the whole answer, and the first k never depend on
            // the page size.
            var concatenated: [RecallItem] = []
            var offset = 0
            while offset < whole.count {
                let next = try page(offset: offset, limit: limit, share: share)
                #expect(!next.items.isEmpty)
                concatenated += next.items
                let more = next.omissions.first { $0.code == "MORE_RESULTS" }
                #expect((more != nil) == (offset + limit < whole.count), "MORE_RESULTS says whether more exist")
                offset += limit
            }
            #expect(concatenated.map(\.id) == whole.map(\.id))
            // The unshared ranking, and the displacement rule against it.
            let ranked = try page(offset: 0, limit: 1000, share: 0).items
            if share > 0 {
                for (position, item) in whole.enumerated() {
                    let better = ranked.prefix { $0.id != item.id }
                    let sameSignerBetter = better.filter { $0.signer == item.signer }.count
                    // Within its share, an item is placed after better-ranked items only.
                    if sameSignerBetter < share {
                        let displacedBy = whole.prefix(position).filter { other in !better.contains { $0.id == other.id } }
                        #expect(displacedBy.isEmpty, "an item within its signer's share was placed after worse-ranked items")
                    } else {
                        // Over its share: whatever comes before it and ranks worse is another signer's.
                        for other in whole.prefix(position) where !better.contains(where: { $0.id == other.id }) {
                            #expect(other.signer != item.signer)
                        }
                    }
                }
            } else {
                #expect(whole.map(\.id) == ranked.map(\.id))
            }
        }
    }

    @Test("show takes an id or an unambiguous prefix")
    func show() throws {
        var f = Fixture()
        let a = f.memory(title: "one")
        let b = f.memory(title: "two", signer: "x@h")
        let (dir, index) = try makeIndex([a, b])
        defer { withExtendedLifetime(dir) {} }
        guard case .found(let item) = try index.show(a.memory.id.description, now: Fixture.now) else { Issue.record("not found"); return }
        #expect(item.title == "one")
        #expect(item.signer == "sf@mikki-bunker" && item.key == "SHA256:k" && item.tier == .authenticated)
        let common = String(a.memory.id.description.prefix(8))
        #expect(b.memory.id.description.hasPrefix(common))
        guard case .ambiguous(let candidates) = try index.show(common, now: Fixture.now) else { Issue.record("not ambiguous"); return }
        #expect(candidates.count == 2)
        guard case .found = try index.show(a.memory.id.description.lowercased(), now: Fixture.now) else { Issue.record("prefix is case-insensitive"); return }
        guard case .notFound = try index.show("ZZZZ", now: Fixture.now) else { Issue.record("found ZZZZ"); return }
    }

    @Test("an incremental index equals a full rebuild after random sequences of additions and removals")
    func incrementalEqualsRebuild() async throws {
        await propertyCheck(count: 25, input: Gen.int(in: 0...2).array(of: 1...30)) { ops in
            var f = Fixture()
            let dir = try TemporaryDirectory()
            let incremental = try MemoryIndex(path: dir.url("inc.sqlite"))
            var live: [String: IndexedMemory] = [:]
            for (i, op) in ops.enumerated() {
                var batch = IndexBatch()
                if op == 2, let victim = live.keys.sorted().first {
                    batch.removedPaths = [victim]
                    live[victim] = nil
                } else {
                    let record = f.memory(title: "memory \(i) about topic \(op)", signer: "s\(i % 3)@h", tags: ["t\(op)"])
                    batch.upserts = [record]
                    live[record.path] = record
                }
                try incremental.apply(batch)
            }
            let full = try MemoryIndex(path: dir.url("full.sqlite"))
            var batch = IndexBatch()
            batch.upserts = live.values.sorted { $0.path < $1.path }
            try full.apply(batch)
            #expect(try incremental.snapshot() == full.snapshot())
            #expect(try recall(incremental, "topic memory") { $0.perSignerShare = 100; $0.limit = 100 }.map(\.id).sorted()
                == recall(full, "topic memory") { $0.perSignerShare = 100; $0.limit = 100 }.map(\.id).sorted())
        }
    }

    @Test("a corrupt cache or one of an unknown version is recreated empty, marked fresh")
    func corruptCache() throws {
        var f = Fixture()
        let (dir, index) = try makeIndex([f.memory(title: "x")])
        #expect(try index.counts().byKind == ["learning": 1])
        let path = index.path
        // Garbage over the file.
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        try? FileManager.default.removeItem(atPath: path + "-wal")
        let reopened = try MemoryIndex(path: path)
        #expect(reopened.isFresh)
        #expect(try reopened.counts().byKind.isEmpty)
        // A newer cache version.
        try DatabaseQueue(path: dir.url("new.sqlite")).write { try $0.execute(sql: "PRAGMA user_version = 99; CREATE TABLE t(x)") }
        let newer = try MemoryIndex(path: dir.url("new.sqlite"))
        #expect(newer.isFresh)
        #expect(try newer.counts().byKind.isEmpty)
        // A sound cache is kept: reopened, it is not fresh and holds what was written.
        let (soundDirectory, sound) = try makeIndex([f.memory(title: "kept"), f.memory(title: "also kept")])
        defer { withExtendedLifetime(soundDirectory) {} }
        let kept = try MemoryIndex(path: sound.path)
        #expect(!kept.isFresh)
        #expect(try kept.counts().byKind == ["learning": 2])
        #expect(try recall(kept, "kept") { $0.perSignerShare = 100 }.count == 2)
    }

    @Test("a cache with tags and links is kept when reopened (SQLite 3.40's quick_check must pass on it)")
    func reopenKeepsCache() throws {
        var f = Fixture()
        let original = f.memory(title: "first", tags: ["provider", "kimi"])
        let correction = f.memory(title: "second", tags: ["provider"], supersedes: [original.memory.id])
        let (dir, index) = try makeIndex([original, correction])
        defer { withExtendedLifetime(dir) {} }
        let before = try index.snapshot()
        let reopened = try MemoryIndex(path: index.path)
        #expect(!reopened.isFresh)
        #expect(try reopened.snapshot() == before)
    }

    @Test("opened for reading: the same answers through one read-only connection; no cache or another version is nil")
    func openForReading() throws {
        var f = Fixture()
        let (dir, index) = try makeIndex([f.memory(title: "provider outage"), f.memory(title: "provider recovered")])
        defer { withExtendedLifetime(dir) {} }
        let reader = try #require(MemoryIndex.openForReading(path: index.path))
        #expect(!reader.isFresh)
        #expect(try recall(reader, "provider") == recall(index, "provider"))
        #expect(try reader.snapshot() == index.snapshot())
        // It cannot write.
        var batch = IndexBatch()
        batch.state["x"] = "y"
        #expect(throws: DatabaseError.self) { try reader.apply(batch) }
        // What the ordinary open would create or rebuild is left to it.
        #expect(MemoryIndex.openForReading(path: dir.url("missing.sqlite")) == nil)
        #expect(!FileManager.default.fileExists(atPath: dir.url("missing.sqlite")))
        try DatabaseQueue(path: dir.url("other.sqlite")).write { try $0.execute(sql: "PRAGMA user_version = 99; CREATE TABLE t(x)") }
        #expect(MemoryIndex.openForReading(path: dir.url("other.sqlite")) == nil)
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: dir.url("garbage.sqlite")))
        #expect(MemoryIndex.openForReading(path: dir.url("garbage.sqlite")) == nil)
    }

    @Test("readers answer while a write transaction is open")
    func readersDuringWrite() throws {
        var f = Fixture()
        let (dir, index) = try makeIndex([f.memory(title: "steady state")])
        defer { withExtendedLifetime(dir) {} }
        let writer = try DatabaseQueue(path: index.path)
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? writer.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try db.execute(sql: "INSERT INTO store_state(key, value) VALUES ('x', 'y')")
                started.signal()
                release.wait()
                try db.execute(sql: "COMMIT")
            }
            done.signal()
        }
        try #require(started.wait(timeout: .now() + 30) == .success, "the writer never began its transaction")
        for _ in 0..<20 { #expect(try recall(index, "steady").count == 1) }
        // A reader that opens the cache now (each `sfgit recall` does) neither waits for the
        // write nor mistakes the busy file for a damaged one.
        let newReader = try MemoryIndex(path: index.path)
        #expect(!newReader.isFresh)
        #expect(try recall(newReader, "steady").count == 1)
        let readOnly = try #require(MemoryIndex.openForReading(path: index.path))
        #expect(try recall(readOnly, "steady").count == 1)
        release.signal()
        #expect(done.wait(timeout: .now() + 30) == .success)
        #expect(try index.state("x") == "y")
    }
}

@Suite("Rate limits")
struct QuotaTests {
    @Test("over-quota memories are deferred on the history clock and released in order as it moves on")
    func deferAndRelease() throws {
        var f = Fixture()
        let dir = try TemporaryDirectory()
        let index = try MemoryIndex(path: dir.url("c.sqlite"))
        // One commit adds five; the quota is two a day. This host's clock plays no part.
        let clock = Fixture.now - 365 * 86_400
        let flood = (0..<5).map { n -> IndexedMemory in
            var memory = f.memory(title: "flood \(n)", signer: "flood@h")
            memory.arrival = HistoryArrival(position: 1, clock: clock, quotaPerDay: 2)
            return memory
        }
        var calm = f.memory(title: "calm", signer: "calm@h")
        calm.arrival = HistoryArrival(position: 1, clock: clock, quotaPerDay: 2)
        var batch = IndexBatch()
        batch.upserts = flood + [calm]
        batch.historyClock = clock
        try index.apply(batch)
        func served() throws -> [String] {
            try recall(index, nil) { $0.includeStale = true; $0.perSignerShare = 10; $0.limit = 20 }.map(\.title).sorted()
        }
        #expect(try served() == ["calm", "flood 0", "flood 1"])
        #expect(try index.counts().deferred == 3)
        #expect(try recall(index, nil) { $0.includeDeferred = true; $0.perSignerShare = 10; $0.limit = 20 }.filter(\.deferred).count == 3)
        let usage = try index.quotaUsage(signer: "flood@h", perDay: 2, clock: clock)
        #expect(usage.used == 5 && usage.left == 0 && usage.deferred == 3)
        #expect(usage.freesAt == Timestamp(secondsSinceEpoch: Int64(clock) + 2 * 86_400).text)  // as the next would be released

        // Twelve hours later on the history clock the window is still full; a day later two more
        // are released, in order; two days later the last.
        var later = IndexBatch()
        later.historyClock = clock + 12 * 3600
        try index.apply(later)
        #expect(try index.counts().deferred == 3)
        later.historyClock = clock + 86_400
        try index.apply(later)
        #expect(try served() == ["calm", "flood 0", "flood 1", "flood 2", "flood 3"])
        later.historyClock = clock + 2 * 86_400
        try index.apply(later)
        #expect(try index.counts().deferred == 0)
    }

    @Test("the host's own memories are never deferred")
    func ownNeverDeferred() throws {
        var f = Fixture()
        let dir = try TemporaryDirectory()
        let index = try MemoryIndex(path: dir.url("c.sqlite"))
        var batch = IndexBatch()
        batch.upserts = (0..<4).map { f.memory(title: "own \($0)", signer: "me@h", tier: .own) }
        batch.historyClock = Fixture.now
        try index.apply(batch)
        #expect(try index.counts().deferred == 0)
        #expect(try index.quotaUsage(signer: "me@h", perDay: 3, clock: Fixture.now).used == 4)
    }

    @Test("records loaded out of order are scheduled as if in order")
    func outOfOrder() throws {
        let f = Fixture()
        func load(_ order: [Int]) throws -> [String] {
            let dir = try TemporaryDirectory()
            let index = try MemoryIndex(path: dir.url("c.sqlite"))
            var g = f
            let records = (0..<4).map { n -> IndexedMemory in
                var memory = g.memory(title: "m \(n)", signer: "s@h")
                memory.arrival = HistoryArrival(position: Int64(n), clock: 1_000 + Double(n), quotaPerDay: 2)
                return memory
            }
            var batch = IndexBatch()
            batch.upserts = order.map { records[$0] }
            batch.historyClock = 2_000
            try index.apply(batch)
            return try index.snapshot()
        }
        #expect(try load([3, 1, 0, 2]) == load([0, 1, 2, 3]))
    }
}

@Suite("Duplicate ids")
struct DuplicateIDTests {
    @Test("a second file with an indexed id is quarantined, not a failed batch")
    func duplicateID() throws {
        var f = Fixture()
        let first = f.memory(title: "first")
        var twin = first
        twin.memory.frontMatter.kind = .note
        twin.path = twin.memory.path.description
        let other = f.memory(title: "other", signer: "x@h")
        let (dir, index) = try makeIndex([first, twin, other])
        defer { withExtendedLifetime(dir) {} }
        #expect(try recall(index, nil).map(\.title).sorted() == ["first", "other"])
        #expect(try index.quarantined().map(\.reason) == ["duplicate_id"])
        #expect(try index.quarantined().first?.path == twin.path)
    }
}

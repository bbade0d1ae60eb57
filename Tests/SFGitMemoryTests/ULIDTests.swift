import Testing
@testable import SFGitMemory

@Suite("ULID")
struct ULIDTests {
    @Test("the ULID reference decodeTime example decodes to its documented timestamp and re-encodes unchanged")
    func knownVector() throws {
        let id = try #require(ULID("01ARYZ6S41TSV4RRFFQ69G5FAV"))
        #expect(id.milliseconds == 1_469_918_176_385)
        #expect(id.description == "01ARYZ6S41TSV4RRFFQ69G5FAV")
    }

    @Test("bytes survive an encode/decode round trip, including the extremes")
    func roundTrip() throws {
        let extremes: [[UInt8]] = [[UInt8](repeating: 0, count: 16), [UInt8](repeating: 0xFF, count: 16)]
        for bytes in extremes {
            let id = try #require(ULID(bytes: bytes))
            #expect(ULID(id.description) == id)
        }
        #expect(ULID(bytes: [UInt8](repeating: 0xFF, count: 16))?.description == "7ZZZZZZZZZZZZZZZZZZZZZZZZZ")
        let generator = ULIDGenerator()
        for _ in 0..<1000 {
            let id = generator.next()
            #expect(ULID(id.description) == id)
        }
    }

    @Test("non-canonical text is refused", arguments: [
        "01arz3ndektsv4rrffq69g5fav",  // lower case
        "01ARZ3NDEKTSV4RRFFQ69G5FA",  // 25 characters
        "01ARZ3NDEKTSV4RRFFQ69G5FAVX",  // 27 characters
        "01ARZ3NDEKTSV4RRFFQ69G5FAI",  // I is not Crockford
        "01ARZ3NDEKTSV4RRFFQ69G5FAL",  // L
        "01ARZ3NDEKTSV4RRFFQ69G5FAO",  // O
        "01ARZ3NDEKTSV4RRFFQ69G5FAU",  // U
        "81ARZ3NDEKTSV4RRFFQ69G5FAV",  // more than 128 bits
        "01ARZ3NDEKTSV4RRFFQ69G5FÄV",  // not ASCII
    ])
    func refusesNonCanonical(text: String) {
        #expect(ULID(text) == nil)
    }

    @Test("within one millisecond, ids are strictly increasing by one")
    func monotonicWithinMillisecond() {
        let generator = ULIDGenerator(clock: { 1_700_000_000_000 })
        var previous = generator.next()
        for _ in 0..<10_000 {
            let next = generator.next()
            #expect(next > previous)
            #expect(next.milliseconds == 1_700_000_000_000)
            #expect(Self.random80(next) == Self.successor(Self.random80(previous)), "\(previous) → \(next)")
            previous = next
        }
    }

    /// The 80-bit random part of a ULID as (high 16 bits, low 64 bits).
    static func random80(_ id: ULID) -> (UInt16, UInt64) {
        let high = UInt16(id.bytes[6]) << 8 | UInt16(id.bytes[7])
        let low = id.bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return (high, low)
    }

    /// The 80-bit value plus one, carrying into the high part.
    static func successor(_ value: (UInt16, UInt64)) -> (UInt16, UInt64) {
        value.1 == .max ? (value.0 &+ 1, 0) : (value.0, value.1 + 1)
    }

    @Test("the increment carries from the low 64 bits into the high 16")
    func incrementCarries() {
        let id = ULID(milliseconds: 5, random: (high: 7, low: .max))
        #expect(Self.random80(id) == (7, .max))
        #expect(Self.successor(Self.random80(id)) == (8, 0))
    }

    @Test("a clock that steps back does not break ordering")
    func clockStepsBack() {
        let times = Mutable([UInt64(2000), 1000, 1000, 3000])
        let generator = ULIDGenerator(clock: { times.pop() })
        let ids = (0..<4).map { _ in generator.next() }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 4)
        #expect(ids[3].milliseconds == 3000)
    }

    @Test("the timestamp gives the UTC year and month used in paths")
    func yearAndMonth() throws {
        let id = try #require(ULID("01KQBKK0Z0V3RS3DTR98H6BCFN"))  // 2026-04-29T03:12:44Z
        #expect(id.yearAndMonth == (2026, 4))
        let newYear = ULID(milliseconds: 1_767_225_599_999, random: (0, 0))  // 2025-12-31T23:59:59.999Z
        #expect(newYear.yearAndMonth == (2025, 12))
        #expect(ULID(milliseconds: 1_767_225_600_000, random: (0, 0)).yearAndMonth == (2026, 1))
    }

    @Test("random parts differ between ids made in different milliseconds")
    func randomness() {
        let counter = Mutable((1...200).map(UInt64.init))
        let generator = ULIDGenerator(clock: { counter.pop() })
        let randomParts = Set((0..<200).map { _ in Array(generator.next().bytes[6...]) })
        #expect(randomParts.count == 200)
    }
}

/// A tiny thread-safe stack of clock readings for injected clocks.
final class Mutable: @unchecked Sendable {
    private var values: [UInt64]
    private let lock = NSLockLike()
    init(_ values: [UInt64]) { self.values = values.reversed() }
    func pop() -> UInt64 { lock.withLock { values.popLast() ?? 0 } }
}

import Synchronization
final class NSLockLike: Sendable {
    private let mutex = Mutex(())
    func withLock<T>(_ body: () -> T) -> T { mutex.withLock { _ in body() } }
}

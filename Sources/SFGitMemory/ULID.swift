import Synchronization

/// A ULID: 48 bits of milliseconds since the Unix epoch and 80 random bits, written as 26
/// upper-case Crockford base32 characters. Sorts by time; unique without coordination.
/// docs/FORMAT.md § Paths and ids.
public struct ULID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The 16 bytes, big-endian: 6 bytes of timestamp then 10 of randomness.
    public let bytes: [UInt8]

    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    private static let decodeTable: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (value, char) in alphabet.enumerated() { table[Int(char)] = Int8(value) }
        return table
    }()

    /// Creates a ULID from its 16 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Creates a ULID from a timestamp in milliseconds and 80 random bits.
    public init(milliseconds: UInt64, random: (high: UInt16, low: UInt64)) {
        var b = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - i))) }
        b[6] = UInt8(truncatingIfNeeded: random.high >> 8)
        b[7] = UInt8(truncatingIfNeeded: random.high)
        for i in 0..<8 { b[8 + i] = UInt8(truncatingIfNeeded: random.low >> (8 * (7 - i))) }
        self.bytes = b
    }

    /// Parses the canonical form: exactly 26 characters of upper-case Crockford base32, at most `7ZZZ…`.
    public init?(_ text: some StringProtocol) {
        let chars = Array(text.utf8)
        guard chars.count == 26 else { return nil }
        var values = [UInt8](repeating: 0, count: 26)
        for (i, c) in chars.enumerated() {
            guard c < 128, Self.decodeTable[Int(c)] >= 0 else { return nil }
            values[i] = UInt8(Self.decodeTable[Int(c)])
        }
        // 26 × 5 = 130 bits for 128: the first character carries only 3 bits.
        guard values[0] <= 7 else { return nil }
        var b = [UInt8](repeating: 0, count: 16)
        var accumulator: UInt32 = UInt32(values[0])
        var bits = 3
        var index = 0
        for value in values.dropFirst() {
            accumulator = (accumulator << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                b[index] = UInt8(truncatingIfNeeded: accumulator >> UInt32(bits))
                index += 1
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        self.bytes = b
    }

    /// Milliseconds since the Unix epoch encoded in the first 48 bits.
    public var milliseconds: UInt64 {
        bytes[0..<6].reduce(0) { ($0 << 8) | UInt64($1) }
    }

    /// The UTC calendar year and month of the timestamp, which place the memory in `<yyyy>/<mm>`.
    public var yearAndMonth: (year: Int, month: Int) {
        let date = CivilDate(daysSinceEpoch: Int(milliseconds / 86_400_000))
        return (date.year, date.month)
    }

    /// The canonical 26-character text.
    public var description: String {
        var out = [UInt8](repeating: 0, count: 26)
        // Read the 128 bits as 130 with two leading zero bits, five at a time.
        var accumulator: UInt32 = 0
        var bits = 2
        var outIndex = 0
        for byte in bytes {
            accumulator = (accumulator << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out[outIndex] = Self.alphabet[Int((accumulator >> UInt32(bits)) & 31)]
                outIndex += 1
            }
            accumulator &= (1 << UInt32(bits)) - 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Orders ULIDs by their bytes, that is by time first.
    public static func < (lhs: ULID, rhs: ULID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    /// Decodes a ULID from its 26-character text; refuses anything else.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let ulid = ULID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a ULID: \(text)"))
        }
        self = ulid
    }

    /// Encodes the ULID as its 26-character text.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Makes ULIDs that are strictly increasing within one process: in the same millisecond the random
/// part is incremented instead of drawn again. Randomness comes from the system CSPRNG.
public final class ULIDGenerator: Sendable {
    private struct State {
        var lastMilliseconds: UInt64 = 0
        var lastRandom: (high: UInt16, low: UInt64) = (0, 0)
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> UInt64

    /// A generator reading the system clock.
    public static let shared = ULIDGenerator()

    /// Creates a generator; `clock` returns milliseconds since the epoch (injectable for tests).
    public init(clock: @escaping @Sendable () -> UInt64 = ULIDGenerator.systemMilliseconds) {
        self.clock = clock
    }

    /// Milliseconds since the Unix epoch from the system clock.
    @Sendable public static func systemMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec) / 1_000_000
    }

    /// The next ULID. Within one millisecond it is the previous one plus one.
    public func next() -> ULID {
        let now = clock()
        return state.withLock { state in
            if now <= state.lastMilliseconds {
                // Same (or an earlier, if the clock stepped back) millisecond: keep order by incrementing.
                var (high, low) = state.lastRandom
                let (newLow, overflow) = low.addingReportingOverflow(1)
                low = newLow
                if overflow {
                    let (newHigh, highOverflow) = high.addingReportingOverflow(1)
                    high = newHigh
                    if highOverflow {
                        // 2^80 ids in one millisecond: move to the next millisecond instead of wrapping.
                        state.lastMilliseconds += 1
                    }
                }
                state.lastRandom = (high, low)
            } else {
                var rng = SystemRandomNumberGenerator()
                state.lastMilliseconds = now
                state.lastRandom = (UInt16.random(in: .min ... .max, using: &rng), rng.next())
            }
            return ULID(milliseconds: state.lastMilliseconds, random: state.lastRandom)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

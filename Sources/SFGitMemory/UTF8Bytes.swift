/// Byte-level UTF-8 helpers shared by the file checks (`ByteChecks`), the escaping renderer
/// (`SafeText`), the memory fence and the JSON reader: strict decoding of one character, and
/// scans that pass over printable ASCII eight bytes at a time (answers are tens of kilobytes,
/// nearly all ASCII, and scanned several times).
public enum UTF8Bytes {
    /// Strict UTF-8 decoding of the multi-byte sequence at `index`: its scalar value and length;
    /// nil for an overlong form, a surrogate, a value above U+10FFFF, a bad continuation byte or a
    /// sequence cut short.
    public static func decodeMultiByte(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (scalar: UInt32, length: Int)? {
        let lead = bytes[index]
        let length: Int
        let minimum: UInt32
        var scalar: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return nil }
            scalar = (scalar << 6) | UInt32(byte & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return nil }
        return (scalar, length)
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let high: UInt64 = 0x8080_8080_8080_8080

    /// The eight bytes at `index` as one word (there must be eight).
    @inline(__always)
    static func word(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt64 {
        UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self)
    }

    /// Whether the eight bytes at `index` are all printable ASCII (0x20–0x7E): no high bit, none
    /// below 0x20, none equal to 0x7F (the usual bit tricks on one word; exact, not a guess).
    @inline(__always)
    public static func eightPrintable(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        let value = word(bytes, at: index)
        let below = (value &- 0x20 &* ones) & ~value & high
        let delete = value ^ (0x7F &* ones)
        return (value & high) | below | ((delete &- ones) & ~delete & high) == 0
    }

    /// Whether `bytes` hold one of `targets` (ASCII bytes), or, with `orNonASCII`, any byte above
    /// 0x7F.
    public static func contains(_ bytes: UnsafeBufferPointer<UInt8>, anyOf targets: [UInt8], orNonASCII: Bool) -> Bool {
        var index = 0
        while bytes.count - index >= 8 {
            let value = word(bytes, at: index)
            var found = orNonASCII ? value & high : 0
            for target in targets {
                let spread = value ^ (UInt64(target) &* ones)  // a zero byte where the word holds `target`
                found |= (spread &- ones) & ~spread & high
            }
            if found != 0 { return true }
            index += 8
        }
        while index < bytes.count {
            if targets.contains(bytes[index]) || (orNonASCII && bytes[index] >= 0x80) { return true }
            index += 1
        }
        return false
    }

    /// `contains(_:anyOf:orNonASCII:)` over a string's UTF-8.
    public static func contains(_ text: String, anyOf targets: [UInt8], orNonASCII: Bool) -> Bool {
        var text = text
        return text.withUTF8 { contains($0, anyOf: targets, orNonASCII: orNonASCII) }
    }
}

/// Reads the SSH wire encoding (RFC 4251): `uint32`, `string`, `mpint`, bytes.
struct SSHReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func uint32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func fixed(_ count: Int) -> [UInt8]? {
        guard count >= 0, remaining >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func string() -> [UInt8]? {
        guard let length = uint32() else { return nil }
        return fixed(Int(length))
    }

    mutating func text() -> String? {
        string().flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// An `mpint` as unsigned big-endian magnitude without leading zeros; refuses negatives.
    mutating func positiveMPInt() -> [UInt8]? {
        guard let raw = string() else { return nil }
        if let first = raw.first, first & 0x80 != 0 { return nil }
        return Array(raw.drop { $0 == 0 })
    }
}

/// Writes the SSH wire encoding.
struct SSHWriter {
    private(set) var bytes: [UInt8] = []

    mutating func uint32(_ value: UInt32) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    mutating func string(_ value: [UInt8]) {
        uint32(UInt32(value.count))
        bytes += value
    }

    mutating func string(_ value: String) { string(Array(value.utf8)) }

    mutating func raw(_ value: [UInt8]) { bytes += value }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// An unsigned magnitude as a positive `mpint`.
    mutating func mpint(_ magnitude: [UInt8]) {
        var value = Array(magnitude.drop { $0 == 0 })
        if let first = value.first, first & 0x80 != 0 { value.insert(0, at: 0) }
        string(value)
    }
}

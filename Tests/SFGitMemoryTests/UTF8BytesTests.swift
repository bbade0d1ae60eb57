import SFGitMemory
import SFGitTestSupport
import Testing

/// The shared byte scans decide exactly as their byte-by-byte definitions.
@Suite("UTF-8 byte scans")
struct UTF8BytesTests {
    @Test("word-at-a-time scans agree with a byte-by-byte loop over random bytes of every kind")
    func scansAgree() {
        var generator = SeededGenerator(seed: 77)
        // Boundary bytes of every test: controls, the printable edges, DEL, high bytes, targets.
        let alphabet: [UInt8] = [0x00, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x22, 0x26, 0x3C, 0x3E, 0x41, 0x7E, 0x7F, 0x80, 0xC3, 0xFF]
        for _ in 0..<5_000 {
            let bytes = (0..<Int(generator.next() % 40)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            bytes.withUnsafeBufferPointer { buffer in
                for targets: [UInt8] in [[], [0x0D], [0x26, 0x3C, 0x3E, 0x22]] {
                    for nonASCII in [false, true] {
                        let expected = bytes.contains { targets.contains($0) || (nonASCII && $0 >= 0x80) }
                        #expect(UTF8Bytes.contains(buffer, anyOf: targets, orNonASCII: nonASCII) == expected, "\(bytes) \(targets) \(nonASCII)")
                    }
                }
                if bytes.count >= 8 {
                    #expect(UTF8Bytes.eightPrintable(buffer, at: 0) == bytes.prefix(8).allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "\(bytes)")
                }
            }
        }
    }

    @Test("strict decoding: the scalar and length of good sequences, nil for overlong forms, surrogates, cuts and values past U+10FFFF")
    func decoding() {
        let cases: [([UInt8], UInt32?)] = [
            ([0xC3, 0xA9], 0xE9), ([0xE2, 0x80, 0xAE], 0x202E), ([0xF0, 0x9F, 0x98, 0x80], 0x1F600), ([0xF4, 0x8F, 0xBF, 0xBF], 0x10FFFF),
            ([0xC0, 0x80], nil), ([0xE0, 0x80, 0x80], nil), ([0xED, 0xA0, 0x80], nil), ([0xF4, 0x90, 0x80, 0x80], nil), ([0xC3], nil),
            ([0xC3, 0x28], nil), ([0x80], nil), ([0xF5, 0x80, 0x80, 0x80], nil),
        ]
        for (bytes, scalar) in cases {
            let decoded = bytes.withUnsafeBufferPointer { UTF8Bytes.decodeMultiByte($0, at: 0) }
            #expect(decoded?.scalar == scalar, "\(bytes)")
            if scalar != nil { #expect(decoded?.length == bytes.count) }
        }
    }
}

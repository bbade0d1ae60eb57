/// Checks on a file's raw bytes that run before any YAML parsing: BOM, strict UTF-8, the
/// characters `CharacterRules` refuses, and tabs in leading whitespace.
enum ByteChecks {
    /// The first byte-level problem, if any. Tab lines are returned separately because tabs inside
    /// block scalars are content; the caller decides once it knows where block scalars are.
    static func firstProblem(in bytes: UnsafeBufferPointer<UInt8>) -> MemoryProblem? {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            return MemoryProblem(.byteOrderMark, at: .start)
        }
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                // ASCII, by the shared rule; a carriage return before a line feed is a line ending.
                if !CharacterRules.isAllowed(UInt32(b)) && !(b == 0x0D && i + 1 < n && bytes[i + 1] == 0x0A) {
                    return MemoryProblem(.controlCharacter(UInt32(b)), at: position(of: i, in: bytes))
                }
                i += 1
                continue
            }
            guard let (scalar, length) = UTF8Bytes.decodeMultiByte(bytes, at: i) else {
                return MemoryProblem(.invalidUTF8, at: position(of: i, in: bytes))
            }
            // C1 controls, bidi controls, …; a byte order mark anywhere but the start is refused the same way.
            if !CharacterRules.isAllowed(scalar) {
                return MemoryProblem(.controlCharacter(scalar), at: position(of: i, in: bytes))
            }
            i += length
        }
        return nil
    }

    /// Lines (1-based) whose leading whitespace contains a tab, each with the tab's column.
    static func linesWithLeadingTabs(in bytes: UnsafeBufferPointer<UInt8>) -> [SourcePosition] {
        var found: [SourcePosition] = []
        var line = 1
        var atLineStart = true
        var column = 1
        for b in bytes {
            if b == 0x0A {
                line += 1
                atLineStart = true
                column = 1
                continue
            }
            guard atLineStart else { continue }
            if b == 0x09 {
                found.append(SourcePosition(line: line, column: column))
                atLineStart = false
            } else if b == 0x20 {
                column += 1
            } else {
                atLineStart = false
            }
        }
        return found
    }

    /// The 1-based line and column (in Unicode scalars) of a byte offset.
    static func position(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> SourcePosition {
        var line = 1
        var column = 1
        for k in 0..<offset {
            let b = bytes[k]
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }
        return SourcePosition(line: line, column: column)
    }
}

/// The one rule of which characters a memory file may hold, applied twice: to the raw bytes before
/// any YAML parsing (`ByteChecks`), and to every scalar as YAML decoded it (`StrictYAMLReader`), so
/// that an escape such as `"\e[2K"`, `"\x85"` or `"\u202e"` cannot bring back what the raw check
/// refuses. Refused: C0 controls except tab and line feed, DEL, C1 controls (U+0080–U+009F), the
/// characters with Unicode's Bidi_Control property (U+061C, U+200E, U+200F, U+202A–U+202E,
/// U+2066–U+2069), the line and paragraph separators U+2028/U+2029 (YAML 1.1 readers such as
/// libyaml break lines there, YAML 1.2 readers do not), U+FEFF, and the noncharacters
/// U+FFFE/U+FFFF (which YAML excludes from printable text).
///
/// A raw carriage return directly before a line feed is a line ending, not content; `ByteChecks`
/// allows that one case itself, and libyaml turns it into a plain line feed.
/// docs/FORMAT.md § Character rules.
public enum CharacterRules {
    /// Whether a Unicode scalar value may appear in a memory file, raw or decoded.
    @inline(__always)
    public static func isAllowed(_ value: UInt32) -> Bool {
        if value < 0x20 { return value == 0x09 || value == 0x0A }
        if value < 0x7F { return true }
        if value <= 0x9F { return false }  // DEL and C1
        if value < 0x061C { return true }
        switch value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF:
            return false
        default:
            return true
        }
    }

    /// The first refused scalar of a decoded text, if any.
    public static func firstRefused(in text: String) -> UInt32? {
        // Most text is printable ASCII: one pass over the bytes, decoding only when needed.
        var needsScalars = false
        for byte in text.utf8 where byte < 0x20 || byte >= 0x7F {
            if byte == 0x09 || byte == 0x0A { continue }
            needsScalars = true
            break
        }
        guard needsScalars else { return nil }
        for scalar in text.unicodeScalars where !isAllowed(scalar.value) { return scalar.value }
        return nil
    }

    /// What a refused character is, for messages: "control character", "bidi control character"…
    public static func describe(_ value: UInt32) -> String {
        switch value {
        case 0x80...0x9F: return "C1 control character"
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return "bidi control character"
        case 0x2028: return "line separator"
        case 0x2029: return "paragraph separator"
        case 0xFEFF: return "byte order mark"
        case 0xFFFE, 0xFFFF: return "noncharacter"
        default: return "control character"
        }
    }

    /// `U+001B`: four or more upper-case hex digits.
    public static func codePoint(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

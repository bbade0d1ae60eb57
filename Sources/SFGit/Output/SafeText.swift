import Foundation
import SFGitMemory

/// The one escaping renderer: every text sfgit shows (the CLI's text output, GitHub annotations,
/// and later MCP text blocks and hooks) goes through it, so that memory or file text can never
/// move the cursor, set a terminal title, reorder a line, or draw a line that looks like
/// provenance. The parser already refuses such characters (`CharacterRules`), but a renderer
/// escapes whatever it is given: a cache or an older file may still hold them.
///
/// Escaped: every character `CharacterRules` refuses (C0 controls other than tab and line feed,
/// DEL, C1 controls, bidi controls, U+2028/U+2029, U+FEFF, U+FFFE/U+FFFF), every other invisible
/// format character (Unicode category Cf, such as U+200B or the tag characters U+E0000–U+E007F)
/// except the zero-width joiner and non-joiner that emoji and several scripts need, and in
/// single-line contexts the line feed. Tabs are kept.
///
/// Notation: a line feed is shown as `\n`, a carriage return as `\r`, anything else as `\u{XXXX}`
/// (at least four upper-case hex digits, the same digits as the `U+XXXX` that error messages
/// name). A backslash is not escaped, so the rendering is for people and is not reversible;
/// `--json` gives the exact values.
/// docs/COMMANDS.md § Rendering.
public enum SafeText {
    /// Where the text is shown.
    public enum Context: Sendable, Hashable {
        /// One line: a title, a provenance line, a path, an annotation. Line feeds are escaped too.
        case line
        /// Several lines, such as a body: line feeds are kept (a carriage return is still escaped).
        case lines
    }

    /// The text with everything unprintable in `context` replaced by a visible escape.
    public static func escape(_ text: String, for context: Context = .line) -> String {
        guard needsEscaping(text, for: context) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if needsEscape(scalar, in: context) {
                out.append(contentsOf: escaped(scalar).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Whether a text would be changed by `escape(_:for:)`.
    public static func needsEscaping(_ text: String, for context: Context = .line) -> Bool {
        var text = text
        return text.withUTF8 { firstEscape(in: $0, from: 0, context: context) } != nil
    }

    /// The first character at or after byte `start` of valid UTF-8 `bytes` that is shown
    /// escaped in `context`: its bytes and scalar. One pass over the bytes: printable ASCII is
    /// decided byte by byte, and only the scalars of other bytes are decoded and looked up (a
    /// whole answer through `sfgit mcp` is scanned this way, and most of it is ASCII).
    /// `invalid` when the bytes are not UTF-8 there.
    static func firstEscape(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, context: Context) -> Found? {
        var position = start
        let end = bytes.count
        while position < end {
            // Eight bytes at a time while they are all printable ASCII.
            if end - position >= 8, UTF8Bytes.eightPrintable(bytes, at: position) {
                position += 8
                continue
            }
            let lead = bytes[position]
            if lead < 0x80 {
                if (lead >= 0x20 && lead != 0x7F) || lead == 0x09 || (lead == 0x0A && context == .lines) {
                    position += 1
                    continue
                }
                return .escape(position..<position + 1, Unicode.Scalar(lead))
            }
            guard let (value, length) = UTF8Bytes.decodeMultiByte(bytes, at: position), let scalar = Unicode.Scalar(value) else { return .invalid }
            if needsEscape(scalar, in: context) { return .escape(position..<position + length, scalar) }
            position += length
        }
        return nil
    }

    /// What `firstEscape` found.
    enum Found: Equatable {
        /// A character shown escaped: its bytes and its scalar.
        case escape(Range<Int>, Unicode.Scalar)
        /// Bytes that are not UTF-8.
        case invalid
    }

    /// Whether one character is shown escaped in `context`.
    public static func needsEscape(_ scalar: Unicode.Scalar, in context: Context) -> Bool {
        let value = scalar.value
        if value == 0x0A { return context == .line }
        if !CharacterRules.isAllowed(value) { return true }
        if value < 0xA0 { return false }
        if value == 0x200C || value == 0x200D { return false }  // ZWNJ, ZWJ: needed by emoji and scripts
        switch scalar.properties.generalCategory {
        case .format, .control, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// The visible escape of one character: `\n`, `\r`, or `\u{XXXX}`.
    public static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        default:
            let digits = String(scalar.value, radix: 16, uppercase: true)
            return "\\u{" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "}"
        }
    }

    /// The message of a GitHub Actions workflow command (`::error …::MESSAGE`): escaped as one
    /// line here first, then with the runner's own escaping of `%`, `\r` and `\n`.
    public static func githubMessage(_ text: String) -> String {
        escape(text, for: .line)
            .replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
    }

    /// A property of a GitHub Actions workflow command (`file=…`, `title=…`): as a message, and
    /// `:` and `,` escaped too.
    public static func githubProperty(_ text: String) -> String {
        githubMessage(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }

    /// Encoded JSON with every character that `escape` would show escaped written as a JSON
    /// `\uXXXX` escape instead (a surrogate pair above U+FFFF). The values a JSON reader gets are
    /// exactly the same; only the bytes that reach a terminal change. JSONEncoder already escapes
    /// C0 controls, but not DEL, C1 or bidi controls. Outside strings JSON is ASCII, so every
    /// character replaced is inside a string.
    public static func escapeJSON(_ json: Data) -> Data {
        json.withUnsafeBytes { raw -> Data in
            let bytes = raw.bindMemory(to: UInt8.self)
            // JSON's own line feeds (pretty-printed output) stay: inside strings they are `\n`.
            guard case .escape(var range, var scalar)? = firstEscape(in: bytes, from: 0, context: .lines) else { return json }
            var out = Data()
            out.reserveCapacity(bytes.count + 64)
            var copied = 0
            while true {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<range.lowerBound]))
                for unit in String(scalar).utf16 {
                    let digits = String(unit, radix: 16, uppercase: false)
                    out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - digits.count) + digits).utf8)
                }
                copied = range.upperBound
                switch firstEscape(in: bytes, from: copied, context: .lines) {
                case .escape(let next, let nextScalar)?:
                    range = next
                    scalar = nextScalar
                case .invalid?: return json  // not UTF-8 after all: as before, left as it is
                case nil:
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<bytes.count]))
                    return out
                }
            }
        }
    }
}

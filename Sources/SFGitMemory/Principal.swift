/// A principal is `author@host` in lower-case ASCII (`claude@build-07`): who signs commits and,
/// in a memory's front matter, who claims to have written it.
public enum Principal {
    /// Whether text can be one half of a principal: `[a-z0-9][a-z0-9._-]{0,63}`.
    public static func isValidPart(_ text: some StringProtocol) -> Bool {
        let b = Array(text.utf8)
        guard (1...64).contains(b.count) else { return false }
        let isLowerAlnum = { (c: UInt8) in (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        return isLowerAlnum(b[0]) && b.allSatisfy {
            isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// Whether text is a whole principal, `author@host`.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && isValidPart(parts[0]) && isValidPart(parts[1])
    }
}

/// A proleptic Gregorian UTC date, converted to and from days since 1970-01-01 without Foundation.
public struct CivilDate: Sendable, Hashable {
    /// Year, e.g. 2026.
    public var year: Int
    /// Month, 1–12.
    public var month: Int
    /// Day of the month, 1–31.
    public var day: Int

    /// Creates a date from its parts (not validated; see `isValid`).
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's civil_from_days).
    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// Days since 1970-01-01 (days_from_civil).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Whether month and day exist in that year.
    public var isValid: Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }
}

/// An RFC 3339 timestamp in UTC (`2026-04-29T03:12:44Z`, optionally with a fraction of a second).
/// The text is kept so a file reads back exactly as written.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The text as written.
    public let text: String
    /// Seconds since the Unix epoch, fraction included.
    public let secondsSinceEpoch: Double

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`; any other offset, a lower-case `t`/`z` or an
    /// impossible date is refused.
    public init?(_ text: String) {
        let b = Array(text.utf8)
        guard b.count >= 20, b.last == UInt8(ascii: "Z") else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
              let hour = digits(11..<13), let minute = digits(14..<16), let second = digits(17..<19),
              hour < 24, minute < 60, second < 60
        else { return nil }
        let date = CivilDate(year: year, month: month, day: day)
        guard date.isValid else { return nil }
        var fraction = 0.0
        if b.count > 20 {
            // `.` then at least one digit, then the `Z`.
            guard b[19] == UInt8(ascii: "."), b.count > 21 else { return nil }
            var scale = 0.1
            for i in 20..<(b.count - 1) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
            }
        } else {
            guard b[19] == UInt8(ascii: "Z") else { return nil }
        }
        self.text = text
        self.secondsSinceEpoch = Double(date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second) + fraction
    }

    /// A timestamp for whole seconds since the epoch, written without a fraction.
    public init(secondsSinceEpoch seconds: Int64) {
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let rest = Int(seconds - Int64(days) * 86_400)
        let date = CivilDate(daysSinceEpoch: days)
        self.text = "\(zeroPadded(date.year, 4))-\(zeroPadded(date.month, 2))-\(zeroPadded(date.day, 2))T"
            + "\(zeroPadded(rest / 3600, 2)):\(zeroPadded(rest / 60 % 60, 2)):\(zeroPadded(rest % 60, 2))Z"
        self.secondsSinceEpoch = Double(seconds)
    }

    /// The RFC 3339 text.
    public var description: String { text }

    /// Orders timestamps by time.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }

    /// The same instant moved by a number of seconds (whole seconds, fraction dropped).
    public func adding(seconds: Int64) -> Timestamp {
        Timestamp(secondsSinceEpoch: Int64(secondsSinceEpoch.rounded(.down)) + seconds)
    }

    /// Decodes a timestamp from its RFC 3339 text; refuses anything else.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Timestamp(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 UTC time: \(text)"))
        }
        self = value
    }

    /// Encodes the timestamp as its RFC 3339 text.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

import Foundation
import SFGitMemory

/// Durations and dates on the command line: `30d`, `12h`, `2w`, `90m`, `2026-05-01`, or a full
/// ISO 8601 UTC timestamp.
public enum TimeSpec {
    /// Seconds since the epoch `text` names; durations count back from (`past`) or forward from `now`.
    public static func parse(_ text: String, now: Double, past: Bool) -> Double? {
        if let span = seconds(text), text.last?.isLetter == true {
            return past ? now - span : now + span
        }
        if let timestamp = Timestamp(text) { return timestamp.secondsSinceEpoch }
        if let timestamp = Timestamp(text + "T00:00:00Z") { return timestamp.secondsSinceEpoch }
        return nil
    }

    /// A duration in seconds (`120s`, `2m`, `0`); nil for anything else, dates included.
    public static func seconds(_ text: String) -> Double? {
        if let plain = Double(text) { return plain >= 0 ? plain : nil }
        guard let unit = text.last, let scale = units[unit], let count = Double(text.dropLast()), count >= 0 else { return nil }
        return count * scale
    }

    private static let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]
}

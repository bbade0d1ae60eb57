import Foundation

/// Peak memory of this process and of the children it has waited for (network steps, git's
/// services and maintenance), as `SFGIT_LOG=debug` reports after a sync and `make bench` reads.
public enum ResourceUsage {
    /// This process's peak resident set (`VmHWM`), in KiB.
    public static var peakResidentKiB: Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    /// The largest peak resident set of any child waited for (`getrusage(RUSAGE_CHILDREN)`), in KiB.
    public static var childrenPeakResidentKiB: Int {
        var usage = rusage()
        guard getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0 else { return 0 }
        return usage.ru_maxrss
    }

    /// The line the debug log carries.
    static var summary: String {
        "resources: peak_rss_kib=\(peakResidentKiB) children_peak_rss_kib=\(childrenPeakResidentKiB)"
    }
}

import Logging

/// How loud the library's logs on stderr are: `-q`, `-v`/`-vv`/`-vvv`, or `SFGIT_LOG`.
public enum LogSettings {
    /// The level names `SFGIT_LOG` takes, quietest last.
    public static let levelNames = Logger.Level.allCases.map(\.rawValue)

    /// The log level for a run and, when `SFGIT_LOG` names no level, a warning for people.
    /// `-q` (errors only) and `-v` (info; `-vv` debug with each sync phase's time; `-vvv` trace)
    /// win over `SFGIT_LOG`; without either the variable decides (case aside), and an unknown
    /// value is reported rather than silently ignored, since someone set it wanting to see more.
    /// The default is warnings only.
    public static func level(environment value: String?, verbose: Int, quiet: Bool) -> (level: Logger.Level, warning: String?) {
        var warning: String?
        var fromEnvironment: Logger.Level?
        if let value, !value.isEmpty {
            fromEnvironment = Logger.Level(rawValue: value.lowercased())
            if fromEnvironment == nil {
                warning = "SFGIT_LOG='\(value)' is not a log level (\(levelNames.joined(separator: ", "))); using warning"
            }
        }
        if quiet { return (.error, warning) }
        switch verbose {
        case 0: return (fromEnvironment ?? .warning, warning)
        case 1: return (.info, warning)
        case 2: return (.debug, warning)
        default: return (.trace, warning)
        }
    }
}

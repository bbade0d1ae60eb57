/// The location of a memory in a store: `memories/<kind>/<yyyy>/<mm>/<ID>.yaml`, a pure function of
/// (kind, id), so two hosts never write the same path.
/// docs/FORMAT.md § Paths and ids.
public struct MemoryPath: Sendable, Hashable, CustomStringConvertible {
    /// The kind directory.
    public let kind: MemoryKind
    /// The memory's id; `<yyyy>/<mm>` come from its timestamp.
    public let id: ULID

    /// The path for a memory of this kind and id.
    public init(kind: MemoryKind, id: ULID) {
        self.kind = kind
        self.id = id
    }

    /// The path relative to the store's root.
    public var description: String { "memories/\(kind.name)/" + Self.pathBelowKind(of: id) }

    /// `<yyyy>/<mm>/<ID>.yaml`: where a memory with this id sits inside any kind directory.
    public static func pathBelowKind(of id: ULID) -> String {
        let (year, month) = id.yearAndMonth
        return "\(zeroPadded(year, 4))/\(zeroPadded(month, 2))/\(id).yaml"
    }
}

/// Why a path is not allowed in a store.
public enum StorePathProblem: Sendable, Hashable {
    /// The path has a byte outside printable ASCII (this also refuses Unicode twins).
    case nonASCII
    /// Under `memories/` but not five components ending in a `.yaml` file.
    case notAMemoryPath
    /// The kind directory does not match `[a-z][a-z0-9-]{0,31}`.
    case invalidKindDirectory(String)
    /// The year directory is not four digits or the month directory not `01`–`12`.
    case invalidDateDirectory(String)
    /// The file name is not `<ULID>.yaml` with an upper-case canonical ULID.
    case invalidFileName(String)
    /// `<yyyy>/<mm>` differ from the ULID's UTC timestamp.
    case dateDoesNotMatchID(directory: String, expected: String)
    /// A file outside `memories/` that a store does not hold.
    case strayFile

    /// A sentence explaining the problem.
    public var message: String {
        switch self {
        case .nonASCII:
            return "path has a character outside printable ASCII; store paths are ASCII only"
        case .notAMemoryPath:
            return "path is not of the form memories/<kind>/<yyyy>/<mm>/<ID>.yaml"
        case .invalidKindDirectory(let kind):
            return "kind directory '\(kind)' does not match [a-z][a-z0-9-]{0,31}"
        case .invalidDateDirectory(let component):
            return "date directory '\(component)' is not a four-digit year followed by a month 01-12"
        case .invalidFileName(let name):
            return "file name '\(name)' is not <ULID>.yaml (26 upper-case Crockford base32 characters)"
        case .dateDoesNotMatchID(let directory, let expected):
            return "directory '\(directory)' does not match the id's time; expected '\(expected)'"
        case .strayFile:
            return "file does not belong in a store: only memories/, .sfgit/policy.yaml, .sfgit/allowed_signers, README.md and .github/ are allowed"
        }
    }
}

/// What a path in a store's tree is.
/// docs/FORMAT.md § Repository layout.
public enum StoreEntry: Sendable, Hashable {
    /// A memory file at a well-formed path.
    case memory(MemoryPath)
    /// `.sfgit/policy.yaml`.
    case policy
    /// `.sfgit/allowed_signers`.
    case allowedSigners
    /// The top-level `README.md` for humans.
    case readme
    /// Forge configuration under `.github/` (for example the store's CI workflow).
    case forgeConfiguration
    /// Anything else: refused, with the reason.
    case invalid(StorePathProblem)

    /// Classifies a path relative to the store's root (`/`-separated, no leading slash).
    public static func classify(_ path: String) -> StoreEntry {
        let bytes = Array(path.utf8)
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return .invalid(.nonASCII) }
        switch path {
        case ".sfgit/policy.yaml": return .policy
        case ".sfgit/allowed_signers": return .allowedSigners
        case "README.md": return .readme
        default: break
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.first == ".github", components.count > 1,
           components.dropFirst().allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) {
            return .forgeConfiguration
        }
        guard components.first == "memories" else { return .invalid(.strayFile) }
        guard components.count == 5 else { return .invalid(.notAMemoryPath) }
        let (kindName, yearText, monthText, fileName) = (components[1], components[2], components[3], components[4])
        guard let kind = MemoryKind(kindName) else { return .invalid(.invalidKindDirectory(kindName)) }
        let isDigits = { (s: String) in !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard yearText.utf8.count == 4, isDigits(yearText) else { return .invalid(.invalidDateDirectory(yearText)) }
        guard monthText.utf8.count == 2, isDigits(monthText), let month = Int(monthText), (1...12).contains(month) else {
            return .invalid(.invalidDateDirectory(monthText))
        }
        guard fileName.hasSuffix(".yaml"), let id = ULID(fileName.dropLast(5)) else {
            return .invalid(.invalidFileName(fileName))
        }
        let memoryPath = MemoryPath(kind: kind, id: id)
        let (year, idMonth) = id.yearAndMonth
        let expected = "\(zeroPadded(year, 4))/\(zeroPadded(idMonth, 2))"
        guard expected == "\(yearText)/\(monthText)" else {
            return .invalid(.dateDoesNotMatchID(directory: "\(yearText)/\(monthText)", expected: expected))
        }
        return .memory(memoryPath)
    }
}

/// A non-negative number with leading zeros up to `width` digits.
func zeroPadded(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

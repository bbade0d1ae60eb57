import SFGitMemory

/// `.sfgit/allowed_signers`: OpenSSH allowed-signers lines mapping each key to one principal,
/// with the stricter rules of docs/FORMAT.md § allowed_signers.
public struct AllowedSigners: Sendable, Hashable {
    /// One authorized key.
    public struct Entry: Sendable, Hashable {
        /// The principal (`author@host`) the key belongs to.
        public var principal: String
        /// The key.
        public var key: SSHPublicKey
        /// The 1-based line it was read from.
        public var line: Int

        /// Creates an entry.
        public init(principal: String, key: SSHPublicKey, line: Int) {
            self.principal = principal
            self.key = key
            self.line = line
        }
    }

    /// Why a line was refused.
    public enum Problem: Sendable, Hashable, CustomStringConvertible {
        case multiplePrincipals(String)
        case wildcardPrincipal(String)
        case invalidPrincipal(String)
        case missingNamespaces
        case namespacesNotGit(String)
        case certificateAuthority
        case validityWindow(String)
        case unknownOption(String)
        case missingKey
        case badKey(String)
        case duplicateKey(fingerprint: String, firstLine: Int)
        case notUTF8

        /// Every code an allowed_signers problem can have.
        public enum Code: String, Sendable, CaseIterable {
            case multiplePrincipals = "multiple-principals"
            case wildcardPrincipal = "wildcard-principal"
            case invalidPrincipal = "invalid-principal"
            case missingNamespaces = "missing-namespaces"
            case namespacesNotGit = "namespaces-not-git"
            case certAuthority = "cert-authority"
            case validityWindow = "validity-window"
            case unknownOption = "unknown-option"
            case missingKey = "missing-key"
            case badKey = "bad-key"
            case duplicateSigningKey = "duplicate-signing-key"
            case invalidUtf8 = "invalid-utf8"
        }

        /// A stable kebab-case name.
        public var code: String { kind.rawValue }

        /// The problem's code.
        public var kind: Code {
            switch self {
            case .multiplePrincipals: return .multiplePrincipals
            case .wildcardPrincipal: return .wildcardPrincipal
            case .invalidPrincipal: return .invalidPrincipal
            case .missingNamespaces: return .missingNamespaces
            case .namespacesNotGit: return .namespacesNotGit
            case .certificateAuthority: return .certAuthority
            case .validityWindow: return .validityWindow
            case .unknownOption: return .unknownOption
            case .missingKey: return .missingKey
            case .badKey: return .badKey
            case .duplicateKey: return .duplicateSigningKey
            case .notUTF8: return .invalidUtf8
            }
        }

        /// What is wrong with the line, for people.
        public var description: String {
            switch self {
            case .multiplePrincipals(let p): return "'\(p)' lists several principals; write one principal per line"
            case .wildcardPrincipal(let p): return "principal '\(p)' uses a wildcard or negation, which sfgit refuses"
            case .invalidPrincipal(let p): return "principal '\(p)' is not author@host in lower-case ASCII"
            case .missingNamespaces: return "missing namespaces=\"git\"; every key must be limited to git signatures"
            case .namespacesNotGit(let value): return "namespaces=\"\(value)\" must be exactly \"git\""
            case .certificateAuthority: return "cert-authority keys are refused; list each signing key itself"
            case .validityWindow(let option): return "\(option) is refused: the time it is checked against is chosen by the signer"
            case .unknownOption(let option): return "unknown option '\(option)'"
            case .missingKey: return "missing the key: expected 'principal namespaces=\"git\" TYPE BASE64'"
            case .badKey(let why): return why
            case .duplicateKey(let fingerprint, let firstLine): return "key \(fingerprint) is already listed on line \(firstLine); a key belongs to exactly one principal"
            case .notUTF8: return "file is not valid UTF-8"
            }
        }
    }

    /// A refused line with its position.
    public struct LineProblem: Error, Sendable, Hashable, CustomStringConvertible {
        /// The 1-based line.
        public var line: Int
        /// The 1-based column.
        public var column: Int
        /// What is wrong.
        public var problem: Problem
        /// `line:column: error: problem`.
        public var description: String { "\(line):\(column): error: \(problem)" }
    }

    /// The accepted entries, in file order.
    public var entries: [Entry]

    /// Creates a set of entries.
    public init(entries: [Entry]) { self.entries = entries }

    /// The entry for a key, matched by its blob.
    public func entry(for key: SSHPublicKey) -> Entry? {
        entries.first { $0.key.blob == key.blob }
    }

    /// Parses a file; any problem refuses the whole file (a partly-read trust list is unsafe).
    public static func parse(_ bytes: [UInt8]) throws(AllowedSignersError) -> AllowedSigners {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw AllowedSignersError(problems: [LineProblem(line: 1, column: 1, problem: .notUTF8)])
        }
        var entries: [Entry] = []
        var problems: [LineProblem] = []
        var firstLineOfKey: [[UInt8]: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let indent = line.count - trimmed.count
            do {
                let entry = try parseLine(String(trimmed), lineNumber: lineNumber, indent: indent)
                if let first = firstLineOfKey[entry.key.blob] {
                    problems.append(LineProblem(line: lineNumber, column: indent + 1, problem: .duplicateKey(fingerprint: entry.key.fingerprint, firstLine: first)))
                } else {
                    firstLineOfKey[entry.key.blob] = lineNumber
                    entries.append(entry)
                }
            } catch {
                problems.append(error)
            }
        }
        guard problems.isEmpty else { throw AllowedSignersError(problems: problems) }
        return AllowedSigners(entries: entries)
    }

    private static func parseLine(_ line: String, lineNumber: Int, indent: Int) throws(LineProblem) -> Entry {
        let tokens = tokenize(line)
        func fail(_ problem: Problem, _ token: Int) -> LineProblem {
            LineProblem(line: lineNumber, column: indent + 1 + (token < tokens.count ? tokens[token].offset : line.count), problem: problem)
        }
        guard let principal = tokens.first?.text else { throw fail(.missingKey, 0) }
        if principal.contains(",") { throw fail(.multiplePrincipals(principal), 0) }
        if principal.contains(where: { "*?!".contains($0) }) { throw fail(.wildcardPrincipal(principal), 0) }
        guard Principal.isValid(principal) else { throw fail(.invalidPrincipal(principal), 0) }

        var keyIndex = 1
        var namespaces: String?
        if tokens.count > 1, SSHPublicKey.Algorithm(rawValue: tokens[1].text) == nil, !looksLikeKeyType(tokens[1].text) {
            keyIndex = 2
            for option in splitOptions(tokens[1].text) {
                let (name, value) = option.firstIndex(of: "=").map {
                    (String(option[..<$0]).lowercased(), unquote(String(option[option.index(after: $0)...])))
                } ?? (option.lowercased(), nil)
                switch name {
                case "namespaces": namespaces = value ?? ""
                case "cert-authority": throw fail(.certificateAuthority, 1)
                case "valid-before", "valid-after": throw fail(.validityWindow(name), 1)
                default: throw fail(.unknownOption(option), 1)
                }
            }
        }
        guard let namespaces else { throw fail(.missingNamespaces, 1) }
        guard namespaces == "git" else { throw fail(.namespacesNotGit(namespaces), 1) }
        guard tokens.count >= keyIndex + 2 else { throw fail(.missingKey, keyIndex) }
        do {
            let key = try SSHPublicKey(openSSH: tokens[keyIndex].text + " " + tokens[keyIndex + 1].text)
            return Entry(principal: principal, key: key, line: lineNumber)
        } catch {
            throw fail(.badKey(error.description), keyIndex)
        }
    }

    private static func looksLikeKeyType(_ token: String) -> Bool {
        token.hasPrefix("ssh-") || token.hasPrefix("ecdsa-") || token.hasPrefix("sk-")
    }

    /// Splits on spaces outside double quotes, remembering each token's character offset.
    private static func tokenize(_ line: String) -> [(text: String, offset: Int)] {
        var tokens: [(String, Int)] = []
        var current = ""
        var start = 0
        var inQuotes = false
        for (offset, char) in line.enumerated() {
            if char == "\"" { inQuotes.toggle() }
            if (char == " " || char == "\t") && !inQuotes {
                if !current.isEmpty { tokens.append((current, start)) }
                current = ""
            } else {
                if current.isEmpty { start = offset }
                current.append(char)
            }
        }
        if !current.isEmpty { tokens.append((current, start)) }
        return tokens
    }

    /// Splits an options field on commas outside double quotes.
    private static func splitOptions(_ field: String) -> [String] {
        var options: [String] = []
        var current = ""
        var inQuotes = false
        for char in field {
            if char == "\"" { inQuotes.toggle() }
            if char == "," && !inQuotes {
                options.append(current)
                current = ""
            } else {
                current.append(char)
            }
        }
        options.append(current)
        return options
    }

    private static func unquote(_ value: String) -> String {
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { return String(value.dropFirst().dropLast()) }
        return value
    }

    /// Renders entries in the canonical form sfgit writes.
    public func render() -> String {
        entries.map { "\($0.principal) namespaces=\"git\" \($0.key.openSSH)\n" }.joined()
    }
}

/// An allowed_signers file refused with its problems.
public struct AllowedSignersError: Error, Sendable, Hashable {
    /// Every refused line.
    public var problems: [AllowedSigners.LineProblem]
}

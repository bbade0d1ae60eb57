import Foundation
import SFGitMemory

/// The agent harnesses `sfgit hook install` wires sfgit into.
public enum Harness: String, Sendable, CaseIterable {
    case claude, cursor, hermes
}

/// How a harness starts `sfgit mcp`: the absolute path of this binary (GUI-started editors do
/// not inherit a shell's PATH), its arguments, and the environment sfgit needs that a harness
/// would not pass on (`SFGIT_HOME` when it is set; the MCP client libraries pass an allow-listed
/// environment only).
public struct MCPRegistration: Sendable {
    /// The absolute path of the `sfgit` to run.
    public var command: String
    /// Its arguments (`mcp`).
    public var arguments: [String]
    /// Environment variables to set for it (name, value).
    public var environment: [(String, String)]

    /// Creates a registration.
    public init(command: String, arguments: [String], environment: [(String, String)] = []) {
        self.command = command
        self.arguments = arguments
        self.environment = environment
    }

    /// The sfgit variables of this process that a harness should pass on.
    public static func environment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [(String, String)] {
        ["SFGIT_HOME"].compactMap { name in environment[name].flatMap { $0.isEmpty ? nil : (name, $0) } }
    }

    /// The server entry of `mcpServers` (Claude Code, Cursor, generic clients).
    var serverEntry: JSONValue {
        var pairs: [(String, JSONValue)] = [("command", .string(command)), ("args", .array(arguments.map(JSONValue.string)))]
        if !environment.isEmpty { pairs.append(("env", .object(environment.map { ($0.0, .string($0.1)) }))) }
        return .object(pairs)
    }

    /// The shell command of the session-start hook.
    public var sessionStartCommand: String {
        let prefix = environment.map { "\($0.0)=\(Self.shellQuoted($0.1)) " }.joined()
        let store = arguments.firstIndex(of: "--store").map { " --store " + Self.shellQuoted(arguments[$0 + 1]) } ?? ""
        return prefix + Self.shellQuoted(command) + " hook session-start" + store
    }

    /// A word for `sh`: as it is when it holds only safe characters, else in single quotes.
    static func shellQuoted(_ word: String) -> String {
        let safe = word.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "/._-+@:=,".unicodeScalars.contains($0)) }
        return safe && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Claude Code's SessionStart hook group for sfgit.
    var sessionStartHook: JSONValue {
        .object([
            ("matcher", .string("startup|resume|clear|compact")),
            ("hooks", .array([.object([("type", .string("command")), ("command", .string(sessionStartCommand)), ("timeout", .integer(10))])])),
        ])
    }

    /// Claude Code's permission rules for sfgit's read-only tools: they run without a prompt;
    /// the tools that write (`memory_remember`, `memory_retract`) still ask.
    static let readOnlyToolPermissions = ["memory_recall", "memory_show", "memory_status", "memory_breakers", "memory_benchmarks"]
        .map { "mcp__sfgit__" + $0 }

    /// The lines of Hermes's `mcp_servers.sfgit` entry, below the `sfgit:` line.
    var hermesLines: [String] {
        var lines = ["command: " + JSONCEditor.quoted(command), "args: [" + arguments.map(JSONCEditor.quoted).joined(separator: ", ") + "]"]
        if !environment.isEmpty {
            lines.append("env:")
            lines += environment.map { "  \($0.0): " + JSONCEditor.quoted($0.1) }
        }
        return lines
    }

    /// What to paste by hand: `claude`, `cursor`, `hermes` or `generic`.
    public func snippet(for harness: String) -> String {
        let mcpServers = JSONValue.object([("mcpServers", .object([("sfgit", serverEntry)]))])
        let editor = try! JSONCEditor("{}")
        switch harness {
        case "claude":
            let settings = JSONValue.object([
                ("hooks", .object([("SessionStart", .array([sessionStartHook]))])),
                ("permissions", .object([("allow", .array(Self.readOnlyToolPermissions.map(JSONValue.string)))])),
            ])
            return "# .mcp.json (project) or ~/.claude.json (user):\n" + editor.render(mcpServers, indent: "") + "\n"
                + "# .claude/settings.json: recalled memories at session start (fail-open); the read-only tools without a prompt\n"
                + editor.render(settings, indent: "") + "\n"
        case "cursor":
            return "# .cursor/mcp.json (project) or ~/.cursor/mcp.json (user):\n" + editor.render(mcpServers, indent: "") + "\n"
        case "hermes":
            return "# ~/.hermes/config.yaml:\nmcp_servers:\n  sfgit:\n" + hermesLines.map { "    " + $0 + "\n" }.joined()
        default:
            return editor.render(mcpServers, indent: "") + "\n"
        }
    }
}

/// One configuration file `hook install` or `uninstall` changes.
public struct WiringEdit: Sendable {
    /// The file.
    public var path: String
    /// Its text before (nil: it did not exist).
    public var before: String?
    /// Its text after (nil: it is removed).
    public var after: String?

    /// Whether anything changes.
    public var changes: Bool { before != after }

    /// A unified diff of the change (one hunk: the edits are one splice each).
    public var diff: String {
        let old = (before ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let new = (after ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var prefix = 0
        while prefix < old.count, prefix < new.count, old[prefix] == new[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < old.count - prefix, suffix < new.count - prefix, old[old.count - 1 - suffix] == new[new.count - 1 - suffix] { suffix += 1 }
        let context = 3
        let start = max(0, prefix - context)
        let oldEnd = min(old.count, old.count - suffix + context), newEnd = min(new.count, new.count - suffix + context)
        var lines = ["--- \(before == nil ? "/dev/null" : path)", "+++ \(after == nil ? "/dev/null" : path)",
                     "@@ -\(start + 1),\(oldEnd - start) +\(start + 1),\(newEnd - start) @@"]
        lines += old[start..<prefix].map { " " + $0 }
        lines += old[prefix..<(old.count - suffix)].map { "-" + $0 }
        lines += new[prefix..<(new.count - suffix)].map { "+" + $0 }
        lines += old[(old.count - suffix)..<oldEnd].map { " " + $0 }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `sfgit hook install|uninstall`: sfgit's entries in a harness's configuration files, merged in
/// with minimal textual edits (nothing else in a file is rewritten), idempotently; a file that
/// does not parse is refused, never overwritten.
public enum HarnessWiring {
    /// Where a harness's files are: in the project, or in the user's home.
    public enum Scope: String, Sendable { case project, user }

    /// The files of a harness in a scope.
    public static func files(_ harness: Harness, scope: Scope, projectDirectory: String, userHome: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        switch (harness, scope) {
        case (.claude, .project): return [projectDirectory + "/.mcp.json", projectDirectory + "/.claude/settings.json"]
        case (.claude, .user): return [userHome + "/.claude.json", userHome + "/.claude/settings.json"]
        case (.cursor, .project): return [projectDirectory + "/.cursor/mcp.json"]
        case (.cursor, .user): return [userHome + "/.cursor/mcp.json"]
        case (.hermes, _): return [(environment["HERMES_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? userHome + "/.hermes") + "/config.yaml"]
        }
    }

    /// The edits that install (or, with `remove`, uninstall) sfgit in `files`.
    public static func plan(_ harness: Harness, files: [String], registration: MCPRegistration, remove: Bool) throws(SFGitError) -> [WiringEdit] {
        var edits: [WiringEdit] = []
        for path in files {
            let before: String?
            if FileManager.default.fileExists(atPath: path) {
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    throw SFGitError(.usage, "cannot read \(path) as UTF-8 text")
                }
                before = text
            } else {
                before = nil
            }
            if remove && before == nil { continue }
            let after: String?
            if harness == .hermes {
                after = try HermesConfig.edit(before, path: path, lines: registration.hermesLines, remove: remove)
            } else {
                after = try editJSON(before, path: path, registration: registration, hooks: path.hasSuffix("/settings.json"), remove: remove)
            }
            edits.append(WiringEdit(path: path, before: before, after: after))
        }
        return edits
    }

    private static func editJSON(_ before: String?, path: String, registration: MCPRegistration, hooks: Bool, remove: Bool) throws(SFGitError) -> String? {
        do {
            var editor = try JSONCEditor(before ?? "{}\n")
            let ours: (JSONCEditor.Node) -> Bool = { group in
                group.member("hooks")?.elements.contains { ($0.member("command")?.string).map(isSessionStartCommand) ?? false } ?? false
            }
            let permission: (JSONCEditor.Node) -> Bool = { $0.string.map(MCPRegistration.readOnlyToolPermissions.contains) ?? false }
            if remove {
                if hooks {
                    try editor.removeElements(["hooks", "SessionStart"], matches: ours)
                    try editor.removeElements(["permissions", "allow"], matches: permission)
                } else {
                    try editor.removeMember(["mcpServers"], "sfgit")
                }
                // A file that holds nothing but what sfgit put there goes away again.
                if before != nil, editor.text.trimmingCharacters(in: .whitespacesAndNewlines) == "{}" { return nil }
            } else if hooks {
                try editor.upsertElement(["hooks", "SessionStart"], registration.sessionStartHook, matches: ours)
                for rule in MCPRegistration.readOnlyToolPermissions {
                    try editor.upsertElement(["permissions", "allow"], .string(rule), matches: { $0.string == rule })
                }
            } else {
                try editor.setMember(["mcpServers"], "sfgit", registration.serverEntry)
            }
            return editor.text
        } catch {
            throw SFGitError(.usage, "\(path) does not parse as JSON (\(error.description)); not touched. Add sfgit by hand (sfgit mcp --print-config …)")
        }
    }

    /// Whether a hook command is sfgit's session-start hook (any binary path, store or variables).
    static func isSessionStartCommand(_ command: String) -> Bool {
        command.contains("sfgit") && command.contains(" hook session-start")
    }

    /// Writes the edits: a `.bak` copy of each changed file first, then the new text atomically
    /// with the old file's permissions (new files 0600).
    public static func apply(_ edits: [WiringEdit]) throws(SFGitError) {
        let manager = FileManager.default
        for edit in edits where edit.changes {
            do {
                var mode: mode_t = 0o600
                if let before = edit.before {
                    var info = stat()
                    if stat(edit.path, &info) == 0 { mode = info.st_mode & 0o7777 }
                    try Data(before.utf8).write(to: URL(fileURLWithPath: edit.path + ".bak"))
                    chmod(edit.path + ".bak", mode)
                }
                guard let after = edit.after else {
                    try manager.removeItem(atPath: edit.path)
                    continue
                }
                let directory = (edit.path as NSString).deletingLastPathComponent
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let temporary = edit.path + ".sfgit-tmp"
                try Data(after.utf8).write(to: URL(fileURLWithPath: temporary))
                chmod(temporary, mode)
                guard rename(temporary, edit.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
            } catch {
                throw SFGitError(.internalError, "cannot write \(edit.path): \(error)")
            }
        }
    }
}

/// Hermes's `config.yaml`: the `sfgit` entry of the top-level `mcp_servers` block mapping, edited
/// as lines so that comments and layout stay. The file must parse (strictly) before and after.
enum HermesConfig {
    static func edit(_ before: String?, path: String, lines entry: [String], remove: Bool) throws(SFGitError) -> String? {
        let text = before ?? ""
        if before != nil { try check(text, path: path) }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let endsWithNewline = text.isEmpty || text.hasSuffix("\n")
        if endsWithNewline, !lines.isEmpty { lines.removeLast() }
        func indent(_ line: String) -> Int { line.prefix { $0 == " " }.count }
        func isContent(_ line: String) -> Bool { let t = line.trimmingCharacters(in: .whitespaces); return !t.isEmpty && !t.hasPrefix("#") }
        func isKey(_ line: String, _ key: String) -> Bool {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix(key + ":") else { return false }
            let rest = t.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
            return rest.isEmpty || rest.hasPrefix("#")
        }
        guard let header = lines.firstIndex(where: { indent($0) == 0 && $0.hasPrefix("mcp_servers:") }) else {
            if remove { return before }
            var out = lines
            out += ["mcp_servers:", "  sfgit:"] + entry.map { "    " + $0 }
            return try checked(out.joined(separator: "\n") + "\n", path: path)
        }
        guard isKey(lines[header], "mcp_servers") else {
            throw SFGitError(.usage, "\(path): mcp_servers is not a block mapping; not touched. Add sfgit by hand (sfgit mcp --print-config hermes)")
        }
        // The block: every following line that is blank, a comment or indented.
        var end = header + 1
        while end < lines.count, !isContent(lines[end]) || indent(lines[end]) > 0 { end += 1 }
        while end > header + 1, !isContent(lines[end - 1]) { end -= 1 }
        let children = (header + 1)..<end
        let childIndent = children.first(where: { isContent(lines[$0]) }).map { indent(lines[$0]) } ?? 2
        let pad = String(repeating: " ", count: childIndent)
        let ours = [pad + "sfgit:"] + entry.map { pad + "  " + $0 }
        if let start = children.first(where: { indent(lines[$0]) == childIndent && isKey(lines[$0], "sfgit") }) {
            var stop = start + 1
            while stop < end, !isContent(lines[stop]) || indent(lines[stop]) > childIndent { stop += 1 }
            while stop > start + 1, !isContent(lines[stop - 1]) { stop -= 1 }
            if remove {
                lines.removeSubrange(start..<stop)
                let remaining = lines[(header + 1)..<(end - (stop - start))]
                if !remaining.contains(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                    lines.removeSubrange(header..<(end - (stop - start)))
                }
            } else {
                if Array(lines[start..<stop]) == ours { return before }
                lines.replaceSubrange(start..<stop, with: ours)
            }
        } else {
            if remove { return before }
            lines.insert(contentsOf: ours, at: end)
        }
        if lines.isEmpty { return remove && before != nil ? nil : "" }
        return try checked(lines.joined(separator: "\n") + (endsWithNewline ? "\n" : ""), path: path)
    }

    private static func check(_ text: String, path: String) throws(SFGitError) {
        do {
            _ = try StrictYAMLReader(maxDepth: 32, maxDocuments: 1).read(Array(text.utf8))
        } catch {
            throw SFGitError(.usage, "\(path) does not parse as YAML (\(error.position): \(error.failure)); not touched. Add sfgit by hand (sfgit mcp --print-config hermes)")
        }
    }

    private static func checked(_ text: String, path: String) throws(SFGitError) -> String {
        try check(text, path: path)
        return text
    }
}

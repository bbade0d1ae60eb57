import Foundation
import SFGitTestSupport
import Testing

/// `sfgit completion bash|zsh|fish`, loaded into a real bash.
@Suite("completion: scripts for bash, zsh and fish")
struct CompletionTests {
    /// Loads the bash script and asks it to complete `words` (the last one being completed), as
    /// bash itself calls a completion function: `_sfgit COMMAND CURRENT PREVIOUS`.
    static func complete(_ words: [String], environment: [String: String?]) throws -> [String] {
        let scratch = try TemporaryDirectory()
        let script = try PackagePaths.runSFGit(["completion", "bash"])
        try #require(script.exitCode == 0)
        let scriptPath = try scratch.write("sfgit.bash", script.stdout)
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let driver = """
            source '\(scriptPath)'
            COMP_WORDS=(\(quoted))
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            COMP_LINE="${COMP_WORDS[*]}"
            COMP_POINT=${#COMP_LINE}
            COMPREPLY=()
            _sfgit "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let result = try ProcessRunner.run("/bin/bash", ["-c", driver], environment: environment)
        #expect(result.exitCode == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map(String.init)
    }

    @Test("the bash script loads, completes subcommands, kinds and this home's store names")
    func bash() throws {
        let federation = try Federation()
        try federation.initialise()
        let binary = PackagePaths.sfgitBinary
        let environment = federation.environment(federation.admin)
        let loaded = try ProcessRunner.run("/bin/bash", ["-c", "source <('\(binary)' completion bash) && complete -p sfgit"])
        #expect(loaded.stdout.contains("-F _sfgit sfgit"), "\(loaded.stdout)\(loaded.stderr)")
        let subcommands = try Self.complete([binary, "st"], environment: environment)
        #expect(Set(subcommands) == ["status", "store"], "\(subcommands)")
        let kinds = try Self.complete([binary, "remember", ""], environment: environment)
        #expect(Set(["learning", "anti-pattern", "circuit-breaker"]).isSubset(of: kinds), "\(kinds)")
        let stores = try Self.complete([binary, "recall", "--store", ""], environment: environment)
        #expect(stores == ["shared"], "\(stores)")
    }

    @Test("ids complete for show, retract and --supersedes, from this home's cache, by prefix in any case")
    func memoryIDs() throws {
        let federation = try Federation()
        try federation.initialise()
        let binary = PackagePaths.sfgitBinary
        let environment = federation.environment(federation.admin)
        var ids: [String] = []
        for title in ["first", "second"] {
            let (result, envelope) = try federation.json(federation.admin, ["remember", "note", "--title", title])
            try #require(result.exitCode == 0, "\(result.stderr)")
            ids.append(try #require((envelope["data"] as? [String: Any])?["id"] as? String))
        }
        let all = try Self.complete([binary, "show", ""], environment: environment)
        #expect(Set(ids).isSubset(of: Set(all)), "\(all)")
        // The ids share their time prefix; one more character than the shared part picks one.
        let shared = zip(ids[0], ids[1]).prefix { $0 == $1 }.count
        let one = String(ids[1].prefix(shared + 1))
        #expect(try Self.complete([binary, "retract", one.lowercased()], environment: environment).map { $0.uppercased() } == [ids[1]])
        #expect(try Self.complete([binary, "remember", "note", "--supersedes", one], environment: environment) == [ids[1]])
        #expect(try Self.complete([binary, "show", "ZZZZ"], environment: environment).isEmpty)
    }

    @Test("zsh and fish scripts are generated; an unknown shell is a usage error naming the shells")
    func otherShells() throws {
        let zsh = try PackagePaths.runSFGit(["completion", "zsh"])
        #expect(zsh.exitCode == 0)
        #expect(zsh.stdout.hasPrefix("#compdef sfgit"))
        let fish = try PackagePaths.runSFGit(["completion", "fish"])
        #expect(fish.exitCode == 0)
        #expect(fish.stdout.contains("complete -c 'sfgit'") || fish.stdout.contains("complete -c sfgit"), "\(fish.stdout.prefix(400))")
        let unknown = try PackagePaths.runSFGit(["completion", "tcsh"])
        #expect(unknown.exitCode == 2)
        #expect(unknown.stderr.contains("unknown shell 'tcsh': completion takes bash, zsh or fish"))
    }
}

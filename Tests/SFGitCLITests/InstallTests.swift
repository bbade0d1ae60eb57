import Foundation
import SFGitTestSupport
import Testing

/// `make install` into a scratch prefix, with the binary this test run built (a release build
/// would take minutes) and swift-argument-parser's generate-manual (`make build` builds it).
@Suite("install: make install into a scratch prefix")
struct InstallTests {
    static let generateManual = PackagePaths.root + "/.build/debug/generate-manual"

    @Test("binary, man page, completions, systemd units and crontab installed; the man page reads with man -l; the completion loads in bash",
          .enabled(if: FileManager.default.isExecutableFile(atPath: generateManual),
                   "generate-manual is not built: run `make build` (or `swift build --product generate-manual`)"))
    func install() throws {
        let scratch = try TemporaryDirectory()
        let prefix = scratch.url("prefix")
        let made = try ProcessRunner.run("make", ["-C", PackagePaths.root, "install", "PREFIX=" + prefix,
                                                  "SFGIT_BINARY=" + PackagePaths.sfgitBinary, "GENERATE_MANUAL=" + Self.generateManual])
        #expect(made.exitCode == 0, "\(made.stdout)\(made.stderr)")
        for file in ["bin/sfgit", "share/man/man1/sfgit.1", "share/bash-completion/completions/sfgit", "share/zsh/site-functions/_sfgit",
                     "share/fish/vendor_completions.d/sfgit.fish", "lib/systemd/system/sfgit-sync.service", "lib/systemd/system/sfgit-sync.timer",
                     "lib/systemd/user/sfgit-sync.service", "lib/systemd/user/sfgit-sync.timer", "share/doc/sfgit/examples/cron/sfgit.crontab"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + file), "missing \(file)")
        }
        let version = try ProcessRunner.run(prefix + "/bin/sfgit", ["--version"])
        #expect(version.exitCode == 0)

        // The man page is the help text: every subcommand, with its examples.
        let manual = try ProcessRunner.run("man", ["-l", prefix + "/share/man/man1/sfgit.1"], environment: ["MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "100"])
        #expect(manual.exitCode == 0, "\(manual.stderr)")
        for text in ["SYNOPSIS", "doctor", "completion", "EXAMPLES:", "--alert-after"] {
            #expect(manual.stdout.contains(text), "the man page lacks \(text)")
        }

        // The completion script loads in bash; the units and crontab name the installed binary.
        let bash = try ProcessRunner.run("/bin/bash", ["-c", "source '\(prefix)/share/bash-completion/completions/sfgit' && complete -p sfgit"])
        #expect(bash.stdout.contains("-F _sfgit sfgit"), "\(bash.stdout)\(bash.stderr)")
        let service = try String(contentsOfFile: prefix + "/lib/systemd/user/sfgit-sync.service", encoding: .utf8)
        #expect(service.contains("ExecStart=\(prefix)/bin/sfgit sync --quiet"))
        let crontab = try String(contentsOfFile: prefix + "/share/doc/sfgit/examples/cron/sfgit.crontab", encoding: .utf8)
        #expect(crontab.contains("; \(prefix)/bin/sfgit sync --quiet"))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
            let verified = try ProcessRunner.run("/usr/bin/systemd-analyze", ["verify", prefix + "/lib/systemd/system/sfgit-sync.timer", prefix + "/lib/systemd/system/sfgit-sync.service"])
            #expect(verified.exitCode == 0 && verified.stderr.isEmpty, "\(verified.stderr)")
        }
    }
}

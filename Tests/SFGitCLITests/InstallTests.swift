import Foundation
import SFGitTestSupport
import Testing

/// `make install` into a scratch prefix, with the binary this test run built (a release build
/// would take minutes) and swift-argument-parser's generate-manual (`make build` builds it).
@Suite("install: make install into a scratch prefix")
struct InstallTests {
    static let generateManual = PackagePaths.root + "/.build/debug/generate-manual"

    @Test("binary, network helper, man page, completions, systemd units and crontab installed; the man page reads with man -l; the completion loads in bash",
          .enabled(if: FileManager.default.isExecutableFile(atPath: generateManual),
                   "generate-manual is not built: run `make build` (or `swift build --product generate-manual`)"))
    func install() throws {
        let scratch = try TemporaryDirectory()
        let prefix = scratch.url("prefix")
        let made = try ProcessRunner.run("make", ["-C", PackagePaths.root, "install", "PREFIX=" + prefix,
                                                  "SFGIT_BINARY=" + PackagePaths.sfgitBinary, "GENERATE_MANUAL=" + Self.generateManual])
        #expect(made.exitCode == 0, "\(made.stdout)\(made.stderr)")
        for file in ["bin/sfgit", "libexec/sfgit/sfgit-network", "share/man/man1/sfgit.1", "share/bash-completion/completions/sfgit", "share/zsh/site-functions/_sfgit",
                     "share/fish/vendor_completions.d/sfgit.fish", "lib/systemd/system/sfgit-sync.service", "lib/systemd/system/sfgit-sync.timer",
                     "lib/systemd/user/sfgit-sync.service", "lib/systemd/user/sfgit-sync.timer", "share/doc/sfgit/examples/cron/sfgit.crontab"] {
            #expect(FileManager.default.fileExists(atPath: prefix + "/" + file), "missing \(file)")
        }
        let version = try ProcessRunner.run(prefix + "/bin/sfgit", ["--version"])
        #expect(version.exitCode == 0)
        try Self.expectHelperFound(sfgit: prefix + "/bin/sfgit", at: prefix + "/libexec/sfgit/sfgit-network", scratch: scratch)

        // The man page is the help text: every subcommand, with its examples.
        let manual = try ProcessRunner.run("man", ["-l", prefix + "/share/man/man1/sfgit.1"], environment: ["MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "100"])
        #expect(manual.exitCode == 0, "\(manual.stderr)")
        #expect(manual.stderr.isEmpty, "man warns: \(manual.stderr)")
        for text in ["SYNOPSIS", "doctor", "completion", "EXAMPLES:", "--alert-after", "config"] {
            #expect(manual.stdout.contains(text), "the man page lacks \(text)")
        }
        // The network step is a helper of its own, not a subcommand on the page.
        #expect(!manual.stdout.contains("_remote") && !manual.stdout.contains("one network step"), "the man page lists a network step")

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

    @Test("make deb builds a package that dpkg installs into a scratch root, that runs there, and that dpkg removes without a trace",
          .enabled(if: FileManager.default.isExecutableFile(atPath: generateManual) && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-deb"),
                   "generate-manual is not built (make build) or dpkg-deb is missing"))
    func deb() throws {
        let scratch = try TemporaryDirectory()
        let package = scratch.url("sfgit.deb")
        let made = try ProcessRunner.run("make", ["-C", PackagePaths.root, "deb", "DEB=" + package,
                                                  "SFGIT_BINARY=" + PackagePaths.sfgitBinary, "GENERATE_MANUAL=" + Self.generateManual])
        #expect(made.exitCode == 0, "\(made.stdout)\(made.stderr)")
        let info = try ProcessRunner.run("dpkg-deb", ["--info", package]).stdout
        #expect(info.contains("Package: sfgit"))
        #expect(info.contains("Depends: libgit2-1.5, libyaml-0-2, libsqlite3-0, openssh-client"), "\(info)")
        let contents = try ProcessRunner.run("dpkg-deb", ["--contents", package]).stdout
        for file in ["./usr/bin/sfgit", "./usr/libexec/sfgit/sfgit-network", "./usr/share/man/man1/sfgit.1", "./usr/share/bash-completion/completions/sfgit", "./usr/lib/systemd/system/sfgit-sync.timer"] {
            #expect(contents.contains(file), "missing \(file)")
        }

        // A scratch root with its own dpkg database; this machine's libraries are not in it.
        let root = scratch.url("root")
        for directory in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        FileManager.default.createFile(atPath: root + "/var/lib/dpkg/status", contents: Data())
        let installed = try ProcessRunner.run("dpkg", ["--root=" + root, "--force-depends", "--force-not-root", "-i", package])
        #expect(installed.exitCode == 0, "\(installed.stdout)\(installed.stderr)")
        #expect(try ProcessRunner.run(root + "/usr/bin/sfgit", ["--version"]).exitCode == 0)
        try Self.expectHelperFound(sfgit: root + "/usr/bin/sfgit", at: root + "/usr/libexec/sfgit/sfgit-network", scratch: scratch)
        let unit = try String(contentsOfFile: root + "/usr/lib/systemd/system/sfgit-sync.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/sfgit sync --quiet"))
        let removed = try ProcessRunner.run("dpkg", ["--root=" + root, "--force-not-root", "-r", "sfgit"])
        #expect(removed.exitCode == 0, "\(removed.stdout)\(removed.stderr)")
        var left: [String] = []
        if let walker = FileManager.default.enumerator(atPath: root + "/usr") {
            for case let path as String in walker {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: root + "/usr/" + path, isDirectory: &isDirectory), !isDirectory.boolValue { left.append(path) }
            }
        }
        #expect(left.isEmpty, "files left after dpkg -r: \(left)")
    }

    /// The installed `sfgit` finds its installed network helper (`doctor` names it), with no
    /// other `sfgit-network` on PATH; the helper itself, run by hand, refuses to do anything.
    static func expectHelperFound(sfgit: String, at helper: String, scratch: TemporaryDirectory) throws {
        let home = scratch.url("doctor-home-\(UUID().uuidString.prefix(8))")
        let doctor = try ProcessRunner.run(sfgit, ["doctor", "--json"], environment: [
            "SFGIT_HOME": home, "PATH": "/usr/bin:/bin", "SFGIT_NETWORK_HELPER": nil,
        ])
        let envelope = try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any]
        let checks = (envelope?["data"] as? [String: Any])?["checks"] as? [[String: Any]] ?? []
        let check = checks.first { $0["name"] as? String == "network helper" }
        #expect(check?["status"] as? String == "ok", "\(doctor.stdout)\(doctor.stderr)")
        #expect((check?["detail"] as? String).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
                == URL(fileURLWithPath: helper).resolvingSymlinksInPath().path, "\(String(describing: check))")
        let byHand = try ProcessRunner.run(helper, [], stdin: Data("{}".utf8))
        #expect(byHand.exitCode == 2 && byHand.stdout.isEmpty && byHand.stderr.contains("runs only as the child of a sync"), "\(byHand)")
    }
}

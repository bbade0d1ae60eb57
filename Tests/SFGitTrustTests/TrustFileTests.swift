import SFGitTestSupport
import Testing
@testable import SFGitTrust

@Suite("allowed_signers and policy.yaml")
struct TrustFileTests {
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOlb1XJgDrGwqRxMHGJ3Lx8XWmTkLZJ7+mQ5nB2i5pTq"

    @Test("a valid line maps a key to one principal")
    func valid() throws {
        let signers = try AllowedSigners.parse(Array("# comment\n\nsf@mikki-bunker namespaces=\"git\" \(Self.key) laptop key\n".utf8))
        #expect(signers.entries.count == 1)
        #expect(signers.entries[0].principal == "sf@mikki-bunker")
        #expect(signers.entries[0].line == 3)
        #expect(signers.render() == "sf@mikki-bunker namespaces=\"git\" \(Self.key)\n")
    }

    @Test("each lint rule refuses its line with a distinct code and column", arguments: [
        ("a@h,b@h namespaces=\"git\" \(key)", "multiple-principals", 1),
        ("*@h namespaces=\"git\" \(key)", "wildcard-principal", 1),
        ("!a@h namespaces=\"git\" \(key)", "wildcard-principal", 1),
        ("Admin@HQ namespaces=\"git\" \(key)", "invalid-principal", 1),
        ("a@h \(key)", "missing-namespaces", 5),
        ("a@h namespaces=\"git,file\" \(key)", "namespaces-not-git", 5),
        ("a@h cert-authority,namespaces=\"git\" \(key)", "cert-authority", 5),
        ("a@h namespaces=\"git\",valid-before=\"20300101\" \(key)", "validity-window", 5),
        ("a@h namespaces=\"git\",valid-after=\"20200101\" \(key)", "validity-window", 5),
        ("a@h namespaces=\"git\",no-touch-required \(key)", "unknown-option", 5),
        ("a@h namespaces=\"git\"", "missing-key", 21),
        ("a@h namespaces=\"git\" ssh-ed25519 AAAA", "bad-key", 22),
        ("a@h namespaces=\"git\" ssh-dss AAAAB3NzaC1kc3MAAACBAP", "bad-key", 22),
    ])
    func lint(line: String, code: String, column: Int) {
        do {
            _ = try AllowedSigners.parse(Array((line + "\n").utf8))
            Issue.record("accepted: \(line)")
        } catch {
            #expect(error.problems.map(\.problem.code) == [code])
            #expect(error.problems.first?.line == 1)
            #expect(error.problems.first?.column == column, "\(error.problems)")
        }
    }

    @Test("the same key under two principals is refused on its second line")
    func duplicateKey() {
        let text = "a@h namespaces=\"git\" \(Self.key)\nb@h namespaces=\"git\" \(Self.key)\n"
        do {
            _ = try AllowedSigners.parse(Array(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.map(\.problem.code) == ["duplicate-signing-key"])
            #expect(error.problems.first?.line == 2)
            #expect(error.problems.first?.description.contains("already listed on line 1") == true)
        }
    }

    static let policy = """
        version: 1
        branch: main
        mode: review
        principals:
          - name: admin@hq
            roles: [admin, write]
          - name: sf@mikki-bunker
            roles: [write]
            quota: {per_day: 20}
          - name: ana@laptop
            roles: [review]
        limits:
          max_file_bytes: 32768
          max_files_per_commit: 10
          max_commit_bytes: 65536
        quota:
          per_day: 100

        """

    @Test("a policy reads into roles, limits and quotas")
    func policyReads() throws {
        let policy = try Policy.parse(Array(Self.policy.utf8))
        #expect(policy.mode == .review)
        #expect(policy.branch == "main")
        #expect(policy.roles(of: "admin@hq") == [.admin, .write])
        #expect(policy.roles(of: "ana@laptop") == [.review])
        #expect(policy.roles(of: "nobody@nowhere").isEmpty)
        #expect(policy.quotaPerDay(of: "sf@mikki-bunker") == 20)
        #expect(policy.quotaPerDay(of: "admin@hq") == 100)
        #expect(policy.maxFileBytes == 32768)
        #expect(policy.maxFilesPerCommit == 10)
        #expect(policy.maxCommitBytes == 65536)
        #expect(policy.maxTreeBytes == Policy.defaultMaxTreeBytes)
        #expect(try Policy.parse(Array(policy.render().utf8)) == policy)
    }

    @Test("object size limits: defaults when left out, at most the ceiling, and a policy without them renders as before")
    func objectSizeLimits() throws {
        let plain = "version: 1\nbranch: main\nprincipals:\n  - name: a@h\n    roles: [admin]\n"
        let defaults = try Policy.parse(Array(plain.utf8))
        #expect(defaults.maxCommitBytes == 1 << 20 && defaults.maxTreeBytes == 16 << 20)
        #expect(!defaults.render().contains("max_commit_bytes") && !defaults.render().contains("max_tree_bytes"))
        let lowered = try Policy.parse(Array((plain + "limits:\n  max_tree_bytes: 4096\n").utf8))
        #expect(lowered.maxTreeBytes == 4096)
        #expect(try Policy.parse(Array(lowered.render().utf8)) == lowered)
        for field in ["max_commit_bytes", "max_tree_bytes"] {
            do {
                _ = try Policy.parse(Array((plain + "limits:\n  \(field): 16777217\n").utf8))
                Issue.record("\(field) over the ceiling accepted")
            } catch {
                #expect(error.problems.first?.code == "invalid-value")
                #expect(error.problems.first?.message.contains("over the ceiling of 16777216") == true, "\(error.problems)")
            }
        }
    }

    @Test("policy problems", arguments: [
        ("version: 2\nbranch: main\nprincipals: []\n", "unsupported-policy-version", 1, 10),
        ("version: 1\nbranch: main\nprincipals:\n  - name: a@h\n    roles: [write]\n", "no-admin", 4, 3),
        ("version: 1\nbranch: main\nprincipals:\n  - name: a@h\n    roles: [owner]\n", "invalid-value", 5, 13),
        ("version: 1\nbranch: main\nprincipals:\n  - name: A@h\n    roles: [admin]\n", "invalid-principal", 4, 11),
        ("version: 1\nbranch: main\nextra: 1\nprincipals:\n  - name: a@h\n    roles: [admin]\n", "unknown-field", 3, 1),
        ("version: 1\nbranch: ../main\nprincipals:\n  - name: a@h\n    roles: [admin]\n", "invalid-value", 2, 9),
        ("version: 1\nbranch: main\nmode: yolo\nprincipals:\n  - name: a@h\n    roles: [admin]\n", "invalid-value", 3, 7),
        ("version: 1\nbranch: main\nprincipals:\n  - name: a@h\n    roles: [admin]\n  - name: a@h\n    roles: [write]\n", "duplicate-principal", 6, 5),
        ("version: 1\nbranch: main\nprincipals:\n  - name: a@h\n    roles: [admin]\nlimits:\n  max_file_bytes: -5\n", "invalid-value", 7, 19),
        ("version: 1\nversion: 1\n", "duplicate-key", 2, 1),
        ("version: &v 1\n", "anchor", 1, 10),
    ])
    func policyProblems(text: String, code: String, line: Int, column: Int) {
        do {
            _ = try Policy.parse(Array(text.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.problems.first?.code == code, "\(error.problems)")
            #expect(error.problems.first?.position.line == line, "\(error.problems)")
            #expect(error.problems.first?.position.column == column, "\(error.problems)")
        }
    }

    @Test("an unknown policy version fails closed with a message to upgrade")
    func unknownVersion() {
        do {
            _ = try Policy.parse(Array("version: 7\n".utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.isUnsupportedVersion)
            #expect(error.description.contains("upgrade sfgit"))
        }
    }
}

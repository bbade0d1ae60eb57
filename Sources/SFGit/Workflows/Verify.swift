import Foundation
import SFGitIndex
import SFGitRepository
import SFGitTrust

/// What `sfgit verify` reports (the `data` of its JSON envelope).
public struct VerifyReport: Sendable, Codable {
    /// The first refused commit.
    public struct Blocked: Sendable, Codable {
        /// The verifier's reason.
        public var reason: String
        /// The commit (hex).
        public var commit: String
        /// Its status (`unsigned`, `unknown-key`, …).
        public var status: String
        /// The signing principal, when the key was known.
        public var principal: String?
        /// The signing key's fingerprint, when it was signed.
        public var key: String?
    }

    /// A file kept out of the index.
    public struct QuarantinedFile: Sendable, Codable {
        /// The file's path.
        public var path: String
        /// The quarantine reason code.
        public var reason: String
        /// The commit that added it (hex).
        public var commit: String
        /// Its blob id (hex).
        public var blob: String
        /// What exactly is wrong, for people.
        public var detail: String
    }

    /// One commit's verdict.
    public struct Outcome: Sendable, Codable {
        /// The commit (hex).
        public var commit: String
        /// Its status (`good` or why it was refused).
        public var status: String
        /// The signing principal, when the key was known.
        public var principal: String?
        /// The signing key's fingerprint, when it was signed.
        public var key: String?
        /// The verifier's reason (empty for a good commit).
        public var reason: String
    }

    /// The newest commit whose whole history is authentic (nil when none is).
    @Nullable public var verifiedTip: String? = nil
    /// How many commits were judged.
    public var commits: Int
    /// The first refused commit, or nil.
    @Nullable public var blocked: Blocked? = nil
    /// Files quarantined inside authentic commits.
    public var quarantined: [QuarantinedFile]
    /// Every commit's verdict, parents first.
    public var outcomes: [Outcome]

    enum CodingKeys: String, CodingKey {
        case verifiedTip = "verified_tip", commits, blocked, quarantined, outcomes
    }

    /// The exit status of this result: 0 authentic, 5 a refused commit, 7 only files quarantined
    /// (docs/COMMANDS.md § Exit codes).
    public var status: ExitStatus {
        if blocked != nil { return .untrusted }
        return quarantined.isEmpty ? .ok : .invalid
    }
}

/// Runs the trust model over a repository's history: what a store's CI and a pre-receive hook run.
public struct HistoryVerification: Sendable {
    /// The repository (bare, or a clone's work tree).
    public var repositoryPath: String
    /// The pinned introduction; nil reads `sfgit.introduction` and `sfgit.signer` from the repository's config.
    public var introduction: (commit: String, signer: String)?
    /// A commit verified before: only newer commits are judged.
    public var from: String?
    /// The revision to verify (default `HEAD`).
    public var revision: String
    /// Verify a proposal branch: review mode's first-parent rule does not apply.
    public var proposal: Bool

    /// Creates a request.
    public init(repositoryPath: String, introduction: (commit: String, signer: String)?, from: String?, revision: String = "HEAD", proposal: Bool = false) {
        self.repositoryPath = repositoryPath
        self.introduction = introduction
        self.from = from
        self.revision = revision
        self.proposal = proposal
    }

    /// Verifies and reports.
    public func run() throws(SFGitError) -> VerifyReport {
        do {
            // Run as a pre-receive hook, git names the quarantined objects in its environment.
            let inHook = ProcessInfo.processInfo.environment["GIT_QUARANTINE_PATH"] != nil
            let repository = try Repository.open(repositoryPath, gitEnvironment: inHook)
            let pinned = try resolveIntroduction(repository)
            let tip = try resolve(repository, revision, "revision")
            let start = try from.map { (text) throws(SFGitError) in try resolve(repository, text, "--from") }
            let verifier = Verifier(repository: repository, introduction: pinned, options: .init(enforceReviewMode: !proposal))
            var result = try verifier.verify(from: start, to: tip)
            // A rewritten branch passes only with an admin's signed reset statement naming `--from`
            // (what a pre-receive hook sees when an admin runs `sfgit admin reset`).
            if let start, result.blocked?.status == .diverged {
                switch try ResetStatement.find(in: repository, introduction: pinned, verified: start, fetched: tip) {
                case .valid(let statement): result = try verifier.verify(from: statement.to, to: tip)
                case .refused(let commit, let reason):
                    result.blocked?.commit = commit
                    result.blocked?.reason = reason
                case .none: break
                }
            }
            return VerifyReport(
                verifiedTip: result.verifiedTip?.hex,
                commits: result.outcomes.count,
                blocked: result.blocked.map {
                    .init(reason: ForgeMergeHint.reason($0, repository), commit: $0.commit.hex, status: $0.status.rawValue, principal: $0.principal, key: $0.key)
                },
                quarantined: result.quarantined.map {
                    .init(path: $0.path, reason: $0.reason.rawValue, commit: $0.commit.hex, blob: $0.blob.hex, detail: $0.detail)
                },
                outcomes: result.outcomes.map {
                    .init(commit: $0.commit.hex, status: $0.status.rawValue, principal: $0.principal, key: $0.key, reason: $0.reason)
                })
        } catch let error as SFGitError {
            throw error
        } catch let error as GitError {
            if error.isNotFound { throw SFGitError(.notFound, error.message) }
            throw SFGitError(.internalError, error.description)
        } catch {
            throw SFGitError(.internalError, "\(error)")
        }
    }

    private func resolveIntroduction(_ repository: Repository) throws(SFGitError) -> Introduction {
        var commit = introduction?.commit
        var signer = introduction?.signer
        if commit == nil {
            commit = try? repository.configValue("sfgit.introduction")
            signer = try? repository.configValue("sfgit.signer")
        }
        guard let commit, let signer else {
            throw SFGitError(.usage, "no introduction: pass --introduction COMMIT --signer SHA256:FP (the store's first commit and its signer, given out of band)")
        }
        guard signer.hasPrefix("SHA256:") else { throw SFGitError(.usage, "--signer '\(signer)' is not a SHA256: fingerprint") }
        return Introduction(commit: try resolve(repository, commit, "--introduction"), signer: signer)
    }

    private func resolve(_ repository: Repository, _ revision: String, _ what: String) throws(SFGitError) -> ObjectID {
        do {
            return try repository.resolveCommit(revision)
        } catch {
            throw SFGitError(.notFound, "\(what) '\(revision)' is not a commit in \(repositoryPath)")
        }
    }
}
extension Workspace {
    /// What `verify --store NAME` checks: the store's own repository, pinned as config.yaml pins
    /// it, up to the verified tip unless a revision is given.
    public func verification(store name: String, revision: String?, from: String?, proposal: Bool = false) throws(SFGitError) -> HistoryVerification {
        guard let entry = config.stores.first(where: { $0.name == name }) else {
            throw SFGitError(.notFound, "no store named '\(name)' in \(home.configPath)")
        }
        let store = Store(config: entry, home: home)
        return HistoryVerification(repositoryPath: store.repositoryPath, introduction: (entry.introduction, entry.signer), from: from,
                                   revision: revision ?? Store.verifiedRef, proposal: proposal)
    }
}

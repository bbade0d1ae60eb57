import SFGitRepository
import SFGitTrust

/// The fix for a commit refused because a forge's merge button made it. A forge signs its
/// merges, squashes and rebases with its own OpenPGP key (or not at all), and a rebase or
/// fast-forward puts a writer's commits on the shared branch's first-parent chain; sfgit refuses
/// all of these, and the people who pressed the button need to know what to do instead.
enum ForgeMergeHint {
    /// What to do instead.
    static let fix = "merge with `sfgit review merge PRINCIPAL --push` (an SSH-signed merge commit by a review or admin key)"

    /// The refusal's reason as `sync`, `verify` and `review` report it: the verifier's words, and
    /// the fix when the refused commit looks like a forge's merge.
    static func reason(_ outcome: CommitOutcome, _ repository: Repository) -> String {
        guard let why = diagnosis(outcome, repository) else { return outcome.reason }
        return "\(outcome.reason) — \(why): \(fix)"
    }

    private static func diagnosis(_ outcome: CommitOutcome, _ repository: Repository) -> String? {
        switch outcome.status {
        case .unsigned, .badSignature:
            guard let commit = try? repository.commit(outcome.commit) else { return nil }
            if commit.rawHeader.contains("\ngpgsig -----BEGIN PGP SIGNATURE-----") || commit.rawHeader.hasPrefix("gpgsig -----BEGIN PGP SIGNATURE-----") {
                return "an OpenPGP signature, as a forge's merge, squash or rebase button makes; sfgit accepts SSH signatures only"
            }
            if outcome.status == .unsigned, commit.parentIDs.count == 2 {
                return "an unsigned merge, as a forge's merge button makes"
            }
            if outcome.status == .unsigned, let parent = commit.parentIDs.first,
               let tree = try? repository.commit(parent).treeID, (try? repository.policy(inTree: tree))??.mode == .review {
                return "an unsigned commit on a review-mode store's shared branch, as a forge's squash or rebase merge makes"
            }
            return nil
        case .unauthorized where outcome.reason.hasPrefix("in review mode only review and admin keys commit to the shared branch"):
            return "a writer's commit on the shared branch's first-parent chain, as a forge's rebase or fast-forward merge puts it"
        default:
            return nil
        }
    }
}

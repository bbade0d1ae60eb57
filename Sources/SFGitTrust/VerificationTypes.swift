import SFGitMemory
import SFGitRepository

/// The pinned root of a store's history, given out of band: the first commit and the
/// fingerprint of the key that signed it.
public struct Introduction: Sendable, Hashable, Codable {
    /// The introduction commit.
    public var commit: ObjectID
    /// `SHA256:…` fingerprint of its signing key.
    public var signer: String

    /// Creates an introduction.
    public init(commit: ObjectID, signer: String) {
        self.commit = commit
        self.signer = signer
    }
}

/// The verdict on one commit.
public enum CommitStatus: String, Sendable, Hashable, Codable {
    /// Authentic: signed by an authorized key, every change allowed.
    case good
    /// No signature.
    case unsigned
    /// Signed by a key no parent's allowed_signers lists (or not the pinned introduction key).
    case unknownKey = "unknown-key"
    /// A signature that does not verify, is not SSHSIG, uses another namespace, or is duplicated.
    case badSignature = "bad-signature"
    /// The key's principal lacks the role this commit needs.
    case unauthorized
    /// A change no role may make (editing or deleting a memory, a stray path, a symlink, an unclean merge…).
    case forbiddenChange = "forbidden-change"
    /// The fetched tip is an ancestor of the verified tip.
    case rollback
    /// The fetched tip does not descend from the verified tip (rewritten or unrelated history).
    case diverged
    /// A parent is not authentic, so neither is this commit.
    case untrustedParent = "untrusted-parent"
    /// Structure refused: octopus merges, a second root, a commit whose objects are missing.
    case malformed
    /// The commit's policy is from a newer sfgit; fail closed until upgraded.
    case unsupportedPolicy = "unsupported-policy"
    /// The committer time lies later than the verifying host's clock plus the allowed skew: the
    /// commit is judged again once that time has come (a signer may not date work in the future).
    case futureDated = "future-dated"
}

/// One commit's outcome with who signed it and why it passed or failed.
public struct CommitOutcome: Sendable, Hashable, Codable {
    /// The commit.
    public var commit: ObjectID
    /// The verdict.
    public var status: CommitStatus
    /// The principal of the signing key, when known.
    public var principal: String?
    /// The `SHA256:` fingerprint of the signing key, when there is one.
    public var key: String?
    /// Why (empty for good commits).
    public var reason: String

    /// Whether the commit is authentic.
    public var isGood: Bool { status == .good }
}

/// Why a file inside an authentic commit is not served.
public enum QuarantineReason: String, Sendable, Hashable, Codable {
    /// Larger than the policy's `max_file_bytes`.
    case oversize
    /// Not a valid memory file.
    case unparsable
    /// `author@host` in the front matter is not the signing principal.
    case provenanceMismatch = "provenance_mismatch"
    /// Another file already holds this memory id.
    case duplicateID = "duplicate_id"
    /// Beyond the policy's `max_files_per_commit`.
    case overCommitCap = "over_commit_cap"
    /// `recorded_at` lies later than the adding commit's committer time plus the allowed skew.
    case futureRecordedAt = "future_recorded_at"
}

/// A file kept out of the index, with the commit that added it.
public struct Quarantine: Sendable, Hashable, Codable {
    /// The file's store path.
    public var path: String
    /// Its blob.
    public var blob: ObjectID
    /// The commit that added it.
    public var commit: ObjectID
    /// Why it is quarantined.
    public var reason: QuarantineReason
    /// Details for people (the parse error, the two principals, …).
    public var detail: String
}

/// A memory file added by an authentic commit and fit to index.
public struct AcceptedMemory: Sendable, Hashable {
    /// Its store path.
    public var path: String
    /// Its blob.
    public var blob: ObjectID
    /// The commit that added it.
    public var commit: ObjectID
    /// The signing principal.
    public var principal: String
    /// The signing key's fingerprint.
    public var key: String
    /// Whether it reached the checked branch through a reviewer's signed merge.
    public var reviewed: Bool
    /// Whether its signer held the admin or review role in every parent of the commit that added
    /// it (the introduction: in its own policy): such a memory may retract or supersede anyone's
    /// memory. Judged from the parents, as all authorization is, so a later promotion or removal
    /// never changes what an old withdrawal does.
    public var mayWithdrawAny: Bool = false
    /// Where it entered the checked branch, on the history clock (nil: not in the verified
    /// tip's history).
    public var arrival: Arrival?
    /// Its signer's daily quota in the policy of the parents of the commit that added it.
    public var quotaPerDay: Int = Policy.defaultQuotaPerDay
    /// The parsed memory, when the verifier was asked to keep it (`Options.keepParsedMemories`).
    public var memory: Memory? {
        get { parsed?.memory }
        set { parsed = newValue.map(ParsedMemory.init) }
    }
    /// Held by reference: a parsed memory is several hundred bytes, and a clone of a large store
    /// keeps an accepted entry per memory (copied into the indexer's plan) with none kept parsed.
    private var parsed: ParsedMemory?

    /// Creates an accepted memory.
    public init(path: String, blob: ObjectID, commit: ObjectID, principal: String, key: String, reviewed: Bool,
                mayWithdrawAny: Bool = false, arrival: Arrival? = nil, quotaPerDay: Int = Policy.defaultQuotaPerDay, memory: Memory? = nil) {
        self.path = path
        self.blob = blob
        self.commit = commit
        self.principal = principal
        self.key = key
        self.reviewed = reviewed
        self.mayWithdrawAny = mayWithdrawAny
        self.arrival = arrival
        self.quotaPerDay = quotaPerDay
        self.memory = memory
    }
}

/// An immutable box for a parsed memory, compared by value.
private final class ParsedMemory: Sendable, Hashable {
    let memory: Memory
    init(_ memory: Memory) { self.memory = memory }
    static func == (lhs: ParsedMemory, rhs: ParsedMemory) -> Bool { lhs.memory == rhs.memory }
    func hash(into hasher: inout Hasher) { hasher.combine(memory) }
}

/// Where a memory entered the checked branch: the commit of the tip's first-parent chain whose
/// history first holds it (the commit itself, or the merge that brought it in), and the history
/// clock there. The clock is the greatest committer time along the first-parent chain up to that
/// commit, so it never runs backwards, and every commit's time is capped by the verifying host's
/// clock (`future-dated`); a signer who backdates a commit only ever gets the clock its chain
/// already reached. Rate limits count on this clock: they are a function of the signed history.
public struct Arrival: Sendable, Hashable {
    /// The commit's position on the first-parent chain, counted from the first commit of this
    /// verification (0); see `VerificationResult.chainFromVerifiedTip`.
    public var position: Int
    /// The history clock at that commit over this verification's part of the chain (seconds
    /// since the epoch); the caller takes the maximum with the clock it had reached before.
    public var clock: Int64

    /// Creates an arrival.
    public init(position: Int, clock: Int64) {
        self.position = position
        self.clock = clock
    }
}

/// What the verifier found between the last verified tip and a new tip.
public struct VerificationResult: Sendable {
    /// Every new commit's outcome, parents before children.
    public var outcomes: [CommitOutcome]
    /// The newest commit on the new tip's first-parent chain whose whole history is authentic
    /// (the new tip itself when nothing failed; the old verified tip when nothing new passed).
    public var verifiedTip: ObjectID?
    /// The first failing commit, in topological order, or nil when all are authentic.
    public var blocked: CommitOutcome?
    /// Files kept out of the index, inside authentic commits.
    public var quarantined: [Quarantine]
    /// Memory files fit to index, from authentic commits.
    public var accepted: [AcceptedMemory]
    /// How many commits of the verified tip's first-parent chain this verification judged (the
    /// verified tip's position is this minus one), and the history clock at the verified tip over
    /// them (nil when nothing new was verified).
    public var chainLength = 0
    /// The history clock at the verified tip (nil when nothing new was verified).
    public var chainClock: Int64?
    /// Whether the verified tip's first-parent chain passes through the tip verification started
    /// from (or started from nothing). When a merge took another branch as its first parent, it
    /// does not, positions count from the introduction, and what came before arrived differently:
    /// a consumer of arrivals then starts again from nothing.
    public var chainFromVerifiedTip = true

    /// Whether every new commit is authentic.
    public var isAuthentic: Bool { blocked == nil }
}

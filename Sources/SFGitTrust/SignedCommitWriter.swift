import SFGitRepository

/// Writes commits signed with an SSH key, the way `git commit -S` with `gpg.format=ssh` does:
/// the signature covers the exact commit bytes and is stored in a `gpgsig` header.
public struct SignedCommitWriter {
    /// The repository written to.
    public let repository: Repository
    /// The key that signs.
    public let signer: any CommitSigner

    /// Creates a writer.
    public init(repository: Repository, signer: any CommitSigner) {
        self.repository = repository
        self.signer = signer
    }

    /// Writes a signed commit and returns its id; no reference is moved.
    public func commit(
        tree: ObjectID, parents: [ObjectID], author: GitSignature, committer: GitSignature? = nil, message: String
    ) throws -> ObjectID {
        let buffer = try repository.commitBuffer(
            tree: tree, parents: parents, author: author, committer: committer ?? author, message: message)
        let signature = try signer.sign(buffer)
        return try repository.createCommit(buffer: buffer, signature: signature)
    }
}

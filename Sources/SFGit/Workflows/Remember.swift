import Foundation
import SFGitIndex
import SFGitMemory
import SFGitRepository
import SFGitTrust

/// A memory to write, as `sfgit remember` takes it.
public struct MemoryDraft: Sendable {
    /// The kind (a known one, or a new kind name).
    public var kind: String
    /// The one-line title.
    public var title: String
    /// Markdown text.
    public var body: String?
    /// Tags.
    public var tags: [String] = []
    /// `key=value` body fields (per-kind ones such as `subject`, or new ones).
    public var fields: [(String, String)] = []
    /// `30d` or a date.
    public var expires: String?
    /// Ids this memory replaces.
    public var supersedes: [String] = []

    /// Creates a draft.
    public init(kind: String, title: String, body: String? = nil) {
        self.kind = kind
        self.title = title
        self.body = body
    }
}

/// What `remember` and `retract` report (their JSON `data`).
public struct RememberReport: Sendable, Codable {
    /// The new memory's id.
    public var id: String
    /// Its path in the store.
    public var path: String
    /// The outbox commit holding it.
    public var commit: String
    /// Always `committed_local`: durable here, published by the next sync.
    public var state: String
    /// The store written to.
    public var store: String
    /// Things to know (the writer is not authorized yet, a retraction of someone else's memory).
    public var warnings: [String]
}

extension Workspace {
    /// Writes one memory: validated like any file of the store, signed, committed to the outbox
    /// (fsynced) and indexed at tier `self` before returning. Never overwrites anything.
    public func remember(_ draft: MemoryDraft, store name: String?) throws(SFGitError) -> RememberReport {
        return try workflow {
            return try rememberThrowing(draft, store: name)
        }
    }

    private func rememberThrowing(_ draft: MemoryDraft, store name: String?) throws -> RememberReport {
        let store = try self.store(named: name)
        let principal = try identity.requirePrincipal()
        let signer = try self.signer()
        let repository = try store.openRepository()
        guard let verified = try repository.reference(Store.verifiedRef) else {
            throw SFGitError(.usage, "store \(store.name) has no verified history yet: run sfgit sync")
        }
        let policy = try currentPolicy(repository, verified: verified)
        let index = try store.openIndex()
        let now = Date().timeIntervalSince1970

        // Every host schedules a writer's memories on the history clock (at most its quota in any
        // 24 hours); refusing here first means this host never writes what they would hold back.
        // docs/TRUST.md § Rate limits.
        let usage = try index.quotaUsage(signer: principal, perDay: policy.quotaPerDay(of: principal), clock: now)
        if usage.left == 0 {
            throw SFGitError(.rateLimited, "\(principal) has used its quota in store \(store.name): \(usage.summary)")
        }

        // Targets are looked up as `show` does (unambiguous prefixes too); a supersede of a memory
        // nobody would see withdrawn is refused before anything is written.
        var draft = draft
        draft.supersedes = try draft.supersedes.map { (target) throws(SFGitError) -> String in
            let item = try show(target, store: store.name)
            try requireWithdrawalEffect(on: item, verb: "supersede", reason: draft.fields.first { $0.0 == "reason" }?.1, policy: policy)
            return item.id
        }
        let id = ULIDGenerator.shared.next()
        let bytes = try render(draft, id: id, principal: principal, now: now)
        let path = "memories/\(draft.kind)/" + MemoryPath.pathBelowKind(of: id)
        let parsed = try Self.validate(bytes, path: path, limits: policy.memoryLimits)
        // Written already dead: an expiry or a breaker's reset in the past.
        if let expires = parsed.memory.frontMatter.expiresAt, expires.secondsSinceEpoch <= now {
            throw SFGitError(.invalid, "--expires \(expires) is already past: the memory would never be served")
        }
        if let resets = parsed.memory.body.resetsAt, resets.secondsSinceEpoch <= now {
            throw SFGitError(.invalid, "resets_at \(resets) is already past: the breaker would be stale as written")
        }
        var warnings = parsed.warnings.map(\.message)
        if policy.revoked.contains(where: { $0.principal == principal }) {
            warnings.append("\(principal)'s key is revoked in store \(store.name): peers refuse its new commits, so this memory stays in the outbox; an admin must grant a new key (sfgit trust add with another key)")
        } else if !policy.roles(of: principal).contains(.write) && !policy.roles(of: principal).contains(.admin) {
            warnings.append("\(principal) is not a writer in store \(store.name) yet: the memory stays in the outbox until an admin runs sfgit trust add")
        }

        let blob = try repository.writeBlob(bytes)
        let commit = try Outbox(repository: repository).append(
            [.upsert(path: path, id: blob)], message: "remember \(draft.kind) \(id)\n\n\(draft.title)\n",
            principal: principal, signer: signer, keyPath: try signingKeyPath(), verified: verified)
        let key = signer.publicKey.fingerprint
        var batch = IndexBatch()
        batch.upserts = [IndexedMemory(
            memory: parsed.memory, path: path, blob: blob.hex, commit: commit.hex, signer: principal, key: key, tier: .own, firstSeen: now)]
        batch.upserts[0].mayWithdrawAny = try mayWithdrawAny(policy)
        try index.apply(batch)
        return RememberReport(id: id.description, path: path, commit: commit.hex, state: "committed_local", store: store.name, warnings: warnings)
    }

    /// Parses a new file as every peer will: a refusal is INVALID, with its positions.
    private static func validate(_ bytes: [UInt8], path: String, limits: MemoryLimits) throws(SFGitError) -> ParsedMemory {
        do {
            return try MemoryParser(limits: limits).parse(bytes, storePath: path)
        } catch {
            // The file was written from the flags: name the flag, not a line of a file the user
            // never saw.
            let reasons = error.problems.map { problem in
                flag(at: problem.position.line, in: bytes).map { "\($0): \(problem.message)" } ?? "\(problem.position): \(problem.message)"
            }.joined(separator: "; ")
            throw SFGitError(.invalid, "the memory is not valid: \(reasons)")
        }
    }

    /// The flag that wrote line `line` of a file `remember` rendered: the top-level key the line
    /// belongs to (a list item or a block scalar's line belongs to the key above it).
    static func flag(at line: Int, in bytes: [UInt8]) -> String? {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        for text in lines[..<line].reversed() {
            if text.hasPrefix("---") { return nil }
            guard let first = text.unicodeScalars.first, CharacterSet.lowercaseLetters.contains(first),
                  let colon = text.firstIndex(of: ":") else { continue }
            let key = String(text[..<colon])
            switch key {
            case "title": return "--title"
            case "body": return "--body"
            case "tags": return "--tag"
            case "expires_at": return "--expires"
            case "supersedes": return "--supersedes"
            case "instance": return "--instance"
            case "agent": return "--agent"
            case "kind": return "the kind"
            case "schema", "id", "author", "host", "recorded_at": return nil
            default: return "--field \(key)=…"
            }
        }
        return nil
    }

    /// The memory file a draft becomes, written by the same emitter as every sfgit file.
    private func render(_ draft: MemoryDraft, id: ULID, principal: String, now: Double) throws -> [UInt8] {
        guard let kind = MemoryKind(draft.kind) else {
            throw SFGitError(.usage, "'\(draft.kind)' is not a kind name ([a-z][a-z0-9-]{0,31})")
        }
        var supersedes: [ULID] = []
        for text in draft.supersedes {
            guard let target = ULID(text) else { throw SFGitError(.usage, "--supersedes '\(text)' is not a memory id (a ULID)") }
            supersedes.append(target)
        }
        var expiresAt: Timestamp?
        if let expires = draft.expires {
            guard let at = TimeSpec.parse(expires, now: now, past: false) else {
                throw SFGitError(.usage, "--expires '\(expires)' is neither a duration (30d, 12h) nor a date (2026-12-31)")
            }
            expiresAt = Timestamp(secondsSinceEpoch: Int64(at))
        }
        let frontMatter = FrontMatter(
            id: id, kind: kind, author: identity.author ?? "", host: identity.host ?? "", instance: identity.instance, agent: identity.agent,
            recordedAt: Timestamp(secondsSinceEpoch: Int64(now)), tags: draft.tags, expiresAt: expiresAt, supersedes: supersedes)
        // The body goes through the parser as YAML text would: `--field value=12.5` is a number
        // and per-kind fields are checked and typed by the same code that reads every peer's files.
        var body: [YAMLField] = [YAMLField(key: "title", value: .string(draft.title))]
        if let text = draft.body { body.append(YAMLField(key: "body", value: .string(text))) }
        for (key, value) in draft.fields {
            guard !key.isEmpty, key != "title", key != "body", !body.contains(where: { $0.key == key }) else {
                throw SFGitError(.usage, "--field \(key)=… is empty, repeated or names title/body")
            }
            body.append(YAMLField(key: key, value: .scalar(YAMLScalar(text: value, kind: YAMLScalar.resolvePlain(value)))))
        }
        return try YAMLWriter().write(documents: [MemorySerializer().frontMatterFields(frontMatter), body])
    }

    /// The policy in force for this host's next commit: the outbox's (it may hold a pending trust
    /// change), else the verified tip's.
    func currentPolicy(_ repository: Repository, verified: ObjectID) throws -> Policy {
        try policy(repository, at: try repository.reference(Store.outboxRef) ?? verified)
    }
}

import Foundation
import SFGitMemory

/// Something about a store that needs a person: what `status` exits non-zero for and what
/// `sync --quiet` still prints. Each has a stable code and the exit status it maps to.
/// docs/COMMANDS.md § `status` attention codes.
public struct Attention: Sendable, Codable, Hashable {
    /// `BLOCKED`, `OUTBOX_CONFLICT`, `PARKED` or `STALE`.
    public var code: String
    /// What is wrong and what to do, for people.
    public var message: String
    /// The exit status this maps to: 5 for a block, 6 for conflicts and parked commits, 3 for
    /// staleness.
    public var exitCode: Int32

    enum CodingKeys: String, CodingKey {
        case code, message, exitCode = "exit_code"
    }

    /// Creates an attention item.
    public init(code: String, message: String, status: ExitStatus) {
        self.code = code
        self.message = message
        self.exitCode = status.rawValue
    }

    /// The exit status of this item.
    public var status: ExitStatus { ExitStatus(rawValue: exitCode) ?? .internalError }
}

/// The thresholds of unattended operation (cron, systemd, monitoring checks).
public enum Monitoring {
    /// How long a store may go without a successful sync before `sync --quiet` speaks up and
    /// `status` exits 3: six hours, long enough for a laptop's commute or a remote's
    /// maintenance window, short enough that a broken host is noticed the same day.
    public static let defaultAlertAfter: Double = 6 * 3_600

    /// The exit status of several attention items: the most serious wins (a refused history,
    /// then what a person must resolve, then staleness), as `sync` combines its stores.
    public static func exitStatus(_ items: [Attention]) -> ExitStatus {
        for status in [ExitStatus.untrusted, .conflict, .degraded] where items.contains(where: { $0.status == status }) { return status }
        return .ok
    }

    /// A duration for people: `45 s`, `12 min`, `7 h`, `3 d`.
    public static func describe(seconds: Double) -> String {
        let value = Int(seconds.rounded(.down))
        switch value {
        case ..<120: return "\(value) s"
        case ..<7_200: return "\(value / 60) min"
        case ..<172_800: return "\(value / 3_600) h"
        default: return "\(value / 86_400) d"
        }
    }

    /// Whether a store last synced successfully at `lastSuccess` (nil: never) is stale at `now`.
    static func isStale(lastSuccess: Double?, alertAfter: Double, now: Double) -> Bool {
        guard let lastSuccess else { return true }
        return now - lastSuccess > alertAfter
    }
}

extension SyncState {
    /// When this store last synced successfully (a sync that ended `ok` with the network, or the
    /// `init` that pushed its introduction), in seconds since the epoch; nil if never. A state
    /// file written before `last_success_at` was recorded counts its last fetch if that worked
    /// and nothing blocked, so an upgraded host does not alert at once.
    public var lastSuccessSeconds: Double? {
        if let recorded = lastSuccessAt.flatMap(Timestamp.init) { return recorded.secondsSinceEpoch }
        guard lastFetchError == nil, blocked == nil, let fetched = lastFetchAt.flatMap(Timestamp.init) else { return nil }
        return fetched.secondsSinceEpoch
    }
}

extension StoreSyncReport {
    /// Whether `sync --quiet` prints this store's result: never for `ok` or `busy` (another sync
    /// is doing the work), for `degraded` only once the last successful sync is older than
    /// `alertAfter` (a laptop that is offline for an hour needs nobody), and always for
    /// `untrusted` and `conflict`, which need a person.
    public func speaksWhenQuiet(alertAfter: Double, now: Double = Date().timeIntervalSince1970) -> Bool {
        switch result {
        case .ok, .busy: return false
        case .untrusted, .conflict: return true
        case .degraded:
            return Monitoring.isStale(lastSuccess: lastSuccessAt.flatMap(Timestamp.init)?.secondsSinceEpoch, alertAfter: alertAfter, now: now)
        }
    }
}

extension Workspace {
    /// What needs a person in one store, judged from its recorded state at `now`: a blocked
    /// history (5), held outbox entries and parked commits (6), no successful sync for longer
    /// than `alertAfter` seconds (3).
    func attention(_ store: Store, state: SyncState, conflicts: [OutboxConflict], parked: [String],
                   alertAfter: Double, now: Double) -> [Attention] {
        var items: [Attention] = []
        if let blocked = state.blocked {
            items.append(Attention(code: "BLOCKED", message: "\(store.name): history refused at \(blocked.commit.prefix(12)): \(blocked.reason)", status: .untrusted))
        }
        for conflict in conflicts {
            items.append(Attention(code: "OUTBOX_CONFLICT", message: "\(store.name): \(conflict.path) is held on \(Store.heldPrefix)\(conflict.commit) and not published: \(conflict.reason); write the memory again, then delete the held ref (git --git-dir \(store.repositoryPath) update-ref -d \(Store.heldPrefix)\(conflict.commit))", status: .conflict))
        }
        if let refused = state.proposalRefused {
            items.append(Attention(code: "PROPOSAL_REFUSED", message: "\(store.name): \(refused)", status: .conflict))
        }
        for ref in parked {
            items.append(Attention(code: "PARKED", message: "\(store.name): a pending change no longer applies and is parked on \(ref); redo it if still wanted, then delete the ref (git --git-dir \(store.repositoryPath) update-ref -d \(ref))", status: .conflict))
        }
        let lastSuccess = state.lastSuccessSeconds
        if Monitoring.isStale(lastSuccess: lastSuccess, alertAfter: alertAfter, now: now) {
            let when = lastSuccess.map { "the last successful sync was \(Monitoring.describe(seconds: now - $0)) ago (\(Timestamp(secondsSinceEpoch: Int64($0)).text)), more than \(Monitoring.describe(seconds: alertAfter))" }
                ?? "no sync has succeeded yet"
            let why = state.lastFetchError.map { "; last fetch failed: \($0)" } ?? state.lastPushError.map { "; last push failed: \($0)" } ?? ""
            items.append(Attention(code: "STALE", message: "\(store.name): \(when)\(why)", status: .degraded))
        }
        return items
    }
}

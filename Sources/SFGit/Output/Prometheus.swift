import Foundation
import SFGitMemory

/// `status --prometheus FILE`: the stores' state in Prometheus's text exposition format, for
/// node-exporter's textfile collector, written atomically (node-exporter never reads half a file).
public enum PrometheusTextfile {
    /// The metrics of `stores`, one family at a time (`# HELP`, `# TYPE`, samples).
    public static func render(_ stores: [StoreStatus]) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for sample in samples {
                let labels = sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                out += "\(name){\(labels)} \(format(sample.value))\n"
            }
        }
        func perStore(_ value: (StoreStatus) -> Double) -> [(labels: [(String, String)], value: Double)] {
            stores.map { ([("store", $0.store)], value($0)) }
        }
        func seconds(_ text: String?) -> Double { text.flatMap(Timestamp.init)?.secondsSinceEpoch ?? 0 }
        family("sfgit_last_success_timestamp_seconds", "When the store last synced successfully (0: never).", perStore { seconds($0.lastSuccessAt) })
        family("sfgit_last_fetch_timestamp_seconds", "When a fetch was last attempted (0: never).", perStore { seconds($0.lastFetchAt) })
        family("sfgit_last_fetch_ok", "Whether the last fetch attempt worked (1) or failed (0).", perStore { $0.lastFetchAt != nil && $0.lastFetchError == nil ? 1 : 0 })
        family("sfgit_last_push_ok", "Whether the last push attempt worked (1) or failed (0); 1 when none failed.", perStore { $0.lastPushError == nil ? 1 : 0 })
        family("sfgit_pending_outbox_commits", "This host's commits not yet published.", perStore { Double($0.pending) })
        family("sfgit_blocked", "Whether fetched history was refused (1) and blocks the store.", perStore { $0.blocked == nil ? 0 : 1 })
        family("sfgit_quarantined_files", "Files quarantined by the verifier.", perStore { Double($0.quarantined.count) })
        family("sfgit_deferred_memories", "Memories held back by the store's rate limits.", perStore { Double($0.counts.deferred) })
        family("sfgit_outbox_conflicts", "This host's memories held on refs/sfgit/held/.", perStore { Double($0.outboxConflicts.count) })
        family("sfgit_parked_commits", "Pending changes parked on refs/sfgit/parked/.", perStore { Double($0.parked.count) })
        family("sfgit_refused_tips_kept", "Refused history tips kept for forensics.", perStore { Double($0.refusedHistory?.kept ?? 0) })
        family("sfgit_attention", "What status exits with for this store (0: nothing needs a person; 3, 5, 6).",
               perStore { Double(Monitoring.exitStatus($0.attention).rawValue) })
        family("sfgit_memories_by_kind", "Memories in the cache, per kind.",
               stores.flatMap { store in store.counts.byKind.sorted { $0.key < $1.key }.map { ([("store", store.store), ("kind", $0.key)], Double($0.value)) } })
        family("sfgit_memories_by_tier", "Memories in the cache, per tier.",
               stores.flatMap { store in store.counts.byTier.sorted { $0.key < $1.key }.map { ([("store", store.store), ("tier", $0.key)], Double($0.value)) } })
        family("sfgit_last_sync_phase_seconds", "How long each phase of the last sync took.",
               stores.flatMap { store in store.lastPhases.map { ([("store", store.store), ("phase", $0.name), ("result", $0.status)], Double($0.milliseconds) / 1000) } })
        return out
    }

    /// Writes `text` to `path` atomically: a temporary file beside it, then one rename. World
    /// readable (0644): node-exporter usually runs as another user, and the numbers are no secret.
    public static func write(_ text: String, to path: String) throws(SFGitError) {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw SFGitError(.usage, "cannot write \(temporary) (for --prometheus \(path)): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw SFGitError(.usage, "cannot replace \(path) (--prometheus): \(reason)")
        }
    }

    /// A label value as the format escapes it: backslash, double quote, line feed.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

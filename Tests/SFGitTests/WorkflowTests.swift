import Foundation
import SFGit
import SFGitTestSupport
import Testing

/// The facade's workflows called in process, as a library caller would: no sfgit binary between
/// the caller and the store (the other hosts of the federation are real CLI processes).
@Suite("workflows in process")
struct WorkflowTests {
    /// A workspace on a member's home, with the member's identity and the child-process network step.
    static func workspace(_ federation: Federation, _ member: Federation.Member) throws -> Workspace {
        let environment = federation.environment(member).compactMapValues { $0 }
        return try Workspace(home: Home(path: member.home), environment: environment)
    }

    @Test("remember, recall and sync through the library: the memory is this host's until published, then every host's")
    func rememberRecallSync() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let server = try federation.join("srv@server")
        let workspace = try Self.workspace(federation, laptop)

        let remembered = try workspace.remember(MemoryDraft(kind: "learning", title: "in-process finding about quotas"), store: nil)
        #expect(remembered.state == "committed_local")
        let own = try workspace.recall(RecallQuery(text: "quotas", now: Date().timeIntervalSince1970), store: nil)
        #expect(own.items.map(\.id) == [remembered.id])
        #expect(own.items.first?.tier == .own)

        let synced = try workspace.sync(store: nil, options: SyncOptions())
        #expect(synced.map(\.result) == [.ok], "\(synced)")
        #expect(synced.first?.pushed == 1)
        #expect(try federation.run(server, ["sync"]).exitCode == 0)
        let onServer = try federation.recallAnswers(server, ["quotas"])
        #expect(onServer.compactMap { $0["id"] as? String } == [remembered.id])
        #expect(onServer.first?["tier"] as? String == "authenticated")

        // A workflow's refusal is a typed error with its exit status, not a crash or a string.
        #expect(throws: SFGitError.self) { try workspace.show("ZZZZZZZZ", store: nil) }
        do { _ = try workspace.show("ZZZZZZZZ", store: nil) } catch { #expect(error.status == .notFound) }
    }

    @Test("a library caller's sync is bounded like the CLI's: the default transport is the sfgit-network child, killed at the deadline")
    func libraryDeadline() throws {
        let federation = try Federation()
        try federation.initialise()
        let laptop = try federation.join("me@laptop")
        let listener = try LoopbackListener()
        defer { withExtendedLifetime(listener) {} }
        try federation.pointRemote(of: laptop, at: "http://127.0.0.1:\(listener.port)/x.git")

        let workspace = try Self.workspace(federation, laptop)
        guard case .childProcess(let helper) = workspace.transport else {
            Issue.record("the default transport runs in process, unbounded")
            return
        }
        #expect(helper.hasSuffix("/" + RemoteTransport.helperName) && FileManager.default.isExecutableFile(atPath: helper), "\(helper)")
        var options = SyncOptions()
        options.timeout = 2
        let started = Date()
        let reports = try workspace.sync(store: nil, options: options)
        #expect(Date().timeIntervalSince(started) < 30, "the listener never answers: only the deadline ends the fetch")
        #expect(reports.map(\.result) == [.degraded], "\(reports)")
        #expect(reports.first?.warnings.first?.code == "FETCH_TIMEOUT", "\(reports)")
    }
}

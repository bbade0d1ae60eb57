import SFGit
import SFGitRepository
import Testing

/// The answers a push gets when another host pushed first, as servers and libgit2 word them:
/// each must send the sync back to fetch, verify, replay and retry; any other refusal must not.
@Suite("push: lost-race answers")
struct LostRaceTests {
    @Test("every known lost-race answer counts as a race", arguments: [
        // git receive-pack's report-status when the ref moved under its transaction.
        "failed to update ref",
        // …and the reason it prints with it (git 2.39).
        "cannot lock ref 'refs/heads/main': is at 5d0c1fa53a5c3c3c1c1a5e4f1b8c16b0e1d2c3a4 but expected 9e1b5c3f0a7d2e4b6c8a0f1e3d5b7c9a1e3f5d7b",
        "failed to lock",
        // receive.denyNonFastForwards, most forges.
        "non-fast-forward",
        // The git client's words, echoed by some servers.
        "fetch first", "stale info",
        // libgit2's own check against the advertised refs.
        "cannot push non-fastforwardable reference",
        "cannot push because a reference that you are trying to update on the remote contains commits that are not present locally.",
        "Non-Fast-Forward",
    ])
    func lostRace(_ answer: String) {
        #expect(RemoteResponse.isLostRace(answer))
        #expect(RemoteResponse(failure: "refs/heads/main: \(answer)", rejections: [PushRejection(reference: "refs/heads/main", status: answer)]).lostRace)
    }

    @Test("a refusal for any other reason is not a race", arguments: [
        "pre-receive hook declined", "hook declined", "deny updating a hidden ref", "funny refname", "missing necessary objects",
        "shallow update not allowed", "deletion prohibited", "branch is currently checked out", "protected branch hook declined",
    ])
    func notLostRace(_ answer: String) {
        #expect(!RemoteResponse.isLostRace(answer))
        #expect(!RemoteResponse(failure: "refs/heads/main: \(answer)", rejections: [PushRejection(reference: "refs/heads/main", status: answer)]).lostRace)
    }

    @Test("libgit2's non-fast-forward code counts whatever its message says")
    func nonFastForwardCode() {
        #expect(RemoteResponse(failure: "git_remote_push failed", nonFastForward: true).lostRace)
        #expect(!RemoteResponse(failure: "failed to connect to 127.0.0.1: Connection refused").lostRace)
    }
}

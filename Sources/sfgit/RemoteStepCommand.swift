import ArgumentParser
import Foundation
import SFGit

/// `sfgit _remote`: one fetch or push, read as JSON from stdin, answered as JSON on stdout. The
/// parent sync runs it as a child process and kills it at `--timeout`.
struct RemoteStepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "_remote", abstract: "Internal: one network step for sync (JSON on stdin and stdout).", shouldDisplay: false)

    func run() throws {
        // A sync killed with -9 must not leave its network step running on alone.
        guard RemoteStep.bindToParent() else { return }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let response: RemoteResponse
        if let request = try? JSONDecoder().decode(RemoteRequest.self, from: input) {
            response = RemoteStep.performCapped(request)
        } else {
            response = RemoteResponse(failure: "the network step received no valid request")
        }
        FileHandle.standardOutput.write((try? JSONEncoder().encode(response)) ?? Data())
    }
}

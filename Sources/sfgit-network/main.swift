import Foundation
import SFGitProcess
import SFGitRepository

// `sfgit-network`: one fetch, push or probe for the process that started it (a sync, `doctor`,
// `review merge --push`, any library caller through `RemoteTransport`). The request comes as JSON
// on stdin, the response goes as JSON on stdout, progress lines on stderr. The parent kills it at
// its deadline: libgit2 1.5 has no network timeout (docs/ARCHITECTURE.md § Processes).

// A parent killed with -9 must not leave its network step writing refs on alone; and a helper
// started by hand, with no parent to answer, does nothing.
guard ParentBinding.dieWithParent() else {
    FileHandle.standardError.write(Data("sfgit-network: internal helper of sfgit; it runs only as the child of a sync\n".utf8))
    exit(2)
}
let input = FileHandle.standardInput.readDataToEndOfFile()
let response: RemoteResponse
if let request = try? JSONDecoder().decode(RemoteRequest.self, from: input) {
    response = RemoteStep.performCapped(request)
} else {
    response = RemoteResponse(failure: "the network step received no valid request")
}
FileHandle.standardOutput.write((try? JSONEncoder().encode(response)) ?? Data())

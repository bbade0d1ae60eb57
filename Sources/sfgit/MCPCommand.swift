import ArgumentParser
import Foundation
import SFGit

/// `sfgit mcp`: the MCP server over stdio (see `MCP/Server.swift`), or with `--print-config`
/// the snippet that registers it with a harness.
struct MCPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the memory tools over the Model Context Protocol (stdio), or print a harness's snippet.",
        discussion: """
            Newline-delimited JSON-RPC 2.0 on stdin/stdout; logs on stderr. Tools: memory_recall, memory_show, \
            memory_remember, memory_retract, memory_status. Reads come from the store caches, kept open; the \
            server never takes the sync lock. Exits 0 at end of input once every request is answered.
            """ + "\n\n" + Examples.mcp)

    @Option(help: "The default store of every tool call (a call's own store argument wins).")
    var store: String?

    @Option(name: .customLong("print-config"), help: "Print the registration snippet for claude, cursor, hermes or generic, and exit.")
    var printConfig: String?

    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if let printConfig, Harness(rawValue: printConfig) == nil, printConfig != "generic" {
            throw ValidationError("--print-config takes claude, cursor, hermes or generic")
        }
    }

    func run() throws {
        let arguments = ["mcp"] + (store.map { ["--store", $0] } ?? [])
        if let printConfig {
            let registration = MCPRegistration(command: executablePath, arguments: arguments, environment: MCPRegistration.environment())
            FileHandle.standardOutput.write(Data(registration.snippet(for: printConfig).utf8))
            return
        }
        let tools = MemoryTools(store: store)
        let session = MCPSession(tools: tools)
        let delay = ProcessInfo.processInfo.environment["SFGIT_MCP_DELAY_MS"].flatMap { Int($0) } ?? 0
        MCPServer(delayMilliseconds: delay) { method, params throws(MCPServer.RPCFailure) in
            try session.handle(method, params)
        }.run()
    }
}

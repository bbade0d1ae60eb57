import Foundation
import SFGit

/// The stdio transport of `sfgit mcp`: newline-delimited JSON-RPC 2.0 on stdin/stdout.
///
/// - A reader thread (the main thread) does blocking reads of fd 0: no O_NONBLOCK on a
///   descriptor shared with the parent, no polling. It answers `ping` at once, records
///   `notifications/cancelled`, ignores other notifications and responses, and queues every
///   request, first in first out.
/// - One worker serves the queue in order, so replies come out in request order. A request
///   cancelled while still queued gets no reply, as the spec asks (`initialize` is never skipped).
/// - At end of input the worker drains the queue, every reply is written, and the process
///   exits 0.
/// - stdout carries protocol messages only, each written whole under a lock with write(2);
///   logs go to stderr. A closed stdout (EPIPE) ends the process quietly.
// @unchecked Sendable: the queue and flags are guarded by `condition`, stdout by `writeLock`; the handler runs on the worker thread only.
final class MCPServer: @unchecked Sendable {
    struct Request {
        var id: MCPValue
        var key: String
        var method: String
        var params: MCPValue?
    }

    /// Serves one request; returns the `result` or throws a JSON-RPC error.
    typealias Handler = (_ method: String, _ params: MCPValue?) throws(RPCFailure) -> MCPValue

    struct RPCFailure: Error {
        var code: Int64
        var message: String
    }

    private let handler: Handler
    private let condition = NSCondition()
    private var queue: [Request] = []
    private var inputEnded = false
    private var cancelled: Set<String> = []
    private let writeLock = NSLock()
    /// Test-only: the worker waits this long before each request, so that a test can cancel a
    /// request while it is still queued (`SFGIT_MCP_DELAY_MS`).
    private let delay: useconds_t

    init(delayMilliseconds: Int = 0, handler: @escaping Handler) {
        self.handler = handler
        self.delay = useconds_t(max(0, min(delayMilliseconds, 10_000)) * 1000)
    }

    /// Runs until end of input and every queued request is answered; then exits 0.
    func run() -> Never {
        signal(SIGPIPE, SIG_IGN)
        let worker = Thread { [self] in serve() }
        worker.stackSize = 8 << 20
        worker.start()
        readInput()
        condition.lock()
        inputEnded = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        exit(0)
    }

    private var finished = false

    // MARK: - Reader

    private func readInput() {
        var pending = Data()
        var discarding = false
        let capacity = 1 << 16
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        while true {
            let count = read(0, buffer, capacity)
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            if count == 0 { break }
            var start = 0
            for position in 0..<count where buffer[position] == 0x0A {
                if discarding {
                    discarding = false
                } else {
                    pending.append(buffer + start, count: position - start)
                    handleLine(pending)
                }
                pending.removeAll(keepingCapacity: true)
                start = position + 1
            }
            if !discarding { pending.append(buffer + start, count: count - start) }
            if pending.count > Self.maximumMessageBytes {
                // A message this large is refused without being held: skip to its end.
                pending.removeAll()
                discarding = true
                send(RPCMessage.error(id: .null, code: RPCError.invalidRequest, message: "message larger than \(Self.maximumMessageBytes) bytes"))
            }
        }
        if !discarding, !pending.isEmpty { handleLine(pending) }
    }

    static let maximumMessageBytes = 4 << 20

    private func handleLine(_ line: Data) {
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }
        guard let message = MCPValue(parsing: line) else {
            send(RPCMessage.error(id: .null, code: RPCError.parse, message: "parse error: not JSON"))
            return
        }
        if case .array = message {
            send(RPCMessage.error(id: .null, code: RPCError.invalidRequest, message: "batches are not supported (removed in MCP 2025-06-18)"))
            return
        }
        guard message.isObject else {
            send(RPCMessage.error(id: .null, code: RPCError.invalidRequest, message: "a message is a JSON object"))
            return
        }
        let id = message["id"]
        let validID: Bool
        switch id {
        case .string?, .integer?: validID = true
        default: validID = false
        }
        guard case .string(let method)? = message["method"] else {
            // A response to a request of ours (sfgit sends none) is ignored; anything else is invalid.
            if message["result"] == nil && message["error"] == nil, validID, let id {
                send(RPCMessage.error(id: id, code: RPCError.invalidRequest, message: "no method"))
            }
            return
        }
        guard message["jsonrpc"]?.string == "2.0" else {
            if validID, let id { send(RPCMessage.error(id: id, code: RPCError.invalidRequest, message: "jsonrpc must be \"2.0\"")) }
            return
        }
        let params = message["params"]
        guard let id else {
            if method == "notifications/cancelled", let requestID = params?["requestId"] {
                condition.withLock {
                    if cancelled.count > 10_000 { cancelled.removeAll() }
                    cancelled.insert(Self.key(requestID))
                }
            }
            return  // notifications/initialized and any other notification: nothing to answer
        }
        guard validID else {
            send(RPCMessage.error(id: .null, code: RPCError.invalidRequest, message: "id must be a string or an integer"))
            return
        }
        if method == "ping" {
            send(RPCMessage.result(id: id, [:]))
            return
        }
        condition.withLock {
            queue.append(Request(id: id, key: Self.key(id), method: method, params: params))
            condition.signal()
        }
    }

    private static func key(_ id: MCPValue) -> String {
        String(decoding: id.serialized(), as: UTF8.self)
    }

    // MARK: - Worker

    private func serve() {
        while true {
            condition.lock()
            while queue.isEmpty && !inputEnded { condition.wait() }
            if queue.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let request = queue.removeFirst()
            condition.unlock()
            if delay > 0 { usleep(delay) }
            let skip = condition.withLock { cancelled.remove(request.key) != nil } && request.method != "initialize"
            if skip {
                log("request \(request.key) (\(request.method)) cancelled before it ran: no reply")
                continue
            }
            let reply: MCPValue
            do {
                reply = RPCMessage.result(id: request.id, try handler(request.method, request.params))
            } catch {
                reply = RPCMessage.error(id: request.id, code: error.code, message: error.message)
            }
            condition.withLock { _ = cancelled.remove(request.key) }
            send(reply)
        }
    }

    // MARK: - Output

    /// Writes one message and a line feed to stdout, whole, under the lock.
    private func send(_ message: MCPValue) {
        // DEL, C1 and bidi controls and U+2028/U+2029 are written as \u escapes (`serialized`), so
        // that no raw control reaches a terminal or a line splitter.
        var bytes = message.bytes()
        bytes.append(0x0A)
        writeLock.withLock {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(1, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        exit(0)  // EPIPE: the client is gone
                    }
                    offset += written
                }
            }
        }
    }
}

/// A log line on stderr (never stdout, which carries protocol messages only).
func log(_ message: String) {
    FileHandle.standardError.write(Data(("sfgit mcp: " + SafeText.escape(message, for: .line) + "\n").utf8))
}

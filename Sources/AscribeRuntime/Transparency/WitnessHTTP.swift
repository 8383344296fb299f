import AscribeCore
import AscribeSystem

/// The little HTTP/1.1 the witness protocol needs, over plain TCP: one request per connection
/// (`Connection: close`), a `Content-Length` body, no chunking. https needs a TLS terminator in
/// front (a reverse proxy on the witness's host): there is no TLS here, on purpose, so no
/// second crypto stack besides libcrypto's signatures. Integrity does not depend on it: the
/// checkpoint and cosignature are signed; TLS would only hide them, and they are public.
public enum WitnessHTTP {
    /// Larger heads or bodies are refused: a request is a checkpoint and at most 63 hashes.
    static let headLimit = 16 * 1024
    static let bodyLimit = 1 << 20
    /// A peer that stops sending for this long is dropped.
    static let receiveTimeoutMilliseconds: Int32 = 5000

    /// Serves `witness` on `listener` until accepting fails; each request is answered and its
    /// connection closed before the next is accepted. `log` is told of each answer.
    public static func serve(_ listener: borrowing FileDescriptor, witness: Witness,
                             now: () -> UInt64, log: (String) -> Void) throws(SystemError) {
        while true {
            let connection = try SystemCalls.acceptWaiting(listener)
            let response: WitnessResponse
            try? SystemCalls.setReceiveTimeout(connection.rawValue, milliseconds: receiveTimeoutMilliseconds)
            do throws(HTTPError) {
                let request = try readMessage(connection)
                if request.startLine.hasPrefix("POST ") && request.startLine.hasSuffix(" HTTP/1.1")
                    && request.startLine.split(separator: " ").dropFirst().first?.hasSuffix("/add-checkpoint") == true {
                    response = witness.addCheckpoint(request.body, now: now())
                } else {
                    response = .text(404, "only POST …/add-checkpoint is served here\n")
                }
            } catch {
                response = .text(error.status, error.message + "\n")
            }
            log("\(response.status) \(String(decoding: response.body.prefix(200), as: UTF8.self).split(separator: "\n").first ?? "")")
            try? SystemCalls.sendAll(connection.rawValue, render(status: response.status, contentType: response.contentType, body: response.body))
        }
    }

    /// POSTs `body` to `url` (`http://host:port/prefix`) + `/add-checkpoint`; the status, content type and body.
    public static func addCheckpoint(url: String, body: [UInt8]) throws(HTTPError) -> WitnessResponse {
        guard url.hasPrefix("http://") else { throw HTTPError(status: 0, message: "\(url): only http:// (put a TLS terminator in front for https)") }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        var prefix = String(rest.dropFirst(authority.count))
        if prefix.hasSuffix("/") { prefix.removeLast() }
        let (host, port) = try Self.split(String(authority))
        let head = "POST \(prefix)/add-checkpoint HTTP/1.1\r\nHost: \(authority)\r\nContent-Type: text/plain\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let reply: Message
        do throws(HTTPError) {
            reply = try readMessage(try send(Array(head.utf8) + body, host: host, port: port))
        } catch {
            throw HTTPError(status: 0, message: "\(url): \(error.message)")
        }
        let parts = reply.startLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw HTTPError(status: 0, message: "\(url): not an HTTP response")
        }
        return WitnessResponse(status: status, contentType: reply.headers["content-type"] ?? "", body: reply.body)
    }

    /// A connection to `host`:`port` with `bytes` sent on it.
    private static func send(_ bytes: [UInt8], host: String, port: String) throws(HTTPError) -> FileDescriptor {
        do throws(SystemError) {
            let connection = try SystemCalls.connectTCP(host: host, port: port)
            try SystemCalls.setReceiveTimeout(connection.rawValue, milliseconds: receiveTimeoutMilliseconds)
            try SystemCalls.sendAll(connection.rawValue, bytes)
            return connection
        } catch {
            throw HTTPError(status: 0, message: error.description)
        }
    }

    /// `host:port` or `[v6]:port`.
    public static func split(_ address: String) throws(HTTPError) -> (host: String, port: String) {
        var host = Substring(address), port = Substring("80")
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            host = address[address.index(after: address.startIndex)..<close]
            let after = address[address.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
        } else if let colon = address.lastIndex(of: ":") {
            host = address[..<colon]
            port = address[address.index(after: colon)...]
        }
        guard !host.isEmpty, let number = Int(port), (0...65535).contains(number) else {
            throw HTTPError(status: 400, message: "\(address.debugDescription) is not host:port")
        }
        return (String(host), String(port))
    }

    struct Message {
        var startLine: String
        var headers: [String: String]
        var body: [UInt8]
    }

    /// Reads a head and a `Content-Length` body.
    static func readMessage(_ connection: borrowing FileDescriptor) throws(HTTPError) -> Message {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let separator = Array("\r\n\r\n".utf8)
        func more() throws(HTTPError) -> Bool {
            do throws(SystemError) {
                switch try SystemCalls.read(connection.rawValue, into: &buffer) {
                case .endOfFile, .wouldBlock: return false
                case .bytes(let count):
                    bytes += buffer[..<count]
                    return true
                }
            } catch {
                throw HTTPError(status: 408, message: "reading the request: \(error)")
            }
        }
        var headEnd: Int?
        while headEnd == nil {
            headEnd = bytes.indices.dropLast(3).first { bytes[$0..<$0 + 4].elementsEqual(separator) }
            if headEnd != nil { break }
            guard bytes.count <= headLimit else { throw HTTPError(status: 431, message: "the head is larger than \(headLimit) bytes") }
            guard try more() else { throw HTTPError(status: 400, message: "the connection closed before the head ended") }
        }
        guard let headEnd else { throw HTTPError(status: 400, message: "no head") }
        var lines: [String] = []
        var lineStart = 0
        for index in 0..<headEnd where bytes[index] == UInt8(ascii: "\r") && bytes[index + 1] == UInt8(ascii: "\n") {
            lines.append(String(decoding: bytes[lineStart..<index], as: UTF8.self))
            lineStart = index + 2
        }
        lines.append(String(decoding: bytes[lineStart..<headEnd], as: UTF8.self))
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw HTTPError(status: 400, message: "a header line has no colon") }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingSpaces
        }
        guard let lengthText = headers["content-length"], let length = Int(lengthText), length >= 0 else {
            throw HTTPError(status: 411, message: "a Content-Length is required")
        }
        guard length <= bodyLimit else { throw HTTPError(status: 413, message: "the body is larger than \(bodyLimit) bytes") }
        let bodyStart = headEnd + 4
        while bytes.count - bodyStart < length {
            guard try more() else { throw HTTPError(status: 400, message: "the connection closed before the body ended") }
        }
        return Message(startLine: lines.first ?? "", headers: headers, body: Array(bytes[bodyStart..<bodyStart + length]))
    }

    static func render(status: Int, contentType: String, body: [UInt8]) -> [UInt8] {
        Array(("HTTP/1.1 \(status) \(reason(status))\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
            + "Connection: close\r\n\r\n").utf8) + body
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 422: "Unprocessable Content"
        case 431: "Request Header Fields Too Large"
        default: "Error"
        }
    }
}

public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The status to answer with (0 on the client side).
    public var status: Int
    public var message: String

    public var description: String { message }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

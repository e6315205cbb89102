// Streams through the hand-written AsyncSequence layer (Sources/HmsFfi/Streams.swift): an
// `AsyncStreamHandler` reading `stream.requests` and a client sending an `AsyncStream` of
// requests while it iterates the replies. Run on a macOS runner by .github/workflows/swift.yml;
// the development machines have no Swift toolchain, so neither this file nor Streams.swift has
// been compiled there.
import Foundation
import XCTest

@testable import HmsFfi

final class StreamsTests: XCTestCase {
    static let proto = """
        syntax = "proto3"; package demo.v1;
        message Ping { string text = 1; int64 n = 2; }
        service Chat { rpc Chat(stream Ping) returns (stream Ping); }
        """

    /// Echoes each request's text with its position, as it reads them.
    func serve(_ name: String) throws -> Client {
        let schema = try Schema.fromSource(name: "chat.proto", text: Self.proto)
        let server = try Server(schema: schema, language: "swift")
        try server.handleStream(method: "demo.v1.Chat/Chat", handler: AsyncStreamHandler { stream, _ in
            var n = 0
            for try await request in stream.requests {
                n += 1
                let fields = try JSONSerialization.jsonObject(with: Data(request.utf8)) as? [String: Any]
                let text = fields?["text"] as? String ?? ""
                if text == "fail" {
                    throw HmsError.Aborted(code: .aborted, msg: "failed after \(n - 1) replies", details: ErrorDetails())
                }
                try await stream.sendAsync(reply: #"{"n":\#(n),"text":"\#(text)"}"#)
            }
        })
        let uri = try server.listen(uri: "inproc://\(name)")
        addTeardownBlock { try? server.shutdown(graceMs: 100) }
        return try Client.connect(uri: uri)
    }

    func requests(_ texts: [String]) -> AsyncStream<String> {
        AsyncStream { continuation in
            for text in texts {
                continuation.yield(#"{"text":"\#(text)"}"#)
            }
            continuation.finish()
        }
    }

    func testAsyncSequencesBothWays() async throws {
        let client = try serve("swift-streams")
        var replies: [String] = []
        let stream = try await client.stream(
            method: "demo.v1.Chat/Chat", requests: requests(["a", "b", "c"]), options: CallOptions(timeoutMs: 10_000))
        for try await reply in stream {
            replies.append(reply)
        }
        XCTAssertEqual(replies, [#"{"n":1,"text":"a"}"#, #"{"n":2,"text":"b"}"#, #"{"n":3,"text":"c"}"#])
    }

    func testAnErrorComesTypedAfterTheRepliesBeforeIt() async throws {
        let client = try serve("swift-streams-error")
        var replies: [String] = []
        do {
            let stream = try await client.stream(
                method: "demo.v1.Chat/Chat", requests: requests(["a", "fail", "c"]), options: CallOptions(timeoutMs: 10_000))
            for try await reply in stream {
                replies.append(reply)
            }
            XCTFail("the stream ended without its error")
        } catch let error as HmsError {
            XCTAssertEqual(parts(error).0, .aborted)
        }
        XCTAssertEqual(replies, [#"{"n":1,"text":"a"}"#])
    }
}

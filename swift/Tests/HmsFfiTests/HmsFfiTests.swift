// The Swift tests of the generated bindings (run on a macOS runner by .github/workflows/swift.yml;
// the development machines have no Swift toolchain). They use the generated API directly.
import Foundation
import XCTest

@testable import HmsFfi

/// Echoes the request's typed JSON.
final class Echo: Handler, @unchecked Sendable {
    func handle(request: String, ctx: CallContext) throws -> String { request }
}

/// Fails with NOT_FOUND for n == 1, and throws a plain Swift error otherwise.
final class Thrower: Handler, @unchecked Sendable {
    struct Oops: Error {}
    func handle(request: String, ctx: CallContext) throws -> String {
        if request.contains("\"n\":1") {
            throw HmsError.NotFound(code: .notFound, msg: "no user 1", details: ErrorDetails())
        }
        throw Oops()
    }
}

/// Answers every call with the same typed JSON, and counts the calls it answered.
final class Fixed: Handler, @unchecked Sendable {
    let reply: String
    var calls = 0
    init(_ reply: String) { self.reply = reply }
    func handle(request: String, ctx: CallContext) throws -> String {
        calls += 1
        return reply
    }
}

/// Appends field 2 = 8 to the request's protobuf bytes.
final class RawEcho: RawHandler, @unchecked Sendable {
    func handle(request: Data, ctx: CallContext) throws -> Data { request + Data([0x10, 0x08]) }
}

/// The conformance service's Fail method: throws the code named in the request.
final class Fail: Handler, @unchecked Sendable {
    func handle(request: String, ctx: CallContext) throws -> String {
        let req = try JSONSerialization.jsonObject(with: Data(request.utf8)) as! [String: Any]
        let paths = req["violation_paths"] as? [String] ?? []
        let details = ErrorDetails(fieldViolations: paths.map { FieldViolation(field: $0, description: "rejected") })
        throw makeError(req["code"] as? String ?? "UNKNOWN", req["message"] as? String ?? "", details)
    }
}

let codeNames: [(String, Code)] = [
    ("CANCELLED", .cancelled), ("UNKNOWN", .unknown), ("INVALID_ARGUMENT", .invalidArgument),
    ("DEADLINE_EXCEEDED", .deadlineExceeded), ("NOT_FOUND", .notFound), ("ALREADY_EXISTS", .alreadyExists),
    ("PERMISSION_DENIED", .permissionDenied), ("RESOURCE_EXHAUSTED", .resourceExhausted),
    ("FAILED_PRECONDITION", .failedPrecondition), ("ABORTED", .aborted), ("OUT_OF_RANGE", .outOfRange),
    ("UNIMPLEMENTED", .unimplemented), ("INTERNAL", .internal), ("UNAVAILABLE", .unavailable),
    ("DATA_LOSS", .dataLoss), ("UNAUTHENTICATED", .unauthenticated),
]

func makeError(_ name: String, _ msg: String, _ d: ErrorDetails) -> HmsError {
    switch name {
    case "CANCELLED": return .Cancelled(code: .cancelled, msg: msg, details: d)
    case "INVALID_ARGUMENT": return .InvalidArgument(code: .invalidArgument, msg: msg, details: d)
    case "DEADLINE_EXCEEDED": return .DeadlineExceeded(code: .deadlineExceeded, msg: msg, details: d)
    case "NOT_FOUND": return .NotFound(code: .notFound, msg: msg, details: d)
    case "ALREADY_EXISTS": return .AlreadyExists(code: .alreadyExists, msg: msg, details: d)
    case "PERMISSION_DENIED": return .PermissionDenied(code: .permissionDenied, msg: msg, details: d)
    case "RESOURCE_EXHAUSTED": return .ResourceExhausted(code: .resourceExhausted, msg: msg, details: d)
    case "FAILED_PRECONDITION": return .FailedPrecondition(code: .failedPrecondition, msg: msg, details: d)
    case "ABORTED": return .Aborted(code: .aborted, msg: msg, details: d)
    case "OUT_OF_RANGE": return .OutOfRange(code: .outOfRange, msg: msg, details: d)
    case "UNIMPLEMENTED": return .Unimplemented(code: .unimplemented, msg: msg, details: d)
    case "INTERNAL": return .Internal(code: .internal, msg: msg, details: d)
    case "UNAVAILABLE": return .Unavailable(code: .unavailable, msg: msg, details: d)
    case "DATA_LOSS": return .DataLoss(code: .dataLoss, msg: msg, details: d)
    case "UNAUTHENTICATED": return .Unauthenticated(code: .unauthenticated, msg: msg, details: d)
    default: return .Unknown(code: .unknown, msg: msg, details: d)
    }
}

/// The code, message and details of any HmsError.
func parts(_ e: HmsError) -> (Code, String, ErrorDetails) {
    switch e {
    case let .Cancelled(c, m, d), let .Unknown(c, m, d), let .InvalidArgument(c, m, d),
        let .DeadlineExceeded(c, m, d), let .NotFound(c, m, d), let .AlreadyExists(c, m, d),
        let .PermissionDenied(c, m, d), let .ResourceExhausted(c, m, d), let .FailedPrecondition(c, m, d),
        let .Aborted(c, m, d), let .OutOfRange(c, m, d), let .Unimplemented(c, m, d), let .Internal(c, m, d),
        let .Unavailable(c, m, d), let .DataLoss(c, m, d), let .Unauthenticated(c, m, d):
        return (c, m, d)
    }
}

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

final class HmsFfiTests: XCTestCase {
    static let proto = """
        syntax = "proto3"; package demo.v1;
        message Ping { string text = 1; int64 n = 2; }
        service Demo { rpc Echo(Ping) returns (Ping); rpc Throw(Ping) returns (Ping); rpc Raw(Ping) returns (Ping); }
        """

    func serve(_ name: String) throws -> Client {
        let server = try Server(schema: try Schema.fromSource(name: "demo.proto", text: Self.proto), language: "swift")
        try server.handle(method: "demo.v1.Demo/Echo", handler: Echo())
        try server.handle(method: "demo.v1.Demo/Throw", handler: Thrower())
        try server.handleRaw(method: "demo.v1.Demo/Raw", handler: RawEcho())
        let uri = try server.listen(uri: "inproc://\(name)")
        addTeardownBlock { try? server.shutdown(graceMs: 100) }
        return try Client.connect(uri: uri)
    }

    func testTypedJsonRoundTrip() throws {
        let client = try serve("swift-echo")
        let reply = try client.call(
            method: "demo.v1.Demo/Echo", request: #"{"text":"hé","n":{"$int":"9007199254740993"}}"#,
            options: CallOptions())
        XCTAssertEqual(reply, #"{"n":{"$int":"9007199254740993"},"text":"hé"}"#)
    }

    func testBadRequestIsInvalidArgumentWithPath() throws {
        let client = try serve("swift-bad")
        XCTAssertThrowsError(
            try client.call(method: "demo.v1.Demo/Echo", request: #"{"n":"seven"}"#, options: CallOptions())
        ) { error in
            guard case let .InvalidArgument(_, _, details) = error as! HmsError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(details.fieldViolations.map { $0.field }, ["n"])
        }
    }

    func testHandlerErrorsKeepTheirCodeAndOtherErrorsAreInternal() throws {
        let client = try serve("swift-throw")
        XCTAssertThrowsError(try client.call(method: "demo.v1.Demo/Throw", request: #"{"n":1}"#, options: CallOptions())) {
            let (code, msg, details) = parts($0 as! HmsError)
            XCTAssertEqual(code, .notFound)
            XCTAssertEqual(msg, "no user 1")
            XCTAssertEqual(details.origin?.language, "swift")
        }
        XCTAssertThrowsError(try client.call(method: "demo.v1.Demo/Throw", request: #"{"n":2}"#, options: CallOptions())) {
            XCTAssertEqual(parts($0 as! HmsError).0, .internal)
        }
        XCTAssertEqual(
            try client.call(method: "demo.v1.Demo/Echo", request: #"{"n":2}"#, options: CallOptions()),
            #"{"n":2,"text":""}"#)
    }

    func testAsyncAndRawCalls() async throws {
        let client = try serve("swift-async")
        let reply = try await client.callAsync(method: "demo.v1.Demo/Echo", request: #"{"n":5}"#, options: CallOptions())
        XCTAssertEqual(reply, #"{"n":5,"text":""}"#)
        let ping = Data([0x0a, 0x02, 0x68, 0x69])
        let raw = try await client.callRawAsync(method: "demo.v1.Demo/Raw", request: ping, options: CallOptions())
        XCTAssertEqual(raw, ping + Data([0x10, 0x08]))
    }

    /// Every Fail vector of tests/conformance/vectors/errors.json against a Swift Fail handler.
    func testConformanceErrorVectors() throws {
        let schema = try Schema.load(files: [repoRoot.appendingPathComponent("tests/conformance/conformance.proto").path], includes: [])
        let server = try Server(schema: schema, language: "swift")
        try server.handle(method: "hms.conformance.v1.Conformance/Fail", handler: Fail())
        let client = try Client.connect(uri: try server.listen(uri: "inproc://swift-conformance"))
        defer { try? server.shutdown(graceMs: 100) }
        let file = repoRoot.appendingPathComponent("tests/conformance/vectors/errors.json")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        var ran = 0
        for case let c as [String: Any] in doc["cases"] as! [Any] where (c["method"] as! String).hasSuffix("/Fail") {
            let expect = (c["expect"] as! [String: Any])["error"] as! [String: Any]
            let request = String(data: try JSONSerialization.data(withJSONObject: c["request"]!), encoding: .utf8)!
            XCTAssertThrowsError(try client.call(method: c["method"] as! String, request: request, options: CallOptions())) {
                let (code, msg, details) = parts($0 as! HmsError)
                XCTAssertEqual(codeNames.first(where: { $0.1 == code })?.0, expect["code"] as? String, c["name"] as! String)
                if let sub = expect["message_contains"] as? String { XCTAssertTrue(msg.contains(sub), msg) }
                if let paths = expect["violations"] as? [String] {
                    XCTAssertEqual(Set(details.fieldViolations.map { $0.field }), Set(paths))
                }
            }
            ran += 1
        }
        XCTAssertGreaterThanOrEqual(ran, 18)
    }

    /// Versions at connect (docs/evolution.md): a client built against v1 learns at connect what
    /// a v2 server breaks (Get: GetRequest.id became an int64) and what it does not (List).
    func testAClientBuiltAgainstV1LearnsAtConnectWhatAV2ServerBreaks() throws {
        let v1 = """
            syntax = "proto3"; package shop.v1;
            message Item { int32 count = 1; }
            message GetRequest { string id = 1; }
            message ListRequest {}
            service Shop { rpc Get(GetRequest) returns (Item); rpc List(ListRequest) returns (Item); }
            """
        let v2 = v1.replacingOccurrences(of: "string id = 1", with: "int64 id = 1")
            .replacingOccurrences(of: "int32 count = 1;", with: "int32 count = 1; string name = 2;")
        let server = try Server(schema: try Schema.fromSource(name: "shop.proto", text: v2), language: "swift")
        let (get, list) = (Fixed(#"{"count":1}"#), Fixed(#"{"count":2}"#))
        try server.handle(method: "shop.v1.Shop/Get", handler: get)
        try server.handle(method: "shop.v1.Shop/List", handler: list)
        let uri = try server.listen(uri: "inproc://swift-versions")
        defer { try? server.shutdown(graceMs: 100) }
        server.setSchemaVersion(subject: "shop.v1", version: 2)
        let expected = try Schema.fromSource(name: "shop.proto", text: v1)
        let client = try Client.connectAll(uris: [uri], schema: nil, resilience: nil, expectSchema: expected)
        let version = try XCTUnwrap(client.schemaVersion())
        XCTAssertEqual(version.fingerprint, server.schemaVersion().fingerprint)
        XCTAssertEqual(version.subject, "shop.v1")
        XCTAssertEqual(version.version, 2)
        let broken = client.incompatibleMethods()
        XCTAssertEqual(Array(broken.keys), ["shop.v1.Shop/Get"])
        XCTAssertTrue(broken["shop.v1.Shop/Get"]?.first?.contains("FIELD_WIRE_JSON_COMPATIBLE_TYPE") ?? false)
        XCTAssertThrowsError(try client.call(method: "shop.v1.Shop/Get", request: #"{"id":"7"}"#, options: CallOptions())) {
            guard case let .FailedPrecondition(_, msg, details) = $0 as! HmsError else { return XCTFail("\($0)") }
            XCTAssertEqual(details.errorInfo?.reason, "INCOMPATIBLE_SCHEMA")
            XCTAssertTrue(msg.contains("FIELD_WIRE_JSON_COMPATIBLE_TYPE"), msg)
        }
        let reply = try client.call(method: "shop.v1.Shop/List", request: "{}", options: CallOptions())
        XCTAssertTrue(reply.contains(#""count":2"#), reply)
        XCTAssertEqual(get.calls, 0)
        XCTAssertEqual(list.calls, 1)
    }
}

// Hand-written, not generated: Swift's `AsyncSequence` over the UniFFI stream objects
// (`ClientStream`, `ServerStream`, `StreamHandler` in the generated HmsFfi.swift), both ways.
// scripts/uniffi-gen.sh writes only HmsFfi.swift and the C module, so this file stays.
//
// NOT COMPILED HERE: the machines this project is built on have no Swift toolchain. It is
// written against the generated API and shipped as it is; .github/workflows/swift.yml builds it
// and runs swift/Tests/HmsFfiTests (which use it) on a macOS runner. docs/uniffi.md says so.
//
// Messages are typed JSON text, as in every UniFFI call (docs/uniffi.md). The stream rules (flow
// control, deadlines, cancellation, an error after the replies sent before it) are the core's:
// these types only adapt the blocking-free `async` reads and sends.

import Foundation

/// An error kept for another task to read (a request sequence that threw).
final class StreamFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?

    func set(_ error: Error) {
        lock.lock()
        defer { lock.unlock() }
        if self.error == nil { self.error = error }
    }

    func get() -> Error? {
        lock.lock()
        defer { lock.unlock() }
        return error
    }
}

/// The replies of a streaming call, read as they are iterated:
/// `for try await reply in stream.replies { … }`. The sequence ends when the server ends the
/// call; an error ends it with its `HmsError`, after the replies sent before it. Cancelling the
/// iterating task cancels the call (the server's handler sees it).
public struct Replies: AsyncSequence, Sendable {
    public typealias Element = String

    /// The call.
    public let stream: ClientStream
    let failure: StreamFailure?

    public init(stream: ClientStream) {
        self.init(stream: stream, failure: nil)
    }

    init(stream: ClientStream, failure: StreamFailure?) {
        self.stream = stream
        self.failure = failure
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ClientStream
        let failure: StreamFailure?

        public mutating func next() async throws -> String? {
            let stream = self.stream
            do {
                return try await withTaskCancellationHandler {
                    try await stream.recvAsync()
                } onCancel: {
                    stream.cancel()
                }
            } catch {
                // What broke the requests is the call's outcome, not the reader's CANCELLED.
                throw failure?.get() ?? error
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: stream, failure: failure)
    }
}

extension ClientStream {
    /// The replies as an `AsyncSequence` (see [`Replies`]).
    public var replies: Replies { Replies(stream: self) }
}

extension Client {
    /// Opens a streaming call of `method` and sends `requests` (typed JSON text; for a
    /// server-streaming call, a sequence of its one request) from a task of its own as the
    /// server reads them, then half-closes; the replies come as an `AsyncSequence`. A request
    /// sequence that throws cancels the call, and its error ends the replies.
    public func stream<S: AsyncSequence & Sendable>(
        method: String,
        requests: S,
        options: CallOptions
    ) async throws -> Replies where S.Element == String {
        let stream = try await openStreamAsync(method: method, options: options)
        let failure = StreamFailure()
        Task {
            do {
                for try await request in requests {
                    try await stream.sendAsync(request: request)
                }
                stream.closeSend()
            } catch {
                failure.set(error)
                stream.cancel()
            }
        }
        return Replies(stream: stream, failure: failure)
    }
}

/// A streaming handler's requests, read as they are iterated:
/// `for try await request in stream.requests { … }`; the sequence ends when the client
/// half-closes, and throws `HmsError.Cancelled` once the caller has gone.
public struct Requests: AsyncSequence, Sendable {
    public typealias Element = String

    /// The call.
    public let stream: ServerStream

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ServerStream

        public mutating func next() async throws -> String? {
            try await stream.recvAsync()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream) }
}

extension ServerStream {
    /// The requests as an `AsyncSequence` (see [`Requests`]).
    public var requests: Requests { Requests(stream: self) }

    /// Sends every reply of `replies` (typed JSON text), each as the caller's window lets it.
    public func sendAll<S: AsyncSequence>(_ replies: S) async throws where S.Element == String {
        for try await reply in replies {
            try await sendAsync(reply: reply)
        }
    }
}

/// A streaming handler written as an `async` function, for `Server.handleStream`:
///
/// ```swift
/// try server.handleStream(method: "pkg.S/Chat", handler: AsyncStreamHandler { stream, ctx in
///     try await stream.sendAll(stream.requests.map { echo($0) })
/// })
/// ```
///
/// hms-ffi calls it on a thread of its blocking pool, which waits while the function runs as a
/// task; the call's cancellation (caller gone, deadline, server stopping) cancels the task. A
/// thrown `HmsError` fails the call with its code after the replies sent before it; any other
/// error is `INTERNAL` with its description.
public final class AsyncStreamHandler: StreamHandler, @unchecked Sendable {
    private let body: @Sendable (ServerStream, CallContext) async throws -> Void

    public init(_ body: @escaping @Sendable (ServerStream, CallContext) async throws -> Void) {
        self.body = body
    }

    public func handle(stream: ServerStream, ctx: CallContext) throws {
        let failure = StreamFailure()
        let done = DispatchSemaphore(value: 0)
        let body = self.body
        let work = Task {
            do {
                try await body(stream, ctx)
            } catch {
                failure.set(error)
            }
            done.signal()
        }
        // UniFFI's Swift futures do not stop when their task is cancelled, so the watcher looks
        // at the call every few milliseconds instead of awaiting `ctx.cancelled()`.
        let watch = Task {
            while !Task.isCancelled {
                if ctx.isCancelled() {
                    work.cancel()
                    return
                }
                try? await Task.sleep(nanoseconds: 5_000_000)
            }
        }
        done.wait()
        watch.cancel()
        if let error = failure.get() {
            throw hmsError(from: error)
        }
    }
}

/// `error` as the `HmsError` a handler fails with.
func hmsError(from error: Error) -> HmsError {
    if let error = error as? HmsError {
        return error
    }
    if error is CancellationError {
        return .Cancelled(code: .cancelled, msg: "the call was cancelled", details: ErrorDetails())
    }
    return .Internal(code: .internal, msg: "\(type(of: error)): \(error)", details: ErrorDetails())
}

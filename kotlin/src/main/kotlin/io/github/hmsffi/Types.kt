/**
 * hms-ffi for Kotlin: call functions written in any language through an interface described in
 * Protocol Buffers. The generated UniFFI layer is `io.github.hmsffi.ffi`; this package is the
 * API to use: [Client], [Server], [Schema], [TypedJson], [CallScope] and [hmsError]. Errors are
 * the generated `io.github.hmsffi.ffi.HmsException` and its subclass per code
 * (`HmsException.NotFound`, …); a Kotlin typealias cannot reach nested classes, so import it from
 * there.
 */
package io.github.hmsffi

/** `.proto` files compiled at run time: `Schema.load(listOf("greeter.proto"), listOf())`. */
typealias Schema = io.github.hmsffi.ffi.Schema

/** What a server announces about its schema in discovery: fingerprint, registry subject and version. */
typealias SchemaVersion = io.github.hmsffi.ffi.SchemaVersion

/** What a handler sees besides the request: method, metadata, deadline, cancellation. */
typealias CallContext = io.github.hmsffi.ffi.CallContext

/** The gRPC status codes. */
typealias Code = io.github.hmsffi.ffi.Code

/** The structured details of an error. */
typealias ErrorDetails = io.github.hmsffi.ffi.ErrorDetails

/** Cancels the calls whose options carry it: `CancelToken()` then `token.cancel()`. */
typealias CancelToken = io.github.hmsffi.ffi.CancelToken

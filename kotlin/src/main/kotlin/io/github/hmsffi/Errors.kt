package io.github.hmsffi

import io.github.hmsffi.ffi.Code
import io.github.hmsffi.ffi.DebugInfo
import io.github.hmsffi.ffi.ErrorDetails
import io.github.hmsffi.ffi.ErrorInfo
import io.github.hmsffi.ffi.FieldViolation
import io.github.hmsffi.ffi.HmsException

/** The gRPC code of an hms-ffi error (its subclass says the same). */
val HmsException.code: Code get() = parts().first

/** The error's own message, without the code (`message` adds the code and the details). */
val HmsException.msg: String get() = parts().second

/** Field violations, reason, debug info and origin. */
val HmsException.details: ErrorDetails get() = parts().third

/** The response headers the handler set before it failed. */
val HmsException.headers: List<io.github.hmsffi.ffi.MetadataEntry> get() = details.headers

/** The response trailers the handler set before it failed. */
val HmsException.trailers: List<io.github.hmsffi.ffi.MetadataEntry> get() = details.trailers

/** The field violations' paths, e.g. `items[2].price`. */
val HmsException.violationPaths: List<String> get() = details.fieldViolations.map { it.field }

private fun HmsException.parts(): Triple<Code, String, ErrorDetails> = when (this) {
    is HmsException.Cancelled -> Triple(code, msg, details)
    is HmsException.Unknown -> Triple(code, msg, details)
    is HmsException.InvalidArgument -> Triple(code, msg, details)
    is HmsException.DeadlineExceeded -> Triple(code, msg, details)
    is HmsException.NotFound -> Triple(code, msg, details)
    is HmsException.AlreadyExists -> Triple(code, msg, details)
    is HmsException.PermissionDenied -> Triple(code, msg, details)
    is HmsException.ResourceExhausted -> Triple(code, msg, details)
    is HmsException.FailedPrecondition -> Triple(code, msg, details)
    is HmsException.Aborted -> Triple(code, msg, details)
    is HmsException.OutOfRange -> Triple(code, msg, details)
    is HmsException.Unimplemented -> Triple(code, msg, details)
    is HmsException.Internal -> Triple(code, msg, details)
    is HmsException.Unavailable -> Triple(code, msg, details)
    is HmsException.DataLoss -> Triple(code, msg, details)
    is HmsException.Unauthenticated -> Triple(code, msg, details)
}

/**
 * The exception for [code], to throw from a handler: `throw hmsError(Code.NOT_FOUND, "no such
 * user")`. For `INVALID_ARGUMENT`, [violations] maps field paths to what is wrong with them.
 */
fun hmsError(
    code: Code,
    message: String,
    violations: Map<String, String> = emptyMap(),
    reason: String? = null,
): HmsException {
    val d = ErrorDetails(
        fieldViolations = violations.map { (field, why) -> FieldViolation(field, why) },
        errorInfo = reason?.let { ErrorInfo(it, "", emptyMap()) },
    )
    return hmsError(code, message, d)
}

/** The exception for [code] with every detail given: `ErrorInfo` domain and metadata, debug info. */
fun hmsError(code: Code, message: String, d: ErrorDetails): HmsException {
    return when (code) {
        Code.CANCELLED -> HmsException.Cancelled(code, message, d)
        Code.UNKNOWN, Code.OK -> HmsException.Unknown(Code.UNKNOWN, message, d)
        Code.INVALID_ARGUMENT -> HmsException.InvalidArgument(code, message, d)
        Code.DEADLINE_EXCEEDED -> HmsException.DeadlineExceeded(code, message, d)
        Code.NOT_FOUND -> HmsException.NotFound(code, message, d)
        Code.ALREADY_EXISTS -> HmsException.AlreadyExists(code, message, d)
        Code.PERMISSION_DENIED -> HmsException.PermissionDenied(code, message, d)
        Code.RESOURCE_EXHAUSTED -> HmsException.ResourceExhausted(code, message, d)
        Code.FAILED_PRECONDITION -> HmsException.FailedPrecondition(code, message, d)
        Code.ABORTED -> HmsException.Aborted(code, message, d)
        Code.OUT_OF_RANGE -> HmsException.OutOfRange(code, message, d)
        Code.UNIMPLEMENTED -> HmsException.Unimplemented(code, message, d)
        Code.INTERNAL -> HmsException.Internal(code, message, d)
        Code.UNAVAILABLE -> HmsException.Unavailable(code, message, d)
        Code.DATA_LOSS -> HmsException.DataLoss(code, message, d)
        Code.UNAUTHENTICATED -> HmsException.Unauthenticated(code, message, d)
    }
}

/** A code from its gRPC name (`NOT_FOUND`), or null. */
fun codeOf(name: String): Code? = Code.entries.firstOrNull { it.name == name }

/**
 * What a Kotlin handler's exception becomes: an [HmsException] stays as it is; anything else is
 * `INTERNAL` with the class, message and stack in the debug info.
 */
internal fun fromThrowable(t: Throwable): HmsException {
    if (t is HmsException) return t
    val text = "${t.javaClass.name}: ${t.message ?: ""}"
    val d = ErrorDetails(debugInfo = DebugInfo(t.stackTrace.map { it.toString() }, text))
    return HmsException.Internal(Code.INTERNAL, text, d)
}

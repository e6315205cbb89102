package io.github.hmsffi

import io.github.hmsffi.ffi.CallContext
import io.github.hmsffi.ffi.CallParent
import io.github.hmsffi.ffi.currentParent
import kotlin.coroutines.AbstractCoroutineContextElement
import kotlin.coroutines.CoroutineContext
import kotlinx.coroutines.ThreadContextElement
import kotlinx.coroutines.currentCoroutineContext

/**
 * The handler call that calls made here belong to: a [Client] call made where it is current
 * inherits that call's deadline (the earlier one wins), its cancellation and its trace (the call
 * is a child span of the handler's), as a call made on the handler's own thread does. `detach =
 * true` keeps the trace and drops the deadline and cancellation. The rule is the core's
 * (`CallOptions::parent`); this only carries the handle to wherever the work goes.
 *
 * It is a coroutine context element, so it follows a coroutine across dispatchers:
 * `withContext(Dispatchers.IO)`, `launch(Dispatchers.Default)` and `async` inherit it from the
 * coroutine that starts them. As a [ThreadContextElement] it also sets a thread-local on every
 * thread the coroutine resumes on, which is what a blocking call ([Client.call]) made inside
 * such a coroutine reads; suspending calls read the coroutine's context itself.
 *
 * Suspending handlers ([serverStreamFlow], [clientStreamFlow], [bidiStreamFlow]) start with it
 * in their context. A blocking handler runs on the thread the core gives the call, where calls
 * inherit without it; a coroutine such a handler starts itself (`runBlocking`) carries no
 * thread-locals unless told to, so it passes the scope:
 *
 * ```kotlin
 * server.method("demo.v1.Front/Get") { req, ctx ->
 *     runBlocking(ctx.scope()) {
 *         withContext(Dispatchers.IO) { backend.call("demo.v1.Back/Get", req) }
 *     }
 * }
 * ```
 */
class CallScope internal constructor(
    /** The core's handle on the handler call (deadline, cancellation, trace). */
    val parent: CallParent,
) : AbstractCoroutineContextElement(Key), ThreadContextElement<CallScope?> {
    /** The key of [CallScope] in a coroutine context. */
    companion object Key : CoroutineContext.Key<CallScope> {
        private val local = ThreadLocal<CallScope?>()

        /**
         * The handler call current here: the scope of the coroutine running on this thread, else
         * the handler the core runs on this thread; null outside any handler.
         */
        fun current(): CallScope? = local.get() ?: currentParent()?.let(::CallScope)

        /**
         * The parent a blocking call made on this thread gives the core: the coroutine's scope
         * set here; null lets the core use the handler running on this thread, if any.
         */
        internal fun onThread(): CallParent? = local.get()?.parent

        /** The parent a suspending call gives the core: its coroutine's scope, else [onThread]. */
        internal suspend fun inCoroutine(): CallParent? = currentCoroutineContext()[Key]?.parent ?: onThread()
    }

    override fun updateThreadContext(context: CoroutineContext): CallScope? {
        val previous = local.get()
        local.set(this)
        return previous
    }

    override fun restoreThreadContext(context: CoroutineContext, oldState: CallScope?) {
        if (oldState == null) local.remove() else local.set(oldState)
    }

    override fun toString(): String = "CallScope"
}

/**
 * This handler call as a coroutine context element, for coroutines a blocking handler starts
 * itself (`runBlocking(ctx.scope()) { … }`): calls made in them, on whatever dispatcher,
 * inherit its deadline, cancellation and trace. It stays usable after the handler returns.
 */
fun CallContext.scope(): CallScope = CallScope(parent())

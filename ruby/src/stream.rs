//! Streams: the core's [`StreamCall`] (client) and [`ServerStream`] (handler) as Ruby sees them
//! (`HmsFfi::NativeStream`, `HmsFfi::NativeServerStream`). Every wait (the next message, a
//! window to send into) runs without the GVL in rounds of [`POLL`], with Ruby's interrupts
//! checked between rounds; messages cross as Hashes walked straight to and from their bytes
//! (walk.rs), converted by the client's or server's converters, which the gem passes to each
//! send and read. The
//! `Enumerator` idioms are the gem's (`lib/hms_ffi/stream.rb`); the stream rules are the core's.

use std::future::Future;
use std::time::Duration;

use magnus::{method, prelude::*, Error, RArray, RModule, Ruby, Value as RValue};
use tokio_util::sync::CancellationToken;

use crate::errors::{rb_result, to_ruby};
use crate::gvl::without_gvl;
use crate::ocore::{self, runtime, CallOptions, StreamCall};
use crate::walk::{RbIn, RbOut};

/// How long one wait runs without the GVL before Ruby's interrupts are checked.
const POLL: Duration = Duration::from_millis(100);

/// Waits for `op` (made afresh each round; it must be safe to drop mid-way, as the core's
/// reads and window waits are) without the GVL; an interrupt raises between rounds.
fn wait<T, F, Fut>(ruby: &Ruby, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    loop {
        // The timer is made inside the runtime's context, which it needs.
        let round = without_gvl(
            || runtime::block_on(async { tokio::time::timeout(POLL, op()).await }),
            &|| {},
        );
        match round {
            Some(Ok(Ok(done))) => return Ok(done),
            Some(Err(e)) => return Err(to_ruby(ruby, e)),
            Some(Ok(Err(_))) | None => ruby.thread_check_ints()?,
        }
    }
}

/// Runs the blocking `op` without the GVL; an interrupt calls `unblock` (which must end `op`
/// soon) and is raised once `op` has returned.
fn interruptible<T>(
    ruby: &Ruby,
    mut op: impl FnMut() -> T,
    unblock: &(impl Fn() + Sync),
) -> Result<T, Error> {
    loop {
        match without_gvl(&mut op, unblock) {
            Some(done) => {
                ruby.thread_check_ints()?;
                return Ok(done);
            }
            None => ruby.thread_check_ints()?,
        }
    }
}

/// A read's outcome for Ruby: the message as a Hash made straight from its bytes by `decode`
/// (walk.rs), or nil at the end, its converted values made native by `convs`
/// (`lib/hms_ffi/converters.rb`; nil for none).
fn message<B: AsRef<[u8]>>(
    ruby: &Ruby,
    next: Option<ocore::Result<B>>,
    convs: Option<RArray>,
    decode: impl FnOnce(&[u8], &mut RbOut<'_>) -> ocore::NativeResult<RValue, Error>,
) -> Result<Option<RValue>, Error> {
    let Some(bytes) = next else {
        return Ok(None);
    };
    let bytes = rb_result(ruby, bytes)?;
    let mut out = RbOut::new(ruby, convs);
    let made = decode(bytes.as_ref(), &mut out)?;
    rb_result(ruby, made).map(Some)
}

/// `HmsFfi::NativeStream`: the client side of a streaming call.
#[magnus::wrap(class = "HmsFfi::NativeStream", free_immediately, size)]
pub(crate) struct NativeStream(StreamCall);

impl NativeStream {
    /// Opens the stream, waiting for the connection; a Ruby interrupt (or `cancel`) cancels
    /// it.
    pub(crate) fn open(
        ruby: &Ruby,
        client: &ocore::Client,
        method: &str,
        opts: CallOptions,
        cancel: Option<&CancellationToken>,
    ) -> Result<NativeStream, Error> {
        let interrupt = cancel.map_or_else(CancellationToken::new, CancellationToken::child_token);
        let opts = CallOptions {
            cancel: Some(interrupt.clone()),
            ..opts
        };
        let open = || StreamCall::open_blocking(client, method, &opts);
        let call = interruptible(ruby, open, &|| interrupt.cancel())?;
        rb_result(ruby, call).map(NativeStream)
    }

    /// `server_streaming`, `client_streaming` or `bidi_streaming`.
    fn kind(&self) -> &'static str {
        self.0.kind().name()
    }

    /// Sends one request (a Hash), converted by the client's `convs`; waits while the server's
    /// window is full.
    fn send(
        ruby: &Ruby,
        rb_self: &NativeStream,
        request: RValue,
        convs: Option<RArray>,
    ) -> Result<(), Error> {
        let request = RbIn::new(ruby, request, convs, false);
        let bytes = rb_result(ruby, rb_self.0.encode_input(&request)?)?;
        let sent = wait(ruby, || rb_self.0.send_encoded_async(bytes.clone()))?;
        rb_result(ruby, sent)
    }

    fn close_send(&self) {
        self.0.close_send();
    }

    fn cancel(&self) {
        self.0.cancel();
    }

    /// The next reply as a Hash, nil at the end; raises the call's error. A Ruby interrupt
    /// cancels the call.
    fn recv(
        ruby: &Ruby,
        rb_self: &NativeStream,
        convs: Option<RArray>,
    ) -> Result<Option<RValue>, Error> {
        let call = &rb_self.0;
        let next = interruptible(ruby, || call.recv_bytes_blocking(), &|| call.cancel())?;
        message(ruby, next, convs, |b, out| {
            call.decoder().decode_output(b, out)
        })
    }

    /// The one reply of a client-streaming call, read to the end.
    fn recv_only(
        ruby: &Ruby,
        rb_self: &NativeStream,
        convs: Option<RArray>,
    ) -> Result<Option<RValue>, Error> {
        let call = &rb_self.0;
        let one = interruptible(ruby, || call.recv_only_bytes_blocking(), &|| call.cancel())?;
        message(ruby, Some(one), convs, |b, out| {
            call.decoder().decode_output(b, out)
        })
    }

    /// The response headers (nil before they arrive) and trailers, as Hashes of Strings.
    fn headers(&self) -> Option<RHashMap> {
        self.0.headers().map(|m| m.first_values())
    }

    fn trailers(&self) -> RHashMap {
        self.0.trailers().first_values()
    }
}

type RHashMap = std::collections::HashMap<String, String>;

/// `HmsFfi::NativeServerStream`: the server side of a streaming call, handed to the handler.
#[magnus::wrap(class = "HmsFfi::NativeServerStream", free_immediately, size)]
pub(crate) struct NativeServerStream(pub(crate) ocore::ServerStream);

impl NativeServerStream {
    /// The next request as a Hash, nil once the client half-closed; converted by the
    /// server's `convs`.
    fn recv(
        ruby: &Ruby,
        rb_self: &NativeServerStream,
        convs: Option<RArray>,
    ) -> Result<Option<RValue>, Error> {
        let stream = &rb_self.0;
        let next = wait(ruby, || stream.recv_bytes())?;
        message(ruby, next, convs, |b, out| stream.decode(b, out))
    }

    /// The one request of a server-streaming call.
    fn recv_first(
        ruby: &Ruby,
        rb_self: &NativeServerStream,
        convs: Option<RArray>,
    ) -> Result<Option<RValue>, Error> {
        let stream = &rb_self.0;
        let first = wait(ruby, || stream.first_bytes())?;
        message(ruby, Some(first), convs, |b, out| stream.decode(b, out))
    }

    /// Sends one reply (a Hash), converted by the server's `convs` (one that raises is
    /// `HmsFfi::Internal`, the handler's fault); waits while the caller's window is full.
    fn send(
        ruby: &Ruby,
        rb_self: &NativeServerStream,
        reply: RValue,
        convs: Option<RArray>,
    ) -> Result<(), Error> {
        let stream = &rb_self.0;
        let reply = RbIn::new(ruby, reply, convs, true);
        let bytes = rb_result(ruby, stream.encode(&reply)?)?;
        let sent = wait(ruby, || stream.send_encoded_async(bytes.clone()))?;
        rb_result(ruby, sent)
    }
}

pub(crate) fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("NativeStream", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("kind", method!(NativeStream::kind, 0))?;
    class.define_method("send_request", method!(NativeStream::send, 2))?;
    class.define_method("close_send", method!(NativeStream::close_send, 0))?;
    class.define_method("cancel", method!(NativeStream::cancel, 0))?;
    class.define_method("recv", method!(NativeStream::recv, 1))?;
    class.define_method("recv_only", method!(NativeStream::recv_only, 1))?;
    class.define_method("headers", method!(NativeStream::headers, 0))?;
    class.define_method("trailers", method!(NativeStream::trailers, 0))?;

    let class = module.define_class("NativeServerStream", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_method("recv", method!(NativeServerStream::recv, 1))?;
    class.define_method("recv_first", method!(NativeServerStream::recv_first, 1))?;
    class.define_method("send_reply", method!(NativeServerStream::send, 2))?;
    Ok(())
}

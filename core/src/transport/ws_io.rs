//! `ws://` as a byte stream: the frames of [`super::frame`] ride in binary WebSocket messages, one
//! frame per message, so the unix connection code serves and calls over a WebSocket unchanged
//! (same multiplexing, streaming, cancellation, GOAWAY and limits). See `docs/wire.md`.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Sink, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::frame::{HEADER_LEN, HEADER_SLACK};
use super::unix_server::{BoxRead, BoxWrite};
use crate::limits::Limits;

/// The WebSocket subprotocol a client offers and a server accepts.
pub(crate) const SUBPROTOCOL: &str = "hms-ffi.v1";

/// Message limits that let through any frame the connection code reads (it refuses a message
/// over the limit with `ResourceExhausted` up to 4× the limit, then closes).
pub(crate) fn config(limits: &Limits) -> WebSocketConfig {
    let largest = (limits.max_message_bytes.max(1) + HEADER_SLACK).saturating_mul(4) + HEADER_LEN;
    WebSocketConfig::default()
        .max_message_size(Some(largest))
        .max_frame_size(Some(largest))
}

/// Splits a WebSocket into the reader and writer the frame connection code takes.
pub(crate) fn halves<S>(ws: WebSocketStream<S>) -> (BoxRead, BoxWrite)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = ws.split();
    (
        Box::new(WsReader {
            rx,
            buf: Bytes::new(),
        }),
        Box::new(WsWriter { tx }),
    )
}

/// The payloads of binary messages as one byte stream; a close message or the end is EOF.
struct WsReader<S> {
    rx: SplitStream<WebSocketStream<S>>,
    buf: Bytes,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsReader<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.buf.is_empty() {
                let n = out.remaining().min(self.buf.len());
                out.put_slice(&self.buf[..n]);
                self.buf.advance(n);
                return Poll::Ready(Ok(()));
            }
            match ready!(Pin::new(&mut self.rx).poll_next(cx)) {
                None | Some(Ok(Message::Close(_))) => return Poll::Ready(Ok(())),
                Some(Ok(Message::Binary(b))) => self.buf = b,
                Some(Ok(Message::Text(_))) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "text message: ws:// carries binary frames only",
                    )))
                }
                // Pings are answered by tungstenite itself; pongs carry nothing for us.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
            }
        }
    }
}

/// Each write (the connection code writes one whole frame at a time) as one binary message.
struct WsWriter<S> {
    tx: SplitSink<WebSocketStream<S>, Message>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsWriter<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(Pin::new(&mut self.tx).poll_ready(cx)).map_err(io::Error::other)?;
        Pin::new(&mut self.tx)
            .start_send(Message::Binary(Bytes::copy_from_slice(buf)))
            .map_err(io::Error::other)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tx)
            .poll_flush(cx)
            .map_err(io::Error::other)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tx)
            .poll_close(cx)
            .map_err(io::Error::other)
    }
}

//! The server side of one streaming call on a `unix://` (or `ws://`, `shm://`) connection: the
//! handler runs, its responses go out as `MESSAGE` frames from a task of their own (flow
//! control), then the `STATUS`. To a client whose `HELLO` said it reads `HEADERS` frames, the
//! response headers go ahead of the first message, or as soon as the handler sends them
//! ([`Context::send_headers`](crate::Context::send_headers)); to an older client, with the
//! `STATUS` (`docs/wire.md`, "Response metadata").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::frame::{self, CallHead, HeadersBody, Kind, Trailer};
use super::unix_conn::Writer;
use super::unix_server::write_frame;
use super::Service;
use crate::flow::{CloseOnDrop, Flow};
use crate::metadata::response::ResponseMetadata;
use crate::peer::Peer;

/// A stream's `HEADERS` frame, written once: ahead of the first message or when the handler
/// flushes its headers, whichever comes first.
struct Early {
    id: u32,
    response: Arc<ResponseMetadata>,
    /// Fast check once the frame has gone.
    done: AtomicBool,
    /// Held while the frame is decided on and written, so no message overtakes it.
    sent: tokio::sync::Mutex<bool>,
}

impl Early {
    fn frame(&self) -> Vec<u8> {
        let body = HeadersBody::new(&self.response.take_headers());
        frame::encode_message_frame(Kind::Headers, 0, self.id, &body)
    }

    /// Puts the frame in front of a batch of messages, unless it went already.
    async fn prepend(&self, out: &mut Vec<u8>) {
        if self.done.load(Ordering::Acquire) {
            return;
        }
        let mut sent = self.sent.lock().await;
        if !*sent {
            *sent = true;
            self.done.store(true, Ordering::Release);
            out.extend_from_slice(&self.frame());
        }
    }

    /// Writes the frame now (the handler flushed its headers), unless it went already.
    async fn flush(&self, writer: &Writer) {
        let mut sent = self.sent.lock().await;
        if !*sent {
            *sent = true;
            self.done.store(true, Ordering::Release);
            let _ = write_frame(writer, &self.frame()).await;
        }
    }
}

/// What a streaming call needs from its connection.
pub(super) struct ServedStream {
    pub(super) id: u32,
    pub(super) core: Arc<dyn Service>,
    pub(super) peer: Peer,
    pub(super) writer: Writer,
    pub(super) cancel: tokio_util::sync::CancellationToken,
    pub(super) input: mpsc::UnboundedReceiver<Bytes>,
    pub(super) flow: Flow,
    /// The client reads `HEADERS` frames.
    pub(super) headers_frame: bool,
}

impl ServedStream {
    /// Runs the call to its end; `STATUS` is the last frame written for it. `forget` drops the
    /// call from the connection's table (before the `STATUS`, so its id is free again).
    pub(super) async fn run(self, head: CallHead, forget: impl FnOnce()) {
        let ServedStream {
            id,
            core,
            peer,
            writer,
            cancel,
            input,
            flow,
            headers_frame,
        } = self;
        let (out_tx, out_rx) = mpsc::unbounded_channel::<Bytes>();
        let response = Arc::new(ResponseMetadata::default());
        let early = headers_frame.then(|| {
            Arc::new(Early {
                id,
                response: response.clone(),
                done: AtomicBool::new(false),
                sent: tokio::sync::Mutex::new(false),
            })
        });
        let ended = CloseOnDrop(flow.clone());
        let run = core.stream(head, &peer, cancel, (input, out_tx), response.clone(), flow);
        // Responses are written by a task of their own: a handler waiting for credit (flow
        // control) blocks its own task, and the credit comes as these writes are read.
        let (out, first) = (writer.clone(), early.clone());
        let written = crate::flow::forward(out_rx, move |batch| {
            let (out, first) = (out.clone(), first.clone());
            async move {
                // A burst of responses goes out in one write.
                let size = batch.iter().map(|b| b.len() + frame::HEADER_LEN).sum();
                let mut frames = Vec::with_capacity(size);
                if let Some(first) = &first {
                    first.prepend(&mut frames).await;
                }
                for b in &batch {
                    frame::encode_frame_into(&mut frames, Kind::Message, 0, id, b);
                }
                let _ = write_frame(&out, &frames).await;
            }
        });
        let result = match &early {
            None => run.await,
            Some(early) => {
                tokio::pin!(run);
                let mut flushed = false;
                loop {
                    tokio::select! {
                        r = &mut run => break r,
                        () = response.flushed(), if !flushed => {
                            flushed = true;
                            early.flush(&writer).await;
                        }
                    }
                }
            }
        };
        written.finish().await;
        forget();
        drop(ended);
        // Headers not sent ahead (no message, an older client) go with the STATUS.
        let status = result.map(|_| Bytes::new());
        let trailer = Trailer::from_result(&status).with_metadata(response.take_all());
        let status = frame::encode_message_frame(Kind::Status, 0, id, &trailer);
        let _ = write_frame(&writer, &status).await;
    }
}

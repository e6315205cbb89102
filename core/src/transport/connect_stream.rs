//! The Connect protocol's streaming over `http://` (server-, client- and bidi-streaming; bidi
//! needs HTTP/2, h2c here, as Connect says): `application/connect+proto`, `+json` or `+cbor`,
//! every message in an envelope of a flags byte and a 4-byte big-endian length, and the
//! response ending with an end-of-stream envelope (flag 0x02) whose JSON holds the error, if
//! any, and the trailers. The HTTP status of a stream is 200 whatever its outcome.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{json, Value as Json};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use super::connect_codec::error_body;
use super::put_metadata;
use super::stream_bridge::{self, Inbound};
use super::Service;
use crate::call::CallHead;
use crate::codec::Codec;
use crate::error::{Code, Error, Result};
use crate::metadata::response::ResponseMetadata;
use crate::metadata::Metadata;
use crate::peer::Peer;

/// A response body of either kind (a unary reply, or a stream of envelopes).
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

const COMPRESSED: u8 = 0x01;
const END_STREAM: u8 = 0x02;

fn stream_content_type(codec: Codec) -> &'static str {
    match codec {
        Codec::Proto => "application/connect+proto",
        Codec::Json => "application/connect+json",
        Codec::Cbor => "application/connect+cbor",
    }
}

/// One envelope.
fn envelope(flags: u8, message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + message.len());
    out.extend_from_slice(&[flags]);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.freeze()
}

/// The end-of-stream envelope: the error (when the call failed) and the trailers.
fn end_of_stream(outcome: Option<&Error>, trailers: &Metadata) -> Bytes {
    let mut metadata = serde_json::Map::new();
    let mut headers = http::HeaderMap::new();
    put_metadata(&mut headers, trailers, "");
    for name in headers.keys() {
        let values: Vec<Json> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| Json::String(v.to_string()))
            .collect();
        metadata.insert(name.to_string(), Json::Array(values));
    }
    let mut body = json!({});
    if !metadata.is_empty() {
        body["metadata"] = Json::Object(metadata);
    }
    if let Some(e) = outcome {
        body["error"] = serde_json::from_slice(&error_body(e)).unwrap_or(Json::Null);
    }
    envelope(END_STREAM, body.to_string().as_bytes())
}

/// The request body's messages, read as the call takes them (a bounded channel of one: the
/// body is not read ahead of the handler). A compressed or cut envelope, or one over the
/// message limit, ends the requests with its error.
fn inbound(mut body: Incoming, limit: usize) -> Inbound {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(1);
    tokio::spawn(async move {
        let mut buf = BytesMut::new();
        loop {
            while buf.len() >= 5 {
                let flags = buf[0];
                let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
                let refused = if flags & COMPRESSED != 0 {
                    Some(Error::new(
                        Code::Unimplemented,
                        "compressed Connect messages are not supported: send them uncompressed",
                    ))
                } else if flags & END_STREAM != 0 {
                    Some(Error::new(
                        Code::InvalidArgument,
                        "a request stream has no end-of-stream message",
                    ))
                } else if len > limit {
                    Some(Error::new(
                        Code::ResourceExhausted,
                        format!("request message of {len} bytes is over the limit of {limit}"),
                    ))
                } else {
                    None
                };
                if let Some(e) = refused {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                if buf.len() < 5 + len {
                    break;
                }
                buf.advance(5);
                let message = buf.split_to(len).freeze();
                if tx.send(Ok(message)).await.is_err() {
                    return;
                }
            }
            match body.frame().await {
                None => break,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        buf.extend_from_slice(&data);
                    }
                }
                Some(Err(e)) => {
                    let _ = tx
                        .send(Err(Error::new(
                            Code::Cancelled,
                            format!("request body: {e}"),
                        )))
                        .await;
                    return;
                }
            }
        }
        if !buf.is_empty() {
            let cut = Error::new(
                Code::InvalidArgument,
                "the request body ends inside a message envelope",
            );
            let _ = tx.send(Err(cut)).await;
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

/// Serves one Connect streaming call: the response's head waits for the first message or the
/// end (the handler's headers go in it), then the messages, then the end-of-stream envelope.
pub(crate) async fn serve(
    core: &Arc<dyn Service>,
    peer: &Peer,
    head: CallHead,
    body: Incoming,
) -> Response<Body> {
    let codec = head.codec;
    let limit = core.config().limits.max_message_bytes;
    let response = Arc::new(ResponseMetadata::default());
    let opened =
        stream_bridge::open(core, peer, head, inbound(body, limit), response.clone()).await;
    let headers = response.take_headers();
    let frames: Body = match opened {
        Err(e) => {
            let end = end_of_stream(Some(&e), &response.take_trailers());
            http_body_util::Full::new(end).boxed_unsync()
        }
        Ok(responses) => {
            let envelopes = Envelopes {
                responses,
                response,
                done: false,
            };
            StreamBody::new(envelopes.map(|b| Ok::<_, Infallible>(Frame::data(b)))).boxed_unsync()
        }
    };
    let mut res = Response::new(frames);
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(stream_content_type(codec)),
    );
    put_metadata(res.headers_mut(), &headers, "");
    res
}

/// A stream's responses as envelopes, then the end-of-stream envelope with the outcome.
struct Envelopes {
    responses: stream_bridge::Responses,
    response: Arc<ResponseMetadata>,
    done: bool,
}

impl tokio_stream::Stream for Envelopes {
    type Item = Bytes;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Bytes>> {
        use std::task::Poll;
        if self.done {
            return Poll::Ready(None);
        }
        match std::pin::Pin::new(&mut self.responses).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(m))) => Poll::Ready(Some(envelope(0, &m))),
            Poll::Ready(end) => {
                self.done = true;
                let error = end.and_then(|r| r.err());
                let trailers = self.response.take_trailers();
                Poll::Ready(Some(end_of_stream(error.as_ref(), &trailers)))
            }
        }
    }
}

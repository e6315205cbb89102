//! The reading side of a `unix://` or `ws://` client connection: the handshake's frame reader and
//! the task that hands every frame from the server to its call (replies, stream messages and
//! headers, WINDOW credit, STATUS, GOAWAY, PING), failing every call when the connection ends; and the
//! keepalive task that finds a silent server dead.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use prost::Message;
use tokio::io::{AsyncReadExt, BufReader};

use super::{connection_lost, Pending, Shared, UnixClient};
use crate::error::Error;
use crate::transport::frame::{self, Kind, Trailer, HEADER_LEN};
use crate::transport::keepalive::{self, Heard, Keepalive};
use crate::transport::unix_server::BoxRead;
use crate::transport::unix_sync::SyncLane;

pub(super) async fn read_frame(
    r: &mut BufReader<BoxRead>,
    max_body: usize,
) -> std::result::Result<(frame::Header, Bytes), String> {
    let mut hb = [0u8; HEADER_LEN];
    r.read_exact(&mut hb).await.map_err(|e| e.to_string())?;
    let h = frame::parse_header(&hb).map_err(|e| e.to_string())?;
    if h.len as usize > max_body {
        return Err(format!("server sent a frame of {} bytes", h.len));
    }
    let mut body = BytesMut::zeroed(h.len as usize);
    r.read_exact(&mut body).await.map_err(|e| e.to_string())?;
    Ok((h, body.freeze()))
}

impl UnixClient {
    pub(super) async fn read_loop(shared: Arc<Shared>, mut r: BufReader<BoxRead>, max_body: usize) {
        let reason = loop {
            let (h, body) = match read_frame(&mut r, max_body).await {
                Ok(f) => f,
                Err(e) => break e,
            };
            if let Some(heard) = &shared.heard {
                heard.now();
            }
            match h.kind {
                Kind::Status => {
                    let mut trailer = match Trailer::decode(body) {
                        Ok(t) => t,
                        Err(e) => break format!("bad STATUS: {e}"),
                    };
                    let p = shared
                        .pending
                        .lock()
                        .ok()
                        .and_then(|mut p| p.remove(&h.stream));
                    match p {
                        Some(Pending::Unary(tx)) => {
                            let _ = tx.send(trailer.into_reply());
                        }
                        Some(Pending::Stream(tx, response, flow)) => {
                            flow.close();
                            let (headers, trailers) = trailer.take_metadata();
                            response.received(Some(headers.clone()), Some(trailers.clone()));
                            if let Err(e) = trailer.into_result() {
                                let _ = tx.send(Err(e.with_response_metadata(headers, trailers)));
                            }
                        }
                        None => {}
                    }
                }
                Kind::Message => {
                    if let Ok(p) = shared.pending.lock() {
                        if let Some(Pending::Stream(tx, _, _)) = p.get(&h.stream) {
                            let _ = tx.send(Ok(body));
                        }
                    }
                }
                Kind::Headers => {
                    let headers = match frame::HeadersBody::decode(body) {
                        Ok(h) => h.into_metadata(),
                        Err(e) => break format!("bad HEADERS: {e}"),
                    };
                    if let Ok(p) = shared.pending.lock() {
                        if let Some(Pending::Stream(_, response, _)) = p.get(&h.stream) {
                            response.received(Some(headers), None);
                        }
                    }
                }
                Kind::Window => {
                    let Some(n) = frame::window_increment(&body) else {
                        break "bad WINDOW body".to_string();
                    };
                    if let Ok(p) = shared.pending.lock() {
                        if let Some(Pending::Stream(_, _, flow)) = p.get(&h.stream) {
                            if let Some(w) = &flow.window {
                                w.grant(n);
                            }
                        }
                    }
                }
                Kind::GoAway => shared.draining.store(true, Ordering::Release),
                Kind::Pong => {}
                Kind::Ping => {
                    let pong = frame::encode_frame(Kind::Pong, 0, 0, &body[..body.len().min(8)]);
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let _ = shared.write(&pong).await;
                    });
                }
                other => break format!("unexpected {other:?} frame from server"),
            }
        };
        tracing::debug!(uri = %shared.uri, %reason, "connection ended");
        shared.fail_all(&connection_lost(&shared.uri, &reason));
    }
}

impl UnixClient {
    /// The keepalive task: PING after silence; no answer in time fails every call with
    /// `UNAVAILABLE` (`KEEPALIVE_TIMEOUT`), stops the reader and ends the blocking lane.
    pub(super) fn keep_alive(
        shared: &Arc<Shared>,
        ka: Keepalive,
        heard: Arc<Heard>,
        reader: &tokio::task::JoinHandle<()>,
        lane: Option<Arc<SyncLane>>,
    ) -> tokio::task::JoinHandle<()> {
        let (pinging, dying) = (shared.clone(), shared.clone());
        let reader = reader.abort_handle();
        tokio::spawn(keepalive::watch(
            ka,
            heard,
            move || {
                if pinging.closed.load(Ordering::Acquire) {
                    return false;
                }
                let shared = pinging.clone();
                crate::runtime::handle().spawn(async move {
                    let _ = shared
                        .write(&frame::encode_frame(Kind::Ping, 0, 0, &[]))
                        .await;
                });
                true
            },
            move || {
                let err = Error::unavailable(format!(
                    "{} sent nothing for {:?} after a PING",
                    dying.uri, ka.timeout
                ))
                .with_reason("KEEPALIVE_TIMEOUT");
                tracing::debug!(uri = %dying.uri, "keepalive timeout");
                reader.abort();
                dying.fail_all(&err);
                if let Some(lane) = lane {
                    lane.fail(err);
                }
            },
        ))
    }
}

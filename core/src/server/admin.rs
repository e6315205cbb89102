//! The admin listener: a small HTTP/1.1 endpoint beside a server's own, for operators and
//! scrapers (`Server::admin("http://127.0.0.1:9464")`, `hms-ffi serve --admin …`):
//!
//! - `GET /metrics`: every method's call metrics as Prometheus text
//!   ([`metrics::prometheus`](crate::metrics::prometheus)), process-wide;
//! - `GET /healthz`: `200 ok` while the server serves, `503 draining` once a shutdown began;
//! - `GET /`: the live monitoring page (`admin_page.html`, one file with no external assets):
//!   services and methods, calls per second, errors by code, p50/p99 latency, in flight, peers
//!   and transports, the last refused calls;
//! - `GET /api/stats`: what the page polls every second, as JSON
//!   ([`metrics::stats`](crate::metrics::stats)).
//!
//! Anything else is `404`, a method other than `GET`/`HEAD` `405`. It stops with the server.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;

use super::Server;
use crate::error::{Code, Error, Result};
use crate::transport::Listener;
use crate::transport::Service;

/// The monitoring page.
const PAGE: &str = include_str!("admin_page.html");

/// The content type of Prometheus' text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res
}

/// The answer to one admin request.
fn answer(
    core: &dyn Service,
    listeners: &Mutex<Vec<Listener>>,
    req: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut res = reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", String::new());
        res.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    match req.uri().path() {
        "/metrics" => reply(
            StatusCode::OK,
            PROMETHEUS_TEXT,
            crate::metrics::prometheus::render(),
        ),
        "/" | "/index.html" => reply(StatusCode::OK, "text/html; charset=utf-8", PAGE.into()),
        "/api/stats" => {
            let endpoints: Vec<String> = listeners
                .lock()
                .map(|l| l.iter().map(|x| x.uri.clone()).collect())
                .unwrap_or_default();
            let serving = !core.drain().is_cancelled();
            let json = crate::metrics::stats::json(&endpoints, serving);
            let mut res = reply(StatusCode::OK, "application/json", json);
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            res
        }
        "/healthz" if core.drain().is_cancelled() => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "draining\n".into(),
        ),
        "/healthz" => reply(StatusCode::OK, "text/plain", "ok\n".into()),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

impl Server {
    /// Starts the admin listener on `uri` (`http://host:port`; port 0 picks a free one) and
    /// returns it as bound. It serves until the server stops.
    pub fn admin(&self, uri: &str) -> Result<String> {
        let authority = uri
            .strip_prefix("http://")
            .map(|a| a.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| {
                Error::new(
                    Code::InvalidArgument,
                    format!("admin listener {uri:?}: expected http://host:port"),
                )
                .with_reason("BAD_ENDPOINT")
            })?;
        let core = self.core.clone() as Arc<dyn Service>;
        let listeners = self.listeners.clone();
        let serve = move |stream, core: Arc<dyn Service>, _peer, stop: CancellationToken| {
            let listeners = listeners.clone();
            async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let res = answer(core.as_ref(), &listeners, &req);
                    async move { Ok::<_, Infallible>(res) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc);
                tokio::pin!(conn);
                tokio::select! {
                    _ = &mut conn => return,
                    _ = stop.cancelled() => conn.as_mut().graceful_shutdown(),
                }
                let _ = conn.await;
            }
        };
        let stop = self.core.stop.clone();
        let (bound, _task) = crate::transport::tcp::listen("http", authority, core, stop, serve)?;
        Ok(bound)
    }
}

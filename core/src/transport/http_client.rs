//! Client side of `http://host:port`: Connect unary calls over HTTP/1.1 with a pooled hyper
//! client, to hms-ffi servers and to any Connect server (connect-go, connect-es, …).

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::connect_codec::{
    content_type, error_from_response, response_metadata, PROTOCOL_VERSION, TIMEOUT_MS,
};
use super::frame::HEADER_SLACK;
use super::tls::{Connector, TlsClient, TlsTarget, HTTP1};
use super::{ClientTransport, RawStream};
use crate::call::CallHead;
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::metadata::response::Reply;

pub(crate) struct HttpClient {
    client: Client<Connector, Full<Bytes>>,
    /// `http` or `https`.
    scheme: &'static str,
    authority: String,
    max_message: usize,
    closed: AtomicBool,
}

impl HttpClient {
    /// A client for `authority` (`host:port`). Connections open on the first call and are kept
    /// alive in a pool.
    pub(crate) fn new(authority: &str, limits: &Limits) -> HttpClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        HttpClient::with(Connector::Plain(connector), "http", authority, limits)
    }

    /// A client for `https://` (HTTP/1.1 over TLS) with the settings of the URI's query.
    pub(crate) fn new_tls(target: &TlsTarget, limits: &Limits) -> Result<HttpClient> {
        let tls = TlsClient::new(target, &[HTTP1])?;
        let connector = Connector::Tls(tls);
        Ok(HttpClient::with(
            connector,
            "https",
            &target.authority,
            limits,
        ))
    }

    fn with(connector: Connector, scheme: &'static str, authority: &str, limits: &Limits) -> Self {
        HttpClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
            scheme,
            authority: authority.to_string(),
            max_message: limits.max_message_bytes,
            closed: AtomicBool::new(false),
        }
    }

    fn request(&self, head: &CallHead, payload: Bytes) -> Result<Request<Full<Bytes>>> {
        let bad = |what: &str| {
            Error::new(
                Code::InvalidArgument,
                format!("invalid {what} for {}", head.method),
            )
        };
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(format!(
                "{}://{}/{}",
                self.scheme, self.authority, head.method
            ))
            .header(HOST, &self.authority)
            .header(CONTENT_TYPE, content_type(head.codec))
            .header(PROTOCOL_VERSION, "1")
            .body(Full::new(payload))
            .map_err(|_| bad("method name"))?;
        let headers = req.headers_mut();
        if let Some(t) = head.timeout {
            // At least 1 ms: 0 would mean "already expired" to some servers.
            let ms = t.as_millis().clamp(1, 9_999_999_999);
            headers.insert(TIMEOUT_MS, HeaderValue::from(ms as u64));
        }
        for (k, v) in head.metadata.iter() {
            let key = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad("metadata key"))?;
            let value = HeaderValue::from_str(v).map_err(|_| bad("metadata value"))?;
            headers.append(key, value);
        }
        if !head.trace_id.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&head.trace_id) {
                headers.insert("x-trace-id", v);
            }
        }
        Ok(req)
    }
}

impl ClientTransport for HttpClient {
    fn unary(&self, head: CallHead, payload: Bytes) -> BoxFuture<'_, Result<Reply<Bytes>>> {
        Box::pin(async move {
            if self.closed.load(Ordering::Acquire) {
                return Err(Error::cancelled());
            }
            let req = self.request(&head, payload)?;
            let res = self.client.request(req).await.map_err(|e| {
                let connect = e.is_connect();
                let e = super::grpc_client::with_sources(&e);
                let err = Error::unavailable(format!(
                    "cannot reach {}://{}: {e}",
                    self.scheme, self.authority
                ));
                if connect {
                    // No connection: the request never left (a transparent retry may follow).
                    err.with_reason("CONNECT_FAILED").unsent()
                } else {
                    err.with_reason("CONNECTION_LOST")
                }
            })?;
            let status = res.status();
            let (headers, trailers) = response_metadata(res.headers());
            let body = Limited::new(res.into_body(), self.max_message + HEADER_SLACK)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<LengthLimitError>() {
                        Error::resource_exhausted(
                            "MESSAGE_TOO_LARGE",
                            format!("response body over {} bytes", self.max_message),
                        )
                    } else {
                        Error::unavailable(format!("response body unreadable: {e}"))
                    }
                })?
                .to_bytes();
            if status == StatusCode::OK {
                Ok(Reply {
                    message: body,
                    headers,
                    trailers,
                })
            } else {
                Err(error_from_response(status, &body).with_response_metadata(headers, trailers))
            }
        })
    }

    fn open(&self, head: CallHead) -> BoxFuture<'_, Result<RawStream>> {
        Box::pin(async move {
            Err(Error::new(
                Code::Unimplemented,
                format!(
                    "{} is streaming: http:// carries unary calls only; use grpc://, unix:// \
                     or ws://",
                    head.method
                ),
            ))
        })
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

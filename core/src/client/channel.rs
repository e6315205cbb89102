//! [`Channel`]: a client's connection that comes back. When the transport's connection is lost
//! (or the server said GOAWAY), the next call reconnects, one attempt at a time, with the
//! [`Backoff`] between failed attempts; [`ConnState`] says where it stands. While the channel
//! is in backoff, a call fails at once with `UNAVAILABLE` unless it waits for ready, in which
//! case it waits for a connection up to its deadline.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use crate::error::{Code, Error, Result};
use crate::limits::Limits;
use crate::transport::{self, ClientTransport, Endpoint, Keepalive};

/// A connection's state, as gRPC names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Not connected, and no call asked for a connection yet.
    Idle,
    /// An attempt to connect is under way.
    Connecting,
    /// Connected.
    Ready,
    /// The last attempt failed; the next one waits for the backoff.
    TransientFailure,
    /// Closed by the program; calls fail `Cancelled`.
    Shutdown,
}

impl ConnState {
    /// `idle`, `connecting`, `ready`, `transient_failure`, `shutdown`.
    pub fn name(self) -> &'static str {
        match self {
            ConnState::Idle => "idle",
            ConnState::Connecting => "connecting",
            ConnState::Ready => "ready",
            ConnState::TransientFailure => "transient_failure",
            ConnState::Shutdown => "shutdown",
        }
    }

    fn from_u8(n: u8) -> ConnState {
        match n {
            0 => ConnState::Idle,
            1 => ConnState::Connecting,
            2 => ConnState::Ready,
            3 => ConnState::TransientFailure,
            _ => ConnState::Shutdown,
        }
    }
}

/// Attempts so far, under the single-flight lock.
struct Attempts {
    failures: u32,
    next: Instant,
    last_error: Option<Error>,
}

pub(crate) struct Channel {
    endpoint: Endpoint,
    limits: Limits,
    keepalive: Option<Keepalive>,
    backoff: Backoff,
    current: RwLock<Arc<dyn ClientTransport>>,
    state: AtomicU8,
    connecting: tokio::sync::Mutex<Attempts>,
}

impl Channel {
    /// Connects once (the first connection must succeed: discovery needs it).
    pub(crate) async fn connect(
        endpoint: Endpoint,
        limits: Limits,
        keepalive: Option<Keepalive>,
        backoff: Backoff,
    ) -> Result<Channel> {
        let transport = transport::connect(&endpoint, &limits, keepalive.as_ref()).await?;
        Ok(Channel {
            endpoint,
            limits,
            keepalive,
            backoff,
            current: RwLock::new(transport),
            state: AtomicU8::new(ConnState::Ready as u8),
            connecting: tokio::sync::Mutex::new(Attempts {
                failures: 0,
                next: Instant::now(),
                last_error: None,
            }),
        })
    }

    /// A channel whose first attempt failed with `error`: in backoff, reconnecting on use.
    pub(crate) fn unconnected(
        endpoint: Endpoint,
        limits: Limits,
        keepalive: Option<Keepalive>,
        backoff: Backoff,
        error: Error,
    ) -> Channel {
        let next = Instant::now() + backoff.delay(1);
        let mut channel = Channel::idle(endpoint, limits, keepalive, backoff);
        *channel.connecting.get_mut() = Attempts {
            failures: 1,
            next,
            last_error: Some(error),
        };
        channel.set(ConnState::TransientFailure);
        channel
    }

    /// A channel that has not connected yet and connects on its first use (an address found
    /// by resolving a name again).
    pub(crate) fn idle(
        endpoint: Endpoint,
        limits: Limits,
        keepalive: Option<Keepalive>,
        backoff: Backoff,
    ) -> Channel {
        let shown = endpoint.to_string();
        Channel {
            endpoint,
            limits,
            keepalive,
            backoff,
            current: RwLock::new(Arc::new(NotConnected(shown))),
            state: AtomicU8::new(ConnState::Idle as u8),
            connecting: tokio::sync::Mutex::new(Attempts {
                failures: 0,
                next: Instant::now(),
                last_error: None,
            }),
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub(crate) fn state(&self) -> ConnState {
        let state = ConnState::from_u8(self.state.load(Ordering::Acquire));
        if state == ConnState::Ready && !self.get().alive() {
            return ConnState::Idle;
        }
        state
    }

    fn set(&self, state: ConnState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// The current transport, alive or not.
    pub(crate) fn get(&self) -> Arc<dyn ClientTransport> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The current transport if its connection is up.
    pub(crate) fn ready_now(&self) -> Option<Arc<dyn ClientTransport>> {
        let t = self.get();
        t.alive().then_some(t)
    }

    /// The endpoint the connection reached, while it is up (see `EndpointStatus::connected`).
    pub(crate) fn connected(&self) -> Option<String> {
        let t = self.ready_now()?;
        Some(t.via().unwrap_or_else(|| self.endpoint.to_string()))
    }

    pub(crate) fn close(&self) {
        self.set(ConnState::Shutdown);
        self.get().close();
    }

    /// A transport whose connection is up: the current one, or a new one. Without `wait`, a
    /// channel in backoff (or an attempt that fails) fails the call at once; with it, the call
    /// waits and tries again until `deadline`.
    pub(crate) async fn ready(
        &self,
        wait: bool,
        deadline: Option<Instant>,
        closed: &CancellationToken,
    ) -> Result<Arc<dyn ClientTransport>> {
        loop {
            if closed.is_cancelled() {
                return Err(Error::client_closed());
            }
            if let Some(t) = self.ready_now() {
                return Ok(t);
            }
            let mut attempts = self.connecting.lock().await;
            if let Some(t) = self.ready_now() {
                return Ok(t);
            }
            let now = Instant::now();
            if now < attempts.next {
                let (last, next) = (attempts.last_error.clone(), attempts.next);
                drop(attempts);
                if !wait {
                    return Err(last.unwrap_or_else(|| not_ready(&self.endpoint)));
                }
                let until = deadline.map_or(next, |d| d.min(next));
                sleep_until(until, closed).await?;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Error::deadline_exceeded());
                }
                continue;
            }
            self.set(ConnState::Connecting);
            let limit = self.backoff.connect_timeout(attempts.failures);
            let left = deadline.map(|d| d.saturating_duration_since(now));
            let cut = left.is_some_and(|left| left < limit);
            let limit = left.map_or(limit, |left| left.min(limit));
            let attempt = transport::connect(&self.endpoint, &self.limits, self.keepalive.as_ref());
            let result = match tokio::time::timeout(limit, attempt).await {
                Ok(r) => r,
                Err(_) => Err(Error::unavailable(format!(
                    "connecting to {} took longer than {limit:?}",
                    self.endpoint
                ))
                .with_reason("CONNECT_FAILED")
                .unsent()),
            };
            match result {
                Ok(t) => {
                    *self
                        .current
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = t.clone();
                    attempts.failures = 0;
                    attempts.last_error = None;
                    if closed.is_cancelled() {
                        t.close();
                        return Err(Error::client_closed());
                    }
                    self.set(ConnState::Ready);
                    return Ok(t);
                }
                Err(e) => {
                    attempts.failures += 1;
                    attempts.next = Instant::now() + self.backoff.delay(attempts.failures);
                    attempts.last_error = Some(e.clone());
                    self.set(ConnState::TransientFailure);
                    tracing::debug!(endpoint = %self.endpoint, error = %e, "reconnect failed");
                    if cut && deadline.is_some_and(|d| Instant::now() >= d) {
                        // The call's deadline ended the attempt: the call failed by it.
                        return Err(Error::deadline_exceeded());
                    }
                    if !wait {
                        return Err(e);
                    }
                }
            }
        }
    }
}

fn not_ready(endpoint: impl std::fmt::Display) -> Error {
    Error::new(Code::Unavailable, format!("no connection to {endpoint}"))
        .with_reason("CONNECT_FAILED")
        .unsent()
}

/// Sleeps until `until`; `ClientClosed` if the client closes first.
pub(super) async fn sleep_until(until: Instant, closed: &CancellationToken) -> Result<()> {
    tokio::select! {
        _ = closed.cancelled() => Err(Error::client_closed()),
        _ = tokio::time::sleep_until(until.into()) => Ok(()),
    }
}

/// The transport of a channel that never connected: every call is refused unsent, and the
/// channel reconnects before the next one.
struct NotConnected(String);

impl ClientTransport for NotConnected {
    fn unary(
        &self,
        _: crate::call::CallHead,
        _: bytes::Bytes,
    ) -> crate::handler::BoxFuture<'_, Result<crate::metadata::Reply<bytes::Bytes>>> {
        Box::pin(async move { Err(not_ready(&self.0)) })
    }
    fn open(
        &self,
        _: crate::call::CallHead,
    ) -> crate::handler::BoxFuture<'_, Result<crate::transport::RawStream>> {
        Box::pin(async move { Err(not_ready(&self.0)) })
    }
    fn close(&self) {}
    fn alive(&self) -> bool {
        false
    }
}

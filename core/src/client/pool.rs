//! [`Pool`]: the endpoints of one client, each a reconnecting [`Channel`], and which one a
//! call goes to: `pick_first` (the first endpoint that is up, in the order given) or
//! `round_robin` (the next endpoint that is up). An endpoint whose calls or health checks
//! (`grpc.health.v1.Health/Check`) fail `consecutive_failures` times in a row is ejected for
//! `base_time` times the number of its ejections (at most `max_time`), then readmitted. With
//! one endpoint nothing is ejected, and a call costs what it did before.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::channel::{Channel, ConnState};
use super::resilience::{Ejection, LoadBalancing, Resilience};
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::transport::{ClientTransport, Endpoint};

/// One endpoint of a client, as [`Client::endpoints`](super::Client::endpoints) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// The endpoint's URI.
    pub endpoint: String,
    /// Its connection's state.
    pub state: ConnState,
    /// Set aside after consecutive failures, until its ejection time passes.
    pub ejected: bool,
    /// The endpoint its connection reached, while it has one: the transport `auto://`
    /// picked (`shm://orders`), else the endpoint itself.
    pub connected: Option<String>,
}

/// A transport to make one attempt on, and the endpoint it belongs to (for [`Pool::report`]).
pub(crate) type Picked = (usize, Arc<dyn ClientTransport>);

struct Member {
    channel: Channel,
    failures: AtomicU32,
    /// Ejected until this many milliseconds after the pool's origin (0: not ejected).
    ejected_until: AtomicU64,
    ejections: AtomicU32,
}

pub(crate) struct Pool {
    members: Vec<Member>,
    /// Every endpoint is `unix://`, `shm://` or `auto://` (which picks one of those or takes
    /// the call on the runtime itself): a blocking caller makes its calls on its own thread.
    lanes: bool,
    lb: LoadBalancing,
    ejection: Ejection,
    next: AtomicUsize,
    origin: Instant,
}

impl Pool {
    /// Connects to every endpoint; at least one must answer (its error otherwise).
    pub(crate) async fn connect(
        endpoints: Vec<Endpoint>,
        limits: &Limits,
        res: &Resilience,
    ) -> Result<Pool> {
        let lanes = endpoints
            .iter()
            .all(|e| matches!(e, Endpoint::Unix(_) | Endpoint::Shm(_) | Endpoint::Auto(_)));
        let mut members = Vec::with_capacity(endpoints.len());
        let mut first_error = None;
        for endpoint in endpoints {
            let ka = res.keepalive;
            let channel =
                match Channel::connect(endpoint.clone(), limits.clone(), ka, res.backoff.clone())
                    .await
                {
                    Ok(c) => c,
                    Err(e) => {
                        first_error.get_or_insert(e.clone());
                        Channel::unconnected(endpoint, limits.clone(), ka, res.backoff.clone(), e)
                    }
                };
            members.push(Member {
                channel,
                failures: AtomicU32::new(0),
                ejected_until: AtomicU64::new(0),
                ejections: AtomicU32::new(0),
            });
        }
        let up = members.iter().any(|m| m.channel.ready_now().is_some());
        match (up, first_error) {
            (false, Some(e)) => Err(e),
            (false, None) => Err(Error::new(
                Code::InvalidArgument,
                "no endpoint to connect to",
            )),
            _ => Ok(Pool {
                members,
                lanes,
                lb: res.load_balancing,
                ejection: res.ejection.clone(),
                next: AtomicUsize::new(0),
                origin: Instant::now(),
            }),
        }
    }

    fn now_ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64 + 1
    }

    fn ejected(&self, m: &Member) -> bool {
        self.members.len() > 1 && m.ejected_until.load(Ordering::Relaxed) > self.now_ms()
    }

    /// The endpoints in the order a call tries them.
    fn order(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.members.len();
        let start = match self.lb {
            LoadBalancing::RoundRobin if n > 1 => self.next.fetch_add(1, Ordering::Relaxed) % n,
            _ => 0,
        };
        (0..n).map(move |i| (start + i) % n)
    }

    /// Whether every endpoint has a blocking lane (`unix://`), so a blocking caller makes its
    /// call on its own thread.
    pub(crate) fn lanes(&self) -> bool {
        self.lanes
    }

    /// An endpoint whose connection is up and that is not ejected.
    pub(crate) fn ready_now(&self) -> Option<Picked> {
        if self.members.len() == 1 {
            return self.members[0].channel.ready_now().map(|t| (0, t));
        }
        self.order()
            .filter(|&i| !self.ejected(&self.members[i]))
            .find_map(|i| self.members[i].channel.ready_now().map(|t| (i, t)))
    }

    /// An endpoint to call: one that is up, else the first that reconnects (ejected ones
    /// last). With `wait`, waits for one up to `deadline`.
    /// Boxed: reconnecting is rare, and its state (every transport's connect) is large; the
    /// future of a call that awaits it stays small.
    pub(crate) fn ready<'a>(
        &'a self,
        wait: bool,
        deadline: Option<Instant>,
        closed: &'a CancellationToken,
    ) -> BoxFuture<'a, Result<Picked>> {
        Box::pin(self.ready_inner(wait, deadline, closed))
    }

    async fn ready_inner(
        &self,
        wait: bool,
        deadline: Option<Instant>,
        closed: &CancellationToken,
    ) -> Result<Picked> {
        loop {
            if let Some(p) = self.ready_now() {
                return Ok(p);
            }
            let mut order: Vec<usize> = self.order().collect();
            order.sort_by_key(|&i| self.ejected(&self.members[i]));
            let mut last = None;
            for i in order {
                match self.members[i].channel.ready(false, deadline, closed).await {
                    Ok(t) => return Ok((i, t)),
                    Err(e) if e.code() == Code::Cancelled => return Err(e),
                    Err(e) => last = Some(e),
                }
            }
            let last = last.unwrap_or_else(|| Error::unavailable("no endpoint"));
            if !wait {
                return Err(last);
            }
            let pause = Duration::from_millis(20);
            let pause = deadline.map_or(pause, |d| {
                pause.min(d.saturating_duration_since(Instant::now()))
            });
            if pause.is_zero() {
                return Err(Error::deadline_exceeded());
            }
            super::channel::sleep_until(Instant::now() + pause, closed).await?;
        }
    }

    /// The outcome of an attempt on endpoint `i`: `UNAVAILABLE` counts towards its ejection,
    /// anything else clears its count.
    pub(crate) fn report<T>(&self, i: usize, result: &Result<T>) {
        let m = &self.members[i];
        match result {
            Err(e) if e.code() == Code::Unavailable && self.members.len() > 1 => {
                let failures = m.failures.fetch_add(1, Ordering::Relaxed) + 1;
                if failures >= self.ejection.consecutive_failures {
                    let n = m.ejections.fetch_add(1, Ordering::Relaxed) + 1;
                    let time = self
                        .ejection
                        .base_time
                        .saturating_mul(n)
                        .min(self.ejection.max_time);
                    m.ejected_until
                        .store(self.now_ms() + time.as_millis() as u64, Ordering::Relaxed);
                    m.failures.store(0, Ordering::Relaxed);
                    tracing::debug!(endpoint = %m.channel.endpoint(), ?time, "endpoint ejected");
                }
            }
            Err(_) => {}
            Ok(_) => {
                if m.failures.load(Ordering::Relaxed) != 0 {
                    m.failures.store(0, Ordering::Relaxed);
                }
            }
        }
    }

    /// Ready if an endpoint is; else connecting, in transient failure, or idle, in that order.
    pub(crate) fn state(&self) -> ConnState {
        let states: Vec<ConnState> = self.members.iter().map(|m| m.channel.state()).collect();
        [
            ConnState::Ready,
            ConnState::Connecting,
            ConnState::TransientFailure,
        ]
        .into_iter()
        .find(|s| states.contains(s))
        .unwrap_or(ConnState::Idle)
    }

    /// The endpoint a call made now would reach (see [`EndpointStatus::connected`]).
    pub(crate) fn connected(&self) -> Option<String> {
        let (i, _) = self.ready_now()?;
        self.members[i].channel.connected()
    }

    /// Each endpoint's state, in the order given.
    pub(crate) fn statuses(&self) -> Vec<EndpointStatus> {
        self.members
            .iter()
            .map(|m| EndpointStatus {
                endpoint: m.channel.endpoint().to_string(),
                state: m.channel.state(),
                ejected: self.ejected(m),
                connected: m.channel.connected(),
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    pub(crate) fn channel(&self, i: usize) -> &Channel {
        &self.members[i].channel
    }

    pub(crate) fn close(&self) {
        for m in &self.members {
            m.channel.close();
        }
    }
}

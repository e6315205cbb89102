//! [`Pool`]: the endpoints of one client, each a reconnecting [`Channel`], and which one a
//! call goes to: `pick_first` (the first endpoint that is up, in the order given) or
//! `round_robin` (the next endpoint that is up). An endpoint whose calls or health checks
//! (`grpc.health.v1.Health/Check`) fail `consecutive_failures` times in a row is ejected for
//! `base_time` times the number of its ejections (at most `max_time`), then readmitted. With
//! one endpoint nothing is ejected, and a call costs what it did before. A pool made from a
//! `dns:` name resolves it again when a call finds no endpoint up ([`Names`]): endpoints that
//! stay keep their connections, new ones connect on use, the others are dropped.

use std::ops::Deref;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::channel::{Channel, ConnState};
use super::dns::Names;
use super::resilience::{Ejection, LoadBalancing, Resilience};
use crate::error::{Code, Error, Result};
use crate::handler::BoxFuture;
use crate::limits::Limits;
use crate::transport::{ClientTransport, Endpoint, Keepalive};

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

impl Member {
    fn new(channel: Channel) -> Arc<Member> {
        Arc::new(Member {
            channel,
            failures: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            ejections: AtomicU32::new(0),
        })
    }
}

/// The endpoints: fixed, or (from a `dns:` name) replaced when the name is resolved again.
enum Members {
    Fixed(Vec<Arc<Member>>),
    Resolved(RwLock<Arc<Vec<Arc<Member>>>>),
}

/// The endpoints as they are now.
enum Snapshot<'a> {
    Fixed(&'a [Arc<Member>]),
    Resolved(Arc<Vec<Arc<Member>>>),
}

impl Deref for Snapshot<'_> {
    type Target = [Arc<Member>];
    fn deref(&self) -> &[Arc<Member>] {
        match self {
            Snapshot::Fixed(m) => m,
            Snapshot::Resolved(m) => m,
        }
    }
}

/// One endpoint's channel, held while it is used.
pub(crate) struct ChannelOf(Arc<Member>);

impl Deref for ChannelOf {
    type Target = Channel;
    fn deref(&self) -> &Channel {
        &self.0.channel
    }
}

/// What new endpoints found by resolving again are made with.
struct Resolving {
    names: Names,
    limits: Limits,
    keepalive: Option<Keepalive>,
    backoff: super::backoff::Backoff,
}

pub(crate) struct Pool {
    members: Members,
    resolving: Option<Resolving>,
    /// Every endpoint is `unix://`, `shm://` or `auto://` (which picks one of those or takes
    /// the call on the runtime itself): a blocking caller makes its calls on its own thread.
    lanes: bool,
    lb: LoadBalancing,
    ejection: Ejection,
    next: AtomicUsize,
    origin: Instant,
}

impl Pool {
    /// Connects to every endpoint; at least one must answer (its error otherwise). With
    /// `names`, the endpoints are what they resolved to.
    pub(crate) async fn connect(
        endpoints: Vec<Endpoint>,
        limits: &Limits,
        res: &Resilience,
        names: Option<Names>,
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
            members.push(Member::new(channel));
        }
        let up = members.iter().any(|m| m.channel.ready_now().is_some());
        match (up, first_error) {
            (false, Some(e)) => Err(e),
            (false, None) => Err(Error::new(
                Code::InvalidArgument,
                "no endpoint to connect to",
            )),
            _ => Ok(Pool {
                members: match names {
                    Some(_) => Members::Resolved(RwLock::new(Arc::new(members))),
                    None => Members::Fixed(members),
                },
                resolving: names.map(|names| Resolving {
                    names,
                    limits: limits.clone(),
                    keepalive: res.keepalive,
                    backoff: res.backoff.clone(),
                }),
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

    fn members(&self) -> Snapshot<'_> {
        match &self.members {
            Members::Fixed(m) => Snapshot::Fixed(m),
            Members::Resolved(m) => {
                Snapshot::Resolved(m.read().unwrap_or_else(PoisonError::into_inner).clone())
            }
        }
    }

    /// Whether `m`, one of `n` endpoints, is ejected now.
    fn ejected(&self, m: &Member, n: usize) -> bool {
        n > 1 && m.ejected_until.load(Ordering::Relaxed) > self.now_ms()
    }

    /// The `n` endpoints in the order a call tries them.
    fn order(&self, n: usize) -> impl Iterator<Item = usize> + '_ {
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
        let members = self.members();
        let n = members.len();
        if n == 1 {
            return members[0].channel.ready_now().map(|t| (0, t));
        }
        self.order(n)
            .filter(|&i| !self.ejected(&members[i], n))
            .find_map(|i| members[i].channel.ready_now().map(|t| (i, t)))
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
            match deadline {
                Some(d) => {
                    let _ = tokio::time::timeout_at(d.into(), self.resolve_again()).await;
                }
                None => self.resolve_again().await,
            }
            let members = self.members();
            let n = members.len();
            let mut order: Vec<usize> = self.order(n).collect();
            order.sort_by_key(|&i| self.ejected(&members[i], n));
            let mut last = None;
            for i in order {
                match members[i].channel.ready(false, deadline, closed).await {
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
        let members = self.members();
        // An endpoint resolved away since the attempt began counts for nothing.
        let Some(m) = members.get(i) else {
            return;
        };
        match result {
            Err(e) if e.code() == Code::Unavailable && members.len() > 1 => {
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
        let states: Vec<ConnState> = self.members().iter().map(|m| m.channel.state()).collect();
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
        self.members().get(i)?.channel.connected()
    }

    /// Each endpoint's state, in the order given.
    pub(crate) fn statuses(&self) -> Vec<EndpointStatus> {
        let members = self.members();
        members
            .iter()
            .map(|m| EndpointStatus {
                endpoint: m.channel.endpoint().to_string(),
                state: m.channel.state(),
                ejected: self.ejected(m, members.len()),
                connected: m.channel.connected(),
            })
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.members().len()
    }

    /// Endpoint `i`'s channel (`None` once resolved away).
    pub(crate) fn channel(&self, i: usize) -> Option<ChannelOf> {
        self.members().get(i).cloned().map(ChannelOf)
    }

    pub(crate) fn close(&self) {
        for m in self.members().iter() {
            m.channel.close();
        }
    }

    /// Resolves the pool's names again (when it has some, and at most once every
    /// [`AGAIN`](super::dns::AGAIN)) and replaces the endpoints when the addresses changed.
    async fn resolve_again(&self) {
        let (Some(r), Members::Resolved(list)) = (&self.resolving, &self.members) else {
            return;
        };
        let Some(endpoints) = r.names.again().await else {
            return;
        };
        let current = self.members();
        if endpoints.len() == current.len()
            && endpoints
                .iter()
                .zip(current.iter())
                .all(|(e, m)| e == m.channel.endpoint())
        {
            return;
        }
        let fresh: Vec<Arc<Member>> = endpoints
            .into_iter()
            .map(|e| {
                let kept = current.iter().find(|m| *m.channel.endpoint() == e);
                kept.cloned().unwrap_or_else(|| {
                    let (limits, backoff) = (r.limits.clone(), r.backoff.clone());
                    Member::new(Channel::idle(e, limits, r.keepalive, backoff))
                })
            })
            .collect();
        let shown: Vec<String> = fresh
            .iter()
            .map(|m| m.channel.endpoint().to_string())
            .collect();
        tracing::info!(endpoints = ?shown, "resolved again: the endpoints changed");
        // Calls in flight on a dropped endpoint keep its transport until they end.
        *list.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
    }
}

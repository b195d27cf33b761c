//! What keeps the server standing and observable: request timeouts, per-project rate limits (and
//! per-client ones for Stack's client-side traffic), a
//! bound on open connections, and Prometheus metrics (`GET /metrics`). The connection loop that
//! applies the connection bound and the slow-client deadlines is `serve.rs`.

use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use latchkey_core::ids::ProjectId;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ErrorType};
use crate::hashing::{HashPool, QueueBounds};
use crate::AppState;

/// The limits a server runs with. The defaults protect a server without slowing honest load
/// (they sit far above what the benchmarks drive).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request still running after this long is answered 503 `request_timeout`; its
    /// transaction, if any, is rolled back.
    pub request_timeout: Duration,
    /// Open connections; further ones wait to be accepted.
    pub max_connections: usize,
    /// A connection that has not sent a whole request head this long after it opened (or after
    /// its previous response: an idle keep-alive connection) is closed.
    pub header_read_timeout: Duration,
    /// A request body not wholly received this long after its head is answered 408
    /// `request_body_timeout`, and its connection closed.
    pub body_read_timeout: Duration,
    /// Requests per second each project may make (0: unlimited), and how many at once above
    /// that rate. Stytch requests and Stack's server-side requests draw on this bucket.
    pub rate_per_second: u32,
    pub rate_burst: u32,
    /// Requests per second Stack's client-side traffic (a publishable client key) may make from
    /// one client address to one project (0: unlimited), and how many at once above that rate.
    /// These draw on buckets of their own, never on the project's.
    pub client_rate_per_second: u32,
    pub client_rate_burst: u32,
    /// Threads that hash passwords and score their strength.
    pub hash_threads: usize,
    /// Password jobs (hashes and strength checks) admitted and not finished, in all and per
    /// project; past them a job is refused at once (`hashing.rs`).
    pub hash_queue: QueueBounds,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            request_timeout: Duration::from_secs(30),
            max_connections: 4096,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(20),
            rate_per_second: 10_000,
            rate_burst: 20_000,
            client_rate_per_second: 100,
            client_rate_burst: 200,
            hash_threads: HashPool::default_size(),
            hash_queue: QueueBounds::for_threads(HashPool::default_size()),
        }
    }
}

/// Per-project token buckets.
pub struct ProjectRateLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl ProjectRateLimiter {
    /// `None` when the limits set no rate.
    pub fn new(limits: &Limits) -> Option<Arc<ProjectRateLimiter>> {
        let rate = NonZeroU32::new(limits.rate_per_second)?;
        let burst = NonZeroU32::new(limits.rate_burst.max(limits.rate_per_second)).unwrap_or(rate);
        Some(Arc::new(ProjectRateLimiter {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
        }))
    }

    /// Takes one request from the project's bucket; when it is empty, how long until it is not.
    pub fn check(&self, project_id: &ProjectId) -> Result<(), Duration> {
        self.limiter
            .check_key(&project_id.as_str().to_owned())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Token buckets for Stack's client-side traffic, one per project and client address. Requests
/// made with a publishable client key come from browsers and apps anyone can run, so they must
/// not spend the project's own budget: a flood from one client would starve the project's
/// servers. Keyed by address as well, so one client cannot starve the others either.
pub struct ClientRateLimiter {
    limiter: DefaultKeyedRateLimiter<(String, IpAddr)>,
    /// Checks made, to forget refilled buckets now and then.
    checks: AtomicU64,
}

/// Every this many checks, the buckets back at their full state are dropped, so addresses seen
/// once do not pile up.
const FORGET_EVERY: u64 = 4096;

impl ClientRateLimiter {
    /// `None` when the limits set no client rate.
    pub fn new(limits: &Limits) -> Option<Arc<ClientRateLimiter>> {
        let rate = NonZeroU32::new(limits.client_rate_per_second)?;
        let burst = NonZeroU32::new(limits.client_rate_burst.max(limits.client_rate_per_second))
            .unwrap_or(rate);
        Some(Arc::new(ClientRateLimiter {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            checks: AtomicU64::new(0),
        }))
    }

    /// Takes one request from the bucket of `client` at `project_id`; when it is empty, how long
    /// until it is not.
    pub fn check(&self, project_id: &ProjectId, client: IpAddr) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&(project_id.as_str().to_owned(), client_network(client)))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// The part of an address that names one client: an IPv4 address (an IPv4-mapped IPv6 address
/// is one), or an IPv6 /64, the network one subscriber is given, in which changing addresses
/// costs nothing.
pub fn client_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
    }
}

/// Stytch's `too_many_requests`, with when to try again.
pub fn too_many_requests(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::new(
        ErrorType::TooManyRequests,
        "Too many requests have been made for this project. Slow down and try again.",
    )
    .retry_after(seconds.max(1))
    .into_response()
}

/// Answers 503 `request_timeout` for a request that outlives `Limits::request_timeout`. The
/// handler's future is dropped, which rolls back an open transaction: nothing is half written.
pub async fn timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(state.limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorType::RequestTimeout,
            "The request took too long and was abandoned; nothing it began was kept.",
        )
        .into_response(),
    }
}

/// The process-wide Prometheus recorder (metrics are process-global, like the recorder).
/// How often recorded histogram samples are folded into their buckets.
pub const METRICS_UPKEEP: Duration = Duration::from_secs(5);

pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]) {
            Ok(builder) => builder,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; /metrics stays empty");
        }
        // Histogram samples wait in the recorder until upkeep folds them into the buckets. Left
        // to /metrics alone, a server nobody scrapes kept every latency it ever recorded: about
        // 6 MiB more RSS per 300,000 requests.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".to_owned())
            .spawn(move || loop {
                std::thread::sleep(METRICS_UPKEEP);
                upkeep.run_upkeep();
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no metrics upkeep thread: samples wait for /metrics");
        }
        handle
    })
}

/// Counts every request and its latency by route template (never the raw path: ids and tokens
/// stay out of metrics) and status.
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("latchkey_http_requests_total", &labels).increment(1);
    metrics::histogram!("latchkey_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: Prometheus' text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Requests and latency per route and status, the \
                hash pool's queue depth, admitted, refused and skipped jobs and the database \
                pools' use, in Prometheus' text format.",
               content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn render(State(state): State<AppState>) -> Response {
    let handle = metrics_handle();
    metrics::gauge!("latchkey_hash_pool_queue_depth").set(state.hashing.queue_depth() as f64);
    metrics::gauge!("latchkey_hash_pool_admitted").set(state.hashing.admitted() as f64);
    for pool in state.store.pool_stats() {
        let labels = [("pool", pool.name)];
        metrics::gauge!("latchkey_db_pool_connections", &labels).set(f64::from(pool.connections));
        metrics::gauge!("latchkey_db_pool_idle_connections", &labels).set(pool.idle as f64);
        metrics::gauge!("latchkey_db_pool_max_connections", &labels).set(f64::from(pool.max));
    }
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// A TCP listener that keeps at most `max` connections open: the next one is accepted when one
/// closes.
pub struct LimitedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
}

impl LimitedListener {
    pub fn new(inner: TcpListener, max: usize) -> LimitedListener {
        LimitedListener {
            inner,
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

/// A connection holding its place under the limit until it is dropped.
pub struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            // The semaphore is never closed; should it be, stop accepting.
            return std::future::pending().await;
        };
        loop {
            match self.inner.accept().await {
                Ok((stream, address)) => {
                    return (
                        LimitedStream {
                            stream,
                            _permit: permit,
                        },
                        address,
                    )
                }
                Err(error) => {
                    // Like axum's own listener: out of file descriptors and the like pass.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_network() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(client_network(v4), v4);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(client_network(mapped), v4);
        let one: IpAddr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap();
        let other: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_network(one), client_network(other));
        assert_eq!(
            client_network(one),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_ne!(client_network(one), client_network(neighbour));
    }

    #[test]
    fn client_buckets_are_per_project_and_address() {
        let limits = Limits {
            client_rate_per_second: 1,
            client_rate_burst: 2,
            ..Limits::default()
        };
        let limiter = ClientRateLimiter::new(&limits).unwrap();
        let project = ProjectId::generate(latchkey_core::Environment::Test);
        let other_project = ProjectId::generate(latchkey_core::Environment::Test);
        let client: IpAddr = "198.51.100.1".parse().unwrap();
        let other_client: IpAddr = "198.51.100.2".parse().unwrap();
        assert!(limiter.check(&project, client).is_ok());
        assert!(limiter.check(&project, client).is_ok());
        assert!(limiter.check(&project, client).is_err());
        assert!(limiter.check(&project, other_client).is_ok());
        assert!(limiter.check(&other_project, client).is_ok());
    }
}

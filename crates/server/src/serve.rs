//! The connection loop: accepts TCP connections under the connection bound and serves HTTP/1.1
//! on each with hyper, under the slow-client deadlines of [`Limits`].
//!
//! axum's own `serve` gives hyper no timer, so hyper cannot time the reading of a request head:
//! a client that sends a byte of its headers every few seconds held its connection (and its place
//! under the bound) forever. Here each connection gets hyper's header-read timeout, and each
//! request body a deadline of its own ([`DeadlineBody`]), counted from the moment its head was
//! read. The peer's address rides every request as axum's `ConnectInfo`, for the client-side rate
//! limits.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::operations::{LimitedListener, Limits};

type BoxError = Box<dyn StdError + Send + Sync>;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish (idle connections are closed at once) and returns.
pub async fn serve<F>(listener: TcpListener, app: Router, limits: Limits, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let mut listener = LimitedListener::new(listener, limits.max_connections);
    let connections = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, address) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let body_timeout = limits.body_read_timeout;
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let deadline = Instant::now() + body_timeout;
            let (mut parts, body) = request.into_parts();
            parts.extensions.insert(ConnectInfo(address));
            let body = Body::new(DeadlineBody::new(body, deadline, body_timeout));
            app.clone().oneshot(Request::from_parts(parts, body))
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let connection = connections.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // A client that went away, or one too slow to send its headers: theirs, not ours.
                tracing::debug!(%error, %address, "connection closed with an error");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
}

/// A request body that fails once its deadline passes before its last byte has arrived. The
/// deadline covers the whole body, not the gap between two reads: a client dripping one byte at a
/// time cannot stretch it.
pub struct DeadlineBody<B> {
    body: B,
    deadline: Instant,
    limit: Duration,
    /// Made on the first read that must wait, so a body read in one go never touches the timer.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> DeadlineBody<B> {
    pub fn new(body: B, deadline: Instant, limit: Duration) -> DeadlineBody<B> {
        DeadlineBody {
            body,
            deadline,
            limit,
            sleep: None,
        }
    }
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                Poll::Ready(Some(Err(Box::new(BodyReadTimeout { limit: this.limit }))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that did not arrive in time.
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout {
    pub limit: Duration,
}

impl std::fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} seconds",
            self.limit.as_secs_f64()
        )
    }
}

impl StdError for BodyReadTimeout {}

/// The body deadline that failed a body read, if that is why `error` happened (found anywhere in
/// its chain of causes).
pub fn body_read_timeout(error: &(dyn StdError + 'static)) -> Option<BodyReadTimeout> {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(timeout) = error.downcast_ref::<BodyReadTimeout>() {
            return Some(*timeout);
        }
        cause = error.source();
    }
    None
}

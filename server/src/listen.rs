//! Accepting connections with limits that `axum::serve` does not set, so that
//! no client can hold every connection slot:
//! - HTTP/1.1 only (an HTTP/2 preface is a malformed request, closed at once);
//! - at most `max_connections` open at once, and at most `per_client` from one
//!   client (one IPv4 address, one IPv6 /64; the trusted proxies are exempt,
//!   since behind a proxy every connection is the proxy's); beyond the client's
//!   cap a connection is closed at once; when all are taken, the connection
//!   that has been silent longest with no request being answered (a half-sent
//!   request, one waiting for its body, an idle keep-alive) is closed to make
//!   room, or, when every one is answering, the oldest of the client holding
//!   the most (if several), so that clients holding connections open from many
//!   addresses cannot keep others out;
//! - the request headers must arrive within `header_timeout` (a silent or
//!   half-sent request is closed then), the body within `request_timeout`
//!   (see [`request_deadline`]);
//! - a keep-alive connection idle for `keepalive_idle` is closed (longer than
//!   the usual proxies' upstream keep-alive, so a proxy closes first and never
//!   races the close);
//! - a graceful stop that waits (at most 10 s) for requests in flight.

use crate::layers::client::TrustedProxies;
use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Router,
};
use hyper_util::{rt::TokioTimer, service::TowerToHyperService};
use std::{
    collections::HashMap,
    future::Future,
    net::IpAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, Semaphore},
};
use tower::ServiceExt;

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub per_client: usize,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub keepalive_idle: Duration,
    /// Clients exempt from `per_client` (the trusted proxies).
    pub exempt: TrustedProxies,
}

/// Who counts as one client for the per-client cap: an IPv4 address, or an
/// IPv6 /64 (one host usually holds a whole /64).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Open connections per client.
#[derive(Default)]
struct PerClient(Mutex<HashMap<IpAddr, usize>>);

/// One client's open connection, given back when dropped.
struct ClientSlot {
    counts: Arc<PerClient>,
    key: Option<IpAddr>,
}

impl PerClient {
    fn take(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Option<ClientSlot> {
        if limits.exempt.trusts(ip.to_canonical()) {
            return Some(ClientSlot { counts: self.clone(), key: None });
        }
        let key = client_key(ip);
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let open = counts.entry(key).or_default();
        if *open >= limits.per_client {
            return None;
        }
        *open += 1;
        Some(ClientSlot { counts: self.clone(), key: Some(key) })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut counts = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&key);
            }
        }
    }
}

static REFUSED_CLIENT: Throttled = Throttled::new();
static REFUSED_FULL: Throttled = Throttled::new();

/// Every open connection: when it last moved a byte, whether a request is in
/// flight, and how to close it to make room.
#[derive(Default)]
struct Tracker {
    conns: Mutex<HashMap<u64, Tracked>>,
    next: AtomicU64,
}

#[derive(Clone)]
struct Tracked {
    last_io: Arc<AtomicU64>,
    busy: Arc<AtomicUsize>,
    evict: Arc<tokio::sync::Notify>,
    /// The client it counts against (`None`: a trusted proxy, never closed for fairness).
    client: Option<IpAddr>,
}

/// A client holding at least this many connections may lose one that is
/// answering a request, when nothing idle is left to close.
const HOARDING: usize = 4;

impl Tracker {
    fn add(&self, tracked: Tracked) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).insert(id, tracked);
        id
    }

    fn remove(&self, id: u64) {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    /// Closes the connection silent longest with no request in flight; if every
    /// one is answering a request (cheap requests sent back to back, each
    /// answered slowly on purpose, such as refused sign-ins), the oldest of the
    /// client holding the most connections, if it holds several. Whether one was closed.
    fn evict_idlest(&self) -> bool {
        let conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        let idlest = conns
            .values()
            .filter(|t| t.busy.load(Ordering::Relaxed) == 0)
            .min_by_key(|t| t.last_io.load(Ordering::Relaxed));
        let victim = idlest.or_else(|| {
            let mut held: HashMap<IpAddr, usize> = HashMap::new();
            for client in conns.values().filter_map(|t| t.client) {
                *held.entry(client).or_default() += 1;
            }
            let (hoarder, count) = held.into_iter().max_by_key(|(_, n)| *n)?;
            (count >= HOARDING).then_some(())?;
            conns.values().filter(|t| t.client == Some(hoarder)).min_by_key(|t| t.last_io.load(Ordering::Relaxed))
        });
        match victim {
            Some(t) => {
                t.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then waits (at most
/// 10 s) for the requests in flight.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()>) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = Arc::new(PerClient::default());
    let tracker = Arc::new(Tracker::default());
    let epoch = app::ssr::clock::instant();
    let (stopping, stop) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let builder = Arc::new(builder);
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let now = epoch.elapsed().as_secs() + 1;
        let Some(slot) = per_client.take(peer.ip(), &limits) else {
            if let Some(refused) = REFUSED_CLIENT.due(now) {
                tracing::warn!(client = %peer.ip(), limit = limits.per_client, refused, "connections refused: too many open from one client");
            }
            continue; // dropping the stream closes it
        };
        let permit = match open.clone().try_acquire_owned() {
            Ok(permit) => permit,
            // All taken: the idlest connection makes room, if one is idle.
            Err(_) if tracker.evict_idlest() => {
                match tokio::time::timeout(Duration::from_millis(200), open.clone().acquire_owned()).await {
                    Ok(Ok(permit)) => permit,
                    _ => continue,
                }
            }
            Err(_) => {
                if let Some(refused) = REFUSED_FULL.due(now) {
                    tracing::warn!(client = %peer.ip(), limit = limits.max_connections, refused, "connections refused: too many open, none idle");
                }
                continue;
            }
        };
        let tracked = Tracked {
            last_io: Arc::new(AtomicU64::new(epoch.elapsed().as_millis() as u64)),
            busy: Arc::default(),
            evict: Arc::default(),
            client: (!limits.exempt.trusts(peer.ip().to_canonical())).then(|| client_key(peer.ip())),
        };
        let id = tracker.add(tracked.clone());
        let in_flight = InFlight(tracked.busy.clone());
        let service = app.clone().map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(in_flight.clone());
            req
        });
        let service = TowerToHyperService::new(service);
        let (builder, limits, stop, tracker) = (builder.clone(), limits.clone(), stop.clone(), tracker.clone());
        tokio::spawn(async move {
            let _held = (permit, slot);
            serve_connection(stream, service, &builder, &limits, stop, &tracked, epoch).await;
            tracker.remove(id);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(Duration::from_secs(10), open.acquire_many(all)).await.is_err() {
        tracing::warn!("stopped with requests still in flight");
    }
}

async fn serve_connection<S>(
    stream: TcpStream,
    service: S,
    builder: &hyper::server::conn::http1::Builder,
    limits: &Limits,
    mut stop: watch::Receiver<bool>,
    tracked: &Tracked,
    epoch: Instant,
) where
    S: hyper::service::HttpService<hyper::body::Incoming> + 'static,
    S::Future: Send + 'static,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // A connection that sends nothing at all is no request either.
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        peeked = tokio::time::timeout(limits.header_timeout, stream.peek(&mut first)) => peeked,
        () = tracked.evict.notified() => return,
    };
    if !matches!(peeked, Ok(Ok(n)) if n > 0) {
        return;
    }
    let io = Watched { inner: stream, last: tracked.last_io.clone(), started: epoch };
    let last = io.last.clone();
    let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(conn);
    let check = (limits.keepalive_idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            // Closed at once to make room (see `Tracker::evict_idlest`).
            () = tracked.evict.notified() => return,
            changed = stop.changed(), if !closing => {
                if changed.is_err() || *stop.borrow() {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep(check), if !closing => {
                let idle = epoch.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                if idle >= limits.keepalive_idle {
                    // Between requests this closes at once; during one, after its answer.
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The count of requests being answered on one connection (such a connection
/// is never closed to make room), in each request's extensions. A request
/// counts from when its body has arrived ([`request_deadline`]): one still
/// waiting for its body can be closed to make room like an idle one.
#[derive(Clone)]
pub struct InFlight(Arc<AtomicUsize>);

/// Gives back its count when the request is answered (or dropped).
struct Answering(Arc<AtomicUsize>);

impl InFlight {
    fn hold(&self) -> Answering {
        self.0.fetch_add(1, Ordering::Relaxed);
        Answering(self.0.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A warning that would be written once per refused connection, at most once a
/// second (with how many it stands for): a flood must not fill the log.
struct Throttled {
    last: AtomicU64,
    held: AtomicU64,
}

impl Throttled {
    const fn new() -> Self {
        Self { last: AtomicU64::new(0), held: AtomicU64::new(0) }
    }

    /// How many to report now, or `None` when this one is only counted.
    fn due(&self, now_secs: u64) -> Option<u64> {
        let held = self.held.fetch_add(1, Ordering::Relaxed) + 1;
        let last = self.last.load(Ordering::Relaxed);
        if now_secs > last && self.last.compare_exchange(last, now_secs, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.held.fetch_sub(held, Ordering::Relaxed);
            return Some(held);
        }
        None
    }
}

/// A stream that notes when bytes last moved (milliseconds since `started`).
struct Watched {
    inner: TcpStream,
    last: Arc<AtomicU64>,
    started: Instant,
}

impl Watched {
    fn moved(&self) {
        self.last.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The whole request body must arrive within the deadline (one byte every few
/// seconds would otherwise hold a connection for ever): it is read here, at
/// most `MAX_BODY` bytes, and handed on whole. Too slow: 408 and the
/// connection closed; too large: 413.
pub async fn request_deadline(State(deadline): State<Duration>, req: Request, next: Next) -> Response {
    // A request without a body (most GETs: every workload read) has nothing to wait for.
    if hyper::body::Body::is_end_stream(req.body()) {
        let _answering = req.extensions().get::<InFlight>().map(InFlight::hold);
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let refuse =
        |status: StatusCode, message: &'static str| (status, [(header::CONNECTION, "close")], message).into_response();
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, crate::MAX_BODY)).await {
        Ok(Ok(bytes)) => {
            // From here on the connection is answering a request: never closed to make room.
            let _answering = parts.extensions.get::<InFlight>().map(InFlight::hold);
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
        Ok(Err(e)) if is_too_large(&e) => refuse(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large.\n"),
        Ok(Err(_)) => refuse(StatusCode::BAD_REQUEST, "The request body could not be read.\n"),
        Err(_) => refuse(StatusCode::REQUEST_TIMEOUT, "The request took too long to arrive.\n"),
    }
}

fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_is_an_ipv4_address_or_an_ipv6_slash_64() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_key(ip("203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(client_key(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), client_key(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(client_key(ip("2001:db8:1:2::1")), client_key(ip("2001:db8:1:3::1")));
    }

    #[test]
    fn when_every_connection_is_busy_the_client_holding_the_most_gives_one_up() {
        use futures_util::FutureExt;
        let tracker = Tracker::default();
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let add = |client: Option<IpAddr>, busy: usize, last: u64| {
            let t = Tracked {
                last_io: Arc::new(AtomicU64::new(last)),
                busy: Arc::new(AtomicUsize::new(busy)),
                evict: Arc::default(),
                client,
            };
            tracker.add(t.clone());
            t
        };
        let closed = |t: &Tracked| t.evict.notified().now_or_never().is_some();
        let lone = add(ip("192.0.2.1"), 1, 0);
        let proxy = [add(None, 1, 1), add(None, 1, 2), add(None, 1, 3), add(None, 1, 4), add(None, 1, 5)];
        assert!(!tracker.evict_idlest(), "no client holds several: nothing is cut");
        let hoard: Vec<_> = (0..4).map(|n| add(ip("198.51.100.7"), 1, 10 + n)).collect();
        assert!(tracker.evict_idlest());
        assert!(closed(&hoard[0]), "the hoarder's oldest");
        assert!(!closed(&lone) && proxy.iter().all(|p| !closed(p)));
        let idle = add(ip("203.0.113.5"), 0, 99);
        assert!(tracker.evict_idlest());
        assert!(closed(&idle), "an idle connection goes before any busy one");
    }

    #[test]
    fn each_client_has_its_cap_and_trusted_proxies_have_none() {
        let limits = Limits {
            max_connections: 10,
            per_client: 2,
            header_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            keepalive_idle: Duration::from_secs(1),
            exempt: TrustedProxies::parse("10.0.0.1").unwrap(),
        };
        let counts = Arc::new(PerClient::default());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let (a, _b) = (counts.take(ip("2001:db8::1"), &limits).unwrap(), counts.take(ip("2001:db8::2"), &limits));
        assert!(counts.take(ip("2001:db8::3"), &limits).is_none(), "a third from the same /64");
        assert!(counts.take(ip("192.0.2.1"), &limits).is_some(), "another client");
        drop(a);
        assert!(counts.take(ip("2001:db8::3"), &limits).is_some(), "a slot came back");
        let proxied: Vec<_> = (0..5).map(|_| counts.take(ip("10.0.0.1"), &limits)).collect();
        assert!(proxied.iter().all(Option::is_some));
    }
}

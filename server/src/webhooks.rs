//! Delivering webhooks: on the one node holding the `webhooks` lease, once a
//! second: turn new trail entries into deliveries (`store::webhooks::dispatch`),
//! once an hour write the day's reminders, then POST what is due, signed.
//!
//! A target is resolved here, every address it resolves to is judged
//! (`domain::webhook::refusal`: never link-local, unspecified, multicast;
//! loopback and private only when `STRONGROOM_WEBHOOK_ALLOW_CIDRS` lists
//! them), and the request goes to that very address (no second lookup a
//! rebinding DNS server could answer differently), through no proxy, and
//! follows no redirect.

use app::{
    domain::webhook::{refusal, Cidr},
    ssr::{
        db::{lease, Transact},
        state::AppState,
        store::webhooks::{self, Due},
    },
};
use std::{net::SocketAddr, time::Duration};

/// How a node delivers (from the serve settings).
#[derive(Clone, Debug)]
pub struct Delivery {
    pub allow: Vec<Cidr>,
    /// The wait after a first failure; it doubles up to an hour.
    pub first_retry_secs: i64,
}

const LEASE: &str = "webhooks";
/// Renewed every second: a node that died hands over after this.
const TERM_MS: i64 = 15_000;
/// Deliveries sent at once per turn (each waits at most `TIMEOUT`).
const AT_ONCE: i64 = 8;
const TIMEOUT: Duration = Duration::from_secs(10);
/// Trail entries read per transaction, and transactions per turn.
const BATCH: i64 = 1000;
const BATCHES: usize = 10;

/// Starts the delivery loop on this node; the lease it takes, to give back.
pub fn start(state: AppState, delivery: Delivery) -> (String, String) {
    let holder = app::ssr::db::lease::holder();
    let taken = (LEASE.to_owned(), holder.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reminded_at: Option<i64> = None;
        while !crate::stopping() {
            tick.tick().await;
            if let Err(e) = turn(&state, &delivery, &holder, &mut reminded_at).await {
                tracing::warn!(error = %e, "webhook delivery: trying again shortly");
            }
        }
    });
    taken
}

async fn turn(
    state: &AppState,
    delivery: &Delivery,
    holder: &str,
    reminded_at: &mut Option<i64>,
) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| e.to_string();
    // No webhook: not even the lease is taken (a write each second for nothing).
    if crate::stopping() || !state.db.read(webhooks::any).await.map_err(|e| failed(&e))? {
        return Ok(());
    }
    let (name, now_ms) = (holder.to_owned(), app::ssr::clock::now_ms());
    if !state.db.call(move |c| lease::acquire(c, LEASE, &name, now_ms, TERM_MS)).await.map_err(|e| failed(&e))? {
        return Ok(());
    }
    // Caught up with the trail (a few batches at most each second).
    for _ in 0..BATCHES {
        let (rows, key) = (state.rows.clone(), state.audit.clone());
        let read = state.db.call(move |c| c.write(|tx| webhooks::dispatch(tx, &rows, &key, BATCH))).await;
        if read.map_err(|e| failed(&e))? < BATCH as usize {
            break;
        }
    }
    let now = app::ssr::clock::now();
    if reminded_at.is_none_or(|at| now.0 - at >= 3600) {
        let rows = state.rows.clone();
        let added = state.db.call(move |c| c.write(|tx| webhooks::remind(tx, &rows, now))).await;
        *reminded_at = Some(now.0);
        added.map_err(|e| failed(&e))?;
        let month_ago = app::domain::Timestamp(now.0 - 30 * 86_400);
        state.db.call(move |c| webhooks::prune(c, month_ago)).await.map_err(|e| failed(&e))?;
    }
    let (rows, key) = (state.rows.clone(), state.webhook_key.clone());
    let due = state.db.read(move |c| webhooks::due(c, &rows, &key, now, AT_ONCE)).await.map_err(|e| failed(&e))?;
    let attempts = due.iter().map(|d| async {
        match d {
            Ok(d) => ((d.id, d.attempts), send(d, &delivery.allow).await, false),
            // Never sent as stored: given up at once, and said why.
            Err((id, why)) => ((*id, 0), Err(why.clone()), true),
        }
    });
    for (attempt, result, give_up) in futures_util::future::join_all(attempts).await {
        if let Err(why) = &result {
            tracing::info!(delivery = attempt.0, attempt = attempt.1 + 1, why, "webhook not delivered");
        }
        let (first, at) = (delivery.first_retry_secs, app::ssr::clock::now());
        let recorded =
            state.db.call(move |c| c.write(|tx| webhooks::record(tx, attempt, result, (first, give_up), at)));
        recorded.await.map_err(|e| failed(&e))?;
    }
    Ok(())
}

/// The address to connect to: every address the host resolves to must be
/// allowed (a name that also resolves to a refused one is refused).
async fn target(url: &reqwest::Url, allow: &[Cidr]) -> Result<SocketAddr, String> {
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![SocketAddr::from((ip, port))],
        Some(url::Host::Ipv6(ip)) => vec![SocketAddr::from((ip, port))],
        Some(url::Host::Domain(name)) => {
            tokio::net::lookup_host((name, port)).await.map_err(|e| format!("{name} does not resolve: {e}"))?.collect()
        }
        None => return Err("the URL has no host".into()),
    };
    for addr in &addrs {
        if let Some(why) = refusal(addr.ip(), allow) {
            return Err(format!("refused: {} is {why}", addr.ip()));
        }
    }
    addrs.first().copied().ok_or_else(|| "the host resolves to no address".into())
}

/// One attempt: `Ok` with the receiver's status when it answered 2xx.
async fn send(d: &Due, allow: &[Cidr]) -> Result<String, String> {
    let url = reqwest::Url::parse(&d.url).map_err(|e| format!("not a URL: {e}"))?;
    let addr = target(&url, allow).await?;
    let mut client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("Strongroom-Webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(url::Host::Domain(name)) = url.host() {
        client = client.resolve(name, addr);
    }
    let client = client.build().map_err(|e| e.to_string())?;
    // A fresh time on every attempt: receivers refuse a signature older than 5 minutes.
    let t = app::ssr::clock::now().0;
    let answer = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("Strongroom-Event", &d.event)
        .header("Strongroom-Delivery", &d.delivery)
        .header("Strongroom-Signature", webhooks::signature(&d.secrets, t, &d.body))
        .body(d.body.clone())
        .send()
        .await
        .map_err(|e| format!("{} ({addr})", e.without_url()))?;
    let status = answer.status();
    match status.as_u16() {
        200..=299 => Ok(status.to_string()),
        300..=399 => Err(format!("answered {status} (redirects are not followed)")),
        _ => Err(format!("answered {status}")),
    }
}

//! Webhooks: where events go, and the outbox of their deliveries.
//!
//! A change's trail entry is written in the change's own transaction; the
//! node holding the `webhooks` lease reads the committed trail from a durable
//! cursor ([`dispatch`]) and writes one delivery per webhook that wants the
//! event, with the cursor's move, in one transaction. So a change never waits
//! for, or fails with, a receiver, and no event is lost to a crash or a
//! restart. Reminders (`secret.overdue`, `required.missing`) are written the
//! same way by [`remind`], at most one per subject and day. A delivery's
//! `cause` (`audit:ID`, `overdue:NS/KEY:DAY`, …) is unique per webhook, so
//! running either twice adds nothing.
//!
//! Bodies hold names and metadata only — never a value. The signing secret
//! is 32 random bytes, sealed to its row (`crypto::SealKey`); `webhooks` rows
//! are security rows (`store::rows`): a URL changed without the root key is
//! not delivered to.

use super::{Stamp, StoreError};
use crate::domain::{
    audit::{Action, AuditEntry},
    webhook::{DeliveryView, Events, WebhookFormat, WebhookName, WebhookUrl, WebhookView},
    Timestamp,
};
use crate::ssr::{
    audit::{archive::hex, cursor, AuditKey},
    crypto::{CryptoError, SealKey},
    db::{
        sql::{hold, Lock, Sql, SqlError, Value},
        RowKey,
    },
    store::rows::{self, WEBHOOKS, WEBHOOK_DELIVERIES},
};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("a webhook named {0} already exists")]
    NameTaken(String),
    #[error("no webhook is named {0}")]
    NotFound(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("database error: {0}")]
    Database(#[from] SqlError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, WebhookError>;

/// The trail reader's name (`audit::cursor`).
const CURSOR: &str = "webhooks";
/// Attempts before a delivery is given up (with the default first retry of
/// 10 s, doubling to at most an hour: about 16 hours).
pub const MAX_ATTEMPTS: i64 = 24;
/// How long a replaced signing secret still signs, beside the new one.
pub const PREVIOUS_SECRET_SECS: i64 = 86_400;
/// The longest a delivery waits between attempts.
const MAX_BACKOFF_SECS: i64 = 3600;

/// A new signing secret: 32 random bytes.
pub fn new_secret() -> Result<Zeroizing<Vec<u8>>> {
    let mut secret = Zeroizing::new(vec![0u8; 32]);
    getrandom::fill(&mut secret).map_err(|_| CryptoError::Random)?;
    Ok(secret)
}

/// Adds a webhook; it is told of what happens from now on.
pub fn add<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    key: &SealKey,
    (name, url, events, format): (&WebhookName, &WebhookUrl, &Events, WebhookFormat),
    secret: &[u8],
    stamp: Stamp<'_>,
) -> Result<WebhookView> {
    let after = cursor::newest(db)?;
    let inserted = db.execute(
        "INSERT INTO webhooks (name, url, events, format, nonce, sealed, after_id, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8) ON CONFLICT (name) DO NOTHING",
        &[
            name.as_str().into(),
            url.as_str().into(),
            events.to_string().as_str().into(),
            format.as_str().into(),
            Value::Blob(std::borrow::Cow::Borrowed(&[])),
            after.into(),
            stamp.at.0.into(),
            stamp.actor.into(),
        ],
    )?;
    if inserted == 0 {
        return Err(WebhookError::NameTaken(name.to_string()));
    }
    set_secret(db, rows, key, name, secret, None)?;
    view(db, rows, name)
}

/// Gives webhook `name` a new signing secret; the old one still signs too
/// (a second `v1=`) for [`PREVIOUS_SECRET_SECS`], while receivers switch.
pub fn rotate_secret<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    key: &SealKey,
    name: &WebhookName,
    secret: &[u8],
    now: Timestamp,
) -> Result<WebhookView> {
    set_secret(db, rows, key, name, secret, Some(now.0 + PREVIOUS_SECRET_SECS))?;
    view(db, rows, name)
}

fn set_secret<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    key: &SealKey,
    name: &WebhookName,
    secret: &[u8],
    keep_old_until: Option<i64>,
) -> Result<()> {
    let id = id_of(db, name)?;
    let (nonce, sealed) = key.seal(id, secret)?;
    // The current secret becomes the previous one (still signing until then), or is dropped.
    let previous = match keep_old_until {
        Some(_) => "old_nonce = nonce, old_sealed = sealed, old_until = ?4",
        None => "old_nonce = NULL, old_sealed = NULL, old_until = ?4",
    };
    db.execute(
        &format!("UPDATE webhooks SET {previous}, nonce = ?2, sealed = ?3 WHERE id = ?1"),
        &[id.into(), nonce.as_slice().into(), sealed.as_slice().into(), keep_old_until.into()],
    )?;
    rows::reseal(db, rows, &WEBHOOKS, "id = ?1", &[id.into()])?;
    Ok(())
}

fn id_of<S: Sql + ?Sized>(db: &S, name: &WebhookName) -> Result<i64> {
    let row = db.query_opt("SELECT id FROM webhooks WHERE name = ?1", &[name.as_str().into()])?;
    row.map(|r| r[0].int()).transpose()?.ok_or_else(|| WebhookError::NotFound(name.to_string()))
}

/// Removes webhook `name` and its deliveries (sent or not).
pub fn remove<S: Sql + ?Sized>(db: &S, name: &WebhookName) -> Result<()> {
    let id = id_of(db, name)?;
    db.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?1", &[id.into()])?;
    db.execute("DELETE FROM webhooks WHERE id = ?1", &[id.into()])?;
    Ok(())
}

/// A webhook row as stored and checked.
struct Hook {
    id: i64,
    name: String,
    url: String,
    events: Events,
    format: WebhookFormat,
    after: i64,
    created_at: Timestamp,
    created_by: String,
    previous_until: Option<i64>,
}

/// The intact webhooks (a row whose MAC does not match is logged and skipped).
fn hooks<S: Sql + ?Sized>(db: &S, rows: &RowKey, filter: &str, args: &[Value<'_>]) -> Result<Vec<Hook>> {
    let sql = format!("SELECT {}, created_at, created_by FROM webhooks {filter} ORDER BY name", WEBHOOKS.columns(""));
    let mut out = Vec::new();
    for row in db.query(&sql, args)? {
        let name = row[1].text()?.to_owned();
        if !WEBHOOKS.intact(rows, &row[..WEBHOOKS.width()]) {
            rows::refused("webhooks", &name);
            continue;
        }
        // Covered: id, name, url, events, format, nonce, sealed, old_nonce, old_sealed, old_until, after_id.
        let (Ok(events), Ok(format)) = (Events::parse(row[3].text()?), WebhookFormat::parse(row[4].text()?)) else {
            continue;
        };
        out.push(Hook {
            id: row[0].int()?,
            name,
            url: row[2].text()?.to_owned(),
            events,
            format,
            previous_until: row[9].opt_int()?,
            after: row[10].int()?,
            created_at: Timestamp(row[12].int()?),
            created_by: row[13].text()?.to_owned(),
        });
    }
    Ok(out)
}

fn view_of<S: Sql + ?Sized>(db: &S, hook: Hook) -> Result<WebhookView> {
    let counts = db.query_opt(
        "SELECT coalesce(sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
                coalesce(sum(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0)
         FROM webhook_deliveries WHERE webhook_id = ?1",
        &[hook.id.into()],
    )?;
    let (pending, failed) = match counts {
        Some(r) => (r[0].int()?, r[1].int()?),
        None => (0, 0),
    };
    let (Ok(name), Ok(url)) = (WebhookName::parse(&hook.name), WebhookUrl::parse(&hook.url)) else {
        return Err(SqlError::Type(format!("webhook {:?} is stored damaged", hook.name)).into());
    };
    Ok(WebhookView {
        name,
        url,
        events: hook.events,
        format: hook.format,
        created_at: hook.created_at,
        created_by: hook.created_by,
        previous_until: hook.previous_until.map(Timestamp),
        pending,
        failed,
    })
}

fn view<S: Sql + ?Sized>(db: &S, rows: &RowKey, name: &WebhookName) -> Result<WebhookView> {
    let hook = hooks(db, rows, "WHERE name = ?1", &[name.as_str().into()])?.pop();
    view_of(db, hook.ok_or_else(|| WebhookError::NotFound(name.to_string()))?)
}

/// Whether any webhook exists (without one, the delivery loop does nothing at all).
pub fn any<S: Sql + ?Sized>(db: &S) -> Result<bool> {
    Ok(db.query_opt("SELECT 1 FROM webhooks LIMIT 1", &[])?.is_some())
}

/// Every intact webhook, by name.
pub fn list<S: Sql + ?Sized>(db: &S, rows: &RowKey) -> Result<Vec<WebhookView>> {
    hooks(db, rows, "", &[])?.into_iter().map(|h| view_of(db, h)).collect()
}

/// The newest `limit` deliveries, newest first.
pub fn log<S: Sql + ?Sized>(db: &S, limit: i64) -> Result<Vec<DeliveryView>> {
    let rows = db.query(
        "SELECT d.delivery, w.name, d.event, d.body, d.created_at, d.attempts, d.state, d.last_result, d.done_at
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id ORDER BY d.id DESC LIMIT ?1",
        &[limit.into()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(DeliveryView {
                delivery: r[0].text()?.to_owned(),
                webhook: r[1].text()?.to_owned(),
                event: r[2].text()?.to_owned(),
                subject: subject_of(r[3].text()?),
                created_at: Timestamp(r[4].int()?),
                attempts: r[5].int()?,
                state: r[6].text()?.to_owned(),
                last_result: r[7].opt_text()?.map(str::to_owned),
                done_at: r[8].opt_int()?.map(Timestamp),
            })
        })
        .collect()
}

/// What a stored body is about, for the log: `namespace/KEY`, or a token.
fn subject_of(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if let Some(subject) = json["subject"].as_str() {
        return subject.to_owned();
    }
    match (json["namespace"].as_str(), json["key"].as_str(), json["token"].as_str()) {
        (_, _, Some(token)) => format!("token {token}"),
        (Some(ns), Some(key), _) => format!("{ns}/{key}"),
        (Some(ns), None, _) => ns.to_owned(),
        _ => String::new(),
    }
}

/// What an event says, before it is shaped for a receiver.
struct Event<'a> {
    name: &'static str,
    namespace: &'a str,
    key: &'a str,
    version: Option<i64>,
    actor: &'a str,
    at: Timestamp,
}

impl Event<'_> {
    fn is_token(&self) -> bool {
        self.name.starts_with("token.")
    }

    /// The body in `format`: names and metadata, never a value. The delivery
    /// id is in it, so the signature covers it (a replay cannot pass as new).
    fn body(&self, format: WebhookFormat, delivery: &str) -> String {
        match format {
            WebhookFormat::Json => {
                let mut body = serde_json::json!({
                    "event": self.name, "namespace": self.namespace,
                    "actor": self.actor, "at": self.at.rfc3339(), "delivery": delivery,
                });
                if self.is_token() {
                    body["token"] = self.key.into();
                } else {
                    body["key"] = self.key.into();
                    body["version"] = self.version.into();
                }
                body.to_string()
            }
            // Slack and Mattermost read `text` (mrkdwn: &, < and > escaped).
            WebhookFormat::Slack => {
                let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
                let what = match (self.is_token(), self.version) {
                    (true, _) => format!("token `{}` (scope `{}`)", escape(self.key), escape(self.namespace)),
                    (false, Some(v)) => format!("`{}/{}` version {v}", escape(self.namespace), escape(self.key)),
                    (false, None) => format!("`{}/{}`", escape(self.namespace), escape(self.key)),
                };
                let by = if self.actor.is_empty() { String::new() } else { format!(" by {}", escape(self.actor)) };
                serde_json::json!({ "text": format!("Strongroom *{}*: {what}{by}", self.name) }).to_string()
            }
        }
    }
}

/// Whether an entry's outcome says the action happened.
fn succeeded(outcome: &str) -> bool {
    outcome == crate::domain::audit::OK || outcome.starts_with("ok:")
}

fn enqueue<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    hook: &Hook,
    event: &Event<'_>,
    cause: &str,
    now: Timestamp,
) -> Result<bool> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|_| CryptoError::Random)?;
    let delivery = crate::ssr::crypto::uuid_v4(id);
    let added = db.execute(
        "INSERT INTO webhook_deliveries (webhook_id, delivery, event, cause, body, created_at, next_at, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 'pending') ON CONFLICT (webhook_id, cause) DO NOTHING",
        &[
            hook.id.into(),
            delivery.as_str().into(),
            event.name.into(),
            cause.into(),
            event.body(hook.format, &delivery).as_str().into(),
            now.0.into(),
        ],
    )?;
    rows::reseal(db, rows, &WEBHOOK_DELIVERIES, "delivery = ?1", &[delivery.as_str().into()])?;
    Ok(added == 1)
}

/// Turns up to `batch` committed trail entries past the cursor into
/// deliveries, and moves the cursor past them; in the caller's write
/// transaction. Each entry is checked against the chain first: one added or
/// changed without the chain key is never signed and sent (the cursor stops
/// before it, and it is logged). How many entries were read.
pub fn dispatch<S: Sql + ?Sized>(db: &S, rows: &RowKey, key: &AuditKey, batch: i64) -> Result<usize> {
    // Webhooks added and entries appended take this lock too: one snapshot of both.
    hold(db, Lock::Audit)?;
    let hooks = hooks(db, rows, "", &[])?;
    // Nothing to do (and nothing written) without a webhook. A webhook hears
    // of what came after it was added: start there when the cursor is behind.
    let Some(start) = hooks.iter().map(|h| h.after).min() else { return Ok(0) };
    let from = cursor::cursor(db, CURSOR)?.map_or(start, |c| c.max(start));
    let (entries, broken) = cursor::after_verified(db, key, from, batch)?;
    if let Some(id) = broken {
        tracing::error!(
            entry = id,
            "webhooks: the audit trail does not verify at this entry; nothing from it on is sent"
        );
    }
    for (entry, _) in &entries {
        let Some(name) = Action::parse(&entry.action).and_then(Action::event) else { continue };
        if !succeeded(&entry.outcome) {
            continue;
        }
        let event = event_of(entry, name);
        for hook in hooks.iter().filter(|h| h.events.wants(name) && entry.id > h.after) {
            enqueue(db, rows, hook, &event, &format!("audit:{}", entry.id), entry.at)?;
        }
    }
    if let Some((last, _)) = entries.last() {
        cursor::advance(db, CURSOR, last.id)?;
    }
    Ok(entries.len())
}

fn event_of<'a>(entry: &'a AuditEntry, name: &'static str) -> Event<'a> {
    Event {
        name,
        namespace: &entry.namespace,
        key: &entry.key,
        version: entry.version,
        actor: &entry.actor,
        at: entry.at,
    }
}

/// The daily reminders: `secret.overdue` for each live secret past its
/// rotation date and `required.missing` for each required key a namespace
/// lacks, at most once per subject, webhook and UTC day. In the caller's
/// write transaction; how many deliveries were added.
pub fn remind<S: Sql + ?Sized>(db: &S, rows: &RowKey, now: Timestamp) -> Result<usize> {
    let hooks = hooks(db, rows, "", &[])?;
    let day = now.rfc3339().get(..10).unwrap_or_default().to_owned();
    let mut added = 0;
    let mut tell = |name: &'static str, namespace: &str, key: &str, version: Option<i64>| -> Result<()> {
        let event = Event { name, namespace, key, version, actor: "", at: now };
        let cause =
            format!("{}:{namespace}/{key}:{day}", name.trim_start_matches("secret.").trim_start_matches("required."));
        for hook in hooks.iter().filter(|h| h.events.wants(name)) {
            added += usize::from(enqueue(db, rows, hook, &event, &cause, now)?);
        }
        Ok(())
    };
    if hooks.iter().any(|h| h.events.wants("secret.overdue")) {
        for s in super::due_secrets(db, 0)? {
            tell("secret.overdue", s.namespace.as_str(), s.key.as_str(), Some(i64::from(s.version)))?;
        }
    }
    if hooks.iter().any(|h| h.events.wants("required.missing")) && required_somewhere(db)? {
        for ns in super::list_namespaces(db)? {
            for missing in super::required::check(db, rows, &ns.path)?.missing {
                tell("required.missing", ns.path.as_str(), missing.key.as_str(), None)?;
            }
        }
    }
    Ok(added)
}

fn required_somewhere<S: Sql + ?Sized>(db: &S) -> Result<bool> {
    Ok(db.query_opt("SELECT 1 FROM required_keys LIMIT 1", &[])?.is_some())
}

/// A delivery to make now: where, what, and the secrets to sign it with.
pub struct Due {
    pub id: i64,
    pub delivery: String,
    pub event: String,
    pub body: String,
    pub attempts: i64,
    pub webhook: String,
    pub url: String,
    /// The current secret, then a replaced one still signing.
    pub secrets: Vec<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Due").field("delivery", &self.delivery).field("webhook", &self.webhook).finish_non_exhaustive()
    }
}

/// Up to `limit` deliveries whose time has come, oldest first; a delivery
/// that cannot be made as stored (its row or its webhook's changed without
/// the root key, its secret does not open) as `Err((id, why))`, for the
/// caller to record as given up.
pub fn due<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    key: &SealKey,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<std::result::Result<Due, (i64, String)>>> {
    let sql = format!(
        "SELECT {}, d.attempts, {}
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.state = 'pending' AND d.next_at <= ?1 ORDER BY d.next_at, d.id LIMIT ?2",
        WEBHOOK_DELIVERIES.columns("d"),
        WEBHOOKS.columns("w")
    );
    let mut out = Vec::new();
    for row in db.query(&sql, &[now.0.into(), limit.into()])? {
        let (delivery, rest) = row.split_at(WEBHOOK_DELIVERIES.width());
        let (attempts, hook) = rest.split_first().ok_or_else(|| SqlError::Type("a short delivery row".into()))?;
        // Delivery covered: id, webhook_id, delivery, event, cause, body; webhook covered:
        // id, name, url, events, format, nonce, sealed, old_nonce, old_sealed, old_until, after_id.
        let id = delivery[0].int()?;
        if !WEBHOOK_DELIVERIES.intact(rows, delivery) || !WEBHOOKS.intact(rows, hook) {
            rows::refused("webhook_deliveries", &id.to_string());
            out.push(Err((id, "refused: changed without the root key".to_owned())));
            continue;
        }
        let webhook = hook[0].int()?;
        let mut secrets = Vec::new();
        let mut sealed = vec![(&hook[5], &hook[6])];
        if hook[9].opt_int()?.is_some_and(|until| until > now.0) {
            sealed.push((&hook[7], &hook[8]));
        }
        for (nonce, secret) in sealed {
            match key.open(webhook, nonce.blob()?, secret.blob()?) {
                Ok(secret) => secrets.push(secret),
                Err(e) => {
                    tracing::error!(webhook, error = %e, "a webhook's signing secret does not open");
                    secrets.clear();
                    break;
                }
            }
        }
        if secrets.is_empty() {
            out.push(Err((id, "refused: the signing secret does not open".to_owned())));
            continue;
        }
        out.push(Ok(Due {
            id,
            delivery: delivery[2].text()?.to_owned(),
            event: delivery[3].text()?.to_owned(),
            body: delivery[5].text()?.to_owned(),
            attempts: attempts.int()?,
            webhook: hook[1].text()?.to_owned(),
            url: hook[2].text()?.to_owned(),
            secrets,
        }));
    }
    Ok(out)
}

/// Records an attempt: delivered (`Ok`, the receiver's status), or failed
/// and tried again after a backoff (`first_retry_secs`, doubling, at most an
/// hour), until [`MAX_ATTEMPTS`]; `give_up` ends it at once. Only a delivery
/// still pending with the attempts `attempts` counted (a node that lost its
/// lease mid-attempt changes nothing another already recorded).
pub fn record<S: Sql + ?Sized>(
    db: &S,
    (id, attempts): (i64, i64),
    result: std::result::Result<String, String>,
    (first_retry_secs, give_up): (i64, bool),
    now: Timestamp,
) -> Result<()> {
    let attempts = attempts + 1;
    let (state, next_at, text) = match result {
        Ok(status) => ("delivered", now.0, status),
        Err(why) if give_up || attempts >= MAX_ATTEMPTS => ("failed", now.0, why),
        Err(why) => ("pending", now.0 + backoff(first_retry_secs, attempts), why),
    };
    let done = (state != "pending").then_some(now.0);
    db.execute(
        "UPDATE webhook_deliveries SET attempts = ?2, state = ?3, next_at = ?4, last_result = ?5, done_at = ?6
         WHERE id = ?1 AND state = 'pending' AND attempts = ?7",
        &[
            id.into(),
            attempts.into(),
            state.into(),
            next_at.into(),
            clip(&text).as_str().into(),
            done.into(),
            (attempts - 1).into(),
        ],
    )?;
    Ok(())
}

/// Forgets deliveries finished (delivered or given up) before `before`;
/// how many. The log keeps a month.
pub fn prune<S: Sql + ?Sized>(db: &S, before: Timestamp) -> Result<u64> {
    Ok(db.execute("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND done_at < ?1", &[before.0.into()])?)
}

/// The wait after the `attempts`th failure: `first`, doubling, at most an hour.
pub fn backoff(first: i64, attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(20);
    first.max(1).saturating_mul(1 << doublings).min(MAX_BACKOFF_SECS)
}

fn clip(text: &str) -> String {
    text.chars().take(200).collect()
}

/// `Strongroom-Signature`: `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
/// one `v1=` per secret.
pub fn signature(secrets: &[Zeroizing<Vec<u8>>], t: i64, body: &str) -> String {
    use hmac::Mac;
    let mut header = format!("t={t}");
    for secret in secrets {
        let mut mac = crate::ssr::crypto::hmac_sha256(secret);
        mac.update(format!("{t}.").as_bytes());
        mac.update(body.as_bytes());
        header.push_str(&format!(",v1={}", hex(&mac.finalize().into_bytes())));
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!([1, 2, 3, 4].map(|a| backoff(10, a)), [10, 20, 40, 80]);
        assert_eq!(backoff(10, 30), 3600);
        assert_eq!(backoff(0, 1), 1);
    }

    #[test]
    fn signatures_are_hmac_over_time_and_body() {
        // Pinned against Python: hmac.new(b"k" * 32, b"1700000000.{}", "sha256").hexdigest()
        let secret = Zeroizing::new(vec![b'k'; 32]);
        let v1 = "0b3b35525c10b3757ffa78df69037021fc3168d8390a51a4fcb4a8d56a25b557";
        assert_eq!(signature(std::slice::from_ref(&secret), 1_700_000_000, "{}"), format!("t=1700000000,v1={v1}"));
        // While a secret is replaced, one v1 per secret.
        let other = Zeroizing::new(vec![b'o'; 32]);
        let both = signature(&[other, secret], 1_700_000_000, "{}");
        assert!(both.ends_with(&format!(",v1={v1}")) && both.matches("v1=").count() == 2, "{both}");
    }
}

//! Audit streaming: every trail entry also sent where the SIEM looks — RFC
//! 5424 syslog (`STRONGROOM_AUDIT_SYSLOG`) and/or a JSON Lines file
//! (`STRONGROOM_AUDIT_FILE`), each message the entry's JSON with its
//! sequence number (`id`) and chain MAC.
//!
//! Sent from the committed trail (`audit::cursor`), by the one node holding
//! the stream's lease, so each entry goes out once across nodes. The
//! stream's cursor is durable and moves only once the receiver has the
//! entries: a file's after they are synced; a TCP or TLS receiver's a batch
//! later, once the next write (or an idle check) finds the connection still
//! up — so entries written into a connection that then broke are sent again.
//! A restart or a receiver that is down delays entries and loses none: at
//! least once, and the `id`s let a SIEM drop duplicates and see gaps. UDP is
//! best effort (a datagram nobody received is not known to be lost).

mod file;
pub mod syslog;

use app::{
    domain::audit::AuditEntry,
    ssr::{audit::cursor, db::lease, state::AppState},
};
use std::time::Duration;

/// Entries per batch.
const BATCH: i64 = 500;
/// Renewed every second or so: a node that died hands over after this.
const TERM_MS: i64 = 15_000;

/// Where one stream goes.
pub enum Sink {
    Syslog(syslog::Syslog),
    File(file::JsonFile),
}

impl Sink {
    /// The syslog target `spec` (see [`syslog::Target::parse`]).
    pub fn syslog(spec: &str, ca: Option<&std::path::Path>) -> Result<Self, String> {
        Ok(Self::Syslog(syslog::Syslog::new(syslog::Target::parse(spec, ca)?)))
    }

    /// JSON Lines appended to `path` (reopened on SIGHUP).
    pub fn file(path: std::path::PathBuf) -> Result<Self, String> {
        Ok(Self::File(file::JsonFile::new(path)?))
    }

    fn name(&self) -> &'static str {
        match self {
            Sink::Syslog(_) => "syslog",
            Sink::File(_) => "file",
        }
    }

    async fn send(&mut self, batch: &[(AuditEntry, Vec<u8>)]) -> Result<(), String> {
        match self {
            Sink::Syslog(s) => s.send(batch).await,
            Sink::File(f) => f.send(batch).await,
        }
    }

    /// Whether what was written is held by the receiver once the write
    /// returns (synced file, datagram handed over) rather than in a
    /// connection that might still break.
    fn holds_at_once(&self) -> bool {
        match self {
            Sink::Syslog(s) => !s.is_stream(),
            Sink::File(_) => true,
        }
    }

    /// Whether the connection written to is still up.
    fn alive(&mut self) -> bool {
        match self {
            Sink::Syslog(s) => s.alive(),
            Sink::File(_) => true,
        }
    }

    fn reset(&mut self) {
        if let Sink::Syslog(s) = self {
            s.reset();
        }
    }
}

/// The JSON of one entry, as every sink sends it.
pub fn entry_json(e: &AuditEntry, mac: &[u8]) -> String {
    serde_json::json!({
        "id": e.id, "at": e.at.rfc3339(), "actor": e.actor, "action": e.action,
        "namespace": e.namespace, "key": e.key, "version": e.version, "client": e.client,
        "outcome": e.outcome, "mac": app::ssr::audit::archive::hex(mac),
    })
    .to_string()
}

/// Starts streaming to `sink` on this node (it streams while it holds the
/// lease); the lease it takes, to give back.
pub fn start(state: AppState, mut sink: Sink) -> (String, String) {
    let holder = app::ssr::db::lease::holder();
    let (lease_name, cursor_name) = (format!("audit-stream:{}", sink.name()), format!("stream:{}", sink.name()));
    let taken = (lease_name.clone(), holder.clone());
    tokio::spawn(async move {
        // Written but not yet known to be held: the cursor stays before these.
        let mut sent_to: Option<i64> = None;
        let mut failing = 0u32;
        while !crate::stopping() {
            let turn = turn(&state, &mut sink, (&lease_name, &cursor_name, &holder), &mut sent_to).await;
            let pause = match turn {
                Ok(true) => Duration::ZERO,
                Ok(false) => {
                    failing = 0;
                    Duration::from_secs(1)
                }
                Err(e) => {
                    if failing == 0 {
                        tracing::warn!(sink = sink.name(), error = %e, "audit stream: receiver unreachable; entries wait");
                    }
                    failing = failing.saturating_add(1);
                    sink.reset();
                    sent_to = None;
                    Duration::from_secs(u64::from(failing.min(30)))
                }
            };
            tokio::time::sleep(pause).await;
        }
    });
    taken
}

/// One step; `Ok(true)` when there is more to send at once.
async fn turn(
    state: &AppState,
    sink: &mut Sink,
    (lease_name, cursor_name, holder): (&str, &str, &str),
    sent_to: &mut Option<i64>,
) -> Result<bool, String> {
    if crate::stopping() {
        return Ok(false);
    }
    let (l, h, now_ms) = (lease_name.to_owned(), holder.to_owned(), app::ssr::clock::now_ms());
    if !state.db.call(move |c| lease::acquire(c, &l, &h, now_ms, TERM_MS)).await.map_err(|e| e.to_string())? {
        sink.reset();
        *sent_to = None;
        return Ok(false);
    }
    let name = cursor_name.to_owned();
    let confirmed = state.db.read(move |c| cursor::cursor(c, &name)).await.map_err(|e| e.to_string())?.unwrap_or(0);
    let from = sent_to.unwrap_or(confirmed).max(confirmed);
    let batch = state.db.read(move |c| cursor::after(c, from, BATCH)).await.map_err(|e| e.to_string())?;
    let Some(last) = batch.last().map(|(e, _)| e.id) else {
        // Idle: what was written is held once the connection proves still up.
        if from > confirmed {
            if !sink.alive() {
                return Err("the receiver closed the connection".into());
            }
            advance(state, cursor_name, from).await?;
        }
        return Ok(false);
    };
    if let Some((first, _)) = batch.first().filter(|(e, _)| e.id > from + 1) {
        tracing::warn!(
            first = from + 1,
            last = first.id - 1,
            "audit stream: entries were archived before they were streamed"
        );
    }
    sink.send(&batch).await?;
    // A stream's previous batch is held once this one went out on a connection still up.
    if !sink.holds_at_once() && !sink.alive() {
        return Err("the receiver closed the connection".into());
    }
    let held_to = if sink.holds_at_once() { last } else { from };
    if held_to > confirmed {
        advance(state, cursor_name, held_to).await?;
    }
    *sent_to = Some(last);
    Ok(batch.len() as i64 == BATCH)
}

async fn advance(state: &AppState, cursor_name: &str, to: i64) -> Result<(), String> {
    let name = cursor_name.to_owned();
    state.db.call(move |c| cursor::advance(c, &name, to)).await.map_err(|e| e.to_string())
}

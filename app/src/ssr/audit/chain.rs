//! Appending entries and the HMAC chain over them.

use super::*;
use crate::domain::audit::AuditEntry;
use crate::ssr::crypto::BaseKey;
use crate::ssr::db::group_commit::Batch;
use crate::ssr::db::sql::{hold, Lock, Sql, SqlError, Value};
use hmac::{Mac, SimpleHmac};
use std::sync::Arc;
use zeroize::Zeroizing;

pub(super) type Hmac = SimpleHmac<sha2::Sha256>;

/// The chain key. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct AuditKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn derive(base: &BaseKey) -> Self {
        Self(base.derive("strongroom audit chain v1"))
    }

    pub(super) fn mac(&self) -> Hmac {
        crate::ssr::crypto::hmac_sha256(self.0.as_ref())
    }
}

pub(super) fn chain_mac(key: &AuditKey, prev: &[u8], e: &AuditEntry) -> Vec<u8> {
    let mut mac = key.mac();
    mac.update(prev);
    mac.update(&e.id.to_be_bytes());
    mac.update(&e.at.0.to_be_bytes());
    for text in [&e.actor, &e.action, &e.namespace, &e.key, &e.client, &e.outcome] {
        mac.update(&(text.len() as u64).to_be_bytes());
        mac.update(text.as_bytes());
    }
    match e.version {
        Some(v) => mac.update(&[&[1u8][..], &v.to_be_bytes()].concat()),
        None => mac.update(&[0]),
    }
    mac.finalize().into_bytes().to_vec()
}

pub(super) fn head_value(key: &AuditKey, id: i64, mac: &[u8]) -> Vec<u8> {
    let mut h = key.mac();
    h.update(b"head");
    h.update(&id.to_be_bytes());
    h.update(mac);
    [&id.to_be_bytes()[..], &h.finalize().into_bytes()].concat()
}

/// Text longer than this is cut when stored: refused requests carry whatever
/// was submitted, and an entry should stay one line's worth.
pub(super) const MAX_TEXT: usize = 256;

pub(super) fn clip(text: String) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((end, _)) => text[..end].to_owned(),
        None => text,
    }
}

/// The end of the chain, for appending: load it, push entries, then `finish`
/// to record the new head. All inside the caller's transaction, on either
/// engine. On PostgreSQL, where writers do not queue for the whole database,
/// `load` takes an advisory lock held until the transaction ends: appenders on
/// every node take turns, each entry's id is the one after the newest committed,
/// and the chain stays one line (a sequence would leave gaps and need not
/// follow commit order).
pub struct Chain {
    id: i64,
    mac: Vec<u8>,
    /// The value reads pushed since `load`, for the read summary (`reads`).
    reads: reads::Tally,
}

impl Chain {
    pub fn load<S: Sql + ?Sized>(db: &S) -> Result<Self, SqlError> {
        // A lock of its own, not the head's row: it holds even before the
        // chain's first head is written. Held until the transaction ends, so
        // there must be one (each statement would be its own otherwise).
        if db.engine() == crate::ssr::db::sql::Engine::Postgres && !db.in_transaction() {
            return Err(SqlError::Type("the audit chain is appended to inside a transaction only".into()));
        }
        hold(db, Lock::Audit)?;
        let last = db.query_opt("SELECT id, mac FROM audit ORDER BY id DESC LIMIT 1", &[])?;
        let (id, mac) = match last {
            Some(row) => (row[0].int()?, row[1].blob()?.to_vec()),
            // Every entry archived: the chain goes on from the checkpoint.
            None => super::archive::base(db, None).map_err(|e| SqlError::Type(e.to_string()))?,
        };
        Ok(Self { id, mac, reads: reads::Tally::default() })
    }

    pub fn push<S: Sql + ?Sized>(&mut self, db: &S, key: &AuditKey, entry: NewEntry) -> Result<i64, SqlError> {
        let e = AuditEntry {
            id: self.id + 1,
            at: entry.at,
            actor: clip(entry.actor.to_string()),
            action: entry.action.as_str().to_owned(),
            namespace: clip(entry.namespace),
            key: clip(entry.key),
            version: entry.version,
            client: clip(entry.client.to_string()),
            outcome: clip(entry.outcome),
        };
        let mac = chain_mac(key, &self.mac, &e);
        db.execute(
            "INSERT INTO audit (id, at, actor, action, namespace, key, version, client, outcome, mac)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            &[
                e.id.into(),
                e.at.0.into(),
                e.actor.as_str().into(),
                e.action.as_str().into(),
                e.namespace.as_str().into(),
                e.key.as_str().into(),
                e.version.into(),
                e.client.as_str().into(),
                e.outcome.as_str().into(),
                mac.as_slice().into(),
            ],
        )?;
        (self.id, self.mac) = (e.id, mac);
        self.reads.count(&entry.action, &e);
        crate::ssr::metrics::metrics()
            .audit_entries
            .with_label_values(&[entry.action.as_str(), crate::ssr::metrics::outcome_kind(&e.outcome)])
            .inc();
        Ok(e.id)
    }

    pub fn finish<S: Sql + ?Sized>(&self, db: &S, key: &AuditKey) -> Result<(), SqlError> {
        self.reads.write(db)?;
        db.execute(
            "INSERT INTO meta (name, value) VALUES ('audit_head', ?1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[head_value(key, self.id, &self.mac).into()],
        )?;
        Ok(())
    }
}

/// Appends entries inside a batch's transaction (see `db::group_commit`):
/// the chain's head is read when the batch begins and written once at its end.
pub struct Trail(pub Arc<AuditKey>);

/// The chain as a batch sees it while its jobs append.
pub struct Appender {
    chain: Chain,
    key: Arc<AuditKey>,
    pushed: usize,
}

/// Entries one batch appends before it is closed (a job may take it past).
const BATCH_ENTRIES: usize = 512;

impl Appender {
    pub fn push<S: Sql + ?Sized>(&mut self, tx: &S, entry: NewEntry) -> Result<i64, SqlError> {
        self.pushed += 1;
        self.chain.push(tx, &self.key, entry)
    }

    /// Entries appended in this batch so far.
    pub fn pushed(&self) -> usize {
        self.pushed
    }
}

impl Batch for Trail {
    type Shared = Appender;

    fn begin(&self, tx: &dyn Sql) -> Result<Appender, SqlError> {
        Ok(Appender { chain: Chain::load(tx)?, key: self.0.clone(), pushed: 0 })
    }

    fn finish(&self, appender: Appender, tx: &dyn Sql) -> Result<(), SqlError> {
        match appender.pushed {
            0 => Ok(()),
            _ => appender.chain.finish(tx, &self.0),
        }
    }

    fn full(&self, appender: &Appender) -> bool {
        appender.pushed >= BATCH_ENTRIES
    }
}

/// Records the head of an empty chain (a new database): from then on a
/// missing head means the trail was wiped, not that it never began.
pub fn start_chain<S: Sql + ?Sized>(db: &S, key: &AuditKey) -> Result<(), SqlError> {
    Chain { id: 0, mac: Vec::new(), reads: reads::Tally::default() }.finish(db, key)
}

/// Appends `entry` on `db`, inside whatever transaction the caller has open,
/// so it commits or rolls back with the change it records. Returns its id.
pub fn append<S: Sql + ?Sized>(db: &S, key: &AuditKey, entry: NewEntry) -> Result<i64, SqlError> {
    let mut chain = Chain::load(db)?;
    let id = chain.push(db, key, entry)?;
    chain.finish(db, key)?;
    Ok(id)
}

/// Runs `change` and appends its entry in one savepoint: both are committed or
/// neither (an entry that cannot be written undoes the change). `describe`
/// reads the entry's version, and an outcome to record instead of `entry`'s,
/// off the result.
pub fn with_entry<C: Sql + ?Sized, T, E: From<SqlError>>(
    conn: &mut C,
    key: &AuditKey,
    entry: NewEntry,
    describe: impl FnOnce(&T) -> (Option<i64>, Option<String>),
    change: impl FnOnce(&mut C) -> Result<T, E>,
) -> Result<T, E> {
    // A panic in `change` leaves the savepoint open; `Db::call` rolls back any
    // transaction it finds open before the writer's next use. Outside a
    // transaction, one is begun taking SQLite's write lock first: a deferred
    // one that reads, then writes after another process (a command)
    // committed, would fail with SQLITE_BUSY instead of waiting its turn.
    let outermost = !conn.in_transaction();
    if outermost {
        conn.begin()?;
    }
    let done = (|| {
        conn.batch("SAVEPOINT audited")?;
        // On PostgreSQL the chain's lock first, before the change locks any
        // row: a batch of reads holds it and then touches token rows, so a
        // change that locked a row first and then waited for the chain would
        // deadlock with it. Every writer takes the chain, then rows.
        hold(&*conn, Lock::Audit)?;
        let value = change(conn)?;
        let (version, outcome) = describe(&value);
        append(&*conn, key, NewEntry { version, outcome: outcome.unwrap_or(entry.outcome), ..entry })?;
        conn.batch("RELEASE audited")?;
        if outermost {
            conn.commit()?;
        }
        Ok(value)
    })();
    if done.is_err() {
        let _ = if outermost { conn.rollback() } else { conn.batch("ROLLBACK TO audited; RELEASE audited") };
    }
    done
}

/// What `audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        entries: u64,
    },
    /// The first entry that does not check out, and how.
    Broken {
        id: i64,
        problem: String,
    },
}

/// Whether the recorded head matches the newest entry under `key`: a cheap
/// proof that the root key this process holds is the database's (readiness).
/// Takes no lock (a readiness probe must not wait behind writers): the head
/// names its entry, and the two are committed together.
pub fn head_matches<S: Sql + ?Sized>(db: &S, key: &AuditKey) -> Result<bool, SqlError> {
    let Some(head) = stored_head(db)? else { return Ok(false) };
    let Some(id) = head.first_chunk::<8>().map(|b| i64::from_be_bytes(*b)) else { return Ok(false) };
    let mac = match db.query_opt("SELECT mac FROM audit WHERE id = ?1", &[id.into()])? {
        Some(row) => row[0].blob()?.to_vec(),
        None => match super::archive::base(db, Some(key)) {
            Ok((base, mac)) if base == id => mac,
            _ => return Ok(false),
        },
    };
    Ok(head == head_value(key, id, &mac))
}

/// `meta.audit_head` as stored, if any.
pub(super) fn stored_head<S: Sql + ?Sized>(db: &S) -> Result<Option<Vec<u8>>, SqlError> {
    match db.query_opt("SELECT value FROM meta WHERE name = 'audit_head'", &[])? {
        Some(row) => Ok(Some(row[0].blob()?.to_vec())),
        None => Ok(None),
    }
}

/// An entry and its MAC from a row of `SELECT {COLUMNS}, mac`.
pub(super) fn entry_and_mac(row: &[Value<'_>]) -> Result<(AuditEntry, Vec<u8>), SqlError> {
    let [id, at, actor, action, namespace, key, version, client, outcome, mac] = row else {
        return Err(SqlError::Type(format!("an audit row has {} columns, not 10", row.len())));
    };
    let entry = AuditEntry {
        id: id.int()?,
        at: crate::domain::Timestamp(at.int()?),
        actor: actor.text()?.to_owned(),
        action: action.text()?.to_owned(),
        namespace: namespace.text()?.to_owned(),
        key: key.text()?.to_owned(),
        version: version.opt_int()?,
        client: client.text()?.to_owned(),
        outcome: outcome.text()?.to_owned(),
    };
    Ok((entry, mac.blob()?.to_vec()))
}

/// Checks the whole chain, streaming (constant memory). Run it in one
/// snapshot (SQLite: `Db::read`'s transaction; PostgreSQL: REPEATABLE READ),
/// or an entry appended meanwhile reads as a cut-off end.
pub fn verify<S: Sql + ?Sized>(db: &S, key: &AuditKey) -> Result<Verdict, SqlError> {
    // From the archive checkpoint, if older entries were archived.
    let (mut prev_id, mut prev_mac) = match super::archive::base(db, Some(key)) {
        Ok(base) => base,
        Err(e) => return Ok(Verdict::Broken { id: 0, problem: e.to_string() }),
    };
    let mut count = 0u64;
    let mut broken = None;
    db.query_each(&format!("SELECT {COLUMNS}, mac FROM audit ORDER BY id"), &[], &mut |row| {
        if broken.is_some() {
            return Ok(());
        }
        let (e, mac) = entry_and_mac(row)?;
        if e.id != prev_id + 1 {
            let problem = if e.id <= prev_id {
                "out of order".to_owned()
            } else {
                format!("entries {} to {} before it were removed", prev_id + 1, e.id - 1)
            };
            broken = Some(Verdict::Broken { id: e.id, problem });
        } else if chain_mac(key, &prev_mac, &e) != mac {
            let problem = "edited, inserted or moved (its MAC does not match)".to_owned();
            broken = Some(Verdict::Broken { id: e.id, problem });
        } else {
            (prev_id, prev_mac, count) = (e.id, mac, count + 1);
        }
        Ok(())
    })?;
    if let Some(verdict) = broken {
        return Ok(verdict);
    }
    match stored_head(db)? {
        Some(h) if h == head_value(key, prev_id, &prev_mac) => Ok(Verdict::Intact { entries: count }),
        None => Ok(Verdict::Broken { id: prev_id, problem: "the recorded head is missing: the trail was cut".into() }),
        Some(h) if h.first_chunk::<8>().is_some() => {
            let newest = h.first_chunk::<8>().map_or(0, |b| i64::from_be_bytes(*b));
            let problem = if newest > prev_id {
                format!("entries after it, up to {newest}, were removed")
            } else {
                "the newest entry does not match the recorded head".to_owned()
            };
            Ok(Verdict::Broken { id: prev_id, problem })
        }
        _ => Ok(Verdict::Broken { id: prev_id, problem: "the recorded head is missing or damaged".into() }),
    }
}

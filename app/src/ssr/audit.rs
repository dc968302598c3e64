//! The audit trail in SQLite: appending entries in the caller's transaction,
//! the HMAC chain that makes edits detectable, and filtered reads.
//!
//! Chain: `mac(n) = HMAC-SHA256(k, mac(n-1) ‖ fields(n))`, where `k` is derived
//! from the base key (see `crypto`) for this purpose only and `fields` length-prefixes every
//! column, `id` included. Ids are consecutive, so a removed entry shows as a gap,
//! and an inserted, edited or reordered one as a wrong MAC. The newest entry's id
//! and MAC are also kept, under their own MAC, as `meta.audit_head`, so cutting
//! entries off the end is detected too.

use super::crypto::BaseKey;
use crate::domain::{
    audit::{AuditEntry, AuditFilter, AuditPage, OutcomeFilter},
    Scope, Timestamp,
};
use hmac::{Mac, SimpleHmac};
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};
use zeroize::Zeroizing;

type Hmac = SimpleHmac<sha2::Sha256>;

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

    fn mac(&self) -> Hmac {
        Hmac::new_from_slice(self.0.as_ref()).expect("HMAC takes any key length")
    }
}

/// What an entry says; the store adds `id` and the MAC.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: &'static str,
    pub namespace: String,
    pub key: String,
    pub version: Option<i64>,
    pub client: String,
    pub outcome: String,
}

fn chain_mac(key: &AuditKey, prev: &[u8], e: &AuditEntry) -> Vec<u8> {
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

fn head_value(key: &AuditKey, id: i64, mac: &[u8]) -> Vec<u8> {
    let mut h = key.mac();
    h.update(b"head");
    h.update(&id.to_be_bytes());
    h.update(mac);
    [&id.to_be_bytes()[..], &h.finalize().into_bytes()].concat()
}

/// Text longer than this is cut when stored: refused requests carry whatever
/// was submitted, and an entry should stay one line's worth.
const MAX_TEXT: usize = 256;

fn clip(text: String) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((end, _)) => text[..end].to_owned(),
        None => text,
    }
}

/// The end of the chain, for appending: load it, push entries, then `finish`
/// to record the new head. All inside the caller's transaction.
pub struct Chain {
    id: i64,
    mac: Vec<u8>,
}

impl Chain {
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let last = conn
            .prepare_cached("SELECT id, mac FROM audit ORDER BY id DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let (id, mac) = last.unwrap_or((0, Vec::new()));
        Ok(Self { id, mac })
    }

    pub fn push(&mut self, conn: &Connection, key: &AuditKey, entry: NewEntry) -> rusqlite::Result<i64> {
        let e = AuditEntry {
            id: self.id + 1,
            at: entry.at,
            actor: clip(entry.actor),
            action: entry.action.to_owned(),
            namespace: clip(entry.namespace),
            key: clip(entry.key),
            version: entry.version,
            client: clip(entry.client),
            outcome: clip(entry.outcome),
        };
        let mac = chain_mac(key, &self.mac, &e);
        conn.prepare_cached(
            "INSERT INTO audit (id, at, actor, action, namespace, key, version, client, outcome, mac)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            e.id,
            e.at.0,
            e.actor,
            e.action,
            e.namespace,
            e.key,
            e.version,
            e.client,
            e.outcome,
            mac
        ])?;
        (self.id, self.mac) = (e.id, mac);
        super::metrics::metrics()
            .audit_entries
            .with_label_values(&[entry.action, super::metrics::outcome_kind(&e.outcome)])
            .inc();
        Ok(e.id)
    }

    pub fn finish(&self, conn: &Connection, key: &AuditKey) -> rusqlite::Result<()> {
        conn.prepare_cached(
            "INSERT INTO meta (name, value) VALUES ('audit_head', ?1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )?
        .execute([head_value(key, self.id, &self.mac)])?;
        Ok(())
    }
}

/// Records the head of an empty chain (a new database): from then on a
/// missing head means the trail was wiped, not that it never began.
pub fn start_chain(conn: &Connection, key: &AuditKey) -> rusqlite::Result<()> {
    Chain { id: 0, mac: Vec::new() }.finish(conn, key)
}

/// Appends `entry` on `conn`, inside whatever transaction the caller has open,
/// so it commits or rolls back with the change it records. Returns its id.
pub fn append(conn: &Connection, key: &AuditKey, entry: NewEntry) -> rusqlite::Result<i64> {
    let mut chain = Chain::load(conn)?;
    let id = chain.push(conn, key, entry)?;
    chain.finish(conn, key)?;
    Ok(id)
}

/// Runs `change` and appends its entry in one savepoint: both are committed or
/// neither (an entry that cannot be written undoes the change). `describe`
/// reads the entry's version, and an outcome to record instead of `entry`'s,
/// off the result.
pub fn with_entry<T, E: From<rusqlite::Error>>(
    conn: &mut Connection,
    key: &AuditKey,
    entry: NewEntry,
    describe: impl FnOnce(&T) -> (Option<i64>, Option<String>),
    change: impl FnOnce(&mut Connection) -> Result<T, E>,
) -> Result<T, E> {
    // A panic in `change` leaves the savepoint open; `Db::call` rolls back any
    // transaction it finds open before the writer's next use. Outside a
    // transaction, the write lock is taken first (IMMEDIATE): a deferred one
    // that reads, then writes after another process (a command) committed,
    // would fail with SQLITE_BUSY instead of waiting its turn.
    let outermost = conn.is_autocommit();
    conn.execute_batch(if outermost { "BEGIN IMMEDIATE; SAVEPOINT audited" } else { "SAVEPOINT audited" })?;
    let done = change(conn).and_then(|value| {
        let (version, outcome) = describe(&value);
        append(conn, key, NewEntry { version, outcome: outcome.unwrap_or(entry.outcome), ..entry })?;
        conn.execute_batch(if outermost { "RELEASE audited; COMMIT" } else { "RELEASE audited" })?;
        Ok(value)
    });
    if done.is_err() {
        let _ = conn.execute_batch(if outermost { "ROLLBACK" } else { "ROLLBACK TO audited; RELEASE audited" });
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
pub fn head_matches(conn: &Connection, key: &AuditKey) -> rusqlite::Result<bool> {
    let chain = Chain::load(conn)?;
    Ok(stored_head(conn)?.is_some_and(|h| h == head_value(key, chain.id, &chain.mac)))
}

/// `meta.audit_head` as stored, if any.
fn stored_head(conn: &Connection) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.query_row("SELECT value FROM meta WHERE name = 'audit_head'", [], |r| r.get(0)).optional()
}

/// Checks the whole chain, streaming (constant memory).
pub fn verify(conn: &Connection, key: &AuditKey) -> rusqlite::Result<Verdict> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS}, mac FROM audit ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    let (mut prev_id, mut prev_mac, mut count) = (0i64, Vec::new(), 0u64);
    while let Some(row) = rows.next()? {
        let e = entry_from_row(row)?;
        let mac: Vec<u8> = row.get(9)?;
        if e.id != prev_id + 1 {
            let problem = if e.id <= prev_id {
                "out of order".to_owned()
            } else {
                format!("entries {} to {} before it were removed", prev_id + 1, e.id - 1)
            };
            return Ok(Verdict::Broken { id: e.id, problem });
        }
        if chain_mac(key, &prev_mac, &e) != mac {
            let problem = "edited, inserted or moved (its MAC does not match)".to_owned();
            return Ok(Verdict::Broken { id: e.id, problem });
        }
        (prev_id, prev_mac, count) = (e.id, mac, count + 1);
    }
    match stored_head(conn)? {
        Some(h) if h == head_value(key, prev_id, &prev_mac) => Ok(Verdict::Intact { entries: count }),
        None => Ok(Verdict::Broken { id: prev_id, problem: "the recorded head is missing: the trail was cut".into() }),
        Some(h) if h.len() >= 8 => {
            let newest = i64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
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

const COLUMNS: &str = "id, at, actor, action, namespace, key, version, client, outcome";

fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: Timestamp(r.get(1)?),
        actor: r.get(2)?,
        action: r.get(3)?,
        namespace: r.get(4)?,
        key: r.get(5)?,
        version: r.get(6)?,
        client: r.get(7)?,
        outcome: r.get(8)?,
    })
}

/// The WHERE clause and its parameters for `filter`, limited to what `scopes`
/// may see (entries without a namespace only for scope `All`).
fn where_clause(filter: &AuditFilter, scopes: &[Scope]) -> (String, Vec<Box<dyn ToSql>>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    // `ns` or below: `ns.` ≤ namespace < `ns/` (`/` follows `.`), an index range.
    let subtree = |ns: &str, args: &mut Vec<Box<dyn ToSql>>| {
        args.push(Box::new(ns.to_owned()));
        args.push(Box::new(format!("{ns}.")));
        args.push(Box::new(format!("{ns}/")));
        let n = args.len();
        format!("(namespace = ?{} OR (namespace >= ?{} AND namespace < ?{}))", n - 2, n - 1, n)
    };
    if !scopes.contains(&Scope::All) {
        let parts: Vec<String> = scopes
            .iter()
            .filter_map(|s| match s {
                Scope::Subtree(ns) => Some(subtree(ns.as_str(), &mut args)),
                Scope::All => None,
            })
            .collect();
        clauses.push(if parts.is_empty() { "0".into() } else { format!("({})", parts.join(" OR ")) });
    }
    if let Some(ns) = &filter.namespace {
        let clause = subtree(ns.as_str(), &mut args);
        clauses.push(clause);
    }
    if !filter.actions.is_empty() {
        let marks: Vec<String> = filter
            .actions
            .iter()
            .map(|a| {
                args.push(Box::new(a.as_str()));
                format!("?{}", args.len())
            })
            .collect();
        clauses.push(format!("action IN ({})", marks.join(", ")));
    }
    let mut push = |sql: &str, arg: Box<dyn ToSql>| {
        args.push(arg);
        clauses.push(sql.replace('?', &format!("?{}", args.len())));
    };
    if let Some(actor) = &filter.actor {
        push("actor = ?", Box::new(actor.clone()));
    }
    if let Some(key) = &filter.key {
        push("key = ?", Box::new(key.clone()));
    }
    if let Some(from) = filter.from {
        push("at >= ?", Box::new(from.0));
    }
    if let Some(to) = filter.to {
        push("at < ?", Box::new(to.0));
    }
    // Written as the `audit_refused` index's condition, so that index serves it.
    match filter.outcome {
        Some(OutcomeFilter::Refused) => clauses.push("substr(outcome, 1, 2) <> 'ok'".into()),
        Some(OutcomeFilter::Ok) => clauses.push("substr(outcome, 1, 2) = 'ok'".into()),
        None => {}
    }
    let sql = if clauses.is_empty() { "1".to_owned() } else { clauses.join(" AND ") };
    (sql, args)
}

/// `namespace` is `ns` or below it, as [`where_clause`]'s ranges say.
fn in_subtree(namespace: &str, ns: &str) -> bool {
    namespace == ns || namespace.strip_prefix(ns).is_some_and(|rest| rest.starts_with('.'))
}

/// Subtrees with more namespaces than this are read with one query instead.
const MAX_MERGED: usize = 64;

/// The distinct namespaces in `ns`'s subtree that have entries, by one index
/// seek each (a loose index scan); `None` when there are more than `MAX_MERGED`.
fn namespaces_in_subtree(conn: &Connection, ns: &str) -> rusqlite::Result<Option<Vec<String>>> {
    let mut found = Vec::new();
    let own = conn.prepare_cached("SELECT 1 FROM audit WHERE namespace = ?1 LIMIT 1")?.exists([ns])?;
    if own {
        found.push(ns.to_owned());
    }
    let (low, high) = (format!("{ns}."), format!("{ns}/"));
    let mut first = conn.prepare_cached("SELECT min(namespace) FROM audit WHERE namespace >= ?1 AND namespace < ?2")?;
    let mut next = first.query_row([&low, &high], |r| r.get::<_, Option<String>>(0))?;
    let mut after = conn.prepare_cached("SELECT min(namespace) FROM audit WHERE namespace > ?1 AND namespace < ?2")?;
    while let Some(name) = next {
        if found.len() == MAX_MERGED {
            return Ok(None);
        }
        next = after.query_row([&name, &high], |r| r.get::<_, Option<String>>(0))?;
        found.push(name);
    }
    Ok(Some(found))
}

/// A subtree filtered by nothing else (the trail's commonest view), read as
/// the newest `limit + 1` entries of each namespace in it (an index range
/// each), merged: a busy subtree's entries are not all gathered and sorted.
/// `None` when the filter has more to it or the subtree has many namespaces.
fn subtree_page(
    conn: &Connection,
    filter: &AuditFilter,
    scopes: &[Scope],
    before: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Option<Vec<AuditEntry>>> {
    let AuditFilter { namespace: Some(ns), actor: None, actions, key: None, from: None, to: None, outcome } = filter
    else {
        return Ok(None);
    };
    if !actions.is_empty() {
        return Ok(None);
    }
    let Some(names) = namespaces_in_subtree(conn, ns.as_str())? else { return Ok(None) };
    let visible = |name: &str| {
        scopes.iter().any(|scope| match scope {
            Scope::All => true,
            Scope::Subtree(granted) => in_subtree(name, granted.as_str()),
        })
    };
    // The outcome condition is written as the partial indexes' own (see `where_clause`).
    let outcome = match outcome {
        None => "",
        Some(OutcomeFilter::Refused) => " AND substr(outcome, 1, 2) <> 'ok'",
        Some(OutcomeFilter::Ok) => " AND substr(outcome, 1, 2) = 'ok'",
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audit WHERE namespace = ?1 AND id < ?2{outcome} ORDER BY id DESC LIMIT ?3"
    ))?;
    let mut entries = Vec::new();
    for name in names.iter().filter(|name| visible(name)) {
        let rows = stmt.query_map(params![name, before.unwrap_or(i64::MAX), limit as i64 + 1], entry_from_row)?;
        entries.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
    entries.truncate(limit + 1);
    Ok(Some(entries))
}

/// Up to `limit` entries matching `filter`, newest first, older than `before`
/// (keyset pagination: the cost does not grow with how far one pages back).
pub fn page(
    conn: &Connection,
    filter: &AuditFilter,
    scopes: &[Scope],
    before: Option<i64>,
    limit: usize,
) -> rusqlite::Result<AuditPage> {
    let mut entries = match subtree_page(conn, filter, scopes, before, limit)? {
        Some(entries) => entries,
        None => query_page(conn, filter, scopes, before, limit)?,
    };
    let older = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries.last().map(|e| e.id)
    });
    Ok(AuditPage { entries, older: older.flatten() })
}

/// [`page`] as one query: the newest `limit + 1` matches.
fn query_page(
    conn: &Connection,
    filter: &AuditFilter,
    scopes: &[Scope],
    before: Option<i64>,
    limit: usize,
) -> rusqlite::Result<Vec<AuditEntry>> {
    let (mut sql, mut args) = where_clause(filter, scopes);
    if let Some(before) = before {
        args.push(Box::new(before));
        sql = format!("{sql} AND id < ?{}", args.len());
    }
    let query = format!("SELECT {COLUMNS} FROM audit WHERE {sql} ORDER BY id DESC LIMIT {}", limit + 1);
    let mut stmt = conn.prepare(&query)?;
    let entries = stmt
        .query_map(rusqlite::params_from_iter(args.iter().map(|a| a.as_ref())), entry_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(entries)
}

/// Calls `each` for every entry matching `filter`, oldest first, one row in
/// memory at a time; stops early when `each` returns false.
pub fn for_each(
    conn: &Connection,
    filter: &AuditFilter,
    scopes: &[Scope],
    mut each: impl FnMut(AuditEntry) -> bool,
) -> rusqlite::Result<()> {
    let (sql, args) = where_clause(filter, scopes);
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM audit WHERE {sql} ORDER BY id"))?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter().map(|a| a.as_ref())))?;
    while let Some(row) = rows.next()? {
        if !each(entry_from_row(row)?) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_when_stored_and_the_chain_still_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::db::open(&dir.path().join("t.db")).unwrap();
        let key = AuditKey::derive(&BaseKey::generate().unwrap());
        let entry = NewEntry {
            at: Timestamp(0),
            actor: "a".into(),
            action: "read",
            namespace: "é".repeat(1000),
            key: "k".into(),
            version: None,
            client: "c".into(),
            outcome: "ok".into(),
        };
        append(&conn, &key, entry).unwrap();
        let stored: String = conn.query_row("SELECT namespace FROM audit", [], |r| r.get(0)).unwrap();
        assert_eq!(stored, "é".repeat(MAX_TEXT));
        assert_eq!(verify(&conn, &key).unwrap(), Verdict::Intact { entries: 1 });
    }

    #[test]
    fn a_subtree_page_merged_per_namespace_equals_the_single_query() {
        use crate::domain::NamespacePath;
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::db::open(&dir.path().join("t.db")).unwrap();
        let key = AuditKey::derive(&BaseKey::generate().unwrap());
        let names = ["co", "co.a", "co.a.x", "co.b", "co-op", "co-op.a", "cob", "", "other"];
        for n in 0..900 {
            let entry = NewEntry {
                at: Timestamp(n),
                actor: "a".into(),
                action: "read",
                namespace: names[(n as usize * 7) % names.len()].into(),
                key: "k".into(),
                version: None,
                client: "c".into(),
                outcome: if n % 5 == 0 { "refused: forbidden".into() } else { "ok".into() },
            };
            append(&conn, &key, entry).unwrap();
        }
        let sub = |s: &str| Scope::Subtree(NamespacePath::parse(s).unwrap());
        let scope_sets = [vec![Scope::All], vec![sub("co.a")], vec![sub("co.b"), sub("co-op")], vec![sub("other")]];
        for ns in ["co", "co.a", "co-op", "cob", "nothing"] {
            for outcome in [None, Some(OutcomeFilter::Ok), Some(OutcomeFilter::Refused)] {
                let filter =
                    AuditFilter { namespace: Some(NamespacePath::parse(ns).unwrap()), outcome, ..Default::default() };
                for scopes in &scope_sets {
                    for before in [None, Some(500), Some(3)] {
                        for limit in [1, 50, 1000] {
                            let merged = subtree_page(&conn, &filter, scopes, before, limit).unwrap().unwrap();
                            let single = query_page(&conn, &filter, scopes, before, limit).unwrap();
                            assert_eq!(merged, single, "{ns} {outcome:?} {scopes:?} {before:?} {limit}");
                        }
                    }
                }
            }
        }
        // Anything more to the filter, or too many namespaces: the single query.
        let filter = AuditFilter {
            namespace: Some(NamespacePath::parse("co").unwrap()),
            actor: Some("a".into()),
            ..Default::default()
        };
        assert!(subtree_page(&conn, &filter, &[Scope::All], None, 50).unwrap().is_none());
        for n in 0..=MAX_MERGED {
            let entry = NewEntry {
                at: Timestamp(0),
                actor: "a".into(),
                action: "read",
                namespace: format!("co.many{n}"),
                key: "k".into(),
                version: None,
                client: "c".into(),
                outcome: "ok".into(),
            };
            append(&conn, &key, entry).unwrap();
        }
        let filter = AuditFilter { namespace: Some(NamespacePath::parse("co").unwrap()), ..Default::default() };
        assert!(subtree_page(&conn, &filter, &[Scope::All], None, 50).unwrap().is_none());
    }
}

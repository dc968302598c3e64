//! Filtered, paged reads of the trail (pages, exports).

use crate::domain::{
    audit::{AuditEntry, AuditFilter, AuditPage, OutcomeFilter},
    Scope, Timestamp,
};
use rusqlite::{params, Connection, Row, ToSql};

pub(super) const COLUMNS: &str = "id, at, actor, action, namespace, key, version, client, outcome";

pub(super) fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
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
pub(super) fn where_clause(filter: &AuditFilter, scopes: &[Scope]) -> (String, Vec<Box<dyn ToSql>>) {
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
pub(super) fn in_subtree(namespace: &str, ns: &str) -> bool {
    namespace == ns || namespace.strip_prefix(ns).is_some_and(|rest| rest.starts_with('.'))
}

/// Subtrees with more namespaces than this are read with one query instead.
pub(super) const MAX_MERGED: usize = 64;

/// The distinct namespaces in `ns`'s subtree that have entries, by one index
/// seek each (a loose index scan); `None` when there are more than `MAX_MERGED`.
pub(super) fn namespaces_in_subtree(conn: &Connection, ns: &str) -> rusqlite::Result<Option<Vec<String>>> {
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
pub(super) fn subtree_page(
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
pub(super) fn query_page(
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

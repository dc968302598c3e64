//! Filtered, paged reads of the trail (pages, exports).

use crate::domain::{
    audit::{AuditEntry, AuditFilter, AuditPage, OutcomeFilter},
    Scope, Timestamp,
};
use crate::ssr::db::sql::{Sql, SqlError, Value};

pub(super) const COLUMNS: &str = "id, at, actor, action, namespace, key, version, client, outcome";

pub(super) fn entry_from(r: &[Value<'_>]) -> Result<AuditEntry, SqlError> {
    Ok(AuditEntry {
        id: r[0].int()?,
        at: Timestamp(r[1].int()?),
        actor: r[2].text()?.to_owned(),
        action: r[3].text()?.to_owned(),
        namespace: r[4].text()?.to_owned(),
        key: r[5].text()?.to_owned(),
        version: r[6].opt_int()?,
        client: r[7].text()?.to_owned(),
        outcome: r[8].text()?.to_owned(),
    })
}

/// The WHERE clause and its parameters for `filter`, limited to what `scopes`
/// may see (entries without a namespace only for scope `All`).
pub(super) fn where_clause(filter: &AuditFilter, scopes: &[Scope]) -> (String, Vec<Value<'static>>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Value<'static>> = Vec::new();
    // `ns` or below: `ns.` ≤ namespace < `ns/` (`/` follows `.`), an index range.
    let subtree = |ns: &str, args: &mut Vec<Value<'static>>| {
        args.push(ns.to_owned().into());
        args.push(format!("{ns}.").into());
        args.push(format!("{ns}/").into());
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
        clauses.push(if parts.is_empty() { "1 = 0".into() } else { format!("({})", parts.join(" OR ")) });
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
                args.push(a.as_str().to_owned().into());
                format!("?{}", args.len())
            })
            .collect();
        clauses.push(format!("action IN ({})", marks.join(", ")));
    }
    let mut push = |sql: &str, arg: Value<'static>| {
        args.push(arg);
        clauses.push(sql.replace('?', &format!("?{}", args.len())));
    };
    if let Some(actor) = &filter.actor {
        push("actor = ?", actor.clone().into());
    }
    if let Some(key) = &filter.key {
        push("key = ?", key.clone().into());
    }
    if let Some(from) = filter.from {
        push("at >= ?", from.0.into());
    }
    if let Some(to) = filter.to {
        push("at < ?", to.0.into());
    }
    // Written as the `audit_refused` index's condition, so that index serves it.
    match filter.outcome {
        Some(OutcomeFilter::Refused) => clauses.push("substr(outcome, 1, 2) <> 'ok'".into()),
        Some(OutcomeFilter::Ok) => clauses.push("substr(outcome, 1, 2) = 'ok'".into()),
        None => {}
    }
    let sql = if clauses.is_empty() { "1 = 1".to_owned() } else { clauses.join(" AND ") };
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
pub(super) fn namespaces_in_subtree<S: Sql + ?Sized>(db: &S, ns: &str) -> Result<Option<Vec<String>>, SqlError> {
    let mut found = Vec::new();
    if db.query_opt("SELECT 1 FROM audit WHERE namespace = ?1 LIMIT 1", &[ns.into()])?.is_some() {
        found.push(ns.to_owned());
    }
    let (low, high) = (format!("{ns}."), format!("{ns}/"));
    let least = |sql: &str, from: &str| -> Result<Option<String>, SqlError> {
        let row = db.query(sql, &[from.into(), high.as_str().into()])?;
        Ok(row.first().map(|r| r[0].opt_text().map(|t| t.map(str::to_owned))).transpose()?.flatten())
    };
    let mut next = least("SELECT min(namespace) FROM audit WHERE namespace >= ?1 AND namespace < ?2", &low)?;
    while let Some(name) = next {
        if found.len() == MAX_MERGED {
            return Ok(None);
        }
        next = least("SELECT min(namespace) FROM audit WHERE namespace > ?1 AND namespace < ?2", &name)?;
        found.push(name);
    }
    Ok(Some(found))
}

/// A subtree filtered by nothing else (the trail's commonest view), read as
/// the newest `limit + 1` entries of each namespace in it (an index range
/// each), merged: a busy subtree's entries are not all gathered and sorted.
/// `None` when the filter has more to it or the subtree has many namespaces.
pub(super) fn subtree_page<S: Sql + ?Sized>(
    db: &S,
    filter: &AuditFilter,
    scopes: &[Scope],
    before: Option<i64>,
    limit: usize,
) -> Result<Option<Vec<AuditEntry>>, SqlError> {
    let AuditFilter { namespace: Some(ns), actor: None, actions, key: None, from: None, to: None, outcome } = filter
    else {
        return Ok(None);
    };
    if !actions.is_empty() {
        return Ok(None);
    }
    let Some(names) = namespaces_in_subtree(db, ns.as_str())? else { return Ok(None) };
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
    let sql =
        format!("SELECT {COLUMNS} FROM audit WHERE namespace = ?1 AND id < ?2{outcome} ORDER BY id DESC LIMIT ?3");
    let mut entries = Vec::new();
    for name in names.iter().filter(|name| visible(name)) {
        let args = [name.as_str().into(), before.unwrap_or(i64::MAX).into(), (limit as i64 + 1).into()];
        db.query_each(&sql, &args, &mut |r| {
            entries.push(entry_from(r)?);
            Ok(())
        })?;
    }
    entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
    entries.truncate(limit + 1);
    Ok(Some(entries))
}

/// Up to `limit` entries matching `filter`, newest first, older than `before`
/// (keyset pagination: the cost does not grow with how far one pages back).
pub fn page<S: Sql + ?Sized>(
    db: &S,
    filter: &AuditFilter,
    scopes: &[Scope],
    before: Option<i64>,
    limit: usize,
) -> Result<AuditPage, SqlError> {
    let mut entries = match subtree_page(db, filter, scopes, before, limit)? {
        Some(entries) => entries,
        None => query_page(db, filter, scopes, before, limit)?,
    };
    let older = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries.last().map(|e| e.id)
    });
    Ok(AuditPage { entries, older: older.flatten() })
}

/// [`page`] as one query: the newest `limit + 1` matches.
pub(super) fn query_page<S: Sql + ?Sized>(
    db: &S,
    filter: &AuditFilter,
    scopes: &[Scope],
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<AuditEntry>, SqlError> {
    let (mut sql, mut args) = where_clause(filter, scopes);
    if let Some(before) = before {
        args.push(before.into());
        sql = format!("{sql} AND id < ?{}", args.len());
    }
    let query = format!("SELECT {COLUMNS} FROM audit WHERE {sql} ORDER BY id DESC LIMIT {}", limit + 1);
    let mut entries = Vec::new();
    db.query_each(&query, &args, &mut |r| {
        entries.push(entry_from(r)?);
        Ok(())
    })?;
    Ok(entries)
}

/// Calls `each` for every entry matching `filter`, oldest first, one row in
/// memory at a time; stops early when `each` returns false.
pub fn for_each<S: Sql + ?Sized>(
    db: &S,
    filter: &AuditFilter,
    scopes: &[Scope],
    mut each: impl FnMut(AuditEntry) -> bool,
) -> Result<(), SqlError> {
    let (sql, args) = where_clause(filter, scopes);
    let streamed =
        db.query_each(&format!("SELECT {COLUMNS} FROM audit WHERE {sql} ORDER BY id"), &args, &mut |r| match each(
            entry_from(r)?,
        ) {
            true => Ok(()),
            false => Err(SqlError::Stopped),
        });
    match streamed {
        Err(SqlError::Stopped) => Ok(()),
        other => other,
    }
}

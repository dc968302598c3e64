//! `strongroom backup PATH` and `strongroom restore PATH`: a consistent copy
//! of the database while the server runs, and putting one back.
//!
//! A backup is the database file itself (values, keyring and trail still
//! encrypted and MACed); the root key is never in it. A restore refuses a file
//! that is damaged, was made with another root key, holds schema objects the
//! migrations did not make (a trigger that widens every new token), whose
//! trail does not verify, whose security rows (users, grants, tokens) were
//! changed without the root key, or one of whose secrets was rolled back to an
//! older version than the trail records; it says which. Sessions never come
//! back: every restore signs everyone out.

use super::RunError;
use crate::config::{ensure_dir, KeyArgs};
use app::domain::audit::Action;
use app::ssr::{
    audit::{self, Verdict},
    crypto::{CryptoError, RootKey},
    db,
    store::keyring,
    store::rows,
    store::StoreError,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::{
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

/// What a backup holds, as printed.
struct Summary {
    bytes: u64,
    secrets: i64,
    versions: i64,
    audit_entries: i64,
}

fn summary(path: &Path) -> rusqlite::Result<Summary> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    Ok(Summary {
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        secrets: count("SELECT count(*) FROM secrets WHERE deleted_at IS NULL")?,
        versions: count("SELECT count(*) FROM secret_versions WHERE ciphertext IS NOT NULL")?,
        audit_entries: count("SELECT count(*) FROM audit")?,
    })
}

fn failed<'a>(what: &'static str, path: &'a Path) -> impl Fn(rusqlite::Error) -> RunError + 'a {
    move |e| RunError::User(format!("{what} {}: {e}", path.display()))
}

pub async fn backup(to: PathBuf, key: &KeyArgs) -> Result<(), RunError> {
    if std::fs::symlink_metadata(&to).is_ok() {
        return Err(RunError::User(format!(
            "{} exists: a backup never overwrites a file or writes through a link",
            to.display()
        )));
    }
    // Opening checks the root key: a backup made with the wrong one could not be restored.
    let state = super::local::open(key, false).await?;
    // Made new, empty and owner-only first (never through a link, never a file
    // someone else made): SQLite writes into it with that mode.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc_o_nofollow())
        .open(&to)
        .map_err(|e| RunError::User(format!("cannot create {}: {e}", to.display())))?;
    let target = to.to_string_lossy().into_owned();
    // One read transaction: a consistent copy however busy the server is.
    // From PostgreSQL, the same portable SQLite file: a copy into it (see `store copy`).
    let root = key.root_key()?.0;
    let copied = state
        .db
        .call(move |c| match c.sqlite() {
            Some(c) => c.execute("VACUUM INTO ?1", [target]).map(|_| ()).map_err(|e| e.to_string()),
            None => {
                let mut file =
                    app::ssr::db::Source::File(PathBuf::from(&target)).connect(false).map_err(|e| e.to_string())?;
                app::ssr::db::in_snapshot(c, |snapshot| {
                    app::ssr::store::copy::copy(snapshot, &mut file, &root, app::ssr::clock::now(), |_, _, _| ())
                })
                .map_err(|e| e.to_string())?
                .map(|_| ())
                .map_err(|e| e.to_string())
            }
        })
        .await;
    if let Err(e) = copied {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
        }
        return Err(RunError::User(format!("cannot back up into {}: {e}", to.display())));
    }
    let s = summary(&to).map_err(failed("cannot read the backup", &to))?;
    println!(
        "backed up to {}: {} bytes, {} secrets ({} stored versions), {} audit entries; \
         still encrypted: keep the root key apart from it",
        to.display(),
        s.bytes,
        s.secrets,
        s.versions,
        s.audit_entries
    );
    Ok(())
}

/// `O_NOFOLLOW`: a link at the backup's path is refused, not followed.
fn libc_o_nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// The schema objects (`type`, `name`, `tbl_name`, `sql`) of a database.
fn schema(conn: &Connection) -> rusqlite::Result<std::collections::BTreeSet<[Option<String>; 4]>> {
    let mut stmt =
        conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%'")?;
    let rows = stmt.query_map([], |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]))?;
    rows.collect()
}

/// The first schema object the file has that the migrations do not make (or
/// the other way round): a trigger or view someone added could rewrite every
/// new row, and the file's own version must be one this binary knows.
fn foreign_schema(conn: &Connection) -> Result<(), String> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| e.to_string())?;
    let Some(version) = usize::try_from(version).ok().filter(|v| *v <= db::MIGRATIONS_LEN) else {
        return Err(format!(
            "its schema is version {version}, newer than this strongroom knows: restore it with a newer one"
        ));
    };
    // An older backup is compared with what the migrations made up to its version (then migrated).
    let fresh = db::open_in_memory_at(version).map_err(|e| e.to_string())?;
    let (want, have) = (schema(&fresh).map_err(|e| e.to_string())?, schema(conn).map_err(|e| e.to_string())?);
    let name =
        |o: &[Option<String>; 4]| format!("{} {}", o[0].as_deref().unwrap_or("?"), o[1].as_deref().unwrap_or("?"));
    if let Some(extra) = have.difference(&want).next() {
        return Err(format!("it holds a schema object the migrations did not make or made otherwise: {}", name(extra)));
    }
    if let Some(missing) = want.difference(&have).next() {
        return Err(format!("it lacks a schema object the migrations make: {}", name(missing)));
    }
    Ok(())
}

/// Each secret's current version against the newest version the (verified)
/// trail records for it: an older one was rolled back (an old copy of the row
/// put back), a missing one was removed without a purge.
fn rolled_back(conn: &Connection) -> Result<(), String> {
    let q = |e: rusqlite::Error| format!("its secrets cannot be read: {e}");
    let writes = [Action::SecretAdd, Action::SecretRotate, Action::SecretRestoreVersion];
    let mut recorded: std::collections::HashMap<(String, String), i64> = std::collections::HashMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT action, namespace, key, version FROM audit
             WHERE action IN (?1, ?2, ?3, ?4) AND substr(outcome, 1, 2) = 'ok' ORDER BY id",
        )
        .map_err(q)?;
    let purge = Action::SecretPurge.as_str();
    let params = [writes[0].as_str(), writes[1].as_str(), writes[2].as_str(), purge];
    let mut rows = stmt.query(params).map_err(q)?;
    while let Some(row) = rows.next().map_err(q)? {
        let (action, ns, key, version): (String, String, String, Option<i64>) =
            (row.get(0).map_err(q)?, row.get(1).map_err(q)?, row.get(2).map_err(q)?, row.get(3).map_err(q)?);
        if action == purge {
            recorded.remove(&(ns, key));
        } else if let Some(version) = version {
            recorded.insert((ns, key), version);
        }
    }
    let mut stmt = conn
        .prepare("SELECT n.path, s.key, s.version FROM secrets s JOIN namespaces n ON n.id = s.namespace_id")
        .map_err(q)?;
    let current = stmt
        .query_map([], |r| Ok(((r.get::<_, String>(0)?, r.get::<_, String>(1)?), r.get::<_, i64>(2)?)))
        .map_err(q)?
        .collect::<rusqlite::Result<std::collections::HashMap<_, _>>>()
        .map_err(q)?;
    for ((ns, key), version) in &recorded {
        match current.get(&(ns.clone(), key.clone())) {
            None => return Err(format!("secret {ns}/{key} is gone, though the trail records no purge of it")),
            Some(now) if now < version => {
                return Err(format!(
                    "secret {ns}/{key} is at version {now}, but the trail records version {version}: it was rolled back"
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The security rows against the (verified) trail: a MAC proves a row was
/// written by this server, not that it is the newest, so an older row put
/// back from an older copy is found here — a token revoked in the trail but
/// not in its row, a grant the trail revoked (or made) that is there (or
/// gone), a user disabled or enabled otherwise, a password older than its
/// last recorded change.
fn security_rolled_back(conn: &Connection) -> Result<(), String> {
    use std::collections::HashMap;
    let q = |e: rusqlite::Error| format!("its security rows cannot be read: {e}");
    let actions = [
        Action::TokenCreate,
        Action::TokenRevoke,
        Action::UserAdd,
        Action::UserGrant,
        Action::UserRevoke,
        Action::UserDisable,
        Action::UserEnable,
        Action::UserResetPassword,
        Action::PasswordChange,
    ];
    let marks = vec!["?"; actions.len()].join(",");
    let mut stmt = conn
        .prepare(&format!(
            "SELECT action, actor, namespace, key, at FROM audit
             WHERE action IN ({marks}) AND substr(outcome, 1, 2) = 'ok' ORDER BY id"
        ))
        .map_err(q)?;
    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(names.iter())).map_err(q)?;
    let (mut revoked, mut grants, mut disabled, mut password) =
        (HashMap::<String, bool>::new(), HashMap::new(), HashMap::new(), HashMap::<String, i64>::new());
    while let Some(r) = rows.next().map_err(q)? {
        let (action, actor, ns, key, at): (String, String, String, String, i64) = (
            r.get(0).map_err(q)?,
            r.get(1).map_err(q)?,
            r.get(2).map_err(q)?,
            r.get(3).map_err(q)?,
            r.get(4).map_err(q)?,
        );
        // Grant entries name "USER as ROLE" and the subtree as parsed.
        let grant = || {
            key.split_once(" as ").map(|(u, role)| (u.trim().to_owned(), role.trim().to_ascii_lowercase(), ns.clone()))
        };
        match Action::parse(&action) {
            Some(Action::TokenCreate) => {
                revoked.insert(key, false);
            }
            Some(Action::TokenRevoke) => {
                revoked.insert(key, true);
            }
            Some(action @ (Action::UserAdd | Action::UserGrant | Action::UserRevoke)) => {
                if let Some(g) = grant() {
                    grants.insert(g, action != Action::UserRevoke);
                }
            }
            Some(action @ (Action::UserDisable | Action::UserEnable)) => {
                disabled.insert(key, action == Action::UserDisable);
            }
            Some(Action::UserResetPassword) => {
                password.insert(key, at);
            }
            Some(Action::PasswordChange) => {
                password.insert(actor, at);
            }
            _ => {}
        }
    }
    for (name, was_revoked) in revoked {
        let row: Option<bool> = conn
            .query_row("SELECT revoked_at IS NOT NULL FROM tokens WHERE name = ?1", [&name], |r| r.get(0))
            .optional()
            .map_err(q)?;
        match row {
            // A login's token is pruned by the role's next login once expired.
            None if app::domain::token::is_login_name(&name) => {}
            None => return Err(format!("token {name:?} is gone, though the trail records it")),
            Some(now) if now != was_revoked => {
                return Err(format!(
                "token {name:?} is not as the trail last left it (revoked: {was_revoked}): an older row was put back"
            ))
            }
            Some(_) => {}
        }
    }
    for ((user, role, scope), held) in grants {
        let there: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM grants g JOIN users u ON u.id = g.user_id
                 WHERE u.username = ?1 AND g.role = ?2 AND g.namespace = ?3)",
                [&user, &role, &scope],
                |r| r.get(0),
            )
            .map_err(q)?;
        if there != held {
            let what = if held { "is missing" } else { "is back after the trail revoked it" };
            return Err(format!("grant {role} on {scope:?} of {user:?} {what}"));
        }
    }
    for (user, was_disabled) in disabled {
        let row: Option<bool> = conn
            .query_row("SELECT disabled FROM users WHERE username = ?1", [&user], |r| r.get(0))
            .optional()
            .map_err(q)?;
        if row.is_some_and(|now| now != was_disabled) {
            return Err(format!("user {user:?} is not as the trail last left it (disabled: {was_disabled})"));
        }
    }
    // A password is stamped after the entry recording its change was (in the same
    // write): a row older than that entry is an older row put back.
    for (user, changed) in password {
        let row: Option<i64> = conn
            .query_row("SELECT password_changed_at FROM users WHERE username = ?1", [&user], |r| r.get(0))
            .optional()
            .map_err(q)?;
        if row.is_some_and(|at| at < changed) {
            return Err(format!(
                "user {user:?} has a password older than its last recorded change: an older row was put back"
            ));
        }
    }
    Ok(())
}

/// The AppRoles, their secret ids and the JWT roles against the (verified) trail, as
/// [`security_rolled_back`] does for tokens: a role or secret id revoked in
/// the trail but live in its row, or one the trail made that is gone, is an
/// older row put back (its MAC holds: it was this server's, once).
fn approles_rolled_back(conn: &Connection) -> Result<(), String> {
    use std::collections::HashMap;
    let q = |e: rusqlite::Error| format!("its AppRoles cannot be read: {e}");
    let mut stmt = conn
        .prepare(
            "SELECT action, key, outcome FROM audit
             WHERE action IN (?1, ?2, ?3, ?4, ?5, ?6) AND substr(outcome, 1, 2) = 'ok' ORDER BY id",
        )
        .map_err(q)?;
    let actions = [
        Action::AppRoleCreate,
        Action::AppRoleRevoke,
        Action::AppRoleSecretId,
        Action::AppRoleSecretIdRevoke,
        Action::JwtRoleCreate,
        Action::JwtRoleRevoke,
    ];
    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(names.iter())).map_err(q)?;
    // Role name -> revoked; secret id accessor -> (role, revoked).
    let (mut roles, mut secret_ids) = (HashMap::<String, bool>::new(), HashMap::<String, (String, bool)>::new());
    let mut jwt_roles = HashMap::<String, bool>::new();
    while let Some(r) = rows.next().map_err(q)? {
        let (action, role, outcome): (String, String, String) =
            (r.get(0).map_err(q)?, r.get(1).map_err(q)?, r.get(2).map_err(q)?);
        let accessor = outcome.strip_prefix("ok: accessor ").map(str::to_owned);
        match Action::parse(&action) {
            Some(Action::AppRoleCreate | Action::AppRoleSecretId) => {
                if action == Action::AppRoleCreate.as_str() {
                    roles.insert(role.clone(), false);
                }
                if let Some(accessor) = accessor {
                    secret_ids.insert(accessor, (role, false));
                }
            }
            Some(Action::AppRoleSecretIdRevoke) => {
                if let Some(accessor) = accessor {
                    secret_ids.insert(accessor, (role, true));
                }
            }
            Some(Action::AppRoleRevoke) => {
                // Revoking a role revokes every secret id it had.
                secret_ids.values_mut().filter(|(of, _)| *of == role).for_each(|(_, revoked)| *revoked = true);
                roles.insert(role, true);
            }
            Some(Action::JwtRoleCreate) => {
                jwt_roles.insert(role, false);
            }
            Some(Action::JwtRoleRevoke) => {
                jwt_roles.insert(role, true);
            }
            _ => {}
        }
    }
    let state = |sql: &str, key: &str| -> Result<Option<bool>, String> {
        conn.query_row(sql, [key], |r| r.get(0)).optional().map_err(q)
    };
    for (name, was_revoked) in roles {
        match state("SELECT revoked_at IS NOT NULL FROM approles WHERE name = ?1", &name)? {
            None => return Err(format!("AppRole {name:?} is gone, though the trail records it")),
            Some(now) if now != was_revoked => {
                return Err(format!("AppRole {name:?} is not as the trail last left it (revoked: {was_revoked})"))
            }
            Some(_) => {}
        }
    }
    for (name, was_revoked) in jwt_roles {
        match state("SELECT revoked_at IS NOT NULL FROM jwt_roles WHERE name = ?1", &name)? {
            None => return Err(format!("JWT role {name:?} is gone, though the trail records it")),
            Some(now) if now != was_revoked => {
                return Err(format!("JWT role {name:?} is not as the trail last left it (revoked: {was_revoked})"))
            }
            Some(_) => {}
        }
    }
    for (accessor, (role, was_revoked)) in secret_ids {
        match state("SELECT revoked_at IS NOT NULL FROM approle_secret_ids WHERE accessor = ?1", &accessor)? {
            None => {
                return Err(format!(
                    "a secret id of AppRole {role:?} ({accessor}) is gone, though the trail records it"
                ))
            }
            Some(false) if was_revoked => {
                return Err(format!(
                    "a secret id of AppRole {role:?} ({accessor}) is live again after the trail revoked it"
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Why a file cannot be restored. Also ends every session in it.
fn check(path: &Path, root: &RootKey) -> Result<(), String> {
    {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("not a database: {e}"))?;
        let verdict: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| format!("not a Strongroom database or damaged: {e}"))?;
        if verdict != "ok" {
            return Err(format!("it fails SQLite's integrity check: {verdict}"));
        }
        // Before anything runs on it with write access (a trigger would fire).
        foreign_schema(&conn)?;
    }
    let mut conn = db::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let unlocked = match keyring::unlock(&mut conn, root, app::ssr::clock::now()) {
        Ok(unlocked) => unlocked,
        Err(StoreError::Crypto(CryptoError::WrongRootKey)) => {
            return Err("it was made with another root key (its key check does not open)".into())
        }
        Err(e) => return Err(format!("its keyring cannot be read: {e}")),
    };
    match audit::verify(&conn, &unlocked.audit_key()) {
        Ok(Verdict::Intact { .. }) => {}
        Ok(Verdict::Broken { id, problem }) => {
            return Err(format!("its audit trail is broken at entry {id}: {problem}"))
        }
        Err(e) => return Err(format!("its audit trail cannot be read: {e}")),
    }
    rows::check_all(&conn, &unlocked.row_key()).map_err(|e| e.to_string())?;
    rolled_back(&conn)?;
    security_rolled_back(&conn)?;
    approles_rolled_back(&conn)?;
    keyring::verify_all(&conn, &unlocked.keyring)?;
    // A session in a copy is someone's sign-in from then (or one made up): none comes back.
    conn.execute("DELETE FROM sessions", []).map_err(|e| format!("cannot end its sessions: {e}"))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(|e| e.to_string())?;
    Ok(())
}

pub async fn restore(from: PathBuf, key: &KeyArgs) -> Result<(), RunError> {
    let db_path = key.db_path();
    if std::fs::metadata(&db_path).is_ok_and(|m| m.len() > 0) {
        return Err(RunError::User(format!(
            "{} exists: restore only into an empty data directory (move the old one aside first)",
            db_path.display()
        )));
    }
    if !from.is_file() {
        return Err(RunError::User(format!("no backup file at {}", from.display())));
    }
    // SQLite would replay a leftover journal of the old database into the restored one.
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if std::fs::symlink_metadata(&side).is_ok() {
            return Err(RunError::User(format!(
                "{} exists (left by the database that was here): move it aside with the old database, then restore",
                side.display()
            )));
        }
    }
    let (root, _) = key.root_key()?;
    ensure_dir(&key.data_dir)?;
    // Checked on a copy beside the target, then renamed into place: never a
    // half-restored database under the real name.
    let staging = key.data_dir.join("strongroom.db.restoring");
    let _ = std::fs::remove_file(&staging);
    std::fs::copy(&from, &staging).map_err(|e| RunError::User(format!("cannot copy {}: {e}", from.display())))?;
    let checked = app::ssr::db::run_blocking({
        let staging = staging.clone();
        move || check(&staging, &root)
    })
    .await;
    if let Err(why) = checked {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
        }
        return Err(RunError::User(format!("refusing to restore {}: {why}", from.display())));
    }
    let before = summary(&staging).map_err(failed("cannot read", &staging))?;
    std::fs::rename(&staging, &db_path).map_err(|e| RunError::User(format!("cannot move the restored file: {e}")))?;
    // What is under the real name now is what was checked (and opens with the key).
    let s = summary(&db_path).map_err(failed("cannot read", &db_path))?;
    let (root, _) = key.root_key()?;
    let reopened = app::ssr::db::run_blocking({
        let path = db_path.clone();
        move || {
            let mut conn = db::open(&path).map_err(|e| e.to_string())?;
            keyring::unlock(&mut conn, &root, app::ssr::clock::now()).map(|_| ()).map_err(|e| e.to_string())
        }
    })
    .await;
    let same = (s.secrets, s.versions, s.audit_entries) == (before.secrets, before.versions, before.audit_entries);
    if let (false, _) | (_, Err(_)) = (same, &reopened) {
        let why = reopened.err().unwrap_or_else(|| "its counts changed after the move".into());
        return Err(RunError::User(format!(
            "the restored database at {} does not check out: {why}",
            db_path.display()
        )));
    }
    println!(
        "restored {} into {}: {} secrets ({} stored versions), {} audit entries; key check and audit trail verified",
        from.display(),
        db_path.display(),
        s.secrets,
        s.versions,
        s.audit_entries
    );
    Ok(())
}

//! The SQLite file: connection settings, embedded migrations, and the one way
//! async code reaches it (`Db`: writes via `call`, reads via `read`, both off
//! the async runtime).
//!
//! Schema (version tracked in `PRAGMA user_version`):
//! - `meta(name, value)`: `key_check` (see `crypto`).
//! - `data_keys(id, nonce, wrapped, created_at)`: the keyring, wrapped by the root key.
//! - `namespaces(id, path, parent_id, description, created_at, created_by)`.
//! - `secrets(id, namespace_id, key, description, version, created_*, updated_*,
//!   deleted_*, rotate_by, rotate_every_days)`: one row per `(namespace, key)`;
//!   `version` is the current one; at most one of the two rotation columns is set.
//! - `secret_versions(secret_id, version, key_id, nonce, ciphertext, created_*,
//!   restored_from, fingerprint, fingerprint_gen)`: `key_id`, `nonce`,
//!   `ciphertext` and the fingerprint are NULL once destroyed by the retention
//!   limit. Values are never stored in clear; fingerprints are keyed
//!   (`store::fingerprints`).
//! - `users(id, username, password_hash, disabled, …)`: argon2id PHC strings.
//! - `grants(user_id, role, namespace)`: `namespace` is `''` for every namespace.
//! - `sessions(token_hash, user_id, created_at, last_seen_at)`: SHA-256 of the
//!   cookie's token; the token itself is never stored.
//! - `audit(id, at, actor, action, namespace, key, version, client, outcome, mac)`:
//!   the HMAC-chained trail (see `audit`); `meta.audit_head` holds the newest link.
//! - `secret_reads(namespace, key, reader, reads, last_at)`: who read each
//!   secret's value, how often and when last — a summary of the trail's
//!   `secret.read` entries kept by the batch that appends them (`audit::reads`).
//! - `tokens(id, name, token_hash, namespace, created_*, expires_at, last_used_at,
//!   revoked_*)`: workload tokens; SHA-256 of the token only; `namespace` is `''`
//!   for every namespace.
//! - `namespaces.changed`: the namespace's own change counter, advanced by
//!   triggers on `secrets` at every add, rotation, delete, restore or purge; a
//!   namespace's map version (Vault surface) is the sum of the counters along
//!   its ancestry, so it only ever grows.
//! - `users.mac`, `grants.mac`, `tokens.mac`: the security rows' MACs (`store::rows`).

use rusqlite::Connection;
use sql::Sql as _;
use std::{
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

mod conn;
pub mod group_commit;
pub mod lease;
mod migrations;
pub mod pg;
mod row_mac;
pub mod sql;
mod transact;
pub mod url;
pub use conn::Conn;
use migrations::MIGRATIONS;
pub use row_mac::RowKey;
pub use transact::Transact;

/// How many migrations this binary knows: the schema version it writes.
pub const MIGRATIONS_LEN: usize = MIGRATIONS.len();

/// A new database in memory with the schema of `version` (what a restore
/// compares a file of that version against).
pub fn open_in_memory_at(version: usize) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    migrate_to(&mut conn, version.min(MIGRATIONS.len()))?;
    Ok(conn)
}

/// Opens (creating if needed) the database at `path` and brings its schema up to date.
/// The file (and the `-wal` and `-shm` files SQLite makes beside it, which take
/// its mode) is readable by its owner only, whatever the umask or directory.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    owner_only(path);
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    migrate(&mut conn)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        // Made by SQLite with the database's mode; narrowed here if an older file was wider.
        let _ = std::fs::set_permissions(Path::new(&side), std::os::unix::fs::PermissionsExt::from_mode(0o600));
    }
    Ok(conn)
}

/// Creates `path` empty with mode 0600 if missing, or narrows it to 0600.
fn owner_only(path: &Path) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let made = std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(path);
    if made.is_ok() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

/// Below this much free space, `/readyz` says not ready: an audit append
/// (and so every value read) would fail soon or already does.
const MIN_FREE_BYTES: u64 = 1024 * 1024;

/// How long a statement waits for another connection's lock (another process:
/// a command, Litestream) before failing with SQLITE_BUSY.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // WAL for concurrent readers; FULL so a committed write survives power loss;
    // secure_delete so destroyed ciphertexts are overwritten, not just unlinked.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "secure_delete", true)?;
    // After a checkpoint the WAL shrinks back to this, instead of keeping old
    // page images (old ciphertexts among them) in its unused tail.
    conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Workload reads and the audit writer reuse a few dozen statements.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current as usize > MIGRATIONS.len() {
        // A newer strongroom wrote this file: reading it with an older one could lose data.
        let message = format!(
            "its schema (version {current}) is newer than this strongroom knows (version {}): \
             run the strongroom that last wrote it, or a newer one",
            MIGRATIONS.len()
        );
        let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN);
        return Err(rusqlite::Error::SqliteFailure(code, Some(message)));
    }
    migrate_to(conn, MIGRATIONS.len())
}

fn migrate_to(conn: &mut Connection, version: usize) -> rusqlite::Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().take(version).skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Where the store lives.
#[derive(Clone)]
#[expect(clippy::large_enum_variant, reason = "one per process")]
pub enum Source {
    File(std::path::PathBuf),
    Postgres(url::PgUrl),
}

impl Source {
    /// Opens one connection; a writable one brings the schema up to date.
    pub fn connect(&self, read_only: bool) -> Result<Conn, sql::SqlError> {
        match self {
            Source::File(path) if read_only => Ok(Conn::Sqlite(reader(path)?)),
            Source::File(path) => Ok(Conn::Sqlite(open(path)?)),
            Source::Postgres(url) if read_only => Ok(Conn::Postgres(pg::connect(url)?)),
            Source::Postgres(url) => {
                let mut conn = pg::connect(url)?;
                pg::migrate(&mut conn)?;
                Ok(Conn::Postgres(conn))
            }
        }
    }

    /// Whether a store is there: the SQLite file exists, or the PostgreSQL
    /// database has Strongroom's schema (a command that is not asked to
    /// create one must not make an empty store by mistake).
    pub fn exists(&self) -> Result<bool, sql::SqlError> {
        match self {
            Source::File(path) => Ok(path.is_file()),
            Source::Postgres(url) => Ok(pg::version(&pg::connect(url)?)? > 0),
        }
    }
}

impl std::fmt::Display for Source {
    /// The file's path, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Postgres(url) => write!(f, "{url}"),
        }
    }
}

/// The database as async code sees it: one writer connection and a few
/// read-only ones. On SQLite, WAL lets readers run while the writer waits on
/// `fsync`, so pages and session checks do not queue behind sign-ins and
/// edits; on PostgreSQL the same shape keeps this node's connections few.
/// Connections are not `Sync`, so each sits behind its own mutex; all work
/// runs on the blocking pool via [`run_blocking`].
/// One `Arc` for all of it: a clone (one per read) touches one shared count.
#[derive(Clone)]
pub struct Db(Arc<Connections>);

struct Connections {
    source: Source,
    writer: Mutex<Conn>,
    readers: Vec<Mutex<Conn>>,
    next: AtomicUsize,
}

impl Db {
    /// Opens and migrates the file at `path` (see [`open`]), plus `readers`
    /// connections that SQLite itself keeps from writing (`query_only`).
    pub fn open(path: &Path, readers: usize) -> rusqlite::Result<Self> {
        let source = Source::File(path.to_owned());
        let writer = Conn::Sqlite(open(path)?);
        let readers = (0..readers.max(1))
            .map(|_| reader(path).map(|c| Mutex::new(Conn::Sqlite(c))))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self(Arc::new(Connections { source, writer: Mutex::new(writer), readers, next: AtomicUsize::new(0) })))
    }

    /// Connects to PostgreSQL at `url` and brings its schema up to date (one
    /// node at a time), with `readers` more connections for reads.
    pub fn connect(url: &url::PgUrl, readers: usize) -> Result<Self, sql::SqlError> {
        let source = Source::Postgres(url.clone());
        let mut writer = pg::connect(url)?;
        pg::migrate(&mut writer)?;
        let readers = (0..readers.max(1))
            .map(|_| pg::connect(url).map(|c| Mutex::new(Conn::Postgres(c))))
            .collect::<Result<_, _>>()?;
        let writer = Mutex::new(Conn::Postgres(writer));
        Ok(Self(Arc::new(Connections { source, writer, readers, next: AtomicUsize::new(0) })))
    }

    pub fn engine(&self) -> sql::Engine {
        match self.0.source {
            Source::File(_) => sql::Engine::Sqlite,
            Source::Postgres(_) => sql::Engine::Postgres,
        }
    }

    /// Whether the disk under the database can take an append now: `Err`
    /// says why not (mounted read-only, or less than 1 MiB free). Cheap: one
    /// `statvfs`, no write. (PostgreSQL's disk is the database server's: its
    /// own errors say when it is full.)
    pub fn room_to_write(&self) -> Result<(), String> {
        let Source::File(path) = &self.0.source else { return Ok(()) };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let fs = rustix::fs::statvfs(dir).map_err(|e| format!("cannot stat the data directory: {e}"))?;
        if fs.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY) {
            return Err("the data directory is on a read-only file system".into());
        }
        let free = fs.f_bavail.saturating_mul(fs.f_frsize);
        if free < MIN_FREE_BYTES {
            return Err(format!("the disk is full ({free} bytes free)"));
        }
        Ok(())
    }

    /// A read-only connection of its own, for long reads (exports) that
    /// should not hold one of the shared readers.
    pub fn own_reader(&self) -> Result<Conn, sql::SqlError> {
        self.0.source.connect(true)
    }

    /// Runs `f` with the writer connection, blocking the calling thread: for
    /// start-up, before the runtime serves requests.
    pub fn write_now<T>(&self, f: impl FnOnce(&mut Conn) -> T) -> T {
        let mut conn = lock(&self.0.writer);
        self.0.revive(&mut conn);
        f(&mut conn)
    }

    /// Runs `f` with the writer connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> T + Send + 'static,
    {
        let db = self.0.clone();
        run_blocking(move || {
            let asked = crate::ssr::clock::instant();
            let mut conn = lock(&db.writer);
            waited("writer", asked);
            db.revive(&mut conn);
            // Every writer use starts outside a transaction, whatever the last
            // one did (a panic can leave one open).
            if conn.in_transaction() {
                tracing::error!("the writer connection was left inside a transaction; rolling it back");
                let _ = conn.rollback();
            }
            f(&mut conn)
        })
        .await
    }

    /// Copies the WAL into the database and truncates it to nothing, so that
    /// page images it held (a purged secret's ciphertext) are gone from disk.
    /// Returns false when a reader kept part of the WAL in use. Waits at most
    /// 100 ms for readers: Litestream holds a read transaction all the time,
    /// and the full busy timeout would stall every write for 5 s per purge.
    /// (Nothing to do on PostgreSQL: see docs/HA.md on VACUUM.)
    pub async fn checkpoint_truncate(&self) -> rusqlite::Result<bool> {
        self.call(|c| {
            let Some(c) = c.sqlite() else { return Ok(true) };
            c.busy_timeout(std::time::Duration::from_millis(100))?;
            let done = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
            c.busy_timeout(BUSY_TIMEOUT)?;
            done.map(|busy| busy == 0)
        })
        .await
    }

    /// Runs `f` with a read-only connection (a free one if any) on the blocking
    /// pool, inside one transaction so that all its queries see one snapshot.
    pub async fn read<T, F>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&Conn) -> T + Send + 'static,
    {
        let db = self.0.clone();
        run_blocking(move || {
            let asked = crate::ssr::clock::instant();
            let readers = &db.readers;
            let free = readers.iter().find_map(|r| r.try_lock().ok());
            let mut conn =
                free.unwrap_or_else(|| lock(&readers[db.next.fetch_add(1, Ordering::Relaxed) % readers.len()]));
            waited("reader", asked);
            db.revive(&mut conn);
            let _snapshot = Snapshot::begin(&conn); // if it fails, f's own queries say what is wrong
            f(&conn)
        })
        .await
    }
}

impl Connections {
    /// A PostgreSQL connection that was lost (its server restarted, a
    /// failover) is replaced before use; if that fails too, the caller's
    /// statements fail with "unavailable", and the next use tries again.
    fn revive(&self, conn: &mut Conn) {
        let Source::Postgres(url) = &self.source else { return };
        let lost = match conn {
            Conn::Postgres(client) => client.get_mut().is_closed(),
            Conn::Closed => true,
            Conn::Sqlite(_) => false,
        };
        if lost {
            match pg::connect(url) {
                Ok(fresh) => *conn = Conn::Postgres(fresh),
                Err(e) => tracing::warn!(error = %e, "the database is unavailable; will try again"),
            }
        }
    }
}

/// Runs `f` on `conn` inside one read transaction: all it reads is one snapshot.
pub fn in_snapshot<T>(conn: &Conn, f: impl FnOnce(&Conn) -> T) -> Result<T, sql::SqlError> {
    let _snapshot = Snapshot::begin(conn)?;
    Ok(f(conn))
}

/// A read transaction over a reader connection. On SQLite from prepared
/// (cached) `BEGIN` and `COMMIT`: parsing them anew for every read costs more
/// than the read. On PostgreSQL, repeatable read: one snapshot for all of it.
struct Snapshot<'a>(&'a Conn);

impl<'a> Snapshot<'a> {
    fn begin(conn: &'a Conn) -> Result<Self, sql::SqlError> {
        match conn {
            Conn::Sqlite(c) => {
                c.prepare_cached("BEGIN")?.execute([])?;
            }
            Conn::Postgres(c) => c.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?,
            Conn::Closed => return Err(sql::SqlError::Closed),
        }
        Ok(Self(conn))
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        match self.0 {
            Conn::Sqlite(c) => {
                if c.prepare_cached("COMMIT").and_then(|mut end| end.execute([])).is_err() {
                    let _ = c.execute_batch("ROLLBACK");
                }
            }
            Conn::Postgres(c) => {
                let _ = c.batch("COMMIT");
            }
            Conn::Closed => {}
        }
    }
}

fn reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// The disk is full, read-only or failing: nothing can be written now, and
/// SQLite rolled the statement back, so nothing was half-written either.
pub fn unwritable(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{DiskFull, ReadOnly, SystemIoFailure};
    matches!(e.sqlite_error_code(), Some(DiskFull | ReadOnly | SystemIoFailure))
}

fn waited(connection: &str, asked: std::time::Instant) {
    crate::ssr::metrics::metrics().db_wait.with_label_values(&[connection]).observe(asked.elapsed().as_secs_f64());
}

/// A panic while holding the lock leaves no half-written state behind
/// (transactions roll back on drop), so a poisoned lock is still usable.
fn lock<C>(conn: &Mutex<C>) -> std::sync::MutexGuard<'_, C> {
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs blocking work (SQLite, hashing) off the async runtime, inside the
/// caller's tracing span, re-raising any panic in the caller.
#[expect(clippy::panic, reason = "a blocking task is cancelled only when the runtime shuts down")]
pub async fn run_blocking<T, F>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let span = tracing::Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(f)).await {
        Ok(value) => value,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => panic!("blocking task was cancelled: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_wal_foreign_keys_and_the_latest_schema() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("t.db")).unwrap();
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        let fk: i64 = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).unwrap();
        let sync: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
        let version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!((mode.as_str(), fk, sync, version), ("wal", 1, 2, MIGRATIONS.len() as u32));
    }

    #[test]
    fn readers_see_committed_writes_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db"), 2).unwrap();
        db.write_now(|c| c.execute("INSERT INTO meta (name, value) VALUES ('x', X'01')", &[])).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (seen, write) = rt.block_on(async {
            let seen =
                db.read(|c| c.query("SELECT count(*) FROM meta WHERE name = 'x'", &[]).unwrap()[0][0].int()).await;
            let write = db.read(|c| c.execute("DELETE FROM meta", &[])).await;
            (seen, write)
        });
        assert_eq!(seen.unwrap(), 1i64);
        assert!(write.is_err(), "a reader wrote");
    }

    #[test]
    fn a_schema_newer_than_this_binary_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = open(&path).unwrap_err().to_string();
        assert!(err.contains("version 99") && err.contains("newer"), "{err}");
        let conn = Connection::open(&path).unwrap();
        assert_eq!(conn.pragma_query_value(None, "user_version", |r| r.get::<_, u32>(0)).unwrap(), 99);
    }

    #[test]
    fn the_database_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path, 1).unwrap();
        db.write_now(|c| c.execute("INSERT INTO meta (name, value) VALUES ('x', X'01')", &[])).unwrap();
        for name in ["t.db", "t.db-wal", "t.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
    }

    #[test]
    fn opening_twice_does_not_rerun_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(open(&path).unwrap());
        assert!(open(&path).is_ok());
    }
}

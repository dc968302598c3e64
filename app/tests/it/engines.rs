//! The engine layer on a real PostgreSQL beside a real SQLite file: the same
//! statements answer the same, the schemas match version for version, and
//! migrations are safe when two nodes start at once.
//!
//! PostgreSQL: `STRONGROOM_TEST_DATABASE_URL` (set by `scripts/with-postgres.sh`,
//! which `make unit` runs through: one server for the whole run, a fresh
//! database per test), else each test starts its own with `scripts/postgres.sh`.

use app::ssr::db::{
    pg,
    sql::{Engine, Pg, Sql, Value},
    url::PgUrl,
    MIGRATIONS_LEN,
};
use std::{path::PathBuf, process::Command};

/// A fresh, empty PostgreSQL database, dropped (or its server stopped) afterwards.
struct TestPg {
    url: String,
    own_server: Option<PathBuf>,
    shared: Option<(String, String)>,
}

impl TestPg {
    fn new() -> Self {
        match std::env::var("STRONGROOM_TEST_DATABASE_URL") {
            Ok(server) => {
                let name = format!("t_{}", hex(&rand_bytes()));
                let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
                admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let (base, _) = server.rsplit_once('/').unwrap();
                Self { url: format!("{base}/{name}"), own_server: None, shared: Some((server.clone(), name)) }
            }
            Err(_) => Self::own(&[]),
        }
    }

    /// A server of its own (`scripts/postgres.sh start DIR EXTRA…`).
    fn own(extra: &[&str]) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
        let dir = std::env::temp_dir().join(format!("strongroom-pg-{}", hex(&rand_bytes())));
        // The guard first: whatever happens next, its drop stops the server.
        let mut pg = Self { url: String::new(), own_server: Some(dir.clone()), shared: None };
        let out = Command::new("bash").arg(script).arg("start").arg(&dir).args(extra).output().unwrap();
        assert!(out.status.success(), "scripts/postgres.sh start: {}", String::from_utf8_lossy(&out.stderr));
        pg.url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        pg
    }

    fn connect(&self) -> Pg<postgres::Client> {
        pg::connect(&PgUrl::parse(&self.url, None, None).unwrap()).unwrap()
    }

    /// A connection to the database, migrated to this binary's schema.
    fn migrated(&self) -> Pg<postgres::Client> {
        let mut conn = self.connect();
        pg::migrate(&mut conn).unwrap();
        conn
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.shared {
            if let Ok(mut admin) = postgres::Client::connect(server, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
        if let Some(dir) = &self.own_server {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
            let _ = Command::new("bash").arg(script).arg("stop").arg(dir).status();
        }
    }
}

fn rand_bytes() -> [u8; 6] {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    b
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sqlite() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = app::ssr::db::open(&dir.path().join("t.db")).unwrap();
    (dir, conn)
}

/// Nodes that start at the same moment each migrate `db`; all succeed.
fn start_together(db: &TestPg, nodes: usize) {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(nodes));
    let nodes: Vec<_> = (0..nodes)
        .map(|_| {
            let (mut conn, barrier) = (db.connect(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                pg::migrate(&mut conn)
            })
        })
        .collect();
    for node in nodes {
        assert_eq!(node.join().unwrap().unwrap(), MIGRATIONS_LEN);
    }
}

#[test]
fn postgresql_migrates_to_the_sqlite_version_once_even_when_two_nodes_start_together() {
    let db = TestPg::new();
    start_together(&db, 3);
    let mut conn = db.connect();
    assert_eq!(pg::version(&conn).unwrap(), MIGRATIONS_LEN);
    let rows = conn.query("SELECT count(*) FROM schema_version", &[]).unwrap();
    assert_eq!(rows, [[Value::Int(1)]]);
    // Again: nothing to do, nothing changed.
    conn.execute("INSERT INTO meta (name, value) VALUES ('kept', ?1)", &[Value::from(vec![1u8])]).unwrap();
    assert_eq!(pg::migrate(&mut conn).unwrap(), MIGRATIONS_LEN);
    assert_eq!(conn.query("SELECT value FROM meta WHERE name = 'kept'", &[]).unwrap(), [[Value::from(vec![1u8])]]);
}

#[test]
fn nodes_starting_together_migrate_once_whatever_the_database_default_isolation() {
    let db = TestPg::new();
    let conn = db.connect();
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    conn.batch(&format!("ALTER DATABASE {name} SET default_transaction_isolation TO 'repeatable read'")).unwrap();
    drop(conn);
    start_together(&db, 3);
}

#[test]
fn a_postgresql_schema_newer_than_the_binary_is_refused_untouched() {
    let db = TestPg::new();
    let mut conn = db.migrated();
    conn.execute("UPDATE schema_version SET version = ?1", &[Value::Int(MIGRATIONS_LEN as i64 + 1)]).unwrap();
    conn.execute("INSERT INTO meta (name, value) VALUES ('kept', ?1)", &[Value::from(vec![7u8])]).unwrap();
    let refused = pg::migrate(&mut conn).unwrap_err().to_string();
    assert!(refused.contains("newer than this strongroom knows"), "{refused}");
    assert_eq!(pg::version(&conn).unwrap(), MIGRATIONS_LEN + 1);
    assert_eq!(conn.query("SELECT value FROM meta WHERE name = 'kept'", &[]).unwrap(), [[Value::from(vec![7u8])]]);
}

/// `table -> (column, NOT NULL)` in order, and `index -> its columns`, as each
/// engine describes itself.
type Shape = (Vec<(String, Vec<(String, bool)>)>, Vec<(String, Vec<String>)>);

fn text(v: &Value<'_>) -> String {
    v.text().unwrap().to_owned()
}

fn shape(db: &dyn Sql, tables: &str, columns: &str, indexes: &str, index_columns: &str) -> Shape {
    let names = |sql: &str, arg: Option<&str>| -> Vec<Vec<Value<'static>>> {
        let args: Vec<Value<'_>> = arg.into_iter().map(Value::from).collect();
        db.query(sql, &args).unwrap()
    };
    let tables = names(tables, None)
        .iter()
        .map(|r| {
            let t = text(&r[0]);
            let cols = names(columns, Some(&t)).iter().map(|r| (text(&r[0]), r[1] == Value::Int(1))).collect();
            (t, cols)
        })
        .collect();
    let indexes = names(indexes, None)
        .iter()
        .map(|r| {
            let i = text(&r[0]);
            let cols = names(index_columns, Some(&i)).iter().map(|r| text(&r[0])).collect();
            (i, cols)
        })
        .collect();
    (tables, indexes)
}

#[test]
fn both_engines_have_the_same_tables_columns_and_indexes_at_the_same_version() {
    let (_dir, lite) = sqlite();
    let sqlite_shape = shape(
        &lite,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        // A primary key column is NOT NULL on PostgreSQL; on SQLite only an INTEGER one is.
        "SELECT name, \"notnull\" OR pk > 0 FROM pragma_table_info(?1) ORDER BY cid",
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        "SELECT name FROM pragma_index_info(?1) ORDER BY seqno",
    );
    let db = TestPg::new();
    let conn = db.migrated();
    let pg_shape = shape(
        &conn,
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_name <> 'schema_version' ORDER BY table_name COLLATE \"C\"",
        "SELECT column_name::text, is_nullable = 'NO' FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = ?1 ORDER BY ordinal_position",
        // Constraint indexes (primary keys, UNIQUE) are SQLite's automatic ones: not compared.
        "SELECT indexname::text FROM pg_indexes i WHERE schemaname = 'public' AND NOT EXISTS
           (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY indexname COLLATE \"C\"",
        "SELECT a.attname::text FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
           JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) ON true
           JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
         WHERE c.relname = ?1 ORDER BY k.n",
    );
    assert_eq!(pg_shape, sqlite_shape);
    assert_eq!(
        pg::PG_MIGRATIONS.last().map(|(v, _)| *v),
        Some(MIGRATIONS_LEN),
        "a migration written for one engine only"
    );
    // Every text column sorts byte-wise, as SQLite's do, whatever the database's default.
    let loose = conn
        .query(
            "SELECT table_name || '.' || column_name FROM information_schema.columns
             WHERE table_schema = 'public' AND data_type = 'text' AND collation_name IS DISTINCT FROM 'C'",
            &[],
        )
        .unwrap();
    assert!(loose.is_empty(), "text columns without COLLATE \"C\": {loose:?}");
    // The partial indexes keep their conditions.
    let partial = conn
        .query("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE '%WHERE%'", &[])
        .unwrap();
    let on_sqlite =
        lite.query("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND sql LIKE '%WHERE%'", &[]).unwrap();
    assert_eq!(partial, on_sqlite);
    // A change to a secret advances its namespace's counter (the trigger), on both.
    for sql in [&lite as &dyn Sql, &conn] {
        sql.execute("INSERT INTO namespaces (path, created_at, created_by) VALUES ('t', 0, 't')", &[]).unwrap();
        sql.execute(
            "INSERT INTO secrets (namespace_id, key, version, created_at, created_by, updated_at, updated_by)
             SELECT id, 'K', 1, 0, 't', 0, 't' FROM namespaces WHERE path = 't'",
            &[],
        )
        .unwrap();
        sql.execute("UPDATE secrets SET version = 2", &[]).unwrap();
        let changed = sql.query("SELECT changed FROM namespaces WHERE path = 't'", &[]).unwrap();
        assert_eq!(changed, [[Value::Int(3)]], "{}", sql.engine());
    }
}

#[test]
fn the_same_statements_answer_the_same_on_both_engines() {
    let (_dir, lite) = sqlite();
    let db = TestPg::new();
    let conn = db.migrated();
    let engines: [&dyn Sql; 2] = [&lite, &conn];
    let mut answers = Vec::new();
    for sql in engines {
        // Byte-wise order: upper case before lower, `-` before `.` before letters.
        for path in ["b", "a.b", "B", "a-b", "a", "a.B", "é"] {
            sql.execute(
                "INSERT INTO namespaces (path, description, created_at, created_by) VALUES (?1, '', ?2, ?3)",
                &[path.into(), 1_700_000_000i64.into(), "t".into()],
            )
            .unwrap();
        }
        let order = sql.query("SELECT path FROM namespaces ORDER BY path", &[]).unwrap();
        let range = sql
            .query(
                "SELECT path FROM namespaces WHERE path >= ?1 AND path < ?2 ORDER BY path",
                &["a.".into(), "a/".into()],
            )
            .unwrap();
        let flags = sql
            .query(
                "SELECT count(*), count(*) FILTER (WHERE path = ?1), CAST(?2 AS TEXT) IS NULL, coalesce(?3, 'none')
                 FROM namespaces",
                &["a".into(), Value::Null, Value::Null],
            )
            .unwrap();
        let uid = vec![0u8, 255, 7, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        sql.execute(
            "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &["blob".into(), uid.clone().into()],
        )
        .unwrap();
        let blob = sql.query("SELECT value FROM meta WHERE name = ?1", &["blob".into()]).unwrap();
        answers.push((sql.engine(), order, range, flags, blob));
    }
    let (first, second) = (&answers[0], &answers[1]);
    assert_eq!((first.0, second.0), (Engine::Sqlite, Engine::Postgres));
    assert_eq!((&first.1, &first.2, &first.3, &first.4), (&second.1, &second.2, &second.3, &second.4));
    let order: Vec<String> = first.1.iter().map(|r| text(&r[0])).collect();
    assert_eq!(order, ["B", "a", "a-b", "a.B", "a.b", "b", "é"]);
    assert_eq!(first.3, [[Value::Int(7), Value::Int(1), Value::Int(1), Value::from("none")]]);
}

fn entry(n: i64, node: &str) -> app::ssr::audit::NewEntry {
    use app::ssr::audit::{Actor, Client, NewEntry};
    NewEntry {
        at: app::domain::Timestamp(n),
        actor: Actor::CommandLine,
        action: app::domain::audit::Action::SecretRead,
        namespace: format!("company.{node}"),
        key: "DB_PASSWORD".into(),
        version: Some(n),
        client: Client::Local,
        outcome: "ok".into(),
    }
}

#[test]
fn two_nodes_appending_at_once_on_postgresql_keep_one_chain_that_verifies() {
    use app::ssr::audit::{self, AuditKey, Verdict};
    let key = AuditKey::derive(&app::ssr::crypto::BaseKey::generate().unwrap());
    let db = TestPg::new();
    let conn = db.migrated();
    audit::start_chain(&conn, &key).unwrap();
    const EACH: i64 = 150;
    let nodes: Vec<_> = ["ann", "ben"]
        .into_iter()
        .map(|node| {
            let (mut conn, key) = (db.connect(), key.clone());
            std::thread::spawn(move || {
                for n in 0..EACH {
                    // Each entry in its own transaction, as a write through the server is.
                    let tx = Pg::new(conn.get_mut().transaction().unwrap());
                    audit::append(&tx, &key, entry(n, node)).unwrap();
                    tx.into_inner().commit().unwrap();
                }
            })
        })
        .collect();
    for node in nodes {
        node.join().unwrap();
    }
    assert_eq!(audit::verify(&conn, &key).unwrap(), Verdict::Intact { entries: 2 * EACH as u64 });
    assert!(audit::head_matches(&conn, &key).unwrap());
    // Both nodes' entries are interleaved in one line of ids, 1 to 300.
    let ids = conn.query("SELECT min(id), max(id), count(DISTINCT namespace) FROM audit", &[]).unwrap();
    assert_eq!(ids, [[Value::Int(1), Value::Int(2 * EACH), Value::Int(2)]]);
    // An edited entry shows, on this engine as on SQLite.
    conn.execute("UPDATE audit SET key = 'OTHER' WHERE id = 42", &[]).unwrap();
    assert!(matches!(audit::verify(&conn, &key).unwrap(), Verdict::Broken { id: 42, .. }));
}

#[test]
fn a_rolled_back_append_on_postgresql_leaves_no_gap() {
    use app::ssr::audit::{self, AuditKey, Verdict};
    let key = AuditKey::derive(&app::ssr::crypto::BaseKey::generate().unwrap());
    let db = TestPg::new();
    let mut conn = db.migrated();
    audit::start_chain(&conn, &key).unwrap();
    let tx = Pg::new(conn.get_mut().transaction().unwrap());
    audit::append(&tx, &key, entry(1, "a")).unwrap();
    tx.into_inner().rollback().unwrap();
    let tx = Pg::new(conn.get_mut().transaction().unwrap());
    assert_eq!(audit::append(&tx, &key, entry(2, "a")).unwrap(), 1, "the id a rolled-back entry had");
    tx.into_inner().commit().unwrap();
    assert_eq!(audit::verify(&conn, &key).unwrap(), Verdict::Intact { entries: 1 });
}

#[test]
fn a_lease_has_one_holder_at_a_time_on_both_engines_and_passes_on_when_it_lapses() {
    use app::ssr::db::lease;
    let (_dir, lite) = sqlite();
    let db = TestPg::new();
    let conn = db.migrated();
    for sql in [&lite as &dyn Sql, &conn] {
        let engine = sql.engine();
        assert!(lease::acquire(sql, "webhooks", "node-a", 1_000, 500).unwrap(), "{engine}: a free lease");
        assert!(!lease::acquire(sql, "webhooks", "node-b", 1_200, 500).unwrap(), "{engine}: held by a");
        assert!(lease::acquire(sql, "webhooks", "node-a", 1_400, 500).unwrap(), "{engine}: renewed by a");
        assert!(!lease::acquire(sql, "webhooks", "node-b", 1_800, 500).unwrap(), "{engine}: renewed until 1900");
        assert!(lease::acquire(sql, "streams", "node-b", 1_800, 500).unwrap(), "{engine}: another lease");
        assert!(lease::acquire(sql, "webhooks", "node-b", 1_900, 500).unwrap(), "{engine}: lapsed, so b's");
        assert!(!lease::acquire(sql, "webhooks", "node-a", 2_000, 500).unwrap(), "{engine}: a lost it");
        lease::release(sql, "webhooks", "node-a").unwrap();
        assert!(!lease::acquire(sql, "webhooks", "node-a", 2_000, 500).unwrap(), "{engine}: only b gives it back");
        lease::release(sql, "webhooks", "node-b").unwrap();
        assert!(lease::acquire(sql, "webhooks", "node-a", 2_000, 500).unwrap(), "{engine}: given back");
    }
}

#[test]
fn of_many_nodes_asking_for_a_free_lease_at_once_on_postgresql_exactly_one_wins() {
    use app::ssr::db::lease;
    let db = TestPg::new();
    db.migrated();
    for round in 0..5 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let nodes: Vec<_> = (0..4)
            .map(|n| {
                let (conn, barrier) = (db.connect(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    lease::acquire(&conn, &format!("job-{round}"), &format!("node-{n}"), 1_000, 500).unwrap()
                })
            })
            .collect();
        let won = nodes.into_iter().map(|n| n.join().unwrap()).filter(|w| *w).count();
        assert_eq!(won, 1, "round {round}");
    }
}

/// What the namespace functions answer for one scenario, as text to compare.
fn namespaces_scenario(db: &dyn Sql) -> Vec<String> {
    use app::ssr::store::{self, Stamp, StoreError};
    let stamp = Stamp { actor: "alice", at: app::domain::Timestamp(1_700_000_000) };
    let desc = |s: &str| app::domain::Description::parse(s).unwrap();
    let mut seen = Vec::new();
    let made = store::create_namespace(db, &crate::ns("company.payments.prod"), &desc("prod"), stamp).unwrap();
    seen.push(format!("{made:?}"));
    for other in ["company.pay_old", "company.payments-eu", "acme"] {
        store::create_namespace(db, &crate::ns(other), &desc(""), stamp).unwrap();
    }
    let again = store::create_namespace(db, &crate::ns("company.payments"), &desc("x"), stamp);
    assert!(matches!(again, Err(StoreError::NamespaceExists)), "{again:?}");
    seen.push(format!("{:?}", store::missing_ancestors(db, &crate::ns("company.payments.dev.eu")).unwrap()));
    seen.push(format!("{:?}", store::describe_namespace(db, &crate::ns("company"), &desc("the company")).unwrap()));
    let busy = store::delete_namespace(db, &crate::ns("company.payments"));
    assert!(matches!(busy, Err(StoreError::NamespaceNotEmpty { children: 1, .. })), "{busy:?}");
    seen.push(format!("{:?}", store::delete_namespace(db, &crate::ns("acme")).unwrap()));
    let missing = store::delete_namespace(db, &crate::ns("acme"));
    assert!(matches!(missing, Err(StoreError::NamespaceNotFound)), "{missing:?}");
    for summary in store::list_namespaces(db).unwrap() {
        seen.push(format!("{summary:?}"));
    }
    seen.push(format!("{:?}", store::search(db, "PAY").unwrap()));
    seen
}

#[test]
fn namespaces_are_made_listed_searched_and_deleted_alike_on_both_engines() {
    let (_dir, lite) = sqlite();
    let on_sqlite = namespaces_scenario(&lite);
    let db = TestPg::new();
    let mut conn = db.migrated();
    let tx = Pg::new(conn.get_mut().transaction().unwrap());
    let on_postgres = namespaces_scenario(&tx);
    tx.into_inner().commit().unwrap();
    assert_eq!(on_postgres, on_sqlite);
    assert!(on_sqlite.iter().any(|l| l.contains("company.pay_old")), "{on_sqlite:#?}");
}

/// Copies every row of `tables` from `from` to `to`, as stored (values stay sealed).
fn copy_rows(from: &dyn Sql, to: &dyn Sql, tables: &[&str]) {
    for table in tables {
        let rows = from.query(&format!("SELECT * FROM {table}"), &[]).unwrap();
        let columns: Vec<String> = from
            .query("SELECT name FROM pragma_table_info(?1) ORDER BY cid", &[(*table).into()])
            .unwrap()
            .iter()
            .map(|r| text(&r[0]))
            .collect();
        let marks: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
        let insert = format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), marks.join(", "));
        for row in rows {
            to.execute(&insert, &row).unwrap();
        }
    }
}

#[test]
fn values_stored_on_sqlite_resolve_alike_on_postgresql_with_their_map_versions() {
    use app::ssr::{
        crypto::RootKey,
        store::{self, keyring, Stamp},
    };
    let stamp = Stamp { actor: "t", at: app::domain::Timestamp(1_800_000_000) };
    let (_dir, mut lite) = sqlite();
    let unlocked = keyring::unlock(&mut lite, &RootKey::generate().unwrap(), stamp.at).unwrap();
    let none = app::domain::Description::default();
    store::create_namespace(&lite, &crate::ns("co.team.api"), &none, stamp).unwrap();
    for (ns, k, v) in [("co", "DB_PASSWORD", "parent"), ("co.team", "DB_PASSWORD", "child"), ("co", "API_KEY", "k1")] {
        let (ns, k, v) = (crate::ns(ns), crate::key(k), crate::value(v));
        store::add_secret(&lite, &unlocked.keyring, &ns, &k, &v, &none, stamp).unwrap();
    }
    let db = TestPg::new();
    let conn = db.migrated();
    // As stored: the change counters come with the rows, not from the trigger.
    conn.batch("ALTER TABLE secrets DISABLE TRIGGER secrets_changed").unwrap();
    copy_rows(&lite, &conn, &["data_keys", "namespaces", "secrets", "secret_versions"]);
    conn.batch("ALTER TABLE secrets ENABLE TRIGGER secrets_changed").unwrap();
    let read = |sql: &dyn Sql| {
        let ns = crate::ns("co.team.api");
        let all = store::resolve_all(sql, &unlocked.keyring, &ns).unwrap();
        let one = store::resolve_value(sql, &unlocked.keyring, &ns, &crate::key("DB_PASSWORD")).unwrap();
        let values: Vec<(String, String, String)> = all
            .iter()
            .chain([&one])
            .map(|r| (r.defined_in.to_string(), r.key.to_string(), r.value.expose().to_owned()))
            .collect();
        let missing = store::map_version(sql, &crate::ns("co.other"));
        assert!(matches!(missing, Err(store::StoreError::NamespaceNotFound)), "{missing:?}");
        (values, store::map_version(sql, &ns).unwrap())
    };
    let on_sqlite = read(&lite);
    assert_eq!(read(&conn), on_sqlite);
    assert_eq!(on_sqlite.0[1], ("co.team".into(), "DB_PASSWORD".into(), "child".into()), "{on_sqlite:?}");
    // A change in an ancestor moves the map version on PostgreSQL too (its trigger).
    conn.execute("UPDATE secrets SET description = 'x' WHERE key = 'API_KEY'", &[]).unwrap();
    assert_eq!(store::map_version(&conn, &crate::ns("co.team.api")).unwrap(), on_sqlite.1 + 1);
}

/// Users, grants, sessions and tokens: the same calls, the same answers.
fn accounts_scenario(db: &dyn Sql, rows: &app::ssr::db::RowKey) -> Vec<String> {
    use app::domain::{Grant, Role, Scope, Timestamp, TokenName, Username};
    use app::ssr::store::{
        accounts::{self, AccountError, SessionLimits, SessionLookup},
        tokens::{self, TokenError},
        Stamp,
    };
    let stamp = Stamp { actor: "alice", at: Timestamp(1_700_000_000) };
    let (alice, bob) = (Username::parse("alice").unwrap(), Username::parse("bob").unwrap());
    let admin = Grant { role: Role::Admin, scope: Scope::All };
    let editor = Grant { role: Role::Editor, scope: Scope::parse("company.team").unwrap() };
    let mut seen = Vec::new();
    accounts::create_user(db, rows, &alice, "$argon2id$a", std::slice::from_ref(&admin), stamp).unwrap();
    accounts::create_user(db, rows, &bob, "$argon2id$b", std::slice::from_ref(&editor), stamp).unwrap();
    let again = accounts::create_user(db, rows, &bob, "$argon2id$c", &[], stamp);
    assert!(matches!(again, Err(AccountError::UserExists)), "{again:?}");
    let twice = accounts::add_grant(db, rows, &bob, &editor, stamp);
    assert!(matches!(twice, Err(AccountError::GrantExists)), "{twice:?}");
    accounts::add_grant(db, rows, &bob, &Grant { role: Role::Auditor, scope: Scope::All }, stamp).unwrap();
    let last = accounts::set_disabled(db, rows, &alice, true);
    assert!(matches!(last, Err(AccountError::LastAdmin)), "{last:?}");
    let last = accounts::revoke_grant(db, &alice, &admin);
    assert!(matches!(last, Err(AccountError::LastAdmin)), "{last:?}");
    let bob_id = accounts::user_id_of(db, &bob).unwrap();
    accounts::create_session(db, rows, b"session-1", bob_id, stamp.at).unwrap();
    accounts::create_session(db, rows, b"session-2", bob_id, stamp.at).unwrap();
    accounts::set_password_hash(db, rows, bob_id, "$argon2id$new", Timestamp(stamp.at.0 + 5), Some(b"session-2"), true)
        .unwrap();
    let limits =
        SessionLimits { idle: std::time::Duration::from_secs(600), absolute: std::time::Duration::from_secs(3600) };
    for (session, at) in [(&b"session-1"[..], 10), (b"session-2", 90), (b"session-2", 4000)] {
        let found = accounts::lookup_session(db, rows, session, Timestamp(stamp.at.0 + at), limits).unwrap();
        seen.push(match found {
            SessionLookup::Live { user, touch } => format!("live {} {:?} touch {touch}", user.username, user.grants),
            other => format!("{other:?}"),
        });
    }
    // A session added without the root key (a known token's hash) is no session.
    let forged: &[u8] = b"forged";
    db.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
        &[forged.into(), bob_id.into(), stamp.at.0.into()],
    )
    .unwrap();
    let found = accounts::lookup_session(db, rows, forged, Timestamp(stamp.at.0 + 10), limits).unwrap();
    assert!(matches!(found, SessionLookup::Ended), "{found:?}");
    let found = accounts::credentials(db, rows, &bob).unwrap().unwrap();
    seen.push(format!("{} {} {}", found.username, found.password_hash, found.disabled));
    for user in accounts::list_users(db, rows).unwrap() {
        seen.push(format!("{user:?}"));
    }
    seen.push(format!("ended {}", accounts::end_sessions(db, &bob).unwrap()));

    let (ci, old) = (TokenName::parse("ci").unwrap(), TokenName::parse("old").unwrap());
    let scope = Scope::parse("company").unwrap();
    tokens::create(db, rows, &ci, &scope, None, b"hash-ci", stamp).unwrap();
    tokens::create(db, rows, &old, &Scope::All, Some(Timestamp(stamp.at.0 + 10)), b"hash-old", stamp).unwrap();
    let taken = tokens::create(db, rows, &ci, &scope, None, b"hash-other", stamp);
    assert!(matches!(taken, Err(TokenError::NameTaken)), "{taken:?}");
    seen.push(format!(
        "{:?}",
        tokens::revoke(db, rows, &old, Stamp { at: Timestamp(stamp.at.0 + 20), ..stamp }).unwrap()
    ));
    let twice = tokens::revoke(db, rows, &old, stamp);
    assert!(matches!(twice, Err(TokenError::AlreadyRevoked)), "{twice:?}");
    tokens::touch(db, tokens::lookup(db, rows, b"hash-ci").unwrap().unwrap().id, Timestamp(stamp.at.0 + 30)).unwrap();
    for token in tokens::list(db, Timestamp(stamp.at.0 + 40)).unwrap() {
        seen.push(format!("{token:?}"));
    }
    let found = tokens::lookup(db, rows, b"hash-old").unwrap().unwrap();
    seen.push(format!("{} {} {:?} {}", found.name, found.scope, found.expires_at, found.revoked));
    // A row changed without the root key is not used.
    db.execute("UPDATE tokens SET namespace = '' WHERE name = 'ci'", &[]).unwrap();
    assert!(tokens::lookup(db, rows, b"hash-ci").unwrap().is_none());
    db.execute("UPDATE users SET disabled = 1 - disabled WHERE username = 'bob'", &[]).unwrap();
    assert!(accounts::credentials(db, rows, &bob).unwrap().is_none());
    db.execute("UPDATE grants SET namespace = '' WHERE role = 'editor'", &[]).unwrap();
    seen.push(format!("{:?}", accounts::grants_of(db, rows, bob_id).unwrap()));
    seen
}

#[test]
fn accounts_and_tokens_behave_alike_on_both_engines() {
    let rows = app::ssr::db::RowKey::derive(&app::ssr::crypto::BaseKey::generate().unwrap());
    let (_dir, lite) = sqlite();
    let on_sqlite = accounts_scenario(&lite, &rows);
    let db = TestPg::new();
    let mut conn = db.migrated();
    let tx = Pg::new(conn.get_mut().transaction().unwrap());
    let on_postgres = accounts_scenario(&tx, &rows);
    tx.into_inner().commit().unwrap();
    assert_eq!(on_postgres, on_sqlite);
    assert!(on_sqlite.iter().any(|l| l.starts_with("live bob")), "{on_sqlite:#?}");
}

#[test]
fn security_rows_sealed_on_sqlite_still_verify_when_copied_into_postgresql() {
    use app::ssr::store::{keyring, rows};
    let root = app::ssr::crypto::RootKey::generate().unwrap();
    let (_dir, mut lite) = sqlite();
    let unlocked = keyring::unlock(&mut lite, &root, app::domain::Timestamp(1)).unwrap();
    let key = unlocked.row_key();
    accounts_scenario(&lite, &key);
    lite.execute_batch("UPDATE tokens SET namespace = 'company' WHERE name = 'ci'").unwrap();
    lite.execute_batch("UPDATE users SET disabled = 1 - disabled WHERE username = 'bob'").unwrap();
    lite.execute_batch("UPDATE grants SET namespace = 'company.team' WHERE role = 'editor'").unwrap();
    rows::check_all(&lite, &key).unwrap();
    let db = TestPg::new();
    let conn = db.migrated();
    copy_rows(&lite, &conn, &["users", "grants", "tokens"]);
    rows::check_all(&conn, &key).unwrap();
    conn.execute("UPDATE grants SET role = 'admin' WHERE role = 'editor'", &[]).unwrap();
    let err = rows::check_all(&conn, &key).unwrap_err();
    assert!(matches!(&err, rows::RowError::Tampered { table: "grants", .. }), "{err}");
}

/// Two admins of everything, each disabled by another node at the same
/// moment: one change waits for the other, and exactly one is refused.
#[test]
fn of_two_nodes_disabling_the_last_two_admins_at_once_on_postgresql_one_is_refused() {
    use app::domain::{Grant, Role, Scope, Timestamp, Username};
    use app::ssr::store::{accounts, Stamp};
    let rows = app::ssr::db::RowKey::derive(&app::ssr::crypto::BaseKey::generate().unwrap());
    let db = TestPg::new();
    let mut conn = db.migrated();
    let stamp = Stamp { actor: "t", at: Timestamp(1) };
    let tx = Pg::new(conn.get_mut().transaction().unwrap());
    for name in ["ann", "ben"] {
        let admin = Grant { role: Role::Admin, scope: Scope::All };
        accounts::create_user(&tx, &rows, &Username::parse(name).unwrap(), "h", &[admin], stamp).unwrap();
    }
    tx.into_inner().commit().unwrap();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let nodes: Vec<_> = ["ann", "ben"]
        .into_iter()
        .map(|name| {
            let (mut conn, barrier, rows) = (db.connect(), barrier.clone(), rows.clone());
            std::thread::spawn(move || {
                let tx = Pg::new(conn.get_mut().transaction().unwrap());
                // Each changes its own row first, then both count at once.
                tx.execute("UPDATE users SET created_by = 'x' WHERE username = ?1", &[name.into()]).unwrap();
                barrier.wait();
                let done = accounts::set_disabled(&tx, &rows, &Username::parse(name).unwrap(), true);
                if done.is_ok() {
                    tx.into_inner().commit().unwrap();
                }
                done.is_ok()
            })
        })
        .collect();
    let allowed: Vec<bool> = nodes.into_iter().map(|n| n.join().unwrap()).collect();
    assert_eq!(allowed.iter().filter(|ok| **ok).count(), 1, "{allowed:?}");
    assert!(accounts::admin_exists(&conn).unwrap());
}

/// Toggling a user whose row was edited without the root key does not make
/// the edit the server's (a new password from an admin does replace it).
#[test]
fn a_tampered_user_is_not_resealed_by_enabling_it() {
    use app::domain::{Grant, Role, Scope, Timestamp, Username};
    use app::ssr::store::{accounts, Stamp};
    let rows = app::ssr::db::RowKey::derive(&app::ssr::crypto::BaseKey::generate().unwrap());
    let (_dir, lite) = sqlite();
    let stamp = Stamp { actor: "t", at: Timestamp(1) };
    let (alice, bob) = (Username::parse("alice").unwrap(), Username::parse("bob").unwrap());
    accounts::create_user(&lite, &rows, &alice, "$good", &[Grant { role: Role::Admin, scope: Scope::All }], stamp)
        .unwrap();
    accounts::create_user(&lite, &rows, &bob, "$good", &[], stamp).unwrap();
    lite.execute_batch("UPDATE users SET password_hash = '$known' WHERE username = 'bob'").unwrap();
    assert!(accounts::set_disabled(&lite, &rows, &bob, true).is_err());
    assert!(accounts::credentials(&lite, &rows, &bob).unwrap().is_none(), "the edit became valid");
    let id = accounts::user_id_of(&lite, &bob).unwrap();
    accounts::set_password_hash(&lite, &rows, id, "$reset", Timestamp(2), None, true).unwrap();
    assert_eq!(accounts::credentials(&lite, &rows, &bob).unwrap().unwrap().password_hash, "$reset");
}

/// `sslmode=verify-full`: encrypted, and only to a server whose certificate
/// chains to the trusted CA and names the host asked for.
#[test]
fn tls_to_postgresql_is_verified_against_the_ca_and_the_host_name() {
    let db = TestPg::own(&["tls"]);
    let encrypted = |url: &str| -> Result<i64, String> {
        let url = PgUrl::parse(url, None, None).map_err(|e| e.to_string())?;
        let conn = pg::connect(&url).map_err(|e| e.to_string())?;
        let row = conn.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[]).unwrap();
        Ok(row[0][0].int().unwrap())
    };
    assert_eq!(encrypted(&db.url), Ok(1), "verify-full against the right CA");
    // The same server under another name: the certificate names `localhost` only.
    let by_address = db.url.replace("@localhost:", "@127.0.0.1:");
    assert!(encrypted(&by_address).is_err(), "the host name was not checked");
    // Another CA: refused.
    let other = tempfile::tempdir().unwrap();
    let ca = other.path().join("ca.crt");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=another CA", "-keyout"])
        .arg(other.path().join("ca.key"))
        .arg("-out")
        .arg(&ca)
        .output()
        .unwrap();
    assert!(made.status.success());
    let (base, _) = db.url.split_once("sslrootcert=").unwrap();
    assert!(encrypted(&format!("{base}sslrootcert={}", ca.display())).is_err(), "an untrusted CA was accepted");
    // No sslmode: not encrypted (loopback, private networks).
    let (plain, _) = by_address.split_once('?').unwrap();
    assert_eq!(encrypted(plain), Ok(0));
    assert!(PgUrl::parse(&format!("{plain}?sslmode=verify-ca"), None, None).is_err());
    // A CA file without a TLS mode would read as TLS asked for and give plain text: refused.
    assert!(PgUrl::parse(&format!("{plain}?sslrootcert=/etc/ca.pem"), None, None).is_err());
}

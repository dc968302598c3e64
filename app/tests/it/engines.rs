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
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
        match std::env::var("STRONGROOM_TEST_DATABASE_URL") {
            Ok(server) => {
                let name = format!("t_{}", hex(&rand_bytes()));
                let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
                admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let (base, _) = server.rsplit_once('/').unwrap();
                Self { url: format!("{base}/{name}"), own_server: None, shared: Some((server.clone(), name)) }
            }
            Err(_) => {
                let dir = std::env::temp_dir().join(format!("strongroom-pg-{}", hex(&rand_bytes())));
                let out = Command::new("bash").arg(script).arg("start").arg(&dir).output().unwrap();
                assert!(out.status.success(), "scripts/postgres.sh start: {}", String::from_utf8_lossy(&out.stderr));
                let url = String::from_utf8(out.stdout).unwrap().trim().to_owned();
                Self { url, own_server: Some(dir), shared: None }
            }
        }
    }

    fn connect(&self) -> Pg<postgres::Client> {
        pg::connect(&PgUrl::parse(&self.url, None, None).unwrap()).unwrap()
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

#[test]
fn postgresql_migrates_to_the_sqlite_version_once_even_when_two_nodes_start_together() {
    let db = TestPg::new();
    let nodes: Vec<_> = (0..2)
        .map(|_| {
            let mut conn = db.connect();
            std::thread::spawn(move || pg::migrate(&mut conn).unwrap())
        })
        .collect();
    for node in nodes {
        assert_eq!(node.join().unwrap(), MIGRATIONS_LEN);
    }
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
fn a_postgresql_schema_newer_than_the_binary_is_refused_untouched() {
    let db = TestPg::new();
    let mut conn = db.connect();
    pg::migrate(&mut conn).unwrap();
    conn.execute("UPDATE schema_version SET version = ?1", &[Value::Int(MIGRATIONS_LEN as i64 + 1)]).unwrap();
    conn.execute("INSERT INTO meta (name, value) VALUES ('kept', ?1)", &[Value::from(vec![7u8])]).unwrap();
    let refused = pg::migrate(&mut conn).unwrap_err().to_string();
    assert!(refused.contains("newer than this strongroom knows"), "{refused}");
    assert_eq!(pg::version(&conn).unwrap(), MIGRATIONS_LEN + 1);
    assert_eq!(conn.query("SELECT value FROM meta WHERE name = 'kept'", &[]).unwrap(), [[Value::from(vec![7u8])]]);
}

/// `table -> columns in order`, and the index names, as each engine describes itself.
type Shape = (Vec<(String, Vec<String>)>, Vec<String>);

fn text(v: &Value<'_>) -> String {
    v.text().unwrap().to_owned()
}

fn shape(db: &dyn Sql, tables_sql: &str, columns_sql: &str, indexes_sql: &str) -> Shape {
    let tables: Vec<String> = db.query(tables_sql, &[]).unwrap().iter().map(|r| text(&r[0])).collect();
    let columns = tables
        .into_iter()
        .map(|t| {
            let cols = db.query(columns_sql, &[Value::from(t.as_str())]).unwrap().iter().map(|r| text(&r[0])).collect();
            (t, cols)
        })
        .collect();
    let indexes = db.query(indexes_sql, &[]).unwrap().iter().map(|r| text(&r[0])).collect();
    (columns, indexes)
}

#[test]
fn both_engines_have_the_same_tables_columns_and_indexes_at_the_same_version() {
    let (_dir, lite) = sqlite();
    let sqlite_shape = shape(
        &lite,
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        "SELECT name FROM pragma_table_info(?1) ORDER BY cid",
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
    );
    let db = TestPg::new();
    let mut conn = db.connect();
    pg::migrate(&mut conn).unwrap();
    let pg_shape = shape(
        &conn,
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_name <> 'schema_version' ORDER BY table_name COLLATE \"C\"",
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = ?1 ORDER BY ordinal_position",
        // Constraint indexes (primary keys, UNIQUE) are SQLite's automatic ones: not compared.
        "SELECT indexname::text FROM pg_indexes i WHERE schemaname = 'public' AND NOT EXISTS
           (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) ORDER BY indexname COLLATE \"C\"",
    );
    assert_eq!(pg_shape, sqlite_shape);
    assert_eq!(
        pg::PG_MIGRATIONS.last().map(|(v, _)| *v),
        Some(MIGRATIONS_LEN),
        "a migration written for one engine only"
    );
}

#[test]
fn the_same_statements_answer_the_same_on_both_engines() {
    let (_dir, lite) = sqlite();
    let db = TestPg::new();
    let mut conn = db.connect();
    pg::migrate(&mut conn).unwrap();
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
                "SELECT count(*), count(*) FILTER (WHERE path = ?1), ?2 IS NULL, coalesce(?3, 'none') FROM namespaces",
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
    let mut conn = db.connect();
    pg::migrate(&mut conn).unwrap();
    audit::start_chain(&conn, &key).unwrap();
    const EACH: i64 = 150;
    let nodes: Vec<_> = ["a", "b"]
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
    let mut conn = db.connect();
    pg::migrate(&mut conn).unwrap();
    audit::start_chain(&conn, &key).unwrap();
    let tx = Pg::new(conn.get_mut().transaction().unwrap());
    audit::append(&tx, &key, entry(1, "a")).unwrap();
    tx.into_inner().rollback().unwrap();
    let tx = Pg::new(conn.get_mut().transaction().unwrap());
    assert_eq!(audit::append(&tx, &key, entry(2, "a")).unwrap(), 1, "the id a rolled-back entry had");
    tx.into_inner().commit().unwrap();
    assert_eq!(audit::verify(&conn, &key).unwrap(), Verdict::Intact { entries: 1 });
}

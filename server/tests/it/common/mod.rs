//! A real Strongroom server on a loopback port with a fresh data dir, and
//! signed-in clients for it.
#![allow(dead_code)] // each test file uses part of this

pub mod binary;
pub mod idp;

use app::{
    domain::{Grant, Password, Role, Scope, Timestamp, Username},
    ssr::{crypto::RootKey, state::AppState, store::accounts, store::Stamp},
};
use leptos::prelude::LeptosOptions;
use serde_json::Value;
use std::{net::IpAddr, path::PathBuf, sync::Mutex};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Server {
    /// Dropped last: the database the server's connections use.
    _database: Option<TestDatabase>,
    /// The PostgreSQL database this server is on, if it is.
    pub database_url: Option<String>,
    pub base: String,
    pub host: String,
    pub dir: tempfile::TempDir,
    pub state: AppState,
    /// The root key, base64, for running the binary on this data dir.
    pub root_key: String,
    /// Every response body seen, for canary scans.
    pub seen: Mutex<Vec<u8>>,
}

/// An HTTP client, signed in or not.
pub struct Client<'a> {
    pub server: &'a Server,
    pub http: reqwest::Client,
    /// The session cookie (`name=value`).
    pub cookie: Option<String>,
    /// The device cookie a sign-in leaves (`name=value`).
    pub device: Option<String>,
}

pub async fn start() -> Server {
    start_with(Default::default()).await
}

/// A server with this public origin and these trusted proxies.
pub async fn start_with(front: strongroom::Front) -> Server {
    let root = RootKey::generate().unwrap();
    let database = tokio::task::spawn_blocking(TestDatabase::create).await.unwrap();
    let server = node(front, &root, database, None).await;
    server.add_user("admin", Role::Admin, "").await;
    server
}

/// Two servers on one PostgreSQL database, as two nodes behind a load
/// balancer: the same root key, nothing else shared but the database.
pub async fn start_pair() -> (Server, Server) {
    let root = RootKey::generate().unwrap();
    let database = tokio::task::spawn_blocking(TestDatabase::new).await.unwrap();
    let url = database.url();
    let first = node(Default::default(), &root, Some(database), None).await;
    first.add_user("admin", Role::Admin, "").await;
    let second = node(Default::default(), &root, None, Some(url)).await;
    (first, second)
}

/// One server on `database` (or the database at `url`, owned by another
/// node), else on a SQLite file in its own data dir.
async fn node(front: strongroom::Front, root: &RootKey, database: Option<TestDatabase>, url: Option<String>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let url = url.or_else(|| database.as_ref().map(TestDatabase::url));
    // Off the runtime: the PostgreSQL client blocks (on a runtime of its own).
    let (file, key, shared) =
        (dir.path().join("strongroom.db"), RootKey::from_base64(&root.to_base64()).unwrap(), url.clone());
    let state = tokio::task::spawn_blocking(move || {
        let source = match shared {
            Some(url) => app::ssr::db::Source::Postgres(app::ssr::db::url::PgUrl::parse(&url, None, None).unwrap()),
            None => app::ssr::db::Source::File(file),
        };
        AppState::open_source(&source, &key, &Default::default()).unwrap()
    })
    .await
    .unwrap();
    let options = LeptosOptions::builder().output_name("strongroom").site_root("target/site").build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = strongroom::router(state.clone(), options, front);
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap()
    });
    let root_key = root.to_base64().to_string();
    if let Some(url) = &url {
        DATABASES.lock().unwrap().insert(dir.path().to_owned(), url.clone());
    }
    Server {
        _database: database,
        database_url: url,
        base: format!("http://{addr}"),
        host: addr.to_string(),
        dir,
        state,
        root_key,
        seen: Default::default(),
    }
}

/// Each server's database URL by its data dir, for commands run on that data dir.
static DATABASES: Mutex<std::collections::BTreeMap<PathBuf, String>> = Mutex::new(std::collections::BTreeMap::new());

/// Whether the suites run on PostgreSQL (`make unit-postgres`).
pub fn on_postgres() -> bool {
    std::env::var("STRONGROOM_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// A fresh database on the test PostgreSQL (`STRONGROOM_TEST_DATABASE_URL`,
/// see `scripts/with-postgres.sh`) for one server, dropped with it; none on SQLite.
pub struct TestDatabase {
    server: String,
    name: String,
}

impl TestDatabase {
    fn create() -> Option<Self> {
        on_postgres().then(Self::new)
    }

    /// A new, empty database on the test PostgreSQL (blocking: call off the runtime).
    pub fn new() -> Self {
        let server = std::env::var("STRONGROOM_TEST_DATABASE_URL")
            .expect("STRONGROOM_TEST_ENGINE=postgres needs STRONGROOM_TEST_DATABASE_URL (scripts/with-postgres.sh)");
        let mut bytes = [0u8; 6];
        getrandom::fill(&mut bytes).unwrap();
        let name = format!("s_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        Self { server, name }
    }

    pub fn url(&self) -> String {
        let (base, _) = self.server.rsplit_once('/').unwrap();
        format!("{base}/{}", self.name)
    }

    pub fn source(&self) -> app::ssr::db::Source {
        app::ssr::db::Source::Postgres(app::ssr::db::url::PgUrl::parse(&self.url(), None, None).unwrap())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // On a thread of its own: the client blocks, and this may run on the test's runtime.
        let (server, name) = (self.server.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = postgres::Client::connect(&server, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        })
        .join();
    }
}

impl Server {
    /// Adds a user with password `PASSWORD` and one grant, straight in the store.
    pub async fn add_user(&self, name: &str, role: Role, scope: &str) {
        let hash = self.state.auth.hasher.hash(Password::parse_new(PASSWORD.into()).unwrap()).await.unwrap();
        let (name, grant) = (Username::parse(name).unwrap(), Grant { role, scope: Scope::parse(scope).unwrap() });
        let rows = self.state.rows.clone();
        self.state
            .db
            .call(move |c| {
                accounts::create_user(
                    c,
                    &rows,
                    &name,
                    &hash,
                    &[grant],
                    Stamp { actor: "test", at: app::ssr::clock::now() },
                )
            })
            .await
            .unwrap();
    }

    /// Creates a token straight in the store; returns it.
    pub async fn token(&self, name: &str, scope: &str, expires_at: Option<Timestamp>) -> String {
        let (token, hash) = app::ssr::store::tokens::new_token().unwrap();
        let (name, scope) = (app::domain::TokenName::parse(name).unwrap(), Scope::parse(scope).unwrap());
        let rows = self.state.rows.clone();
        self.state
            .db
            .call(move |c| {
                app::ssr::store::tokens::create(
                    c,
                    &rows,
                    &name,
                    &scope,
                    expires_at,
                    &hash,
                    Stamp { actor: "test", at: app::ssr::clock::now() },
                )
            })
            .await
            .unwrap();
        token.to_string()
    }

    /// Creates `ns` (and its parents) and adds each `(key, value)` to it, as the admin.
    pub async fn secrets(&self, ns: &str, pairs: &[(&str, &str)]) {
        let mut admin = self.login("admin").await;
        admin.call("namespaces/create", &[("namespace", ns), ("description", "")]).await;
        for (key, value) in pairs {
            let (status, body) = admin
                .call("secrets/add", &[("namespace", ns), ("key", key), ("value", value), ("description", "")])
                .await;
            assert_eq!(status, 200, "adding {key} to {ns}: {body}");
        }
    }

    /// GETs `path` with `token` as a Bearer token (any method with `method`).
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        self.api_with(reqwest::Client::new(), method, path, token).await
    }

    /// [`Server::api`] from a connection whose address is `ip` (a client of its own).
    pub async fn api_from(
        &self,
        ip: Option<IpAddr>,
        method: &str,
        path: &str,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let http = reqwest::Client::builder().local_address(ip).build().unwrap();
        self.api_with(http, method, path, token).await
    }

    async fn api_with(
        &self,
        http: reqwest::Client,
        method: &str,
        path: &str,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req =
            http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        let body = res.text().await.unwrap();
        self.keep(&headers, body.as_bytes());
        (status, headers, body)
    }

    pub async fn audit_count(&self) -> i64 {
        self.number("SELECT count(*) FROM audit").await
    }

    /// The integers in the first column of `query`'s rows, on either engine.
    pub async fn numbers(&self, query: &'static str) -> Vec<i64> {
        use app::ssr::db::sql::Sql;
        let rows = self.state.db.read(move |c| c.query(query, &[]).unwrap()).await;
        rows.iter().map(|r| r[0].int().unwrap()).collect()
    }

    /// The texts in the first column of `query`'s rows, on either engine.
    pub async fn texts(&self, query: &'static str) -> Vec<String> {
        use app::ssr::db::sql::Sql;
        let rows = self.state.db.read(move |c| c.query(query, &[]).unwrap()).await;
        rows.iter().map(|r| r[0].text().unwrap().to_owned()).collect()
    }

    /// The environment a command needs to open this server's store (the
    /// database URL when the suites run on PostgreSQL; the data dir is an argument).
    pub fn store_env(&self) -> Vec<(&'static str, String)> {
        self.database_url.iter().map(|url| ("STRONGROOM_DATABASE_URL", url.clone())).collect()
    }

    /// Makes every audit append fail (`on`), or work again, as a broken
    /// trail would: a trigger on either engine.
    pub fn refuse_audit_inserts(&self, on: bool) {
        self.sql(match (on, self.database_url.is_some()) {
            (true, false) => {
                "CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit is read-only'); END;"
            }
            (false, false) => "DROP TRIGGER no_audit",
            (true, true) => {
                "CREATE FUNCTION no_audit() RETURNS trigger LANGUAGE plpgsql AS
                   $$ BEGIN RAISE EXCEPTION 'audit is read-only'; END $$;
                 CREATE TRIGGER no_audit BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION no_audit();"
            }
            (false, true) => "DROP TRIGGER no_audit ON audit; DROP FUNCTION no_audit();",
        });
    }

    /// The one integer `query` answers, on either engine.
    pub async fn number(&self, query: &'static str) -> i64 {
        use app::ssr::db::sql::Sql;
        self.state.db.read(move |c| c.query(query, &[]).unwrap()[0][0].int().unwrap()).await
    }

    /// The newest audit entry's outcome.
    pub async fn last_outcome(&self) -> String {
        self.last_entry().await.outcome
    }

    pub async fn last_entry(&self) -> app::domain::audit::AuditEntry {
        let page =
            self.state.db.read(|c| app::ssr::audit::page(c, &Default::default(), &[app::domain::Scope::All], None, 1));
        page.await.unwrap().entries.remove(0)
    }

    pub fn anon(&self) -> Client<'_> {
        self.client_from(None)
    }

    /// A client whose connections come from `ip` (any 127.0.0.0/8 address).
    pub fn client_from(&self, ip: Option<IpAddr>) -> Client<'_> {
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).local_address(ip).build().unwrap();
        Client { server: self, http, cookie: None, device: None }
    }

    /// A client behind a proxy on loopback that says it forwards for `client`.
    pub fn forwarded_for(&self, client: &str) -> Client<'_> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", client.parse().unwrap());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap();
        Client { server: self, http, cookie: None, device: None }
    }

    /// Signs `name` in with `PASSWORD`.
    pub async fn login(&self, name: &str) -> Client<'_> {
        self.login_from(name, None).await
    }

    /// Signs `name` in from a connection whose address is `ip`.
    pub async fn login_from(&self, name: &str, ip: Option<IpAddr>) -> Client<'_> {
        let mut client = self.client_from(ip);
        let (status, body) = client.call("session/login", &[("username", name), ("password", PASSWORD)]).await;
        assert_eq!(status, 200, "sign-in of {name}: {body}");
        assert!(client.cookie.is_some());
        client
    }

    pub fn db_files(&self) -> Vec<PathBuf> {
        ["strongroom.db", "strongroom.db-wal", "strongroom.db-shm"]
            .iter()
            .map(|f| self.dir.path().join(f))
            .filter(|p| p.exists())
            .collect()
    }

    /// Runs SQL on the database directly, as someone with the file (or the
    /// database's password) could.
    pub fn sql(&self, statement: &str) {
        if let Some(url) = &self.database_url {
            let (url, statement) = (url.clone(), statement.to_owned());
            let run = std::thread::spawn(move || {
                postgres::Client::connect(&url, postgres::NoTls).and_then(|mut c| c.batch_execute(&statement))
            });
            return run.join().unwrap().unwrap();
        }
        let conn = rusqlite::Connection::open(self.dir.path().join("strongroom.db")).unwrap();
        conn.execute_batch(statement).unwrap();
    }

    fn keep(&self, headers: &reqwest::header::HeaderMap, body: &[u8]) {
        let mut seen = self.seen.lock().unwrap();
        seen.extend_from_slice(format!("{headers:?}").as_bytes());
        seen.extend_from_slice(body);
    }
}

impl Client<'_> {
    fn with_cookie(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let pairs: Vec<&str> = [&self.cookie, &self.device].into_iter().flatten().map(String::as_str).collect();
        match pairs.is_empty() {
            true => req,
            false => req.header("cookie", pairs.join("; ")),
        }
    }

    /// Calls a server function as an API client would (form-encoded, JSON back),
    /// keeping any session cookie it sets.
    pub async fn call(&mut self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let req = self.http.post(format!("{}/api/{endpoint}", self.server.base)).form(form);
        let res = self.with_cookie(req).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for set in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            let slot = if pair.contains("strongroom_device=") { &mut self.device } else { &mut self.cookie };
            *slot = (!pair.ends_with('=')).then_some(pair);
        }
        let body = res.bytes().await.unwrap();
        self.server.keep(&headers, &body);
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Posts a form as a browser without JavaScript does, from the server's own page.
    pub async fn post_page(&self, endpoint: &str, back: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let req = self
            .http
            .post(format!("{}/api/{endpoint}?back={back}", self.server.base))
            .header("accept", "text/html,application/xhtml+xml")
            .header("origin", &self.server.base)
            .header("sec-fetch-site", "same-origin")
            .form(form);
        self.with_cookie(req).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
        let res = self.with_cookie(self.http.get(format!("{}{path}", self.server.base))).send().await.unwrap();
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        let body = res.text().await.unwrap();
        self.server.keep(&headers, body.as_bytes());
        (status, headers, body)
    }
}

/// The error variant and field of a server-function error body.
pub fn error_field(body: &Value) -> (String, Option<String>) {
    if let Some(unit) = body.as_str() {
        return (unit.to_owned(), None); // a variant without fields
    }
    let (variant, inner) =
        body.as_object().and_then(|o| o.iter().next()).map(|(k, v)| (k.clone(), v.clone())).unwrap_or_default();
    (variant, inner.get("field").and_then(Value::as_str).map(str::to_owned))
}

/// Runs the real binary on `data_dir` with `root_key`; waits for it.
pub fn strongroom(args: &[&str], data_dir: &std::path::Path, root_key: &str) -> std::process::Output {
    let url = DATABASES.lock().unwrap().get(data_dir).cloned();
    std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .envs(url.map(|u| ("STRONGROOM_DATABASE_URL", u)))
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("STRONGROOM_MASTER_KEY", root_key)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// What a command printed, both streams.
pub fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The venv of the real Python clients (`scripts/setup.sh`): hvac, the `bao` CLI, Prefect 1.x.
pub fn pyenv() -> PathBuf {
    let dir = PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/strongroom/pyenv/bin");
    assert!(
        dir.join("python").exists() && dir.join("bao").exists(),
        "no Python clients in {dir:?}: run scripts/setup.sh"
    );
    dir
}

/// Runs a command off the runtime (the server answers on it meanwhile).
pub async fn run(mut command: std::process::Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
}

impl Server {
    /// `strongroom ARGS` on this server's store, off the runtime.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let (args, dir, key): (Vec<String>, _, _) =
            (args.iter().map(|a| a.to_string()).collect(), self.dir.path().to_owned(), self.root_key.clone());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            strongroom(&args, &dir, &key)
        })
        .await
        .unwrap()
    }
}

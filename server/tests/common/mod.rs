//! A real Strongroom server on a loopback port with a fresh data dir.

use app::ssr::{crypto::RootKey, state::AppState};
use leptos::prelude::LeptosOptions;
use serde_json::Value;
use std::path::PathBuf;

pub struct Server {
    pub base: String,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    /// Every response body seen, for canary scans.
    pub seen: std::sync::Mutex<Vec<u8>>,
}

pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let root = RootKey::generate().unwrap();
    let state = AppState::open(&dir.path().join("strongroom.db"), &root).unwrap();
    let options = LeptosOptions::builder().output_name("strongroom").site_root("target/site").build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, strongroom::router(state, options)).await.unwrap() });
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    Server { base: format!("http://{addr}"), dir, client, seen: Default::default() }
}

impl Server {
    fn keep(&self, headers: &reqwest::header::HeaderMap, body: &[u8]) {
        let mut seen = self.seen.lock().unwrap();
        seen.extend_from_slice(format!("{headers:?}").as_bytes());
        seen.extend_from_slice(body);
    }

    /// Calls a server function as an API client would (form-encoded, JSON back).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let res = self.client.post(format!("{}/api/{endpoint}", self.base)).form(form).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.bytes().await.unwrap();
        self.keep(&headers, &body);
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Posts a form as a browser without JavaScript does.
    pub async fn post_page(&self, endpoint: &str, back: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}/api/{endpoint}?back={back}", self.base))
            .header("accept", "text/html,application/xhtml+xml")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
        let res = self.client.get(format!("{}{path}", self.base)).send().await.unwrap();
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        let body = res.text().await.unwrap();
        self.keep(&headers, body.as_bytes());
        (status, headers, body)
    }

    pub fn db_files(&self) -> Vec<PathBuf> {
        ["strongroom.db", "strongroom.db-wal", "strongroom.db-shm"]
            .iter()
            .map(|f| self.dir.path().join(f))
            .filter(|p| p.exists())
            .collect()
    }
}

/// The error variant and field of a server-function error body.
pub fn error_field(body: &Value) -> (String, Option<String>) {
    let (variant, inner) =
        body.as_object().and_then(|o| o.iter().next()).map(|(k, v)| (k.clone(), v.clone())).unwrap_or_default();
    (variant, inner.get("field").and_then(Value::as_str).map(str::to_owned))
}

//! A real OpenID issuer on loopback for the JWT and SSO tests:
//! `end2end/idp/jwt-issuer.mjs` (oauth2-mock-server, from npm), stopped when dropped.

use super::binary::free_port;
use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
};

/// The test issuer, stopped when dropped.
pub struct Issuer {
    child: Child,
    pub url: String,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Issuer {
    pub fn start(algs: &[&str]) -> Self {
        let port = free_port();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/idp/jwt-issuer.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .args(algs)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (scripts/setup.sh installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.contains("ready"), "the issuer did not start: {line}");
        Self { child, url: format!("http://localhost:{port}") }
    }

    /// A token signed by the issuer's key `kid` (its first by default), with `claims` over its defaults.
    pub async fn mint(&self, claims: Value, expires_in: i64, header: Value, kid: Option<&str>) -> String {
        let mut body = json!({ "claims": claims, "expiresIn": expires_in, "header": header });
        if let Some(kid) = kid {
            body["kid"] = json!(kid);
        }
        let res = reqwest::Client::new().post(format!("{}/mint", self.url)).json(&body).send().await.unwrap();
        assert!(res.status().is_success());
        res.text().await.unwrap()
    }

    pub async fn stats(&self) -> Value {
        reqwest::get(format!("{}/stats", self.url)).await.unwrap().json().await.unwrap()
    }
}

impl Issuer {
    /// Sets claims on every token the issuer's OIDC endpoints sign from now on (null removes one).
    pub async fn id_claims(&self, claims: Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/id-claims", self.url))
            .json(&json!({ "claims": claims }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
}

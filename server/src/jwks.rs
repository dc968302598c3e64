//! The signing keys of JWT roles' issuers (GitHub Actions, GitLab, a
//! Kubernetes cluster): found through OIDC discovery
//! (`{issuer}/.well-known/openid-configuration` → `jwks_uri`), kept in memory
//! per issuer, and fetched again when a token names a key (`kid`) not held —
//! issuers rotate keys — but at most once a minute per issuer, so tokens with
//! made-up `kid`s cannot make this server hammer the issuer. Held keys older
//! than a day are fetched again too (at the same pace).
//!
//! Only issuers some role names are ever fetched: the role is looked up first.

use app::domain::jwt::Issuer;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, PublicKeyUse};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// The shortest wait between two fetches of one issuer's keys.
const REFETCH_EVERY: Duration = Duration::from_secs(60);
/// Keys held longer than this are fetched again at the next login.
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The largest discovery document or key set read.
const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the issuer's keys could not be fetched: {0}")]
    Fetch(String),
}

#[derive(Default)]
struct Held {
    keys: Option<Arc<JwkSet>>,
    fetched: Option<Instant>,
    tried: Option<Instant>,
}

pub struct Jwks {
    client: reqwest::Client,
    /// Per issuer; the inner lock is held across a fetch, so logins arriving
    /// meanwhile wait for its keys instead of fetching too.
    issuers: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Held>>>>,
}

impl Jwks {
    pub fn new() -> Self {
        // Redirects are not followed: the keys come from where discovery says.
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { client, issuers: Mutex::new(HashMap::new()) }
    }

    /// The issuer's entry (made on first use).
    fn slot(&self, issuer: &Issuer) -> Arc<tokio::sync::Mutex<Held>> {
        let mut map = self.issuers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(issuer.as_str().to_owned()).or_default().clone()
    }

    /// The key of `issuer` named `kid` (or its only signing key when the token
    /// names none), fetching the issuer's keys when that key is not held and
    /// the last fetch was over a minute ago. `Ok(None)`: no such key.
    pub async fn key(&self, issuer: &Issuer, kid: Option<&str>) -> Result<Option<Jwk>, JwksError> {
        let slot = self.slot(issuer);
        let mut held = slot.lock().await;
        let now = app::ssr::clock::instant();
        let found = held.keys.as_deref().and_then(|set| pick(set, kid));
        let stale = held.fetched.is_none_or(|at| now.duration_since(at) > STALE_AFTER);
        let may_fetch = held.tried.is_none_or(|at| now.duration_since(at) >= REFETCH_EVERY);
        if (found.is_some() && !stale) || !may_fetch {
            return Ok(found);
        }
        held.tried = Some(now);
        match self.fetch(issuer).await {
            Ok(set) => {
                tracing::info!(issuer = %issuer, keys = set.keys.len(), "fetched the issuer's signing keys");
                let set = Arc::new(set);
                held.keys = Some(set.clone());
                held.fetched = Some(now);
                Ok(pick(&set, kid))
            }
            // Keys held still serve while the issuer cannot be reached.
            Err(e) if found.is_some() => {
                tracing::warn!(issuer = %issuer, error = %e, "the issuer's keys could not be fetched again");
                Ok(found)
            }
            Err(e) => Err(e),
        }
    }

    async fn fetch(&self, issuer: &Issuer) -> Result<JwkSet, JwksError> {
        let discovery = format!("{}/.well-known/openid-configuration", issuer.as_str().trim_end_matches('/'));
        let doc: serde_json::Value = self.get_json(&discovery).await?;
        // OIDC Discovery: the document names the issuer it is for, exactly.
        if doc["issuer"].as_str() != Some(issuer.as_str()) {
            return Err(JwksError::Fetch(format!("{discovery} is for issuer {}", doc["issuer"])));
        }
        let uri = doc["jwks_uri"].as_str().ok_or_else(|| JwksError::Fetch(format!("{discovery} has no jwks_uri")))?;
        // The keys' address must be as safe as the issuer's: https for an https
        // issuer (never plain http to this machine), http on loopback for a test one.
        Issuer::parse(uri).map_err(|e| JwksError::Fetch(format!("jwks_uri: {e}")))?;
        if issuer.as_str().starts_with("https://") && !uri.starts_with("https://") {
            return Err(JwksError::Fetch(format!("jwks_uri {uri} is not https, though the issuer is")));
        }
        self.get_json(uri).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, JwksError> {
        let fail = |what: String| JwksError::Fetch(format!("{url}: {what}"));
        let mut res = self.client.get(url).send().await.map_err(|e| fail(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(fail(format!("answered {}", res.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| fail(e.without_url().to_string()))? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(fail("answered more than 1 MiB".into()));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| fail(format!("not the JSON expected: {e}")))
    }
}

impl Default for Jwks {
    fn default() -> Self {
        Self::new()
    }
}

/// A public signing key: RSA, EC or OKP (never a shared secret: `oct`), not
/// marked for encryption.
fn signs(key: &Jwk) -> bool {
    let public = matches!(
        key.algorithm,
        AlgorithmParameters::RSA(_) | AlgorithmParameters::EllipticCurve(_) | AlgorithmParameters::OctetKeyPair(_)
    );
    public && !matches!(key.common.public_key_use, Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_)))
}

/// The signing key named `kid`; with no `kid`, the set's only signing key.
fn pick(set: &JwkSet, kid: Option<&str>) -> Option<Jwk> {
    let mut keys = set.keys.iter().filter(|k| signs(k));
    match kid {
        Some(kid) => keys.find(|k| k.common.key_id.as_deref() == Some(kid)).cloned(),
        None => {
            let only = keys.next()?;
            keys.next().is_none().then(|| only.clone())
        }
    }
}

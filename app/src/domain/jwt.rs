//! JWT roles: which signed identity tokens (GitHub Actions, GitLab CI,
//! Kubernetes service accounts) may log in, and what their logins read.
//! Parsing only; the signature and claim checks run in the server
//! (`v1::jwt`), the rows live in `ssr::store::jwt_roles`.

use super::{Scope, Timestamp, TokenName};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, fmt};

/// Who signs the tokens a role accepts: the `iss` claim, exactly, and where
/// its keys are found (`{issuer}/.well-known/openid-configuration`). HTTPS,
/// or plain HTTP on a loopback host only (a test issuer on this machine).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer(String);

impl Issuer {
    pub fn parse(input: &str) -> Result<Self, String> {
        let url = input.trim();
        let bad =
            || format!("{url:?} is not an issuer: write its URL, e.g. https://token.actions.githubusercontent.com");
        let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let bare_host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = match bare_host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => bare_host.split(':').next().unwrap_or_default(),
        };
        if name.is_empty() || url.len() > 512 || url.contains(['?', '#', '@', ' ']) || url.chars().any(char::is_control)
        {
            return Err(bad());
        }
        let loopback = matches!(name, "localhost" | "127.0.0.1" | "::1");
        match scheme {
            "https" => Ok(Self(url.to_owned())),
            "http" if loopback => Ok(Self(url.to_owned())),
            "http" => Err(format!("{url:?}: an issuer's keys must come over https (http only on localhost)")),
            _ => Err(bad()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Claims whose values a token must carry, exactly: each claim's allowed
/// values (`repository=org/app`, `ref=refs/heads/main|refs/heads/release`).
/// Never empty: every workflow on GitHub shares one issuer and its author
/// picks the audience, so a role bound to no claim would let anyone in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundClaims(BTreeMap<String, Vec<String>>);

/// Claims a role cannot bind: the issuer, audience and times are checked by
/// the role's other fields and the clock.
const UNBINDABLE: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

impl BoundClaims {
    /// Parses `--bound-claims` as given (each `k=v1|v2`, several per
    /// argument separated by `,`); refuses a claim named twice.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        let mut claims = BTreeMap::new();
        for pair in items.iter().flat_map(|i| i.as_ref().split(',')).map(str::trim).filter(|p| !p.is_empty()) {
            let (key, values) =
                pair.split_once('=').ok_or_else(|| format!("{pair:?}: write a bound claim as claim=value"))?;
            let key = key.trim();
            if key.is_empty() || key.len() > 128 || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!("{key:?} is not a claim name"));
            }
            if UNBINDABLE.contains(&key) {
                return Err(format!("{key} cannot be bound: the issuer, audience and times are checked anyway"));
            }
            let values: Vec<String> = values.split('|').map(|v| v.trim().to_owned()).collect();
            if values.iter().any(|v| v.is_empty() || v.len() > 512 || v.chars().any(char::is_control)) {
                return Err(format!("{key}: each value must be 1 to 512 printable characters"));
            }
            if claims.insert(key.to_owned(), values).is_some() {
                return Err(format!("{key} is bound twice: write {key}=value1|value2 for either"));
            }
        }
        if claims.is_empty() {
            return Err("bind at least one claim (e.g. repository_id=123456789): without one, \
                 any token from the issuer with the right audience would log in"
                .into());
        }
        Ok(Self(claims))
    }

    /// Each bound claim and the values it allows.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

impl fmt::Display for BoundClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={}", v.join("|"))).collect();
        f.write_str(&parts.join(", "))
    }
}

/// A JWT role as lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtRoleView {
    pub name: TokenName,
    pub issuer: Issuer,
    pub audience: String,
    pub bound: BoundClaims,
    pub scope: Scope,
    /// Seconds (see `token::Ttl`).
    pub token_ttl: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub revoked_at: Option<Timestamp>,
    /// Login tokens neither revoked nor expired.
    pub live_logins: i64,
}

/// An audience: what the token's `aud` must contain.
pub fn audience(input: &str) -> Result<String, String> {
    let aud = input.trim();
    if aud.is_empty() || aud.len() > 256 || aud.chars().any(char::is_control) {
        return Err("an audience is 1 to 256 printable characters (GitHub: the `audience` you ask for)".into());
    }
    Ok(aud.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_loopback_http() {
        assert!(Issuer::parse("https://token.actions.githubusercontent.com").is_ok());
        assert!(Issuer::parse("https://gitlab.example.com/").is_ok());
        assert!(Issuer::parse("http://localhost:8080").is_ok());
        assert!(Issuer::parse("http://127.0.0.1:9/x").is_ok());
        assert!(Issuer::parse("http://[::1]:9").is_ok());
        for bad in [
            "http://gitlab.example.com",
            "ftp://x",
            "gitlab.com",
            "https://",
            "https://a b",
            "https://x?y",
            "http://localhost@evil",
        ] {
            assert!(Issuer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bound_claims_need_one_claim_and_name_each_once() {
        let b = BoundClaims::parse(&["repository=org/app,ref=refs/heads/main|refs/heads/dev", " sub = x "]).unwrap();
        assert_eq!(b.to_string(), "ref=refs/heads/main|refs/heads/dev, repository=org/app, sub=x");
        assert!(BoundClaims::parse::<&str>(&[]).is_err());
        assert!(BoundClaims::parse(&[" , "]).is_err());
        for bad in [&["ref"][..], &["a=1", "a=2"], &["aud=x"], &["exp=1"], &["a="], &["a=1||2"], &["=1"]] {
            assert!(BoundClaims::parse(bad).is_err(), "{bad:?}");
        }
    }
}

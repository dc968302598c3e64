//! SSO's settings (`STRONGROOM_OIDC_*`, `STRONGROOM_PASSWORD_SIGNIN`),
//! checked before the server starts, and the claims they name.

use app::domain::{
    jwt::Issuer,
    sso::{PasswordSignIn, RoleMapping},
    Username,
};
use clap::Args;
use serde_json::{Map, Value};
use std::{path::PathBuf, time::Duration};
use zeroize::Zeroizing;

/// Single sign-on through an OpenID Connect provider (Okta, Entra ID, Google,
/// Keycloak, GitLab…). Unset issuer: no SSO.
#[derive(Args, Debug, Clone, Default)]
pub struct SsoArgs {
    /// The IdP's issuer URL (discovery: ISSUER/.well-known/openid-configuration).
    #[arg(long, env = "STRONGROOM_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// This server's client id at the IdP. Its redirect URI is PUBLIC_URL/auth/oidc/callback.
    #[arg(long, env = "STRONGROOM_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// A file holding the client secret (or STRONGROOM_OIDC_CLIENT_SECRET; none for a public client).
    #[arg(long, env = "STRONGROOM_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    #[arg(long, env = "STRONGROOM_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// The sign-in button's text: "Sign in with NAME".
    #[arg(long, env = "STRONGROOM_OIDC_NAME", default_value = "SSO")]
    pub oidc_name: String,
    /// Scopes asked for (add `groups` where the IdP needs it).
    #[arg(long, env = "STRONGROOM_OIDC_SCOPES", default_value = "openid profile email")]
    pub oidc_scopes: String,
    /// The claim an account is named after (a display name only; the identity is issuer + sub).
    #[arg(long, env = "STRONGROOM_OIDC_USERNAME_CLAIM", default_value = "preferred_username")]
    pub oidc_username_claim: String,
    /// The claim holding the groups: its exact name first, else a JSON Pointer (/realm_access/roles).
    #[arg(long, env = "STRONGROOM_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// GROUP=ROLE@SCOPE,… (e.g. platform=admin@*,pay-leads=auditor@company.payments).
    #[arg(long, env = "STRONGROOM_OIDC_ROLES", default_value = "")]
    pub oidc_roles: String,
    /// A file of `ROLE SCOPE GROUP` lines, for group names holding `=` or `,` (LDAP DNs).
    #[arg(long, env = "STRONGROOM_OIDC_ROLES_FILE")]
    pub oidc_roles_file: Option<PathBuf>,
    /// Minutes an SSO session lasts before going back through the IdP (roles re-computed).
    #[arg(long, env = "STRONGROOM_OIDC_SESSION_MAX_MINUTES", default_value_t = 60)]
    pub oidc_session_max_minutes: u64,
    /// Who may still sign in with a password once SSO is set: all, admins (break-glass) or none.
    #[arg(long, env = "STRONGROOM_PASSWORD_SIGNIN", default_value = "all")]
    pub password_signin: String,
}

/// SSO's settings, checked.
#[derive(Clone, Debug)]
pub struct SsoConfig {
    pub issuer: Issuer,
    pub client_id: String,
    pub client_secret: Option<Zeroizing<String>>,
    pub name: String,
    pub scopes: Vec<String>,
    pub username_claim: String,
    pub groups_claim: String,
    pub mapping: RoleMapping,
    pub session_max: Duration,
    pub password_sign_in: PasswordSignIn,
    /// `scheme://host[:port]` people use (`STRONGROOM_PUBLIC_URL`).
    pub public_origin: String,
}

impl SsoConfig {
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/oidc/callback", self.public_origin)
    }

    pub fn secure(&self) -> bool {
        self.public_origin.starts_with("https://")
    }
}

impl SsoArgs {
    /// The checked settings, or `None` without an issuer; `public_origin` is
    /// `STRONGROOM_PUBLIC_URL`'s.
    pub fn config(&self, public_origin: Option<String>) -> Result<Option<SsoConfig>, String> {
        let password_sign_in =
            PasswordSignIn::parse(&self.password_signin).map_err(|e| format!("STRONGROOM_PASSWORD_SIGNIN: {e}"))?;
        let Some(issuer) = &self.oidc_issuer else {
            if self.oidc_client_id.is_some() || !self.oidc_roles.is_empty() || self.oidc_roles_file.is_some() {
                return Err("STRONGROOM_OIDC_ISSUER is not set, yet other STRONGROOM_OIDC_ settings are".into());
            }
            if password_sign_in != PasswordSignIn::All {
                return Err("STRONGROOM_PASSWORD_SIGNIN limits password sign-in only once SSO is set".into());
            }
            return Ok(None);
        };
        let issuer = Issuer::parse(issuer).map_err(|e| format!("STRONGROOM_OIDC_ISSUER: {e}"))?;
        let client_id =
            self.oidc_client_id.clone().filter(|c| !c.trim().is_empty()).ok_or("set STRONGROOM_OIDC_CLIENT_ID")?;
        let public_origin = public_origin
            .ok_or("SSO needs STRONGROOM_PUBLIC_URL: the IdP sends people back to PUBLIC_URL/auth/oidc/callback")?;
        let client_secret = match (&self.oidc_client_secret_file, &self.oidc_client_secret) {
            (Some(_), Some(_)) => return Err("give the client secret once: _SECRET_FILE or _SECRET".into()),
            (Some(path), None) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("STRONGROOM_OIDC_CLIENT_SECRET_FILE {}: {e}", path.display()))?;
                Some(Zeroizing::new(text.trim().to_owned()))
            }
            (None, Some(secret)) => Some(Zeroizing::new(secret.trim().to_owned())),
            (None, None) => None,
        };
        let mut mapping =
            RoleMapping::parse_list(&self.oidc_roles).map_err(|e| format!("STRONGROOM_OIDC_ROLES: {e}"))?;
        if let Some(path) = &self.oidc_roles_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("STRONGROOM_OIDC_ROLES_FILE {}: {e}", path.display()))?;
            mapping.extend(RoleMapping::parse_file(&text).map_err(|e| format!("STRONGROOM_OIDC_ROLES_FILE: {e}"))?);
        }
        if mapping.is_empty() {
            return Err("SSO needs STRONGROOM_OIDC_ROLES (GROUP=ROLE@SCOPE,…) or STRONGROOM_OIDC_ROLES_FILE: \
                 without a mapping nobody would get a role"
                .into());
        }
        if !(5..=24 * 60).contains(&self.oidc_session_max_minutes) {
            return Err("STRONGROOM_OIDC_SESSION_MAX_MINUTES: 5 to 1440".into());
        }
        let scopes: Vec<String> = self.oidc_scopes.split_whitespace().map(str::to_owned).collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Err("STRONGROOM_OIDC_SCOPES must include openid".into());
        }
        Ok(Some(SsoConfig {
            issuer,
            client_id,
            client_secret,
            name: self.oidc_name.trim().to_owned(),
            scopes,
            username_claim: self.oidc_username_claim.trim().to_owned(),
            groups_claim: self.oidc_groups_claim.trim().to_owned(),
            mapping,
            session_max: Duration::from_secs(self.oidc_session_max_minutes * 60),
            password_sign_in,
            public_origin,
        }))
    }
}

/// The groups claim: the claim named exactly `name` first (claim names may be
/// URLs), else `name` as a JSON Pointer into nested claims (`/realm_access/roles`).
/// `Err` when it is there but not a list of strings (or one string).
pub fn groups(claims: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, String> {
    let nested;
    let value = match claims.get(name) {
        Some(v) => v,
        None if name.starts_with('/') => {
            nested = Value::Object(claims.clone());
            match nested.pointer(name) {
                Some(v) => v,
                None => return Ok(None),
            }
        }
        None => return Ok(None),
    };
    match value {
        Value::String(s) => Ok(Some(vec![s.clone()])),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(|| format!("the {name} claim holds a non-string")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(format!("the {name} claim is not a list of group names")),
    }
}

/// The account name an SSO identity gets: the username claim, else the
/// email if the IdP verified it (else anyone could pick a name by typing an
/// address), lowercased; `None` if neither is a valid username.
pub fn username(claims: &Map<String, Value>, claim: &str) -> Option<Username> {
    let named = claims.get(claim).and_then(Value::as_str).and_then(|n| Username::parse(n).ok());
    let verified = claims.get("email_verified").and_then(Value::as_bool) == Some(true);
    let email = claims.get("email").and_then(Value::as_str).filter(|_| verified);
    named.or_else(|| email.and_then(|e| Username::parse(e).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_come_from_the_exact_claim_first_then_a_pointer() {
        let claims = json!({
            "groups": ["a", "b"], "https://example.com/groups": "c",
            "realm_access": { "roles": ["r"] }, "bad": [1],
        });
        let claims = claims.as_object().unwrap();
        assert_eq!(groups(claims, "groups"), Ok(Some(vec!["a".into(), "b".into()])));
        assert_eq!(groups(claims, "https://example.com/groups"), Ok(Some(vec!["c".into()])));
        assert_eq!(groups(claims, "/realm_access/roles"), Ok(Some(vec!["r".into()])));
        assert_eq!(groups(claims, "missing"), Ok(None));
        assert!(groups(claims, "bad").is_err());
        let named =
            json!({ "preferred_username": "Alice Smith", "email": "Alice@Example.com", "email_verified": true });
        assert_eq!(username(named.as_object().unwrap(), "preferred_username").unwrap().as_str(), "alice@example.com");
        let unverified = json!({ "email": "admin@example.com" });
        assert_eq!(
            username(unverified.as_object().unwrap(), "preferred_username"),
            None,
            "an unverified email names nobody"
        );
    }

    #[test]
    fn sso_needs_an_issuer_a_client_a_public_url_and_a_mapping() {
        let mut a = SsoArgs { password_signin: "all".into(), oidc_scopes: "openid".into(), ..Default::default() };
        assert!(a.config(None).unwrap().is_none());
        a.password_signin = "none".into();
        assert!(a.config(None).is_err(), "limits without SSO");
        a.oidc_issuer = Some("https://idp.example.com".into());
        assert!(a.config(Some("https://s.example.com".into())).unwrap_err().contains("CLIENT_ID"));
        a.oidc_client_id = Some("strongroom".into());
        assert!(a.config(None).unwrap_err().contains("PUBLIC_URL"));
        assert!(a.config(Some("https://s.example.com".into())).unwrap_err().contains("ROLES"));
        a.oidc_roles = "platform=admin@*".into();
        a.oidc_session_max_minutes = 60;
        let c = a.config(Some("https://s.example.com".into())).unwrap().unwrap();
        assert_eq!(c.redirect_uri(), "https://s.example.com/auth/oidc/callback");
        a.oidc_issuer = Some("http://idp.example.com".into());
        assert!(a.config(Some("https://s.example.com".into())).is_err(), "http issuer off loopback");
    }
}

//! People signing in through the company's identity provider (OIDC): who an
//! IdP identity is here, and the grants its groups give.
//!
//! An identity is `(issuer, sub)` (`sso_identities`), never a username: names
//! change and repeat. An account is made at the first sign-in, only when the
//! groups map to a role, and never attached to an existing account by name (a
//! name collision is refused; an admin links accounts). Grants from the IdP
//! are kept in `grants` like any other and listed in `idp_grants`, so that
//! each sign-in re-computes them (a group left, a role gone) without touching
//! grants made by hand. Both tables are security rows (`store::rows`); SSO
//! accounts have no password (their hash is [`NO_PASSWORD`], which no password
//! matches).

use crate::domain::{Grant, Role, Scope, UserId, Username};
use crate::ssr::{
    db::{
        sql::{Sql, SqlError, Value},
        RowKey,
    },
    store::{
        accounts::{self, AccountError},
        rows::{self, GRANTS, IDP_GRANTS, SSO_IDENTITIES},
        Stamp,
    },
};

/// The password hash of an SSO account: not a PHC string, so it never verifies.
pub const NO_PASSWORD: &str = "!sso";

/// What an SSO sign-in comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in as `user`, holding `grants` from the IdP (besides any made by hand).
    Admitted { user: UserId, username: Username, grants: Vec<Grant>, created: bool },
    /// The groups give no role here: nothing was made (an existing account's
    /// grants from the IdP were removed).
    NoRole,
    /// A new identity's name belongs to another account: nothing was made.
    NameTaken(Username),
    /// The identity carries no usable name (username claim, email).
    NoName,
    /// The account is disabled.
    Disabled,
    /// The identity's row was changed without the root key.
    Tampered,
}

type Result<T> = std::result::Result<T, AccountError>;

/// Signs in identity `(issuer, subject)`, named `name`, whose groups give `grants`.
pub fn sign_in<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    (issuer, subject): (&str, &str),
    name: Option<&Username>,
    grants: &[Grant],
    stamp: Stamp<'_>,
) -> Result<SignIn> {
    let found = db.query_opt(
        &format!("SELECT {} FROM sso_identities WHERE issuer = ?1 AND subject = ?2", SSO_IDENTITIES.columns("")),
        &[issuer.into(), subject.into()],
    )?;
    let user = match found {
        Some(row) if !SSO_IDENTITIES.intact(rows, &row) => {
            rows::refused("sso_identities", subject);
            return Ok(SignIn::Tampered);
        }
        Some(row) => UserId(row[3].int()?),
        None if grants.is_empty() => return Ok(SignIn::NoRole),
        None => {
            let Some(name) = name else { return Ok(SignIn::NoName) };
            match accounts::create_user(db, rows, name, NO_PASSWORD, &[], stamp) {
                Err(AccountError::UserExists) => return Ok(SignIn::NameTaken(name.clone())),
                other => other?,
            }
            let user = accounts::user_id_of(db, name)?;
            db.execute(
                "INSERT INTO sso_identities (issuer, subject, user_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                &[issuer.into(), subject.into(), user.into(), stamp.at.0.into()],
            )?;
            let key = "issuer = ?1 AND subject = ?2";
            rows::reseal(db, rows, &SSO_IDENTITIES, key, &[issuer.into(), subject.into()])?;
            sync_grants(db, rows, user, grants, stamp)?;
            return Ok(SignIn::Admitted { user, username: name.clone(), grants: grants.to_vec(), created: true });
        }
    };
    let account = db.query_opt("SELECT username FROM users WHERE id = ?1", &[user.into()])?;
    let username = account.ok_or(AccountError::UserNotFound)?[0].parse::<Username>()?;
    let credentials = accounts::credentials(db, rows, &username)?;
    let Some(credentials) = credentials else { return Ok(SignIn::Tampered) };
    sync_grants(db, rows, user, grants, stamp)?;
    if credentials.disabled {
        return Ok(SignIn::Disabled);
    }
    if grants.is_empty() && accounts::grants_of(db, rows, user)?.is_empty() {
        return Ok(SignIn::NoRole);
    }
    db.execute("UPDATE sso_identities SET last_sign_in_at = ?2 WHERE user_id = ?1", &[user.into(), stamp.at.0.into()])?;
    Ok(SignIn::Admitted { user, username, grants: grants.to_vec(), created: false })
}

/// Makes the user's grants from the IdP exactly `grants`: those no longer
/// given are removed, new ones added (a grant already made by hand stays a
/// hand grant, and is never removed here).
fn sync_grants<S: Sql + ?Sized>(db: &S, rows: &RowKey, user: UserId, grants: &[Grant], stamp: Stamp<'_>) -> Result<()> {
    let (marked, current) = (from_idp(db, rows, user)?, accounts::grants_of(db, rows, user)?);
    let key = "user_id = ?1 AND role = ?2 AND namespace = ?3";
    for stale in marked.iter().filter(|g| !current.contains(g)) {
        // Its grant was revoked by hand meanwhile: nothing of the IdP's left to mark.
        let args: [Value<'_>; 3] = [user.into(), stale.role.as_str().into(), stale.scope.as_str().into()];
        db.execute(&format!("DELETE FROM idp_grants WHERE {key}"), &args)?;
    }
    let held: Vec<Grant> = marked.into_iter().filter(|g| current.contains(g)).collect();
    for gone in held.iter().filter(|g| !grants.contains(g)) {
        let args: [Value<'_>; 3] = [user.into(), gone.role.as_str().into(), gone.scope.as_str().into()];
        db.execute(&format!("DELETE FROM grants WHERE {key}"), &args)?;
        db.execute(&format!("DELETE FROM idp_grants WHERE {key}"), &args)?;
    }
    let hand: Vec<&Grant> = current.iter().filter(|g| !held.contains(g)).collect();
    for new in grants.iter().filter(|g| !held.contains(g) && !hand.contains(g)) {
        let args: [Value<'_>; 3] = [user.into(), new.role.as_str().into(), new.scope.as_str().into()];
        db.execute(
            "INSERT INTO grants (user_id, role, namespace, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[args[0].clone(), args[1].clone(), args[2].clone(), stamp.at.0.into(), stamp.actor.into()],
        )?;
        rows::reseal(db, rows, &GRANTS, key, &args)?;
        db.execute("INSERT INTO idp_grants (user_id, role, namespace) VALUES (?1, ?2, ?3)", &args)?;
        rows::reseal(db, rows, &IDP_GRANTS, key, &args)?;
    }
    Ok(())
}

/// The user's grants that came from the IdP (rows changed without the root key left out).
pub fn from_idp<S: Sql + ?Sized>(db: &S, rows: &RowKey, user: UserId) -> Result<Vec<Grant>> {
    let sql = format!("SELECT {} FROM idp_grants WHERE user_id = ?1", IDP_GRANTS.columns(""));
    let mut out = Vec::new();
    for row in db.query(&sql, &[user.into()])? {
        if !IDP_GRANTS.intact(rows, &row) {
            rows::refused("idp_grants", &format!("of user {user}"));
            continue;
        }
        let bad = |what: &str| SqlError::Type(format!("an IdP grant's {what} does not parse"));
        let role = row[1].text()?.parse::<Role>().map_err(|_| bad("role"))?;
        let scope = Scope::parse(row[2].text()?).map_err(|_| bad("namespace"))?;
        out.push(Grant { role, scope });
    }
    Ok(out)
}

/// Whether `user` signs in through the IdP.
pub fn is_sso<S: Sql + ?Sized>(db: &S, user: UserId) -> Result<bool> {
    Ok(db.query_opt("SELECT 1 FROM sso_identities WHERE user_id = ?1", &[user.into()])?.is_some())
}

/// Stamps a session as an SSO one, ending `max_age` seconds after it began.
pub fn limit_session<S: Sql + ?Sized>(db: &S, rows: &RowKey, token_hash: &[u8], max_age: i64) -> Result<()> {
    db.execute("UPDATE sessions SET max_age = ?2 WHERE token_hash = ?1", &[token_hash.into(), max_age.into()])?;
    rows::reseal(db, rows, &rows::SESSIONS, "token_hash = ?1", &[token_hash.into()])?;
    Ok(())
}

/// Links account `username` to identity `(issuer, subject)`, which then signs
/// in as it (an admin's explicit act: SSO never links by name). Refused when
/// the identity is linked already.
pub fn link<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    username: &Username,
    (issuer, subject): (&str, &str),
    stamp: Stamp<'_>,
) -> Result<()> {
    let user = accounts::user_id_of(db, username)?;
    let inserted = db.execute(
        "INSERT INTO sso_identities (issuer, subject, user_id, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (issuer, subject) DO NOTHING",
        &[issuer.into(), subject.into(), user.into(), stamp.at.0.into()],
    )?;
    if inserted == 0 {
        return Err(AccountError::UserExists);
    }
    rows::reseal(db, rows, &SSO_IDENTITIES, "issuer = ?1 AND subject = ?2", &[issuer.into(), subject.into()])?;
    Ok(())
}

//! Second factors of local accounts: a TOTP secret per user (`auth::totp`),
//! sealed under a key derived from the base key (`crypto::FactorKey`: data
//! key rotation and retirement never touch it, a rekey keeps it) and bound to
//! its user, with the last step a code was used at (a code works once, on
//! every node: the step moves forward in one statement).
//!
//! `second_factors` rows are security rows (`store::rows`): a secret swapped
//! in from another row, or written without the root key, is refused.

use crate::domain::{Timestamp, UserId};
use crate::ssr::{
    crypto::{CryptoError, FactorKey},
    db::{
        sql::{Sql, SqlError},
        RowKey,
    },
    store::rows::{self, SECOND_FACTORS},
};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Rows(#[from] rows::RowError),
    #[error(transparent)]
    Account(#[from] crate::ssr::store::accounts::AccountError),
    #[error("database error: {0}")]
    Database(#[from] SqlError),
}

/// A user's second factor, as a sign-in checks it.
pub enum Factor {
    Totp {
        secret: Zeroizing<Vec<u8>>,
        last_step: Option<i64>,
    },
    /// The row was changed without the root key: no code is right.
    Tampered,
}

/// Sets (or replaces) `user`'s TOTP secret.
pub fn enroll<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    key: &FactorKey,
    user: UserId,
    secret: &[u8],
    now: Timestamp,
) -> Result<(), FactorError> {
    let (nonce, sealed) = key.seal(user.0, secret)?;
    db.execute(
        "INSERT INTO second_factors (user_id, nonce, sealed, last_step, created_at) VALUES (?1, ?2, ?3, NULL, ?4)
         ON CONFLICT (user_id) DO UPDATE SET nonce = ?2, sealed = ?3, last_step = NULL, created_at = ?4",
        &[user.into(), nonce.as_slice().into(), sealed.as_slice().into(), now.0.into()],
    )?;
    rows::reseal(db, rows, &SECOND_FACTORS, "user_id = ?1", &[user.into()])?;
    Ok(())
}

/// `user`'s second factor, if set.
pub fn of<S: Sql + ?Sized>(
    db: &S,
    rows: &RowKey,
    key: &FactorKey,
    user: UserId,
) -> Result<Option<Factor>, FactorError> {
    let sql = format!("SELECT {}, last_step FROM second_factors WHERE user_id = ?1", SECOND_FACTORS.columns(""));
    let Some(row) = db.query_opt(&sql, &[user.into()])? else { return Ok(None) };
    // Covered: user_id, nonce, sealed; then mac; then last_step.
    if !SECOND_FACTORS.intact(rows, &row[..SECOND_FACTORS.width()]) {
        rows::refused("second_factors", &format!("of user {user}"));
        return Ok(Some(Factor::Tampered));
    }
    let Ok(secret) = key.open(user.0, row[1].blob()?, row[2].blob()?) else {
        return Ok(Some(Factor::Tampered));
    };
    Ok(Some(Factor::Totp { secret, last_step: row[4].opt_int()? }))
}

/// Marks `step` used for `user`: false if it (or a later one) was used
/// already — on another node too, a moment ago.
pub fn use_step<S: Sql + ?Sized>(db: &S, user: UserId, step: i64) -> Result<bool, FactorError> {
    let moved = db.execute(
        "UPDATE second_factors SET last_step = ?2 WHERE user_id = ?1 AND (last_step IS NULL OR last_step < ?2)",
        &[user.into(), step.into()],
    )?;
    Ok(moved == 1)
}

/// Removes `user`'s second factor; whether there was one.
pub fn remove<S: Sql + ?Sized>(db: &S, user: UserId) -> Result<bool, FactorError> {
    Ok(db.execute("DELETE FROM second_factors WHERE user_id = ?1", &[user.into()])? == 1)
}

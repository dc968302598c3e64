//! Archiving the trail's older entries to a file that verifies on its own,
//! then pruning them: the live trail goes on from the checkpoint they end at,
//! and the archive is never needed to serve.
//!
//! File (JSON Lines): a header `{"strongroom_audit_archive":1,"first":A,
//! "prev_mac":HEX}` (the MAC of the entry before A; empty at the start of the
//! trail), one line per entry (its fields and its `mac`), and a trailer
//! `{"checkpoint":{"id":B,"mac":HEX},"entries":N,"seal":HEX}` where the seal
//! is HMAC(k, "archive" ‖ A ‖ prev_mac ‖ B ‖ mac_B ‖ N) under the chain key:
//! a file cut short or added to does not verify. Checking one needs the root
//! key, like `audit verify`.
//!
//! The live trail keeps `meta.audit_base` = B ‖ mac_B ‖ HMAC(k, "base" ‖ B ‖
//! mac_B): its first entry must be B + 1, chained from mac_B.

use super::chain::{chain_mac, entry_and_mac, AuditKey};
use super::query::COLUMNS;
use crate::domain::{audit::AuditEntry, Timestamp};
use crate::ssr::db::sql::{Sql, SqlError};
use hmac::Mac;
use std::io::{BufRead, Write};

/// Why an archive could not be written, pruned or checked.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Database(#[from] SqlError),
    /// The trail (or the archive) does not verify: nothing is archived from a broken one.
    #[error("entry {id}: {problem}")]
    Broken { id: i64, problem: String },
    #[error("the trail changed while it was archived (another archive ran?); nothing was pruned")]
    Moved,
}

/// What an archive holds: entries `first..=last`, chained from `prev_mac`,
/// ending at `checkpoint`, the MAC of entry `last`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archived {
    pub first: i64,
    pub last: i64,
    pub entries: u64,
    pub prev_mac: Vec<u8>,
    pub checkpoint: Vec<u8>,
}

/// Lower-case hex, as archives, streams and signatures write bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn tagged(key: &AuditKey, label: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = key.mac();
    mac.update(label);
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn seal(key: &AuditKey, a: &Archived) -> Vec<u8> {
    let (first, last, n) = (a.first.to_be_bytes(), a.last.to_be_bytes(), a.entries.to_be_bytes());
    tagged(key, b"archive", &[&first, &a.prev_mac, &last, &a.checkpoint, &n])
}

fn base_value(key: &AuditKey, id: i64, mac: &[u8]) -> Vec<u8> {
    let tag = tagged(key, b"base", &[&id.to_be_bytes(), mac]);
    [&id.to_be_bytes()[..], mac, &tag].concat()
}

/// Where the live trail begins: the last archived entry's id and MAC, checked
/// against its tag; `(0, [])` for a trail never archived.
pub fn base<S: Sql + ?Sized>(db: &S, key: Option<&AuditKey>) -> Result<(i64, Vec<u8>), ArchiveError> {
    let Some(row) = db.query_opt("SELECT value FROM meta WHERE name = 'audit_base'", &[])? else {
        return Ok((0, Vec::new()));
    };
    let blob = row[0].blob()?;
    let damaged =
        || ArchiveError::Broken { id: 0, problem: "the archive checkpoint (meta.audit_base) is damaged".into() };
    let (id, rest) = blob.split_first_chunk::<8>().ok_or_else(damaged)?;
    let (id, mac) = (i64::from_be_bytes(*id), rest.get(..32).ok_or_else(damaged)?.to_vec());
    if key.is_some_and(|key| base_value(key, id, &mac) != blob) {
        return Err(damaged());
    }
    Ok((id, mac))
}

/// Writes every entry older than `before` that is still in the live trail
/// to `out`, checking the chain as it goes (a broken trail is not archived).
/// Run it in one snapshot (`Db::read`); nothing is changed. `None` when no
/// entry is that old.
pub fn write<S: Sql + ?Sized>(
    db: &S,
    key: &AuditKey,
    before: Timestamp,
    out: &mut dyn Write,
) -> Result<Option<Archived>, ArchiveError> {
    let (base_id, base_mac) = base(db, Some(key))?;
    let last = db.query_opt("SELECT max(id) FROM audit WHERE at < ?1", &[before.0.into()])?;
    let Some(last) = last.map(|r| r[0].opt_int()).transpose()?.flatten().filter(|&l| l > base_id) else {
        return Ok(None);
    };
    let header = serde_json::json!({ "strongroom_audit_archive": 1, "first": base_id + 1, "prev_mac": hex(&base_mac) });
    writeln!(out, "{header}")?;
    let (mut prev_id, mut prev_mac, mut entries) = (base_id, base_mac.clone(), 0u64);
    let mut failed: Option<ArchiveError> = None;
    db.query_each(
        &format!("SELECT {COLUMNS}, mac FROM audit WHERE id > ?1 AND id <= ?2 ORDER BY id"),
        &[base_id.into(), last.into()],
        &mut |row| {
            if failed.is_some() {
                return Ok(());
            }
            let (e, mac) = entry_and_mac(row)?;
            if e.id != prev_id + 1 || chain_mac(key, &prev_mac, &e) != mac {
                failed = Some(ArchiveError::Broken { id: e.id, problem: "does not verify: nothing archived".into() });
                return Ok(());
            }
            let line = serde_json::json!({ "entry": e, "mac": hex(&mac) });
            if let Err(io) = writeln!(out, "{line}") {
                failed = Some(io.into());
            }
            (prev_id, prev_mac, entries) = (e.id, mac, entries + 1);
            Ok(())
        },
    )?;
    if let Some(e) = failed {
        return Err(e);
    }
    if prev_id != last {
        return Err(ArchiveError::Broken { id: prev_id + 1, problem: "missing: nothing archived".into() });
    }
    let archived = Archived { first: base_id + 1, last, entries, prev_mac: base_mac, checkpoint: prev_mac };
    let trailer = serde_json::json!({
        "checkpoint": { "id": last, "mac": hex(&archived.checkpoint) },
        "entries": entries,
        "seal": hex(&seal(key, &archived)),
    });
    writeln!(out, "{trailer}")?;
    out.flush()?;
    Ok(Some(archived))
}

/// Removes the entries `archived` holds (once its file is durable) and makes
/// its checkpoint the live trail's base, in the caller's write transaction.
/// Refused if the trail is not where the archive left it.
pub fn prune<S: Sql + ?Sized>(tx: &S, key: &AuditKey, archived: &Archived) -> Result<u64, ArchiveError> {
    crate::ssr::db::sql::hold(tx, crate::ssr::db::sql::Lock::Audit)?;
    let (base_id, _) = base(tx, Some(key))?;
    let mac = tx.query_opt("SELECT mac FROM audit WHERE id = ?1", &[archived.last.into()])?;
    if base_id + 1 != archived.first
        || mac.map(|r| r[0].blob().map(<[u8]>::to_vec)).transpose()? != Some(archived.checkpoint.clone())
    {
        return Err(ArchiveError::Moved);
    }
    let removed = tx.execute("DELETE FROM audit WHERE id <= ?1", &[archived.last.into()])?;
    tx.execute(
        "INSERT INTO meta (name, value) VALUES ('audit_base', ?1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[base_value(key, archived.last, &archived.checkpoint).as_slice().into()],
    )?;
    Ok(removed)
}

/// Checks an archive file on its own: every entry's MAC from `prev_mac` on,
/// consecutive ids, and the seal over the whole (so a file cut short fails).
pub fn verify_file(key: &AuditKey, input: &mut dyn BufRead) -> Result<Archived, ArchiveError> {
    let broken = |id: i64, problem: &str| ArchiveError::Broken { id, problem: problem.to_owned() };
    let mut lines = input.lines();
    let header: serde_json::Value =
        serde_json::from_str(&lines.next().transpose()?.unwrap_or_default()).map_err(|_| broken(0, "no header"))?;
    let first = header["first"].as_i64().filter(|_| header["strongroom_audit_archive"] == 1);
    let first = first.ok_or_else(|| broken(0, "not a Strongroom audit archive"))?;
    let prev = header["prev_mac"].as_str().and_then(unhex).ok_or_else(|| broken(0, "a bad header"))?;
    let (mut prev_id, mut prev_mac, mut entries) = (first - 1, prev.clone(), 0u64);
    for line in lines {
        let line: serde_json::Value = serde_json::from_str(&line?).map_err(|_| broken(prev_id + 1, "not JSON"))?;
        if let Some(checkpoint) = line.get("checkpoint") {
            let archived = Archived { first, last: prev_id, entries, prev_mac: prev, checkpoint: prev_mac };
            let claimed =
                (checkpoint["id"].as_i64(), checkpoint["mac"].as_str().and_then(unhex), line["entries"].as_u64());
            let sealed = line["seal"].as_str().and_then(unhex);
            if claimed != (Some(archived.last), Some(archived.checkpoint.clone()), Some(entries))
                || sealed != Some(seal(key, &archived))
            {
                return Err(broken(prev_id, "the archive's seal does not match its entries"));
            }
            return Ok(archived);
        }
        let e: AuditEntry =
            serde_json::from_value(line["entry"].clone()).map_err(|_| broken(prev_id + 1, "not an entry"))?;
        let mac = line["mac"].as_str().and_then(unhex).ok_or_else(|| broken(e.id, "no MAC"))?;
        if e.id != prev_id + 1 {
            return Err(broken(e.id, "out of order, or entries before it were removed"));
        }
        if chain_mac(key, &prev_mac, &e) != mac {
            return Err(broken(e.id, "edited, inserted or moved (its MAC does not match)"));
        }
        (prev_id, prev_mac, entries) = (e.id, mac, entries + 1);
    }
    Err(broken(prev_id, "the archive ends without its seal (cut short)"))
}

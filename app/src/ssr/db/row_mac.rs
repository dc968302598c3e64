//! The `row_mac(…)` SQL function: the MAC of a security row under the row key (see `store::rows`).

use crate::ssr::crypto::BaseKey;
use hmac::Mac;
use rusqlite::{
    functions::{Context, FunctionFlags},
    types::ValueRef,
    Connection,
};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The row key. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct RowKey(Arc<Zeroizing<[u8; 32]>>);

impl std::fmt::Debug for RowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowKey(..)")
    }
}

impl RowKey {
    pub fn derive(base: &BaseKey) -> Self {
        Self(Arc::new(base.derive("strongroom security rows v1")))
    }

    /// The MAC of one row's values: each length-prefixed with its type, so
    /// that no two different rows encode alike.
    pub(crate) fn mac(&self, values: &[ValueRef<'_>]) -> Vec<u8> {
        let key: &[u8] = self.0.as_ref().as_ref();
        let mut mac = crate::ssr::crypto::hmac_sha256(key);
        for value in values {
            let (tag, bytes): (u8, std::borrow::Cow<[u8]>) = match value {
                ValueRef::Null => (b'n', (&[][..]).into()),
                ValueRef::Integer(i) => (b'i', i.to_be_bytes().to_vec().into()),
                ValueRef::Real(r) => (b'r', r.to_be_bytes().to_vec().into()),
                ValueRef::Text(t) => (b't', (*t).into()),
                ValueRef::Blob(b) => (b'b', (*b).into()),
            };
            mac.update(&[tag]);
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(&bytes);
        }
        mac.finalize().into_bytes().to_vec()
    }
}

/// Installs `row_mac(…)` on `conn` (again: replaces it).
pub fn install_row_mac(conn: &Connection, key: &RowKey) -> rusqlite::Result<()> {
    let key = key.clone();
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_DIRECTONLY;
    conn.create_scalar_function("row_mac", -1, flags, move |ctx: &Context<'_>| {
        let values = (0..ctx.len()).map(|i| ctx.get_raw(i)).collect::<Vec<_>>();
        Ok(key.mac(&values))
    })
}

//! The row key: the MAC of a security row (see `store::rows`), computed here
//! in Rust, so that no SQL function — and so nothing stored in the database —
//! can compute one, and so that both engines check rows alike.

use crate::ssr::{crypto::BaseKey, db::sql::Value};
use hmac::Mac;
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

    /// The HMAC over one row's values: each length-prefixed with its type, so
    /// that no two different rows encode alike. (The encoding of the SQL
    /// function it replaces, so rows sealed by earlier versions still match.)
    fn hmac(&self, values: &[Value<'_>]) -> hmac::SimpleHmac<sha2::Sha256> {
        let key: &[u8] = self.0.as_ref().as_ref();
        let mut mac = crate::ssr::crypto::hmac_sha256(key);
        for value in values {
            let int;
            let (tag, bytes): (u8, &[u8]) = match value {
                Value::Null => (b'n', &[]),
                Value::Int(i) => {
                    int = i.to_be_bytes();
                    (b'i', &int)
                }
                Value::Text(t) => (b't', t.as_bytes()),
                Value::Blob(b) => (b'b', b),
            };
            mac.update(&[tag]);
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        }
        mac
    }

    /// The MAC of one row's values.
    pub fn mac(&self, values: &[Value<'_>]) -> Vec<u8> {
        self.hmac(values).finalize().into_bytes().to_vec()
    }

    /// Whether `tag` is the MAC of `values` (in constant time).
    pub fn verify(&self, values: &[Value<'_>], tag: &Value<'_>) -> bool {
        match tag {
            Value::Blob(tag) => self.hmac(values).verify_slice(tag).is_ok(),
            _ => false,
        }
    }
}

//! Encryption at rest.
//!
//! Format (version 1):
//! - **Root key**: 32 random bytes supplied at start (file or env, base64). Never stored
//!   in the database.
//! - **Key check** (`meta.key_check`): `nonce(24) || XChaCha20-Poly1305(root, nonce,
//!   KEY_CHECK_PLAINTEXT, aad = "strongroom/key-check/v1")`. Opening it proves the
//!   supplied root key is the one the database was made with.
//! - **Data keys** (`data_keys` rows): 32 random bytes each, stored as `nonce(24)` and
//!   `wrapped = XChaCha20-Poly1305(root, nonce, key, aad = "strongroom/data-key/v1" ||
//!   id as u64 BE)`. New writes use the newest; older ones still decrypt.
//! - **Values** (`secret_versions` rows): `key_id`, `nonce(24)` and `ciphertext || tag`
//!   under that data key, with the associated data built by [`value_aad`], which binds
//!   the format version, namespace, key, version number and data-key id: a ciphertext
//!   copied to another row does not decrypt.
//!
//! Format 2 adds the secret's random [`SecretUid`] to the associated data, so a
//! secret purged and made again under the same name does not accept its
//! predecessor's ciphertexts. Secrets made before it keep format 1 until
//! `strongroom rewrap` gives them an id.
//!
//! - **Base key** (`meta.base_key`): 32 bytes wrapped like a data key (aad
//!   `"strongroom/base-key/v1"`); the keys of other purposes (the audit chain,
//!   device cookies) are derived from it. Stored rather than derived from the
//!   root key so that `strongroom rekey` can change the root key and the chain
//!   still verifies. Databases made before it use the root key's bytes (what
//!   they derived from then), so nothing derived changes.

use crate::domain::{NamespacePath, SecretKey, SecretValue};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use std::{fmt, sync::RwLock};
use zeroize::Zeroizing;

pub const KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 24;
const FORMAT_WITHOUT_UID: u8 = 1;
const FORMAT_WITH_UID: u8 = 2;
pub const UID_LEN: usize = 16;
const KEY_CHECK_AAD: &[u8] = b"strongroom/key-check/v1";
const KEY_CHECK_PLAINTEXT: &[u8] = b"strongroom root key check";
const DATA_KEY_AAD: &[u8] = b"strongroom/data-key/v1";
const BASE_KEY_AAD: &[u8] = b"strongroom/base-key/v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the root key must be {KEY_LEN} bytes encoded as base64 (make one with `strongroom keygen`)")]
    BadRootKey,
    #[error("the root key does not match this database (key check failed)")]
    WrongRootKey,
    #[error("decryption failed: the ciphertext or its place was altered")]
    Tampered,
    #[error("no data key with the id the ciphertext names")]
    UnknownDataKey,
    #[error("the system random number generator failed")]
    Random,
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, CryptoError> {
    let mut out = Zeroizing::new([0u8; N]);
    getrandom::fill(out.as_mut()).map_err(|_| CryptoError::Random)?;
    Ok(out)
}

fn cipher(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

/// Seals `plaintext` under `key` with a fresh random nonce.
fn seal(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Result<([u8; NONCE_LEN], Vec<u8>), CryptoError> {
    let nonce = *random::<NONCE_LEN>()?;
    let ciphertext = cipher(key)
        .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad })
        .map_err(|_| CryptoError::Tampered)?;
    Ok((nonce, ciphertext))
}

fn open(key: &[u8; KEY_LEN], aad: &[u8], nonce: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let nonce = <&XNonce>::try_from(nonce).map_err(|_| CryptoError::Tampered)?;
    cipher(key).decrypt(nonce, Payload { msg: ciphertext, aad }).map(Zeroizing::new).map_err(|_| CryptoError::Tampered)
}

/// The 256-bit root key. No `Serialize`; `Debug` is redacted; zeroized on drop.
pub struct RootKey(Zeroizing<[u8; KEY_LEN]>);

impl RootKey {
    pub fn generate() -> Result<Self, CryptoError> {
        random().map(Self)
    }

    /// Parses base64 (surrounding white space ignored, as in a key file).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| CryptoError::BadRootKey)?);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::BadRootKey);
        }
        key.copy_from_slice(&bytes);
        Ok(Self(key))
    }

    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.as_ref()))
    }

    /// The base key of a database made before base keys were stored: the
    /// root key's own bytes, which its derived keys came from.
    pub fn legacy_base(&self) -> BaseKey {
        BaseKey(self.0.clone())
    }

    /// A copy, for the keyring to unwrap data keys added while it runs.
    fn duplicate(&self) -> Self {
        Self(self.0.clone())
    }

    /// `nonce || wrapped` of the base key, for `meta.base_key`.
    pub fn wrap_base(&self, base: &BaseKey) -> Result<Vec<u8>, CryptoError> {
        let (nonce, wrapped) = seal(&self.0, BASE_KEY_AAD, base.0.as_ref())?;
        Ok([nonce.as_slice(), &wrapped].concat())
    }

    pub fn unwrap_base(&self, blob: &[u8]) -> Result<BaseKey, CryptoError> {
        let (nonce, wrapped) = blob.split_at_checked(NONCE_LEN).ok_or(CryptoError::Tampered)?;
        let plain = open(&self.0, BASE_KEY_AAD, nonce, wrapped)?;
        let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| CryptoError::Tampered)?;
        Ok(BaseKey(Zeroizing::new(bytes)))
    }

    /// `nonce || wrapped` of a fingerprint key of generation `generation`.
    pub fn wrap_fingerprint(&self, generation: i64, key: &FingerprintKey) -> Result<Vec<u8>, CryptoError> {
        let (nonce, wrapped) = seal(&self.0, &fingerprint_key_aad(generation), key.0.as_slice())?;
        Ok([nonce.as_slice(), &wrapped].concat())
    }

    pub fn unwrap_fingerprint(&self, generation: i64, blob: &[u8]) -> Result<FingerprintKey, CryptoError> {
        let (nonce, wrapped) = blob.split_at_checked(NONCE_LEN).ok_or(CryptoError::Tampered)?;
        let plain = open(&self.0, &fingerprint_key_aad(generation), nonce, wrapped)?;
        let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().map_err(|_| CryptoError::Tampered)?;
        Ok(FingerprintKey(std::sync::Arc::new(Zeroizing::new(bytes))))
    }

    /// A new key-check blob for a new database.
    pub fn key_check(&self) -> Result<Vec<u8>, CryptoError> {
        let (nonce, ct) = seal(&self.0, KEY_CHECK_AAD, KEY_CHECK_PLAINTEXT)?;
        Ok([nonce.as_slice(), &ct].concat())
    }

    /// Succeeds only if `blob` was made by [`RootKey::key_check`] with this key.
    pub fn verify_key_check(&self, blob: &[u8]) -> Result<(), CryptoError> {
        if blob.len() < NONCE_LEN {
            return Err(CryptoError::WrongRootKey);
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        match open(&self.0, KEY_CHECK_AAD, nonce, ct) {
            Ok(pt) if pt.as_slice() == KEY_CHECK_PLAINTEXT => Ok(()),
            _ => Err(CryptoError::WrongRootKey),
        }
    }

    /// Wraps a data key for storage in row `id`.
    pub fn wrap(&self, key: &DataKey) -> Result<WrappedKey, CryptoError> {
        let (nonce, wrapped) = seal(&self.0, &data_key_aad(key.id), key.key.as_ref())?;
        Ok(WrappedKey { id: key.id, nonce: nonce.to_vec(), wrapped })
    }

    pub fn unwrap(&self, stored: &WrappedKey) -> Result<DataKey, CryptoError> {
        let plain = open(&self.0, &data_key_aad(stored.id), &stored.nonce, &stored.wrapped)?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if plain.len() != KEY_LEN {
            return Err(CryptoError::Tampered);
        }
        key.copy_from_slice(&plain);
        Ok(DataKey { id: stored.id, key })
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

/// The key other purposes' keys are derived from (see the module notes).
/// Zeroized on drop; `Debug` is redacted.
pub struct BaseKey(Zeroizing<[u8; KEY_LEN]>);

impl BaseKey {
    pub fn generate() -> Result<Self, CryptoError> {
        random().map(Self)
    }

    /// A 256-bit key for one purpose, named by `label`: HKDF-Expand (RFC 5869,
    /// SHA-256) with the base key as the pseudorandom key and the label as the
    /// info. Knowing a derived key reveals nothing about the base key or about
    /// keys for other labels.
    #[expect(clippy::expect_used, reason = "a 32-byte PRK and a 32-byte output are always valid for HKDF-SHA256")]
    pub fn derive(&self, label: &str) -> Zeroizing<[u8; KEY_LEN]> {
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::from_prk(self.0.as_ref()).expect("a 32-byte key is a valid PRK");
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        hkdf.expand(label.as_bytes(), out.as_mut()).expect("32 bytes is a valid HKDF length");
        out
    }
}

/// Seals small secrets a row holds (second factors: `store::second_factors`;
/// webhook signing secrets: `store::webhooks`) under a key derived from the
/// base key for that purpose, so data-key rotation and retirement never touch
/// them and a rekey keeps them; each sealed to its row's id.
#[derive(Clone)]
pub struct SealKey {
    key: std::sync::Arc<Zeroizing<[u8; KEY_LEN]>>,
    /// Names what is sealed, in the derivation and in every AAD.
    purpose: &'static str,
}

/// The second factors' key (its derivation label and AAD predate [`SealKey`]).
pub type FactorKey = SealKey;

impl SealKey {
    pub fn factors(base: &BaseKey) -> Self {
        Self::derive(base, "second factor")
    }

    pub fn webhooks(base: &BaseKey) -> Self {
        Self::derive(base, "webhook secret")
    }

    fn derive(base: &BaseKey, purpose: &'static str) -> Self {
        Self { key: std::sync::Arc::new(base.derive(&format!("strongroom {purpose}s v1"))), purpose }
    }

    fn aad(&self, id: i64) -> Vec<u8> {
        let mut aad = format!("strongroom {} v1\0", self.purpose).into_bytes();
        aad.extend_from_slice(&id.to_be_bytes());
        aad
    }

    /// `secret` sealed for row `id`: (nonce, ciphertext).
    pub fn seal(&self, id: i64, secret: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        let (nonce, sealed) = seal(&self.key, &self.aad(id), secret)?;
        Ok((nonce.to_vec(), sealed))
    }

    /// The secret sealed for row `id`; a ciphertext moved to another row, or changed, is refused.
    pub fn open(&self, id: i64, nonce: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.key, &self.aad(id), nonce, sealed)
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealKey({}, ..)", self.purpose)
    }
}

impl fmt::Debug for BaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BaseKey(<redacted>)")
    }
}

/// The key of the values' fingerprints (`store::fingerprints`): random,
/// wrapped by the root key, replaced on `rekey`. Zeroized on drop; `Debug`
/// is redacted.
#[derive(Clone)]
pub struct FingerprintKey(std::sync::Arc<Zeroizing<[u8; KEY_LEN]>>);

impl FingerprintKey {
    pub fn generate() -> Result<Self, CryptoError> {
        random().map(|k| Self(std::sync::Arc::new(k)))
    }

    /// HMAC-SHA256 of the value under this key.
    pub fn fingerprint(&self, value: &SecretValue) -> Vec<u8> {
        use hmac::Mac;
        let mut mac = super::hmac_sha256(self.0.as_slice());
        mac.update(value.expose().as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FingerprintKey(..)")
    }
}

fn fingerprint_key_aad(generation: i64) -> Vec<u8> {
    [b"strongroom/fingerprint-key/v1".as_slice(), &generation.to_be_bytes()].concat()
}

fn data_key_aad(id: i64) -> Vec<u8> {
    [DATA_KEY_AAD, &id.to_be_bytes()].concat()
}

/// A data key as stored: wrapped by the root key.
#[derive(Clone, Debug)]
pub struct WrappedKey {
    pub id: i64,
    pub nonce: Vec<u8>,
    pub wrapped: Vec<u8>,
}

/// An unwrapped data key. No `Serialize`; `Debug` shows only its id.
pub struct DataKey {
    id: i64,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl DataKey {
    pub fn generate(id: i64) -> Result<Self, CryptoError> {
        Ok(Self { id, key: random()? })
    }

    pub fn id(&self) -> i64 {
        self.id
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey {{ id: {}, key: <redacted> }}", self.id)
    }
}

/// All data keys, unwrapped, for the life of the process. Keys added to the
/// database while it runs (`strongroom keyring rotate`) are learned with the
/// root key it keeps (see `keys::refresh`).
#[derive(Debug, Default)]
pub struct Keyring {
    keys: RwLock<Vec<DataKey>>,
    root: Option<RootKey>,
    /// The fingerprint key in force and its generation (`store::fingerprints`).
    fingerprints: RwLock<Option<(i64, FingerprintKey)>>,
}

impl Keyring {
    pub fn new(keys: Vec<DataKey>) -> Self {
        let keyring = Self::default();
        keys.into_iter().for_each(|k| keyring.insert(k));
        keyring
    }

    /// A keyring that can learn keys wrapped by `root`.
    pub fn unlocked(root: &RootKey, keys: Vec<DataKey>) -> Self {
        Self { root: Some(root.duplicate()), ..Self::new(keys) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<DataKey>> {
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn insert(&self, key: DataKey) {
        let mut keys = self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Err(at) = keys.binary_search_by_key(&key.id, |k| k.id) {
            keys.insert(at, key);
        }
    }

    /// Unwraps a stored key with the root key this keyring was unlocked with
    /// and adds it. Fails for a key wrapped by another root key (the database
    /// was rekeyed while this process runs).
    pub fn learn(&self, stored: &WrappedKey) -> Result<(), CryptoError> {
        let root = self.root.as_ref().ok_or(CryptoError::UnknownDataKey)?;
        self.insert(root.unwrap(stored)?);
        Ok(())
    }

    /// Fingerprints new versions with `key` (of `generation`) from now on.
    pub fn set_fingerprint_key(&self, generation: i64, key: FingerprintKey) {
        *self.fingerprints.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((generation, key));
    }

    pub fn fingerprint_generation(&self) -> Option<i64> {
        self.fingerprints.read().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref().map(|(g, _)| *g)
    }

    /// `value`'s fingerprint and the key's generation; `None` without a key.
    pub fn fingerprint(&self, value: &SecretValue) -> Option<(i64, Vec<u8>)> {
        let held = self.fingerprints.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.as_ref().map(|(generation, key)| (*generation, key.fingerprint(value)))
    }

    /// The id of the key new writes use. `None` only for an empty keyring.
    pub fn newest_id(&self) -> Option<i64> {
        self.read().last().map(|k| k.id)
    }

    pub fn contains(&self, id: i64) -> bool {
        self.read().iter().any(|k| k.id == id)
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

/// A random id given to a secret when it is made and bound into every
/// ciphertext of it: a row id (or a name) can be reused after a purge, this
/// cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretUid(pub [u8; UID_LEN]);

impl SecretUid {
    pub fn generate() -> Result<Self, CryptoError> {
        random::<UID_LEN>().map(|bytes| Self(*bytes))
    }

    /// From a stored column; anything but 16 bytes is not an id.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

/// Where a value version lives; all of it is bound into the ciphertext.
/// `uid` is `None` only for secrets made before format 2.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub namespace: &'a NamespacePath,
    pub key: &'a SecretKey,
    pub version: u32,
    pub uid: Option<SecretUid>,
}

/// `format || len(ns) u16 BE || ns || len(key) u16 BE || key || version u32 BE
/// || key_id i64 BE [|| uid]`, format 2 with a uid and 1 without. Lengths make
/// the encoding unambiguous.
pub fn value_aad(place: Place<'_>, key_id: i64) -> Vec<u8> {
    let ns = place.namespace.as_str().as_bytes();
    let key = place.key.as_str().as_bytes();
    let mut aad = Vec::with_capacity(1 + 2 + ns.len() + 2 + key.len() + 4 + 8 + UID_LEN);
    aad.push(if place.uid.is_some() { FORMAT_WITH_UID } else { FORMAT_WITHOUT_UID });
    aad.extend_from_slice(&(ns.len() as u16).to_be_bytes());
    aad.extend_from_slice(ns);
    aad.extend_from_slice(&(key.len() as u16).to_be_bytes());
    aad.extend_from_slice(key);
    aad.extend_from_slice(&place.version.to_be_bytes());
    aad.extend_from_slice(&key_id.to_be_bytes());
    if let Some(uid) = place.uid {
        aad.extend_from_slice(&uid.0);
    }
    aad
}

/// A sealed value version as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: i64,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// What binds a sealed hand-over (`store::handovers`) to its row: a tag no
/// value's associated data starts with (theirs start with format 1 or 2),
/// then the caller's context and the key id.
fn blob_aad(context: &[u8], key_id: i64) -> Vec<u8> {
    let mut aad = b"strongroom handover v1\0".to_vec();
    aad.extend_from_slice(&(context.len() as u32).to_be_bytes());
    aad.extend_from_slice(context);
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad
}

impl Keyring {
    /// Seals `bytes` under the newest data key, bound to `context`.
    pub fn seal_blob(&self, context: &[u8], bytes: &[u8]) -> Result<Sealed, CryptoError> {
        let keys = self.read();
        let dk = keys.last().ok_or(CryptoError::UnknownDataKey)?;
        let (nonce, ciphertext) = seal(&dk.key, &blob_aad(context, dk.id), bytes)?;
        Ok(Sealed { key_id: dk.id, nonce: nonce.to_vec(), ciphertext })
    }

    /// Opens what [`Keyring::seal_blob`] sealed with the same `context`.
    pub fn open_blob(&self, context: &[u8], sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let keys = self.read();
        let dk = keys.iter().find(|k| k.id == sealed.key_id).ok_or(CryptoError::UnknownDataKey)?;
        open(&dk.key, &blob_aad(context, dk.id), &sealed.nonce, &sealed.ciphertext)
    }

    /// Seals `value` for `place` under the newest data key.
    pub fn seal_value(&self, place: Place<'_>, value: &SecretValue) -> Result<Sealed, CryptoError> {
        let keys = self.read();
        let dk = keys.last().ok_or(CryptoError::UnknownDataKey)?;
        let (nonce, ciphertext) = seal(&dk.key, &value_aad(place, dk.id), value.expose().as_bytes())?;
        Ok(Sealed { key_id: dk.id, nonce: nonce.to_vec(), ciphertext })
    }

    /// Opens a value sealed for exactly this `place`.
    pub fn open_value(&self, place: Place<'_>, sealed: &Sealed) -> Result<SecretValue, CryptoError> {
        let keys = self.read();
        let dk = keys.iter().find(|k| k.id == sealed.key_id).ok_or(CryptoError::UnknownDataKey)?;
        let plain = open(&dk.key, &value_aad(place, dk.id), &sealed.nonce, &sealed.ciphertext)?;
        SecretValue::from_bytes(plain).map_err(|_| CryptoError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_are_hkdf_expand_and_unchanged_from_the_first_format() {
        // HKDF-Expand's first block is HMAC(prk, info || 0x01): what version 1
        // computed by hand, so audit chains written before stay verifiable.
        use hmac::{Mac, SimpleHmac};
        let root = RootKey::generate().unwrap();
        let mut mac = SimpleHmac::<sha2::Sha256>::new_from_slice(root.0.as_ref()).unwrap();
        mac.update(b"strongroom audit chain v1");
        mac.update(&[1]);
        let by_hand: [u8; 32] = mac.finalize().into_bytes().into();
        let base = root.legacy_base();
        assert_eq!(*base.derive("strongroom audit chain v1"), by_hand);
        assert_ne!(*base.derive("another purpose"), by_hand);
    }

    #[test]
    fn a_base_key_unwraps_only_with_its_root_key() {
        let (root, other) = (RootKey::generate().unwrap(), RootKey::generate().unwrap());
        let base = BaseKey::generate().unwrap();
        let blob = root.wrap_base(&base).unwrap();
        assert_eq!(*root.unwrap_base(&blob).unwrap().derive("x"), *base.derive("x"));
        assert_eq!(other.unwrap_base(&blob).unwrap_err(), CryptoError::Tampered);
        assert_eq!(root.unwrap_base(&blob[..10]).unwrap_err(), CryptoError::Tampered);
        // Not interchangeable with a data key's wrapping.
        let as_data_key = WrappedKey { id: 0, nonce: blob[..NONCE_LEN].to_vec(), wrapped: blob[NONCE_LEN..].to_vec() };
        assert_eq!(root.unwrap(&as_data_key).unwrap_err(), CryptoError::Tampered);
    }

    fn ns(s: &str) -> NamespacePath {
        NamespacePath::parse(s).unwrap()
    }
    fn key(s: &str) -> SecretKey {
        SecretKey::parse(s).unwrap()
    }
    fn value(s: &str) -> SecretValue {
        SecretValue::parse(s.into()).unwrap()
    }
    fn keyring() -> Keyring {
        Keyring::new(vec![DataKey::generate(1).unwrap()])
    }

    #[test]
    fn a_value_round_trips() {
        let (kr, n, k) = (keyring(), ns("company"), key("DB"));
        let place = Place { namespace: &n, key: &k, version: 1, uid: Some(SecretUid([7; UID_LEN])) };
        let sealed = kr.seal_value(place, &value("s3cret\nline2")).unwrap();
        assert_eq!(kr.open_value(place, &sealed).unwrap().expose(), "s3cret\nline2");
    }

    #[test]
    fn each_place_field_is_bound() {
        let (kr, n, k) = (keyring(), ns("company"), key("DB"));
        let place = Place { namespace: &n, key: &k, version: 1, uid: Some(SecretUid([7; UID_LEN])) };
        let sealed = kr.seal_value(place, &value("v")).unwrap();
        let (n2, k2) = (ns("company.team"), key("DB2"));
        let others = [
            Place { namespace: &n2, ..place },
            Place { key: &k2, ..place },
            Place { version: 2, ..place },
            Place { uid: Some(SecretUid([8; UID_LEN])), ..place },
            Place { uid: None, ..place },
        ];
        for other in others {
            assert_eq!(kr.open_value(other, &sealed).unwrap_err(), CryptoError::Tampered);
        }
    }

    #[test]
    fn format_1_values_still_open_and_keep_their_layout() {
        // The associated data of secrets made before format 2, byte for byte.
        let (kr, n, k) = (keyring(), ns("co"), key("K"));
        let place = Place { namespace: &n, key: &k, version: 3, uid: None };
        let expected = [&[1u8, 0, 2][..], b"co", &[0, 1], b"K", &3u32.to_be_bytes(), &1i64.to_be_bytes()].concat();
        assert_eq!(value_aad(place, 1), expected);
        let sealed = kr.seal_value(place, &value("old format")).unwrap();
        assert_eq!(kr.open_value(place, &sealed).unwrap().expose(), "old format");
        let with_uid = Place { uid: Some(SecretUid([1; UID_LEN])), ..place };
        assert_eq!(value_aad(with_uid, 1)[0], 2);
        assert_eq!(kr.open_value(with_uid, &sealed).unwrap_err(), CryptoError::Tampered);
    }

    #[test]
    fn the_key_check_detects_a_wrong_root_key() {
        let (a, b) = (RootKey::generate().unwrap(), RootKey::generate().unwrap());
        let check = a.key_check().unwrap();
        assert!(a.verify_key_check(&check).is_ok());
        assert_eq!(b.verify_key_check(&check).unwrap_err(), CryptoError::WrongRootKey);
        assert_eq!(a.verify_key_check(&check[..10]).unwrap_err(), CryptoError::WrongRootKey);
    }

    #[test]
    fn a_wrapped_data_key_only_unwraps_with_its_root_key_and_id() {
        let (root, other) = (RootKey::generate().unwrap(), RootKey::generate().unwrap());
        let dk = DataKey::generate(7).unwrap();
        let wrapped = root.wrap(&dk).unwrap();
        assert_eq!(root.unwrap(&wrapped).unwrap().key.as_ref(), dk.key.as_ref());
        assert_eq!(other.unwrap(&wrapped).unwrap_err(), CryptoError::Tampered);
        let moved = WrappedKey { id: 8, ..wrapped };
        assert_eq!(root.unwrap(&moved).unwrap_err(), CryptoError::Tampered);
    }

    #[test]
    fn root_keys_parse_only_from_32_bytes_of_base64() {
        let k = RootKey::generate().unwrap();
        let text = k.to_base64();
        assert!(RootKey::from_base64(&format!("  {}\n", text.as_str())).is_ok());
        assert_eq!(RootKey::from_base64("not base64!").unwrap_err(), CryptoError::BadRootKey);
        assert_eq!(RootKey::from_base64(&STANDARD.encode([0u8; 31])).unwrap_err(), CryptoError::BadRootKey);
        assert!(!format!("{k:?}").contains(text.as_str()));
    }

    #[test]
    fn older_data_keys_still_open_what_they_sealed() {
        let first = Keyring::new(vec![DataKey::generate(1).unwrap()]);
        let (n, k) = (ns("a"), key("K"));
        let place = Place { namespace: &n, key: &k, version: 1, uid: Some(SecretUid([7; UID_LEN])) };
        let sealed = first.seal_value(place, &value("old")).unwrap();
        let root = RootKey::generate().unwrap();
        let reloaded = root.unwrap(&root.wrap(&first.read()[0]).unwrap()).unwrap();
        let rotated = Keyring::unlocked(&root, vec![reloaded]);
        rotated.learn(&root.wrap(&DataKey::generate(2).unwrap()).unwrap()).unwrap();
        assert_eq!(rotated.newest_id(), Some(2));
        let elsewhere = RootKey::generate().unwrap().wrap(&DataKey::generate(3).unwrap()).unwrap();
        assert_eq!(rotated.learn(&elsewhere).unwrap_err(), CryptoError::Tampered);
        assert_eq!(Keyring::new(vec![]).learn(&elsewhere).unwrap_err(), CryptoError::UnknownDataKey);
        assert_eq!(rotated.open_value(place, &sealed).unwrap().expose(), "old");
        assert_eq!(rotated.seal_value(place, &value("new")).unwrap().key_id, 2);
    }
}

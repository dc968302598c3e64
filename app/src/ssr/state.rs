//! `AppState`: what every request handler and server function shares.

use crate::domain::UserId;
use crate::domain::{
    token::{NewSecretId, NewToken},
    view::ImportPlan,
    webhook::NewWebhook,
};
use crate::ssr::{
    audit::AuditKey,
    auth::devices::DeviceCookies,
    auth::{token_hash, AuthError, BoxFuture, CookiePolicy, Counter, Hasher, Rule, SharedCounts, Throttle, Uncounted},
    crypto::{Keyring, RootKey},
    db::{Db, RowKey, Source},
    memory::Stash,
    store::accounts::{self, AccountError, SessionLimits, SessionLookup, SessionUser},
    store::import::Pending,
    store::StoreError,
    store::{handovers, throttles},
};
use crate::ssr::{
    audit::{Actor, Client, NewEntry, Trail},
    auth::Refusals,
    db::group_commit::{GroupCommit, Job},
};
use std::{path::Path, sync::Arc, time::Duration};
use zeroize::Zeroizing;

/// Sign-in and session settings (see `.env.example`).
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub argon2_m_kib: u32,
    pub argon2_t: u32,
    pub argon2_p: u32,
    /// Hashes running at once; more wait in a queue of `hash_queue`.
    pub hash_concurrency: usize,
    pub hash_queue: usize,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub secure_cookies: bool,
    /// Single sign-on, when configured (`STRONGROOM_OIDC_*`).
    pub sso: Option<SsoPolicy>,
    /// Days without a workload read after which a secret counts as unused
    /// (`STRONGROOM_UNUSED_DAYS`; what team leads see, not a sign-in setting,
    /// but every setting the app needs travels here).
    pub unused_days: u32,
    /// Loopback and private ranges webhooks may be delivered to
    /// (`STRONGROOM_WEBHOOK_ALLOW_CIDRS`; none by default).
    pub webhook_allow: Vec<crate::domain::webhook::Cidr>,
}

/// What the app itself needs to know of SSO (the flow runs in the server).
#[derive(Clone, Debug)]
pub struct SsoPolicy {
    /// The sign-in button's text: "Sign in with {name}".
    pub name: String,
    /// Who may still sign in with a password.
    pub password_sign_in: crate::domain::sso::PasswordSignIn,
}

/// One SSO sign-in under way, between `/auth/oidc/login` and the IdP's
/// redirect back: kept server-side under the `state` sent to the IdP (any
/// node finds it), taken once.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct OidcFlow {
    /// The PKCE verifier (S256).
    pub verifier: String,
    pub nonce: String,
    /// The same-site path to go on to.
    pub next: String,
    /// Hash of the login cookie that binds the flow to the browser that began it.
    pub binding: Vec<u8>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            argon2_m_kib: crate::ssr::auth::MIN_M_KIB,
            argon2_t: crate::ssr::auth::MIN_T,
            argon2_p: crate::ssr::auth::MIN_P,
            // Half the cores: pages keep the other half during a burst of sign-ins.
            hash_concurrency: std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            hash_queue: 64,
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            sso: None,
            unused_days: DEFAULT_UNUSED_DAYS,
            webhook_allow: Vec::new(),
        }
    }
}

/// `STRONGROOM_UNUSED_DAYS` unless set.
pub const DEFAULT_UNUSED_DAYS: u32 = 90;

/// Most requests waiting for the writer's next batch; beyond that, reads are
/// refused as busy (each waiting request will hold its decrypted values).
const MAX_WAITING: usize = 4096;

/// One entry per client whose refusals were held back (see `auth::Refusals`):
/// those whose minute is over, or with `all`, every one.
pub fn held_back(refusals: &Refusals, all: bool) -> Vec<NewEntry> {
    let at = crate::ssr::clock::now();
    let counts = refusals.summaries(crate::ssr::clock::instant(), all);
    let entry = |(client, held)| NewEntry {
        at,
        actor: Actor::Anonymous,
        action: crate::domain::audit::Action::Request,
        namespace: String::new(),
        key: String::new(),
        version: None,
        client: Client::Address(client),
        outcome: format!("refused: {held} more refused requests within a minute, counted here instead of one by one"),
    };
    counts.into_iter().map(entry).collect()
}

/// A batch job that appends `entries` and answers nobody.
fn append_all(entries: Vec<NewEntry>) -> Job<Trail> {
    Box::new(move |tx, trail| {
        for entry in entries {
            trail.push(tx, entry)?;
        }
        Ok(Box::new(|outcome: Result<(), Arc<str>>| {
            if let Err(e) = outcome {
                tracing::error!(error = %e, "could not record a count of refused requests");
            }
        }))
    })
}

/// Read-only connections beside the writer: pages and session checks read
/// while sign-ins and edits wait on `fsync`.
const READERS: usize = 4;

/// What a hand-over holds, as bytes for the database (several nodes). The
/// bytes are zeroized when dropped: an import's are the pasted values.
pub trait Handed: Sized + Send + 'static {
    fn encode(&self) -> Option<Zeroizing<Vec<u8>>>;
    fn decode(bytes: &[u8]) -> Option<Self>;
}

/// Length-prefixed fields in one buffer of exactly the size needed: nothing
/// grows, so no partial copy of a secret is left behind in freed memory.
fn frame(fields: &[&[u8]]) -> Option<Zeroizing<Vec<u8>>> {
    let size = fields.iter().map(|f| 4 + f.len()).sum();
    let mut out = Zeroizing::new(Vec::with_capacity(size));
    for field in fields {
        out.extend_from_slice(&u32::try_from(field.len()).ok()?.to_be_bytes());
        out.extend_from_slice(field);
    }
    Some(out)
}

/// The fields [`frame`] wrote, borrowed from `bytes`.
fn unframe(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        fields.push(rest.get(..len)?);
        bytes = &rest[len..];
    }
    Some(fields)
}

/// A secret's text out of its field: one exact copy, zeroized when dropped.
fn secret_text(field: &[u8]) -> Option<Zeroizing<String>> {
    std::str::from_utf8(field).ok().map(|text| Zeroizing::new(text.to_owned()))
}

impl Handed for NewToken {
    fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        // The view holds names and times only; the token is framed as it is.
        let view = serde_json::to_vec(&self.view).ok()?;
        frame(&[self.token.as_bytes(), &view])
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let fields = unframe(bytes)?;
        let (token, view) = (secret_text(fields.first()?)?, serde_json::from_slice(fields.get(1)?).ok()?);
        Some(NewToken { token: token.to_string(), view })
    }
}

impl Handed for NewWebhook {
    fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        // The view holds names and times only; the secret is framed as it is.
        frame(&[self.secret.as_bytes(), &serde_json::to_vec(&self.view).ok()?])
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let fields = unframe(bytes)?;
        let (secret, view) = (secret_text(fields.first()?)?, serde_json::from_slice(fields.get(1)?).ok()?);
        Some(NewWebhook { secret: secret.to_string(), view })
    }
}

impl Handed for NewSecretId {
    fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        // Names, ids and times as JSON; the secret id is framed as it is.
        let rest = (&self.role, &self.role_id, &self.scope, &self.accessor, self.expires_at);
        frame(&[self.secret_id.as_bytes(), &serde_json::to_vec(&rest).ok()?])
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let fields = unframe(bytes)?;
        let secret_id = secret_text(fields.first()?)?;
        let (role, role_id, scope, accessor, expires_at) = serde_json::from_slice(fields.get(1)?).ok()?;
        Some(NewSecretId { role, role_id, scope, secret_id: secret_id.to_string(), accessor, expires_at })
    }
}

impl Handed for OidcFlow {
    fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        serde_json::to_vec(self).ok().map(Zeroizing::new)
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

impl Handed for () {
    fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(Vec::new()))
    }
    fn decode(_: &[u8]) -> Option<Self> {
        Some(())
    }
}

impl Handed for (Pending, ImportPlan) {
    fn encode(&self) -> Option<Zeroizing<Vec<u8>>> {
        let (pending, plan) = self;
        // The plan holds key names only; the pasted text is framed as it is.
        let plan = serde_json::to_vec(plan).ok()?;
        let (namespace, format) = (pending.namespace.as_str().as_bytes(), pending.format.as_str().as_bytes());
        frame(&[namespace, format, &plan, pending.text.as_bytes()])
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let fields = unframe(bytes)?;
        let namespace = std::str::from_utf8(fields.first()?).ok()?.parse().ok()?;
        let format = std::str::from_utf8(fields.get(1)?).ok()?;
        let format = crate::ssr::formats::Format::IMPORTS.into_iter().find(|f| f.as_str() == format)?;
        let plan = serde_json::from_slice(fields.get(2)?).ok()?;
        let text = secret_text(fields.get(3)?)?;
        Some((Pending { namespace, format, text }, plan))
    }
}

/// A one-time hand-over between two requests of one user: in memory on one
/// node (`memory::Stash`); on PostgreSQL in the database, sealed
/// (`store::handovers`), so that whichever node serves the next request finds it.
pub enum Handover<T> {
    Memory(Stash<T>),
    Shared { db: Db, keyring: Arc<Keyring>, kind: &'static str, limits: handovers::Limits },
}

impl<T> Handover<T> {
    /// In memory on one node; in the database (sealed) for several. A full
    /// stash of imports refuses rather than push out another user's paste.
    fn new(
        (on, db, keyring): (&Source, &Db, &Arc<Keyring>),
        kind: &'static str,
        limits: handovers::Limits,
    ) -> Arc<Self> {
        let ttl = Duration::from_secs(limits.ttl_secs.max(0) as u64);
        let stash = Stash::new(ttl, limits.capacity as usize, limits.per_owner as usize);
        let stash = match limits.evict_others {
            false => stash.with_max_bytes(limits.max_bytes as usize).keeping_others(),
            true => stash,
        };
        Arc::new(match on {
            Source::File(_) => Handover::Memory(stash),
            Source::Postgres(_) => Handover::Shared { db: db.clone(), keyring: keyring.clone(), kind, limits },
        })
    }
}

impl<T: Handed> Handover<T> {
    /// Holds `item` (of `bytes`) for `owner`; its id, or `None` when full.
    pub async fn put(&self, owner: UserId, item: T, bytes: usize) -> Option<String> {
        match self {
            Handover::Memory(stash) => stash.put_sized(owner, item, bytes),
            Handover::Shared { db, keyring, kind, limits } => {
                let (keyring, kind, limits, now) = (keyring.clone(), *kind, *limits, crate::ssr::clock::now());
                let encoded = item.encode()?;
                let put = db.call(move |c| {
                    crate::ssr::db::Transact::write(c, |tx| {
                        handovers::put(tx, &keyring, kind, owner, &encoded, limits, now)
                    })
                });
                let put = put.await;
                put.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "could not hold a hand-over");
                    None
                })
            }
        }
    }

    /// Holds `item` for `owner` inside the caller's transaction `tx`: on
    /// PostgreSQL a change and its hand-over commit together or not at all (a
    /// token is never made without its one showing); in memory, at once (an id
    /// whose change then failed is never handed to anyone). `Ok(None)`: full.
    pub fn put_with(
        &self,
        tx: &dyn crate::ssr::db::sql::Sql,
        owner: UserId,
        item: T,
    ) -> Result<Option<String>, StoreError> {
        match self {
            Handover::Memory(stash) => Ok(stash.put_sized(owner, item, 0)),
            Handover::Shared { keyring, kind, limits, .. } => {
                let Some(encoded) = item.encode() else { return Ok(None) };
                handovers::put(tx, keyring, kind, owner, &encoded, *limits, crate::ssr::clock::now())
            }
        }
    }

    /// Takes `owner`'s item `id` (once, whichever node asks).
    pub async fn take(&self, owner: UserId, id: &str) -> Option<T> {
        match self {
            Handover::Memory(stash) => stash.take(owner, id),
            Handover::Shared { db, keyring, kind, .. } => {
                let (keyring, kind, id, now) = (keyring.clone(), *kind, id.to_owned(), crate::ssr::clock::now());
                let taken = db.call(move |c| handovers::find(c, &keyring, (kind, owner, &id), true, now)).await;
                taken
                    .map_err(|e| tracing::error!(error = %e, "could not take a hand-over"))
                    .ok()?
                    .and_then(|b| T::decode(&b))
            }
        }
    }

    /// Looks at `owner`'s item `id` without taking it.
    pub async fn peek<R>(&self, owner: UserId, id: &str, f: impl FnOnce(&T) -> R) -> Option<R> {
        match self {
            Handover::Memory(stash) => stash.peek(owner, id, f),
            Handover::Shared { db, keyring, kind, .. } => {
                let (keyring, kind, id, now) = (keyring.clone(), *kind, id.to_owned(), crate::ssr::clock::now());
                let seen = db.read(move |c| handovers::find(c, &keyring, (kind, owner, &id), false, now)).await;
                let item = seen.map_err(|e| tracing::error!(error = %e, "could not read a hand-over")).ok()??;
                T::decode(&item).map(|t| f(&t))
            }
        }
    }
}

/// Failure counts in the database (see `store::throttles`), for several nodes.
struct DbCounts {
    db: Db,
    kind: &'static str,
    rule: Rule,
}

impl SharedCounts for DbCounts {
    fn attempt<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, Uncounted>> {
        let (kind, key, rule, now) = (self.kind, key.to_owned(), self.rule, crate::ssr::clock::now_ms());
        Box::pin(async move {
            let counted = self.db.call(move |c| throttles::attempt(c, kind, &key, now, rule)).await;
            counted.map_err(|e| {
                tracing::error!(error = %e, "a sign-in was refused: its failures could not be counted");
                Uncounted
            })
        })
    }

    fn succeed<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        let (kind, key) = (self.kind, key.to_owned());
        Box::pin(async move {
            if let Err(e) = self.db.call(move |c| throttles::succeed(c, kind, &key)).await {
                tracing::warn!(error = %e, "could not clear a sign-in's failures");
            }
        })
    }

    fn forgive<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        let (kind, key) = (self.kind, key.to_owned());
        Box::pin(async move {
            if let Err(e) = self.db.call(move |c| throttles::forgive(c, kind, &key)).await {
                tracing::warn!(error = %e, "could not take back a counted sign-in");
            }
        })
    }
}

/// Sign-in machinery, built once at start.
pub struct Auth {
    pub hasher: Hasher,
    /// Failed sign-ins per account name: 5 free, then 30 s doubling to 1 h.
    /// In the database on PostgreSQL, where several nodes count together.
    pub accounts: Counter,
    /// Failed sign-ins per client address: 20 free, then 30 s, then one a
    /// minute. An address is slowed, never locked for long: behind NAT many
    /// people share one.
    pub addresses: Throttle,
    /// Browsers that signed in to an account before (see `devices`), and their
    /// failed sign-ins: 5 free, then 30 s doubling to 1 h.
    pub devices: DeviceCookies,
    pub device_attempts: Counter,
    pub cookies: CookiePolicy,
    pub limits: SessionLimits,
    /// Import previews per user (each compares pasted values with stored
    /// ones): 20 free, then 60 s doubling to 1 h.
    pub previews: Throttle,
    /// Failed workload logins (AppRole) per client address, on this node: 50
    /// free, then 10 s doubling to 5 min, forgotten after 10 quiet minutes.
    /// Only refusals are counted: a CI fleet behind one NAT logs in often, and rightly.
    pub machine_logins: Throttle,
    /// Single sign-on, when configured.
    pub sso: Option<SsoPolicy>,
    /// Wrong one-time codes per account (after a right password): 5 free,
    /// then 30 s doubling to an hour — a code is six digits.
    pub codes: Throttle,
}

impl Auth {
    /// What a sign-in attempt goes through (see `auth::SignIns`).
    pub fn sign_ins(&self) -> crate::ssr::auth::SignIns<'_> {
        crate::ssr::auth::SignIns {
            hasher: &self.hasher,
            accounts: &self.accounts,
            addresses: &self.addresses,
            devices: &self.devices,
            device_attempts: &self.device_attempts,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("cannot start the audit writer: {0}")]
    Thread(#[from] std::io::Error),
}

/// What every request shares, behind one `Arc`: each middleware layer clones
/// the state for every request, and one reference count (rather than one per
/// field) is what two cores then contend for — with a dozen, clones and drops
/// were 40 % of the time a `/healthz` took.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub db: Db,
    pub keyring: Arc<Keyring>,
    /// Keys the audit trail's HMAC chain.
    pub audit: Arc<AuditKey>,
    /// Keys the security rows' MACs (`store::rows`).
    pub rows: RowKey,
    /// Seals the second factors of local accounts (`store::second_factors`).
    pub factors: crate::ssr::crypto::FactorKey,
    /// Seals webhooks' signing secrets (`store::webhooks`).
    pub webhook_key: crate::ssr::crypto::SealKey,
    pub auth: Arc<Auth>,
    /// The writer's group commit, for the audit trail: each workload read is one
    /// job (its token check, values and entries; see `access::workload`).
    pub reads: Arc<GroupCommit<Trail>>,
    /// Refused requests held back per client (see `auth::Refusals`).
    pub refusals: Arc<Refusals>,
    /// New tokens waiting to be shown once (see [`Handover`]).
    pub new_tokens: Arc<Handover<NewToken>>,
    /// A secret id just issued on `/admin/tokens`, shown once (like a new token).
    pub new_secret_ids: Arc<Handover<NewSecretId>>,
    /// A webhook's new signing secret, shown once on `/admin/webhooks`.
    pub new_webhooks: Arc<Handover<NewWebhook>>,
    /// SSO sign-ins under way, by their `state` (see [`OidcFlow`]).
    pub oidc_flows: Arc<Handover<OidcFlow>>,
    /// Parsed imports waiting to be applied, with their names-only plan.
    pub imports: Arc<Handover<(Pending, ImportPlan)>>,
    /// One-time confirmations shown on the page a post redirects to ("password
    /// changed"): a link someone else made cannot show them.
    pub notices: Arc<Handover<()>>,
    /// The first run: the setup link, and what `/login` tells a newcomer.
    pub setup: Arc<crate::ssr::auth::setup::Setup>,
    /// Trail exports running: 8 at once, 2 per user.
    pub exports: Arc<crate::ssr::memory::Slots<crate::domain::UserId>>,
    /// Workload exports (`/v1/…/export`, `strongroom export | run`) being
    /// built, each holding a namespace's values: 8 at once, 2 per token.
    pub workload_exports: Arc<crate::ssr::memory::Slots<crate::domain::TokenId>>,
    /// Days without a workload read after which a secret is unused.
    pub unused_days: u32,
    /// Where webhooks may point besides public addresses (see [`AuthSettings`]).
    pub webhook_allow: Vec<crate::domain::webhook::Cidr>,
}

impl Shared {
    /// Secrets not read since this time (and older than it) are unused.
    pub fn unused_cutoff(&self) -> crate::domain::Timestamp {
        crate::domain::Timestamp(crate::ssr::clock::now().0 - i64::from(self.unused_days) * 86_400)
    }
}

impl AppState {
    /// Opens the database at `path`, migrates it, verifies `root` against its key
    /// check (a wrong key fails with `StoreError::Crypto(WrongRootKey)`) and
    /// unwraps the keyring. Blocking: call before the runtime serves requests.
    pub fn open(path: &Path, root: &RootKey, settings: &AuthSettings) -> Result<Self, OpenError> {
        Self::open_source(&Source::File(path.to_owned()), root, settings)
    }

    /// [`AppState::open`] on either engine: the SQLite file, or PostgreSQL
    /// (its schema migrated by whichever node starts first).
    pub fn open_source(source: &Source, root: &RootKey, settings: &AuthSettings) -> Result<Self, OpenError> {
        let db = match source {
            Source::File(path) => Db::open(path, READERS).map_err(StoreError::from)?,
            Source::Postgres(url) => Db::connect(url, READERS).map_err(StoreError::from)?,
        };
        let unlocked = db.write_now(|c| crate::ssr::store::keyring::unlock(c, root, crate::ssr::clock::now()))?;
        let hasher = Hasher::new(
            settings.argon2_m_kib,
            settings.argon2_t,
            settings.argon2_p,
            settings.hash_concurrency,
            settings.hash_queue,
        )?;
        let (base, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        // One node counts in memory; several on PostgreSQL count in the database.
        let counter = |kind: &'static str, local: Throttle| match source {
            Source::File(_) => Counter::Local(local),
            Source::Postgres(_) => Counter::Shared(Box::new(DbCounts { db: db.clone(), kind, rule: local.rule() })),
        };
        let auth = Auth {
            hasher,
            accounts: counter("account", Throttle::new(5, base, max)),
            addresses: Throttle::new(20, base, Duration::from_secs(60)),
            devices: DeviceCookies::new(&unlocked.base),
            device_attempts: counter("device", Throttle::new(5, base, max)),
            cookies: CookiePolicy::new(settings.secure_cookies)?,
            limits: SessionLimits { idle: settings.session_idle, absolute: settings.session_absolute },
            previews: Throttle::new(20, Duration::from_secs(60), max),
            machine_logins: Throttle::new(50, Duration::from_secs(10), Duration::from_secs(300))
                .forgetting_after(Duration::from_secs(600)),
            sso: settings.sso.clone(),
            codes: Throttle::new(5, Duration::from_secs(30), Duration::from_secs(3600)),
        };
        let (audit, rows, factors) = (Arc::new(unlocked.audit_key()), unlocked.row_key(), unlocked.factor_key());
        let webhook_key = unlocked.webhook_key();
        let refusals = Arc::new(Refusals::default());
        let held = refusals.clone();
        // About once a second, the counts of held-back refusals whose minute
        // is over; at shutdown (every sender gone), all of them.
        let idle = move |stopped: bool| {
            let entries = held_back(&held, stopped);
            (!entries.is_empty()).then(|| append_all(entries))
        };
        let reads = Arc::new(GroupCommit::start(db.clone(), "audit-reads", MAX_WAITING, Trail(audit.clone()), idle)?);
        let keyring = Arc::new(unlocked.keyring);
        let shared = (source, &db, &keyring);
        let new_tokens = Handover::new(shared, "token", handovers::Limits::new(300, 256, 8, i64::MAX, true));
        let new_secret_ids = Handover::new(shared, "secret-id", handovers::Limits::new(300, 256, 8, i64::MAX, true));
        let new_webhooks = Handover::new(shared, "webhook", handovers::Limits::new(300, 256, 8, i64::MAX, true));
        // Anyone may begin a sign-in: all share owner 0; the oldest gives way when full.
        let oidc_flows = Handover::new(shared, "oidc", handovers::Limits::new(600, 4096, 4096, i64::MAX, true));
        // Pasted texts: at most 1 MiB each, 4 per user, 32 MiB in all; one user's never push out another's.
        let imports = Handover::new(shared, "import", handovers::Limits::new(900, 64, 4, 32 * 1024 * 1024, false));
        let notices = Handover::new(shared, "notice", handovers::Limits::new(300, 256, 4, i64::MAX, true));
        let exports = crate::ssr::memory::Slots::new(8, 2);
        let workload_exports = crate::ssr::memory::Slots::new(8, 2);
        Ok(Self(Arc::new(Shared {
            db,
            keyring,
            audit,
            rows,
            factors,
            webhook_key,
            auth: Arc::new(auth),
            reads,
            refusals,
            new_tokens,
            new_secret_ids,
            new_webhooks,
            oidc_flows,
            notices,
            setup: Arc::default(),
            imports,
            exports,
            workload_exports,
            unused_days: settings.unused_days,
            webhook_allow: settings.webhook_allow.clone(),
        })))
    }

    /// The user whose live session the `Cookie` header names, with that
    /// session's token hash.
    pub async fn session(&self, cookie_header: Option<&str>) -> Result<Option<(SessionUser, Vec<u8>)>, AccountError> {
        let Some(token) = cookie_header.and_then(|h| self.auth.cookies.read(h)) else { return Ok(None) };
        let hash = token_hash(token);
        let limits = self.auth.limits;
        let now = crate::ssr::clock::now();
        let (key, rows) = (hash.clone(), self.rows.clone());
        match self.db.read(move |c| accounts::lookup_session(c, &rows, &key, now, limits)).await? {
            SessionLookup::Missing => Ok(None),
            SessionLookup::Ended => {
                let key = hash.clone();
                self.db.call(move |c| accounts::end_session(c, &key)).await?;
                Ok(None)
            }
            SessionLookup::Live { user, touch } => {
                if touch {
                    let key = hash.clone();
                    // Best effort: a full disk must not sign everyone out of reading.
                    if let Err(e) = self.db.call(move |c| accounts::touch_session(c, &key, now)).await {
                        tracing::warn!(error = %e, "could not note a session's use");
                    }
                }
                Ok(Some((user, hash)))
            }
        }
    }

    /// Records a refused read, unless its client has had its share of entries
    /// this minute: then it is counted, and the count recorded (see `refusals`).
    pub async fn record_refused_read(&self, entry: crate::ssr::audit::NewEntry) {
        if self.refusals.admit(&entry.client.to_string(), crate::ssr::clock::instant()) {
            self.record(entry).await;
        }
    }

    /// Records a refusal: every one of a signed-in caller; an anonymous
    /// caller's with the same allowance as refused reads (each entry costs an
    /// `fsync`: a flood of anonymous posts must not fill the disk).
    pub async fn record_refusal(&self, entry: crate::ssr::audit::NewEntry) {
        if entry.actor == Actor::Anonymous {
            self.record_refused_read(entry).await;
        } else {
            self.record(entry).await;
        }
    }

    /// Appends `entry` to the audit trail on its own (for refusals, where no
    /// change goes with it). A failure is logged; the refusal stands anyway.
    pub async fn record(&self, entry: crate::ssr::audit::NewEntry) {
        let key = self.audit.clone();
        // One transaction: the entry and the new head are committed together
        // (apart, a crash between them would read as tampering).
        let appended =
            self.db.call(move |c| crate::ssr::db::Transact::write(c, |tx| crate::ssr::audit::append(tx, &key, entry)));
        if let Err(e) = appended.await {
            tracing::error!(error = %e, "could not record a refused request in the audit trail");
        }
    }
}

#[cfg(test)]
mod handed_tests {
    use super::*;

    #[test]
    fn a_pending_import_comes_back_whole_and_bad_frames_are_refused() {
        let pending = Pending {
            namespace: "company.team".parse().unwrap(),
            format: crate::ssr::formats::Format::Dotenv,
            text: Zeroizing::new("A=1\nB=\"two\\nlines\"\n".to_owned()),
        };
        let plan = ImportPlan { adds: vec!["A".parse().unwrap()], ..Default::default() };
        let bytes = (pending, plan.clone()).encode().unwrap();
        let (back, back_plan) = <(Pending, ImportPlan)>::decode(&bytes).unwrap();
        assert_eq!(
            (back.namespace.as_str(), back.text.as_str(), back_plan),
            ("company.team", "A=1\nB=\"two\\nlines\"\n", plan)
        );
        assert!(<(Pending, ImportPlan)>::decode(&bytes[..bytes.len() - 1]).is_none(), "a cut frame");
        assert!(unframe(&[0, 0, 0, 9, 1]).is_none());
    }
}

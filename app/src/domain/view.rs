//! What the UI is shown about namespaces and secrets: metadata only.
//! None of these types has a value field, so no page or server-function
//! response can carry a stored value.

use super::{NamespacePath, SecretKey, Tags, Timestamp};
use serde::{Deserialize, Serialize};

/// A namespace in the tree, with how many live secrets it defines itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamespaceSummary {
    pub path: NamespacePath,
    pub description: String,
    pub secret_count: u32,
}

/// One page of the namespace tree, in tree order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamespaceList {
    pub namespaces: Vec<NamespaceSummary>,
    /// How many namespaces the caller may see in all.
    pub total: u32,
    /// Where the next page starts after, when there is one.
    pub next: Option<NamespacePath>,
}

/// What the home page's search found, by name only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub namespaces: Vec<NamespacePath>,
    /// Live secrets by key, with the namespace defining each.
    pub secrets: Vec<(NamespacePath, SecretKey)>,
    /// More matched than are listed.
    pub truncated: bool,
}

/// Most results of each kind a search lists.
pub const SEARCH_LIMIT: usize = 100;

/// Who wrote what, when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretMeta {
    pub namespace: NamespacePath,
    pub key: SecretKey,
    pub description: String,
    pub version: u32,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub deleted_at: Option<Timestamp>,
    pub deleted_by: Option<String>,
    /// When the current value was stored (its last rotation).
    pub value_since: Timestamp,
    /// The rotation policy an editor set, if any.
    pub rotation: Rotation,
    /// When the value should be rotated next, from the policy.
    pub due: Option<Timestamp>,
    /// `due` has passed (decided by the server's clock).
    pub overdue: bool,
    pub tags: Tags,
    /// When a workload last read the value (any reader; from the read summary).
    pub last_read: Option<Timestamp>,
}

impl SecretMeta {
    /// Nothing has read it since `cutoff`, and it existed before then (a
    /// secret added yesterday is not yet unused).
    pub fn unused_since(&self, cutoff: Timestamp) -> bool {
        self.created_at < cutoff && self.last_read.is_none_or(|at| at < cutoff)
    }

    /// A secret's name and nothing else: every other field empty or zero.
    pub fn named(namespace: NamespacePath, key: SecretKey) -> Self {
        let t = Timestamp(0);
        Self {
            namespace,
            key,
            description: String::new(),
            version: 0,
            created_at: t,
            created_by: String::new(),
            updated_at: t,
            updated_by: String::new(),
            deleted_at: None,
            deleted_by: None,
            value_since: t,
            rotation: Rotation::None,
            due: None,
            overdue: false,
            tags: Tags::default(),
            last_read: None,
        }
    }
}

/// When a secret should be rotated: by a date, or a number of days after each
/// rotation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rotation {
    #[default]
    None,
    By(Timestamp),
    EveryDays(u32),
}

impl Rotation {
    /// The rotation form: a date, or an interval in days, or neither (clears it).
    pub fn parse(rotate_by: &str, every_days: &str) -> Result<Self, (&'static str, String)> {
        match (rotate_by.trim(), every_days.trim()) {
            ("", "") => Ok(Rotation::None),
            (date, "") => Timestamp::parse_utc(date).map(Rotation::By).map_err(|e| ("rotate_by", e.to_string())),
            ("", days) => match days.parse::<u32>() {
                Ok(n @ 1..=3650) => Ok(Rotation::EveryDays(n)),
                _ => Err(("every_days", "Use a whole number of days from 1 to 3650.".into())),
            },
            _ => Err(("every_days", "Set a date or an interval, not both.".into())),
        }
    }
}

impl std::fmt::Display for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rotation::None => f.write_str("no rotation policy"),
            Rotation::By(t) => write!(f, "by {}", t.date()),
            Rotation::EveryDays(1) => f.write_str("every day"),
            Rotation::EveryDays(n) => write!(f, "every {n} days"),
        }
    }
}

/// One key as a namespace sees it after inheritance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectiveSecret {
    pub meta: SecretMeta,
    /// True when defined in the namespace being viewed (not inherited).
    pub own: bool,
    /// The ancestor whose definition of the same key this one hides.
    pub shadows: Option<NamespacePath>,
    /// The caller may open the namespace it is defined in (false for a key
    /// inherited from outside the caller's grants: its name shows, no link).
    pub can_open: bool,
    /// Another live secret the caller may audit holds the same value (told
    /// to auditors and admins only; see `store::fingerprints`).
    #[serde(default)]
    pub reused: bool,
}

impl EffectiveSecret {
    /// What a caller without a grant on the defining namespace may see of an
    /// inherited secret: its key, where it is defined, and that it is
    /// inherited. Description, tags, people, dates, versions and rotation go.
    pub fn outside_grants(self) -> Self {
        let SecretMeta { namespace, key, .. } = self.meta;
        Self { meta: SecretMeta::named(namespace, key), can_open: false, ..self }
    }
}

/// Everything `/ns/{namespace}` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamespaceView {
    pub namespace: NamespaceSummary,
    /// The effective secrets in `window`, by key.
    pub effective: Vec<EffectiveSecret>,
    pub window: Window,
    /// Own secrets that are soft-deleted (restorable from their page).
    pub deleted: Vec<SecretMeta>,
    pub children: Vec<NamespaceSummary>,
}

/// Effective secrets shown per page of a namespace.
pub const SECRETS_PER_PAGE: usize = 50;

/// Which slice of a namespace's effective secrets a view holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Effective secrets in the namespace.
    pub total: u32,
    /// Of those, the ones the filter matches.
    pub matching: u32,
    /// 0-based page of the matching ones.
    pub page: u32,
    pub pages: u32,
}

impl Window {
    pub fn whole(total: usize) -> Self {
        let total = total as u32;
        Self { total, matching: total, page: 0, pages: 1 }
    }
}

impl NamespaceView {
    /// Keeps page `page` (clamped to the last) of the effective secrets
    /// `filter` matches.
    pub fn window(mut self, filter: &SecretFilter, page: u32) -> Self {
        let total = self.effective.len() as u32;
        self.effective.retain(|s| filter.matches(s));
        let matching = self.effective.len();
        let pages = matching.div_ceil(SECRETS_PER_PAGE).max(1) as u32;
        let page = page.min(pages - 1);
        let start = page as usize * SECRETS_PER_PAGE;
        self.effective = self.effective.drain(..).skip(start).take(SECRETS_PER_PAGE).collect();
        self.window = Window { total, matching: matching as u32, page, pages };
        self
    }
}

/// Which effective secrets to show: own, inherited, overdue or all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StatusFilter {
    #[default]
    All,
    Own,
    Inherited,
    Overdue,
    /// No workload read it in the server's unused window (`STRONGROOM_UNUSED_DAYS`).
    Unused,
}

impl StatusFilter {
    pub const ALL: [(Self, &'static str, &'static str); 5] = [
        (Self::All, "", "Any"),
        (Self::Own, "own", "Own"),
        (Self::Inherited, "inherited", "Inherited"),
        (Self::Overdue, "overdue", "Overdue"),
        (Self::Unused, "unused", "Unused"),
    ];
}

/// Longest filter text accepted, in characters.
pub const MAX_FILTER: usize = 200;

/// A namespace page's filter box: every word must match. `name=value` matches
/// that tag exactly; any other word is found, ignoring case, in the key or the
/// description. Applied after what the caller may not see is blanked, so it
/// finds nothing by what is hidden.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretFilter {
    words: Vec<String>,
    tags: Vec<(String, String)>,
    status: StatusFilter,
    /// `unused`: not read since then (the server's clock minus its window).
    unused_before: Timestamp,
}

impl SecretFilter {
    pub fn parse(text: &str, status: &str) -> Result<Self, (&'static str, String)> {
        if text.chars().count() > MAX_FILTER {
            return Err(("q", format!("Use at most {MAX_FILTER} characters.")));
        }
        let status = StatusFilter::ALL
            .iter()
            .find(|(_, name, _)| *name == status.trim())
            .map(|(s, _, _)| *s)
            .ok_or(("status", "Pick a status from the list.".to_owned()))?;
        let (mut words, mut tags) = (Vec::new(), Vec::new());
        for word in text.split_whitespace() {
            match word.split_once('=') {
                Some((name, value)) => tags.push((name.to_owned(), value.to_owned())),
                None => words.push(word.to_lowercase()),
            }
        }
        Ok(Self { words, tags, status, unused_before: Timestamp::default() })
    }

    /// What `unused` means: no read since `cutoff`.
    pub fn unused_before(self, cutoff: Timestamp) -> Self {
        Self { unused_before: cutoff, ..self }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.tags.is_empty() && self.status == StatusFilter::All
    }

    pub fn matches(&self, s: &EffectiveSecret) -> bool {
        let status = match self.status {
            StatusFilter::All => true,
            StatusFilter::Own => s.own,
            StatusFilter::Inherited => !s.own,
            StatusFilter::Overdue => s.meta.overdue,
            StatusFilter::Unused => s.meta.unused_since(self.unused_before),
        };
        if !status || !self.tags.iter().all(|(name, value)| s.meta.tags.has(name, value)) {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let (key, description) = (s.meta.key.as_str().to_lowercase(), s.meta.description.to_lowercase());
        self.words.iter().all(|w| key.contains(w.as_str()) || description.contains(w.as_str()))
    }
}

/// One version of a secret, without its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionMeta {
    pub version: u32,
    pub created_at: Timestamp,
    pub created_by: String,
    /// The ciphertext was destroyed by the retention limit: it cannot be restored.
    pub destroyed: bool,
    /// Set when this version was made by restoring an older one.
    pub restored_from: Option<u32>,
}

/// Everything `/ns/{namespace}/{KEY}` shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretDetail {
    pub meta: SecretMeta,
    pub versions: Vec<VersionMeta>,
    pub shadows: Option<NamespacePath>,
    pub retention: Retention,
}

/// What deleting a secret changes below its namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteEffects {
    /// Namespaces below that see this definition now.
    pub below: Vec<NamespacePath>,
    /// The definition higher up they (and the namespace itself) would see instead.
    pub instead: Option<NamespacePath>,
}

/// How many versions keep their ciphertext: this secret's own setting, if
/// any, else the server's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub own: Option<u32>,
    pub default: u32,
}

impl Retention {
    pub const MAX: u32 = 1000;

    pub fn keep(&self) -> u32 {
        self.own.unwrap_or(self.default)
    }

    /// A secret's own setting as typed: empty for the default, else 1 to 1000.
    pub fn parse_own(text: &str) -> Result<Option<u32>, String> {
        match text.trim() {
            "" => Ok(None),
            text => text.parse::<u32>().ok().filter(|n| (1..=Self::MAX).contains(n)).map(Some).ok_or_else(|| {
                format!("Enter a whole number of versions from 1 to {}, or nothing for the default.", Self::MAX)
            }),
        }
    }
}

/// A user as the admin page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub username: super::Username,
    pub disabled: bool,
    pub created_at: Timestamp,
    /// Live sessions.
    pub sessions: u32,
    /// The last successful sign-in the trail records.
    pub last_sign_in: Option<Timestamp>,
    pub grants: Vec<super::Grant>,
    /// Those of `grants` the IdP's groups gave (re-computed at each SSO sign-in).
    pub idp_grants: Vec<super::Grant>,
}

/// What an import would do (or did), by key name only: no value travels back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPlan {
    /// The format the file was read as (`dotenv`, `kestra`: base64-decoded, …).
    pub format: String,
    pub adds: Vec<SecretKey>,
    pub rotates: Vec<SecretKey>,
    pub unchanged: Vec<SecretKey>,
    /// Keys it adds that will override an inherited definition, with where
    /// that definition is.
    #[serde(default)]
    pub shadows: Vec<(SecretKey, NamespacePath)>,
}

/// What `/login` shows while no account exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstRunView {
    /// Makes the first admin from a shell on the server.
    pub command: String,
    /// The 0600 file holding the one-time setup link, if one is valid.
    pub link_file: Option<String>,
}

/// A key a namespace requires (its own requirement or a parent's), and the
/// namespace whose live secret it sees for it, if any. Names only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredView {
    pub key: super::SecretKey,
    pub declared_in: super::NamespacePath,
    pub defined_in: Option<super::NamespacePath>,
}

/// One cell of the completeness matrix: how a namespace stands with one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Completeness {
    /// The namespace does not require this key (only others in the subtree do).
    NotRequired,
    /// Required and defined in the namespace itself.
    Here { overdue: bool },
    /// Required and inherited from an ancestor.
    Inherited { from: super::NamespacePath, overdue: bool },
    /// Required and defined nowhere the namespace sees.
    Missing,
}

/// A subtree's namespaces × the keys any of them requires: the page a team
/// lead opens before a release. Names only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletenessMatrix {
    /// Every key required somewhere in the subtree, sorted.
    pub keys: Vec<super::SecretKey>,
    /// Each namespace of the subtree in tree order, one cell per key.
    pub rows: Vec<(super::NamespacePath, Vec<Completeness>)>,
}

impl CompletenessMatrix {
    /// How many required cells are missing or overdue (the page's summary).
    pub fn gaps(&self) -> (usize, usize) {
        let cells = || self.rows.iter().flat_map(|(_, cells)| cells);
        let missing = cells().filter(|c| matches!(c, Completeness::Missing)).count();
        let overdue = cells()
            .filter(|c| {
                matches!(c, Completeness::Here { overdue: true } | Completeness::Inherited { overdue: true, .. })
            })
            .count();
        (missing, overdue)
    }
}

/// A workload identity that read a secret's value: `token:NAME`,
/// `approle:ROLE` or `jwt:ROLE`; how often, and when last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderView {
    pub reader: String,
    pub reads: i64,
    pub last_at: super::Timestamp,
}

/// A secret one workload identity read: how often, and when last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadSummary {
    pub namespace: super::NamespacePath,
    pub key: super::SecretKey,
    pub reads: i64,
    pub last_at: super::Timestamp,
}

/// What a secret's current value has in common with others the viewer may
/// see (from keyed fingerprints; never the fingerprints themselves).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SameValueView {
    /// `namespace/KEY` of each other live secret with the same current value.
    pub same_as: Vec<String>,
    /// The parent this secret overrides, when the value is the same (the override changes nothing).
    pub same_as_parent: Option<super::NamespacePath>,
}

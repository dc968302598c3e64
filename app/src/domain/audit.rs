//! The audit trail as the UI and exports see it: actions, entries, filters,
//! and the escaping that keeps hostile names from forging lines or driving a
//! terminal.

use super::{NamespacePath, Timestamp};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal),* $(,)?) => {
        /// What an entry records. The name is what is stored and filtered on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Action { $($(#[$doc])* $variant),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            pub fn parse(name: &str) -> Option<Self> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    SignIn = "sign-in",
    SignOut = "sign-out",
    PasswordChange = "password.change",
    NamespaceCreate = "namespace.create",
    NamespaceDescribe = "namespace.describe",
    NamespaceDelete = "namespace.delete",
    SecretAdd = "secret.add",
    SecretRotate = "secret.rotate",
    SecretDelete = "secret.delete",
    SecretRestore = "secret.restore",
    SecretRestoreVersion = "secret.restore-version",
    SecretRotationPolicy = "secret.rotation-policy",
    SecretRetention = "secret.retention",
    SecretTags = "secret.tags",
    SecretDescribe = "secret.describe",
    SecretPurge = "secret.purge",
    UserAdd = "user.add",
    UserGrant = "user.grant",
    UserRevoke = "user.revoke",
    UserDisable = "user.disable",
    UserEnable = "user.enable",
    UserResetPassword = "user.reset-password",
    UserEndSessions = "user.end-sessions",
    /// Keys declared required in a namespace and below, or no longer (`strongroom require`).
    NamespaceRequire = "namespace.require",
    /// An account linked to an SSO identity (`strongroom user link-sso`).
    UserLinkSso = "user.link-sso",
    /// A second factor (TOTP) set up or removed for an account (`strongroom user totp`).
    UserTotp = "user.totp",
    TokenCreate = "token.create",
    TokenRevoke = "token.revoke",
    /// AppRoles (workload logins): made, a secret id issued or revoked, revoked.
    AppRoleCreate = "approle.create",
    AppRoleSecretId = "approle.secret-id",
    AppRoleSecretIdRevoke = "approle.secret-id-revoke",
    AppRoleRevoke = "approle.revoke",
    /// A workload logging in with a role id and secret id (or refused).
    AppRoleLogin = "approle.login",
    /// JWT roles (workload logins with signed identity tokens): made, revoked.
    JwtRoleCreate = "jwt-role.create",
    JwtRoleRevoke = "jwt-role.revoke",
    /// A workload logging in with a signed identity token (or refused).
    JwtLogin = "jwt.login",
    /// Webhooks: added, removed, given a new signing secret.
    WebhookAdd = "webhook.add",
    WebhookRemove = "webhook.remove",
    WebhookRotateSecret = "webhook.rotate-secret",
    /// Key management from the command line (`keyring rotate|retire`, `rewrap`, `rekey`).
    KeyringRotate = "keyring.rotate",
    KeyringRewrap = "keyring.rewrap",
    KeyringRetire = "keyring.retire",
    KeyringRekey = "keyring.rekey",
    /// A value disclosed to a workload (one entry per key), or a refused workload request.
    SecretRead = "secret.read",
    /// A `.env` import applied: one entry for the import, plus one per key it added or rotated.
    SecretImport = "secret.import",
    /// A read (page data, the trail itself); recorded only when refused.
    Read = "read",
    /// The trail downloaded as CSV or JSON Lines.
    AuditExport = "audit.export",
    /// Older entries written to an archive file and removed from the live trail.
    AuditArchive = "audit.archive",
    /// A request refused before it reached a server function (cross-origin).
    Request = "request",
    /// The security rows (users, grants, tokens) given their MACs: once per database.
    RowsSealed = "rows.sealed",
}

impl Action {
    /// The webhook event an entry of this action is, when it ended well.
    pub fn event(self) -> Option<&'static str> {
        Some(match self {
            Action::SecretAdd => "secret.added",
            Action::SecretRotate => "secret.rotated",
            Action::SecretDelete => "secret.deleted",
            Action::SecretRestore | Action::SecretRestoreVersion => "secret.restored",
            Action::SecretPurge => "secret.purged",
            Action::TokenCreate => "token.created",
            Action::TokenRevoke => "token.revoked",
            _ => return None,
        })
    }
}

/// The action filter's preset: every action that changes something.
pub const CHANGES: &str = "changes";

impl Action {
    /// Whether the action changes something (secrets, namespaces, people,
    /// tokens, keys) — not a read, a sign-in or out, an export or a refusal.
    pub fn is_change(self) -> bool {
        !matches!(
            self,
            Action::SignIn
                | Action::SignOut
                | Action::Read
                | Action::SecretRead
                | Action::AppRoleLogin
                | Action::JwtLogin
                | Action::AuditExport
                | Action::Request
                | Action::RowsSealed
        )
    }
}

/// Who acted, when nobody signed in could be named.
pub const ANONYMOUS: &str = "(anonymous)";
/// A sign-in attempt for a name that is no account. The name typed is not
/// kept: people type passwords into the username field.
pub const UNKNOWN_USER: &str = "(unknown user)";
/// The outcome of an action that happened.
pub const OK: &str = "ok";

/// One entry, as pages and exports show it. Never a value, password or token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    /// Empty when the action concerns no namespace (sign-in, users).
    pub namespace: String,
    /// The secret key, or the username for user actions; may be empty.
    pub key: String,
    pub version: Option<i64>,
    pub client: String,
    /// `ok`, or `refused: <reason>` / `failed: <reason>`.
    pub outcome: String,
}

/// One page of the trail, newest first; `older` continues after the last entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub older: Option<i64>,
}

/// A parsed filter. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// This namespace and its descendants.
    pub namespace: Option<NamespacePath>,
    pub actor: Option<String>,
    /// Any of these actions (empty: every action).
    pub actions: Vec<Action>,
    /// A secret key (or username): every read and change of it.
    pub key: Option<String>,
    /// From this instant, inclusive.
    pub from: Option<Timestamp>,
    /// Up to this instant, exclusive.
    pub to: Option<Timestamp>,
    /// Only what happened, or only what was refused.
    pub outcome: Option<OutcomeFilter>,
}

/// The trail's outcome filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeFilter {
    /// Entries whose outcome is `ok` (or `ok: …`).
    Ok,
    /// Everything else: refusals and failures.
    Refused,
}

impl OutcomeFilter {
    pub const CHOICES: [(&'static str, &'static str); 3] =
        [("", "Any"), ("ok", "Done"), ("refused", "Refused or failed")];
}

/// A filter field that does not parse: `(field, message)`.
pub type FilterError = (&'static str, String);

/// `s` trimmed, or `None` when that leaves nothing.
fn some(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

impl AuditFilter {
    pub fn parse(namespace: &str, actor: &str, action: &str, from: &str, to: &str) -> Result<Self, FilterError> {
        let namespace =
            some(namespace).map(NamespacePath::parse).transpose().map_err(|e| ("namespace", e.to_string()))?;
        let actor = some(actor).map(str::to_owned);
        if actor.as_ref().is_some_and(|a| a.chars().count() > 64) {
            return Err(("actor", "Use at most 64 characters.".into()));
        }
        let actions = match some(action) {
            None => vec![],
            Some(CHANGES) => Action::ALL.iter().copied().filter(|a| a.is_change()).collect(),
            Some(list) => {
                let mut actions = vec![];
                for name in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                    let action = Action::parse(name).ok_or(("action", "Pick actions from the list.".to_owned()))?;
                    // Each once: a list can never outgrow the actions there are.
                    if !actions.contains(&action) {
                        actions.push(action);
                    }
                }
                actions
            }
        };
        let from = some(from).map(Timestamp::parse_utc).transpose().map_err(|e| ("from", e.to_string()))?;
        let to = some(to).map(Timestamp::parse_utc).transpose().map_err(|e| ("to", e.to_string()))?;
        if let (Some(f), Some(t)) = (from, to) {
            if t <= f {
                return Err(("to", "Must be after From.".into()));
            }
        }
        Ok(Self { namespace, actor, actions, from, to, key: None, outcome: None })
    }

    /// Also keeps only entries about `key` (empty: any).
    pub fn with_key(self, key: &str) -> Result<Self, FilterError> {
        let key = some(key).map(str::to_owned);
        if key.as_ref().is_some_and(|k| k.chars().count() > 128) {
            return Err(("key", "Use at most 128 characters.".into()));
        }
        Ok(Self { key, ..self })
    }

    /// Also keeps only entries with this outcome: `ok`, `refused` or empty (any).
    pub fn with_outcome(self, outcome: &str) -> Result<Self, FilterError> {
        let outcome = match outcome.trim() {
            "" => None,
            "ok" => Some(OutcomeFilter::Ok),
            "refused" => Some(OutcomeFilter::Refused),
            _ => return Err(("outcome", "Pick an outcome from the list.".into())),
        };
        Ok(Self { outcome, ..self })
    }
}

/// `text` with every control character (newline, carriage return, tab, escape,
/// C1 controls…) written as a visible escape such as `\n` or `\x1b`, and `\`
/// doubled so escapes cannot be forged. What pages and CSV show; [`unescape`]
/// undoes it.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c) || c == '\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters shown escaped: control characters, the Unicode line and
/// paragraph separators (a line-splitter breaks a record on them), and the
/// bidirectional controls (they reorder what is shown around them).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Inverse of [`escape_controls`] (for readers of the CSV export).
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                out.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// One CSV cell (RFC 4180): controls escaped as above, so a record is always
/// one line; quoted when it holds a comma or quote, or when it starts like a
/// spreadsheet formula (`=`, `+`, `-`, `@`), which also gets a leading `'`.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let text = escape_controls(text);
    let formula = text.starts_with(['=', '+', '-', '@']);
    if !formula && !text.contains([',', '"']) {
        return text;
    }
    let quote = if formula { "'" } else { "" };
    Cow::Owned(format!("\"{quote}{}\"", text.replace('"', "\"\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_actions_or_every_change_filter_at_once() {
        let f = AuditFilter::parse("", "", "secret.add, secret.rotate", "", "").unwrap();
        assert_eq!(f.actions, [Action::SecretAdd, Action::SecretRotate]);
        let changes = AuditFilter::parse("", "", CHANGES, "", "").unwrap().actions;
        assert!(changes.contains(&Action::SecretPurge) && changes.contains(&Action::UserGrant));
        assert!(!changes.contains(&Action::SecretRead) && !changes.contains(&Action::SignIn));
        assert!(!changes.contains(&Action::Read));
        assert_eq!(AuditFilter::parse("", "", "secret.add,nope", "", "").unwrap_err().0, "action");
        assert!(AuditFilter::parse("", "", "", "", "").unwrap().actions.is_empty());
    }

    #[test]
    fn every_action_name_parses_back() {
        for &a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
        assert_eq!(Action::parse("secret.steal"), None);
    }

    #[test]
    fn controls_become_visible_and_come_back() {
        let hostile = "a\nb\r\t\u{1b}[31mred\\n\u{85}é";
        let shown = escape_controls(hostile);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert_eq!(shown, "a\\nb\\r\\t\\u{1b}[31mred\\\\n\\u{85}é");
        assert_eq!(unescape(&shown), hostile);
        assert!(matches!(escape_controls("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn line_separators_and_bidi_controls_are_shown_escaped() {
        let hostile = "a\u{2028}b\u{2029}c\u{202e}d\u{2066}e";
        let shown = escape_controls(hostile);
        assert_eq!(shown, "a\\u{2028}b\\u{2029}c\\u{202e}d\\u{2066}e");
        assert_eq!(unescape(&shown), hostile);
    }

    #[test]
    fn csv_cells_quote_commas_quotes_and_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_cell("line\nbreak"), "line\\nbreak");
    }

    #[test]
    fn filters_parse_and_bad_fields_are_named() {
        let f = AuditFilter::parse("company", "alice", "secret.add", "2026-11-01", "2026-11-22T10:00").unwrap();
        assert_eq!(f.namespace.unwrap().as_str(), "company");
        assert_eq!(f.actions, [Action::SecretAdd]);
        assert_eq!(AuditFilter::parse("", "", "", "", ""), Ok(AuditFilter::default()));
        assert_eq!(AuditFilter::parse("A..B", "", "", "", "").unwrap_err().0, "namespace");
        assert_eq!(AuditFilter::parse("", "", "nope", "", "").unwrap_err().0, "action");
        assert_eq!(AuditFilter::parse("", "", "", "soon", "").unwrap_err().0, "from");
        assert_eq!(AuditFilter::parse("", "", "", "2026-11-22", "2026-11-01").unwrap_err().0, "to");
        let keyed = AuditFilter::default().with_key(" DB_PASSWORD ").unwrap();
        assert_eq!(keyed.key.as_deref(), Some("DB_PASSWORD"));
        assert_eq!(AuditFilter::default().with_key(&"K".repeat(129)).unwrap_err().0, "key");
    }
}

//! What a refused form post is re-rendered with: the fields a person typed
//! that are safe to send back, so nothing typed is lost — and never a secret.
//! A value, an import text or a password is only *noted* as cleared.

/// Fields sent back after a refused post. Anything not named here (a value,
/// a pasted file, a password, a field added later) is never echoed.
pub const REFILLED: &[&str] = &[
    "key",
    "description",
    "tags",
    "namespace",
    "name",
    "expires",
    "username",
    "role",
    "scope",
    "every",
    "rotate_by",
    "every_days",
    "keep",
    "format",
];

/// Fields that hold secrets: never sent back; the page says they were cleared.
pub const SECRET: &[&str] = &["value", "content", "password", "new_password", "current", "confirm_password"];

/// Longest field sent back: longer input was refused for its length anyway.
const MAX_REFILL: usize = 2048;

/// The refused post of one form (`endpoint`, e.g. `/api/secrets/add`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Submitted {
    pub endpoint: String,
    fields: Vec<(String, String)>,
    /// Secret fields that had input, now cleared.
    pub cleared: Vec<&'static str>,
}

impl Submitted {
    /// Reads an `application/x-www-form-urlencoded` body. Secret fields are
    /// looked at only for being empty: their bytes are never decoded or copied.
    pub fn from_form(endpoint: &str, body: &[u8]) -> Self {
        let mut out = Self { endpoint: endpoint.to_owned(), ..Self::default() };
        for pair in body.split(|b| *b == b'&') {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let name = String::from_utf8_lossy(&percent_decoded(name)).into_owned();
            if let Some(secret) = SECRET.iter().find(|s| **s == name) {
                if !value.is_empty() && !out.cleared.contains(secret) {
                    out.cleared.push(secret);
                }
            } else if REFILLED.contains(&name.as_str()) && value.len() <= 3 * MAX_REFILL {
                let value = String::from_utf8_lossy(&percent_decoded(value)).into_owned();
                if value.len() <= MAX_REFILL && !out.fields.iter().any(|(n, _)| *n == name) {
                    out.fields.push((name, value));
                }
            }
        }
        out
    }

    /// What was typed in `name`, if this is the post of the form at
    /// `endpoint` whose hidden `identity` fields (say, the user a row's form
    /// is for) match.
    pub fn get(&self, endpoint: &str, identity: &[(&str, &str)], name: &str) -> Option<&str> {
        let field = |n: &str| self.fields.iter().find(|(f, _)| f == n).map(|(_, v)| v.as_str());
        let this_form = self.endpoint == endpoint && identity.iter().all(|(n, v)| field(n) == Some(*v));
        this_form.then(|| field(name)).flatten()
    }
}

/// `+` and `%XX` decoded (form encoding); bad escapes kept as they are.
pub fn percent_decoded(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_fields_come_back_and_secrets_never_do() {
        let body = b"namespace=company&key=DB_URL&value=canary%0Ahunter2&description=the+main+db&tags=env%3Dprod";
        let s = Submitted::from_form("/api/secrets/add", body);
        assert_eq!(s.get("/api/secrets/add", &[], "key"), Some("DB_URL"));
        assert_eq!(s.get("/api/secrets/add", &[], "description"), Some("the main db"));
        assert_eq!(s.get("/api/secrets/add", &[], "tags"), Some("env=prod"));
        assert_eq!(s.get("/api/secrets/add", &[], "value"), None);
        assert_eq!(s.cleared, ["value"]);
        assert!(!format!("{s:?}").contains("canary"), "no trace of the value is kept");
        // Another form on the page gets nothing back.
        assert_eq!(s.get("/api/secrets/rotate", &[], "key"), None);
    }

    #[test]
    fn a_repeated_form_is_refilled_only_where_it_was_posted() {
        let s = Submitted::from_form("/api/users/grant", b"username=alice&role=editor&scope=company&password=");
        assert_eq!(s.get("/api/users/grant", &[("username", "alice")], "role"), Some("editor"));
        assert_eq!(s.get("/api/users/grant", &[("username", "bob")], "role"), None);
        assert!(s.cleared.is_empty(), "an empty secret field was not cleared");
    }

    #[test]
    fn unknown_and_oversized_fields_are_dropped() {
        let long = format!("key={}&token=abc&secret_thing=x", "A".repeat(5000));
        let s = Submitted::from_form("/api/x", long.as_bytes());
        assert_eq!(s.get("/api/x", &[], "key"), None);
        assert_eq!(s.get("/api/x", &[], "token"), None);
        assert_eq!(s.get("/api/x", &[], "secret_thing"), None);
    }
}

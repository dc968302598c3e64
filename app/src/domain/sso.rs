//! Single sign-on for people (OIDC): which IdP groups give which roles, how
//! an SSO account is named, and who may still sign in with a password.
//! Parsing only; the flow runs in the server (`sso`), the rows live in
//! `ssr::store::sso`.

use super::{Grant, Role, Scope};

/// `GROUP=ROLE@SCOPE` mappings (`STRONGROOM_OIDC_ROLES`, or a file of
/// `ROLE SCOPE GROUP…` lines for group names holding `=` or `,`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleMapping(Vec<(String, Grant)>);

fn grant(role: &str, scope: &str) -> Result<Grant, String> {
    let role: Role = role.trim().parse().map_err(|e| format!("{role:?}: {e}"))?;
    let scope = Scope::parse(scope).map_err(|e| format!("{scope:?}: {e}"))?;
    Ok(Grant { role, scope })
}

impl RoleMapping {
    /// `platform=admin@*,pay-leads=auditor@company.payments`: each item split
    /// at its first `=`, and at the first `@` after it (group names may hold `@`).
    pub fn parse_list(input: &str) -> Result<Self, String> {
        let mut map = Vec::new();
        for item in input.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (group, rest) = item.split_once('=').ok_or_else(|| format!("{item:?}: write GROUP=ROLE@SCOPE"))?;
            let (role, scope) = rest.split_once('@').ok_or_else(|| format!("{item:?}: write GROUP=ROLE@SCOPE"))?;
            if group.trim().is_empty() {
                return Err(format!("{item:?}: the group is empty"));
            }
            map.push((group.trim().to_owned(), grant(role, scope)?));
        }
        Ok(Self(map))
    }

    /// One mapping a line, `ROLE SCOPE GROUP…` (the group is the rest of the
    /// line, spaces and all); blank lines and `#` comments skipped.
    pub fn parse_file(text: &str) -> Result<Self, String> {
        let mut map = Vec::new();
        for (n, line) in text.lines().enumerate().map(|(n, l)| (n + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(3, char::is_whitespace);
            let (role, scope, group) = (parts.next(), parts.next(), parts.next().map(str::trim));
            let (Some(role), Some(scope), Some(group)) = (role, scope, group.filter(|g| !g.is_empty())) else {
                return Err(format!("line {n}: write ROLE SCOPE GROUP"));
            };
            map.push((group.to_owned(), grant(role, scope).map_err(|e| format!("line {n}: {e}"))?));
        }
        Ok(Self(map))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    /// The grants `groups` give, each once, in mapping order.
    pub fn grants(&self, groups: &[String]) -> Vec<Grant> {
        let mut out: Vec<Grant> = Vec::new();
        for (group, grant) in &self.0 {
            if groups.contains(group) && !out.contains(grant) {
                out.push(grant.clone());
            }
        }
        out
    }
}

/// Who may sign in with a password once SSO is set (`STRONGROOM_PASSWORD_SIGNIN`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PasswordSignIn {
    #[default]
    All,
    /// Accounts holding an admin grant only: break-glass.
    Admins,
    None,
}

impl PasswordSignIn {
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim() {
            "all" | "" => Ok(Self::All),
            "admins" => Ok(Self::Admins),
            "none" => Ok(Self::None),
            other => Err(format!("{other:?}: write all, admins or none")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_split_at_the_first_equals_and_the_first_at_after_it() {
        let m = RoleMapping::parse_list(
            "platform=admin@*, pay-leads=auditor@company.payments,pay-devs@example.com=editor@company.payments",
        )
        .unwrap();
        let g = |r: &str, s: &str| grant(r, s).unwrap();
        assert_eq!(m.grants(&["platform".into()]), [g("admin", "")]);
        assert_eq!(m.grants(&["pay-devs@example.com".into(), "x".into()]), [g("editor", "company.payments")]);
        assert!(m.grants(&["Platform".into()]).is_empty(), "group names match exactly");
        for bad in ["platform", "platform=admin", "=admin@*", "p=owner@*", "p=admin@Bad Path"] {
            assert!(RoleMapping::parse_list(bad).is_err(), "{bad}");
        }
        let file = "# LDAP DNs hold = and ,\nadmin * cn=platform,ou=groups,dc=example,dc=com\n\nauditor company cn=leads, ou=x\n";
        let m = RoleMapping::parse_file(file).unwrap();
        assert_eq!(m.grants(&["cn=leads, ou=x".into()]), [g("auditor", "company")]);
        assert!(RoleMapping::parse_file("admin *").is_err() && RoleMapping::parse_file("boss * g").is_err());
        assert_eq!(PasswordSignIn::parse("admins"), Ok(PasswordSignIn::Admins));
        assert!(PasswordSignIn::parse("some").is_err());
    }
}

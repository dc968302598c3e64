//! What an entry says: when, who acted, from where, what, on which name, and
//! how it ended. Typed here and stored as text; the chain's MACs cover that
//! text, so each type displays exactly as the trail has always stored it
//! (pinned by `audit::tests::actors_and_clients_display_as_the_trail_stores_them`).

use crate::domain::{
    audit::{Action, ANONYMOUS, UNKNOWN_USER},
    Timestamp, TokenName, Username,
};
use std::fmt;

/// What an entry says; the store adds `id` and the MAC.
#[derive(Clone, Debug)]
pub struct NewEntry {
    pub at: Timestamp,
    pub actor: Actor,
    pub action: Action,
    pub namespace: String,
    pub key: String,
    pub version: Option<i64>,
    pub client: Client,
    pub outcome: String,
}

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in person: their username.
    User(Username),
    /// A workload, by its token's name: `token:NAME` (no username has a `:`).
    Token(TokenName),
    /// A presented token that is no token: `(unknown token)`.
    UnknownToken,
    /// An AppRole, logging in: `approle:NAME` (its logins' tokens read as that too).
    AppRole(TokenName),
    /// A JWT role, logging in: `jwt:NAME`, and `jwt:NAME sub=SUBJECT` once a
    /// token's signature held (its logins' tokens read as `jwt:NAME`).
    Jwt { role: TokenName, subject: Option<String> },
    /// A single sign-on the IdP vouched for, refused here: `sso:SUBJECT`, or
    /// `(sso)` before any ID token held (a successful one acts as the user).
    Sso(Option<String>),
    /// `strongroom …` run on the server's machine: `(command line)`.
    CommandLine,
    /// The server itself, as it starts (sealing rows, retention): `(server start)`.
    ServerStart,
    /// The server's own scheduled work (the daily trail archive): `(schedule)`.
    Schedule,
    /// A sign-in with a name that is no account: `(unknown user)` (a typed
    /// password in the name field must not land in the trail).
    UnknownUser,
    /// Nobody signed in: `(anonymous)`.
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(name) => f.write_str(name.as_str()),
            Actor::Token(name) => f.write_str(&name.actor()),
            Actor::AppRole(name) => write!(f, "approle:{}", name.as_str()),
            Actor::Jwt { role, subject: None } => write!(f, "jwt:{}", role.as_str()),
            Actor::Jwt { role, subject: Some(sub) } => write!(f, "jwt:{} sub={sub}", role.as_str()),
            Actor::UnknownToken => f.write_str("(unknown token)"),
            Actor::Sso(Some(subject)) => write!(f, "sso:{subject}"),
            Actor::Sso(None) => f.write_str("(sso)"),
            Actor::CommandLine => f.write_str("(command line)"),
            Actor::ServerStart => f.write_str("(server start)"),
            Actor::Schedule => f.write_str("(schedule)"),
            Actor::UnknownUser => f.write_str(UNKNOWN_USER),
            Actor::Anonymous => f.write_str(ANONYMOUS),
        }
    }
}

/// Where the request came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Client {
    /// A network client: its address, or the address block a throttle keys it
    /// by (an IPv6 /64), or `(many clients)` once the per-client table is full.
    Address(String),
    /// The server's own machine (a command, the server starting): `local`.
    Local,
    /// A request whose peer address is not known: `unknown`.
    Unknown,
}

impl Client {
    pub fn of(address: Option<std::net::IpAddr>) -> Self {
        address.map_or(Client::Unknown, |ip| Client::Address(ip.to_string()))
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Client::Address(address) => f.write_str(address),
            Client::Local => f.write_str("local"),
            Client::Unknown => f.write_str("unknown"),
        }
    }
}

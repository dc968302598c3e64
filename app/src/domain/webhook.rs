//! Webhooks as typed and shown: a target URL, the events it wants, the shape
//! of its body, and what the list and delivery log show. Never a signing
//! secret, except once in [`NewWebhook`].

use super::{Timestamp, TokenName};
use serde::{Deserialize, Serialize};
use std::{fmt, net::IpAddr};

/// What a webhook can be told. Names only: none carries a value.
pub const EVENTS: [&str; 9] = [
    "secret.added",
    "secret.rotated",
    "secret.deleted",
    "secret.restored",
    "secret.purged",
    "token.created",
    "token.revoked",
    "secret.overdue",
    "required.missing",
];

/// A webhook's name: the rules of a token's name (lower case, 2–64 of `a-z0-9._-`).
pub type WebhookName = TokenName;

/// An `http://` or `https://` URL with a host, no user info and no fragment.
/// Where it may point (not link-local, not private unless allowed) is decided
/// when it is resolved, by the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(input: &str) -> Result<Self, String> {
        let url = input.trim();
        if url.len() > 2048 {
            return Err("A URL has at most 2048 characters.".into());
        }
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or("The URL must start with https:// (or http://).")?;
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("A URL has no spaces or control characters.".into());
        }
        if url.contains('#') {
            return Err("A webhook URL has no #fragment.".into());
        }
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err("A webhook URL carries no user name or password: the signature authenticates.".into());
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, None),
                Some((host, rest)) => (host, Some(rest.strip_prefix(':').unwrap_or(rest))),
                None => return Err("The URL's [IPv6 address] is not closed.".into()),
            },
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err("The URL names no host.".into());
        }
        if let Some(port) = port {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(format!("{port:?} is not a port."));
            }
        }
        Ok(Self(url.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host as written: a name, an IPv4 address, or an IPv6 address without brackets.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        }
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An address range (`10.0.0.0/8`, `fd00::/8`, or one address), for
/// `STRONGROOM_WEBHOOK_ALLOW_CIDRS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(input: &str) -> Result<Self, String> {
        let input = input.trim();
        let (addr, bits) = input.split_once('/').map_or((input, None), |(a, b)| (a, Some(b)));
        let net: IpAddr = addr.parse().map_err(|_| format!("{input:?} is not an address or CIDR range"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => {
                b.parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| format!("{input:?}: bad prefix length"))?
            }
        };
        Ok(Self { net, bits })
    }

    /// A list separated by commas or spaces.
    pub fn parse_list(input: &str) -> Result<Vec<Self>, String> {
        input.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(Self::parse).collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let prefix = |a: u128, b: u128, width: u32| {
            let shift = width - u32::from(self.bits);
            shift >= width || (a >> shift) == (b >> shift)
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix(u32::from(n).into(), u32::from(a).into(), 32),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix(u128::from(n), u128::from(a), 128),
            _ => false,
        }
    }
}

/// Why a webhook may not be delivered to `ip`, if it may not. Never: the
/// unspecified address, link-local (cloud metadata at 169.254.169.254),
/// the other clouds' metadata addresses (`fd00:ec2::254`, `100.100.100.200`),
/// site-local, multicast and broadcast, whatever `allow` says. Loopback,
/// private and shared ranges only when `allow` lists them. An IPv6 address
/// that carries an IPv4 one (mapped, compatible, NAT64, 6to4) is judged as
/// that IPv4 address.
pub fn refusal(ip: IpAddr, allow: &[Cidr]) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => carried(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let never = match ip {
        IpAddr::V4(a) => {
            a.is_unspecified()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_broadcast()
                || a == std::net::Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || a == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
                || s[..4] == [0x100, 0, 0, 0]
        }
    };
    if never {
        return Some("a link-local, metadata, unspecified, multicast or broadcast address");
    }
    let internal = match ip {
        IpAddr::V4(a) => {
            let [a0, a1, ..] = a.octets();
            a.is_loopback() || a.is_private() || (a0 == 100 && (64..128).contains(&a1)) || a0 == 0 || a0 >= 240
        }
        IpAddr::V6(a) => a.is_loopback() || (a.segments()[0] & 0xfe00) == 0xfc00,
    };
    (internal && !allow.iter().any(|c| c.contains(ip)))
        .then_some("a loopback or private address (allow it with STRONGROOM_WEBHOOK_ALLOW_CIDRS)")
}

/// The IPv4 address an IPv6 one carries: IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d` (not `::` or `::1`), NAT64 `64:ff9b::/96`
/// and `64:ff9b:1::/48`, 6to4 `2002:AABB:CCDD::/48`.
fn carried(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(mapped) = v6.to_ipv4_mapped() {
        return Some(mapped);
    }
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return Some(v4(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..3] == [0x64, 0xff9b, 1] {
        return Some(v4(s[6], s[7]));
    }
    (s[0] == 0x2002).then(|| v4(s[1], s[2]))
}

/// The events a webhook wants: some of [`EVENTS`], or all of them (`*`, also
/// those added later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Events {
    All,
    Some(Vec<String>),
}

impl Events {
    /// `*`, empty (all), or names separated by commas or spaces.
    pub fn parse(input: &str) -> Result<Self, String> {
        let names: Vec<&str> = input.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).collect();
        if names.is_empty() || names == ["*"] {
            return Ok(Self::All);
        }
        let mut chosen = Vec::new();
        for name in names {
            if !EVENTS.contains(&name) {
                return Err(format!("{name:?} is not an event; events are {}.", EVENTS.join(", ")));
            }
            if !chosen.iter().any(|c| c == name) {
                chosen.push(name.to_owned());
            }
        }
        Ok(Self::Some(chosen))
    }

    pub fn wants(&self, event: &str) -> bool {
        match self {
            Self::All => true,
            Self::Some(names) => names.iter().any(|n| n == event),
        }
    }
}

impl fmt::Display for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Some(names) => f.write_str(&names.join(",")),
        }
    }
}

/// The body's shape: Strongroom's JSON, or a message Slack and Mattermost
/// incoming webhooks accept as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookFormat {
    Json,
    Slack,
}

impl WebhookFormat {
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim() {
            "" | "json" => Ok(Self::Json),
            "slack" | "mattermost" => Ok(Self::Slack),
            other => Err(format!("{other:?} is not a format: json or slack.")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Slack => "slack",
        }
    }
}

/// A webhook as the list shows it: never its signing secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub name: WebhookName,
    pub url: WebhookUrl,
    pub events: Events,
    pub format: WebhookFormat,
    pub created_at: Timestamp,
    pub created_by: String,
    /// A replaced signing secret still signs (a second `v1=`) until then.
    pub previous_until: Option<Timestamp>,
    pub pending: i64,
    pub failed: i64,
}

/// A webhook just made or given a new secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    pub view: WebhookView,
    /// The signing secret, hex.
    pub secret: String,
}

impl Drop for NewWebhook {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

/// One delivery, as the log shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub delivery: String,
    pub webhook: String,
    pub event: String,
    /// `namespace/KEY`, a namespace, or a token's name.
    pub subject: String,
    pub created_at: Timestamp,
    pub attempts: i64,
    /// `pending`, `delivered` or `failed` (gave up).
    pub state: String,
    pub last_result: Option<String>,
    pub done_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_strictly() {
        for ok in ["https://hooks.example.com/x?y=1", "http://127.0.0.1:8080/hook", "https://[::1]:9/x", "https://h"] {
            assert!(WebhookUrl::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(WebhookUrl::parse("https://[::1]:9/x").unwrap().host(), "::1");
        assert_eq!(WebhookUrl::parse("http://10.0.0.1:80?x").unwrap().host(), "10.0.0.1");
        for bad in [
            "ftp://x",
            "https://",
            "https://user:pw@host/",
            "https://host/#frag",
            "https://host:0/",
            "https://host:99999/",
            "https://ho st/",
            "javascript:alert(1)",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_refuse_metadata_always_and_private_unless_allowed() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let none: &[Cidr] = &[];
        let everything = Cidr::parse_list("0.0.0.0/0, ::/0").unwrap();
        for always in [
            "169.254.169.254",
            "0.0.0.0",
            "::",
            "::ffff:169.254.169.254",
            "fe80::1",
            "fec0::1",
            "224.0.0.1",
            "::ffff:0.0.0.0",
            "fd00:ec2::254",
            "100.100.100.200",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "100::1",
        ] {
            assert!(refusal(ip(always), &everything).is_some(), "{always}");
        }
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "2002:a00:1::1",
        ] {
            assert!(refusal(ip(internal), none).is_some(), "{internal}");
            assert!(refusal(ip(internal), &everything).is_none(), "{internal}");
        }
        let loopback = Cidr::parse_list("127.0.0.0/8").unwrap();
        assert!(refusal(ip("127.0.0.1"), &loopback).is_none());
        assert!(refusal(ip("::ffff:127.0.0.1"), &loopback).is_none());
        assert!(refusal(ip("10.0.0.1"), &loopback).is_some());
        assert!(refusal(ip("93.184.216.34"), none).is_none());
        assert!(refusal(ip("2606:4700::1"), none).is_none());
        assert!(Cidr::parse("10.0.0.0/33").is_err() && Cidr::parse("nope").is_err());
        assert!(Cidr::parse("10.0.0.1").unwrap().contains(ip("10.0.0.1")));
    }

    #[test]
    fn events_are_all_or_known_names() {
        assert_eq!(Events::parse(" ").unwrap(), Events::All);
        assert_eq!(Events::parse("*").unwrap(), Events::All);
        let some = Events::parse("secret.rotated, secret.added secret.rotated").unwrap();
        assert_eq!(some.to_string(), "secret.rotated,secret.added");
        assert!(some.wants("secret.added") && !some.wants("token.created"));
        assert!(Events::parse("secret.read").unwrap_err().contains("not an event"));
    }
}

//! Who the client is. Behind a reverse proxy every connection comes from the
//! proxy, so the socket address would make all users one client: one sign-in
//! throttle for everyone, one address in the trail. `X-Forwarded-For` is
//! believed only from the proxies in `STRONGROOM_TRUSTED_PROXIES`, and only as
//! far back as the chain of trusted proxies goes: the client is the rightmost
//! address that is not itself a trusted proxy (what lies left of it was written
//! by the client and may be forged).

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Networks whose `X-Forwarded-For` is believed. Empty by default: then the
/// header is ignored, whoever sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8`) or addresses;
    /// `Err` names the first item that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| item.to_owned())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind a connection from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // A hop that is not an address ends the chain: the last one known stands.
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:567`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:567`, each
/// IPv6 form possibly with a zone id (`fe80::1%eth0`), which is dropped.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let host = match hop.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map(|(inside, _)| inside)?,
        None if hop.matches(':').count() == 1 => hop.split_once(':').map(|(v4, _)| v4)?,
        None => hop,
    };
    let host = host.split_once('%').map_or(host, |(ip, _zone)| ip);
    Some(host.parse::<IpAddr>().ok()?.to_canonical())
}

/// Replaces the connection's address with the client's for everything after:
/// throttles, the trail, logs.
pub async fn real_client(State(proxies): State<TrustedProxies>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = proxies.client(peer.ip(), req.headers());
        if client != peer.ip() {
            req.extensions_mut().insert(ConnectInfo(SocketAddr::new(client, 0)));
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.5").unwrap();
        // Not a proxy: the header is whatever the client wished.
        assert_eq!(proxies.client(ip("203.0.113.9"), &headers(&["1.1.1.1"])), ip("203.0.113.9"));
        assert_eq!(TrustedProxies::default().client(ip("10.0.0.1"), &headers(&["1.1.1.1"])), ip("10.0.0.1"));
        // One trusted proxy: the address it appended.
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&["1.1.1.1"])), ip("1.1.1.1"));
        // A forged entry left of the real one is not believed.
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&["6.6.6.6, 1.1.1.1"])), ip("1.1.1.1"));
        // Two proxies (two headers or one list): past both.
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&["6.6.6.6, 2.2.2.2", "192.168.1.5"])), ip("2.2.2.2"));
        // Ports, brackets, mapped IPv6.
        assert_eq!(proxies.client(ip("::ffff:10.0.0.1"), &headers(&["[2001:db8::7]:443"])), ip("2001:db8::7"));
        // Brackets without a port, zone ids.
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&["[2001:db8::7]"])), ip("2001:db8::7"));
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&["fe80::1%eth0"])), ip("fe80::1"));
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&["[fe80::1%25eth0]:80"])), ip("fe80::1"));
        // Garbage ends the chain at the last address known.
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&["1.1.1.1, nonsense"])), ip("10.0.0.1"));
        assert_eq!(proxies.client(ip("10.0.0.1"), &headers(&[])), ip("10.0.0.1"));
    }

    #[test]
    fn lists_parse_or_name_what_is_wrong() {
        assert_eq!(TrustedProxies::parse("").unwrap(), TrustedProxies::default());
        assert_eq!(TrustedProxies::parse("10.0.0.0/8,fd00::/8, 127.0.0.1").unwrap().0.len(), 3);
        assert_eq!(TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err(), "proxy.local");
        assert_eq!(TrustedProxies::parse("10.0.0.0/33").unwrap_err(), "10.0.0.0/33");
    }
}

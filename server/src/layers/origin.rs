//! Mutating requests must come from this server's own pages: a browser's
//! `Sec-Fetch-Site` must say same-origin, and an `Origin` must be ours.
//! (Requests without either header are not from a browser, and carry no
//! ambient cookie authority worth forging.)

use app::ssr::state::AppState;
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// `Some("https://host")` when the public URL is configured; else the request's
/// own `Host` is the origin to match.
#[derive(Clone, Default)]
pub struct OwnOrigin(pub Option<String>);

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why a request is refused, if it is.
pub fn cross_origin(req: &Request, own: &OwnOrigin) -> Option<&'static str> {
    if !is_mutating(req.method()) {
        return None;
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return Some("Sec-Fetch-Site is not same-origin");
        }
    }
    let origin = headers.get(header::ORIGIN)?;
    let Ok(origin) = origin.to_str().map(str::to_ascii_lowercase) else { return Some("unreadable Origin") };
    let matches = match &own.0 {
        Some(public) => origin == *public,
        // Served as plain http (no public URL): the origin is http://HOST, scheme included.
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_ascii_lowercase);
            host.is_some_and(|host| origin.strip_prefix("http://") == Some(host.as_str()))
        }
    };
    (!matches).then_some("Origin is not this server")
}

/// What the cross-origin check needs: the origin to match, and the state to
/// record refusals in the audit trail.
#[derive(Clone)]
pub struct OriginGuard {
    pub own: OwnOrigin,
    pub state: AppState,
}

pub async fn same_origin_only(State(guard): State<OriginGuard>, req: Request, next: Next) -> Response {
    let Some(reason) = cross_origin(&req, &guard.own) else { return next.run(req).await };
    tracing::warn!(path = %req.uri().path(), reason, "cross-origin request refused");
    crate::layers::refused::Refused::of(&req).record(&guard.state, format!("refused: cross-origin ({reason})")).await;
    (StatusCode::FORBIDDEN, "Cross-origin requests are refused.\n").into_response()
}

/// Whether a request's `Host` names this server: the public URL's host when
/// one is configured, a loopback name, or an IP address. Any other name may be
/// DNS rebinding (a page elsewhere whose name now points here).
pub fn host_allowed(host: Option<&str>, own: &OwnOrigin) -> bool {
    let Some(host) = host.map(str::to_ascii_lowercase) else { return false };
    if let Some(public) = &own.0 {
        if public.split_once("://").is_some_and(|(_, authority)| authority == host) {
            return true;
        }
    }
    let name = match host.strip_prefix('[') {
        Some(v6) => return v6.split(']').next().is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok()),
        None => host.rsplit_once(':').map_or(host.as_str(), |(name, _)| name),
    };
    name == "localhost" || name.ends_with(".localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Refuses requests for a `Host` this server does not answer to (421), and
/// sends HSTS when the public URL is https.
pub async fn known_host_only(State(own): State<OwnOrigin>, req: Request, next: Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    if !host_allowed(host, &own) {
        tracing::warn!(host = ?host.map(|h| h.chars().take(100).collect::<String>()), "request for an unknown host refused");
        let message =
            "This server does not answer to that host name. Set STRONGROOM_PUBLIC_URL to the URL people use.\n";
        return (StatusCode::MISDIRECTED_REQUEST, message).into_response();
    }
    let mut res = next.run(req).await;
    if own.0.as_deref().is_some_and(|o| o.starts_with("https://")) {
        res.headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, axum::http::HeaderValue::from_static("max-age=31536000"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_public_name_loopback_names_and_addresses_are_hosts_of_ours() {
        let none = OwnOrigin(None);
        for ok in ["127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "10.1.2.3:80", "app.localhost:1"] {
            assert!(host_allowed(Some(ok), &none), "{ok}");
        }
        for bad in ["evil.example", "evil.example:3000", "127.0.0.1.evil.example", "[evil]", ""] {
            assert!(!host_allowed(Some(bad), &none), "{bad}");
        }
        assert!(!host_allowed(None, &none));
        let public = OwnOrigin(Some("https://secrets.example.com".into()));
        assert!(host_allowed(Some("Secrets.Example.com"), &public));
        assert!(host_allowed(Some("127.0.0.1:3000"), &public));
        assert!(!host_allowed(Some("secrets.example.com.evil.example"), &public));
    }
}

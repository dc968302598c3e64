//! Requests refused before any server function ran (cross-origin posts,
//! arguments that do not decode, forms that are not UTF-8) still go in the
//! audit trail, like those the server functions refuse themselves (an
//! anonymous client's within its allowance: see `AppState::record_refusal`).

use app::{
    domain::audit::Action,
    ssr::{
        audit::{Actor, Client, NewEntry},
        state::AppState,
    },
};
use axum::{
    extract::{ConnectInfo, Request},
    http::header,
};
use std::net::SocketAddr;

/// What the trail needs of a request, taken before the request is passed on.
pub struct Refused {
    cookies: Option<String>,
    path: String,
    client: Client,
}

impl Refused {
    pub fn of(req: &Request) -> Self {
        Self {
            cookies: req.headers().get(header::COOKIE).and_then(|v| v.to_str().ok()).map(str::to_owned),
            path: req.uri().path().to_owned(),
            client: Client::of(req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
        }
    }

    /// Records the refusal, naming the signed-in user if the request had a session.
    pub async fn record(self, state: &AppState, outcome: String) {
        let actor = match state.session(self.cookies.as_deref()).await {
            Ok(Some((user, _))) => Actor::User(user.username),
            _ => Actor::Anonymous,
        };
        let entry = NewEntry {
            at: app::ssr::clock::now(),
            actor,
            action: Action::Request,
            namespace: String::new(),
            key: self.path,
            version: None,
            client: self.client,
            outcome,
        };
        state.record_refusal(entry).await;
    }
}

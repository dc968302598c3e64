//! Logging: one init function, one line per request. Never a value: request
//! bodies and query strings are not logged.

use axum::{extract::Request, middleware::Next, response::Response};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Longest path logged: a request may carry a 64 KB path, a log line should not.
const MAX_LOGGED_PATH: usize = 200;

/// `path` cut to [`MAX_LOGGED_PATH`] characters, marked when cut.
pub fn clip_path(path: &str) -> String {
    // The one-time setup link is a credential: its token is never logged.
    if path.starts_with("/setup/") {
        return "/setup/…".to_owned();
    }
    match path.char_indices().nth(MAX_LOGGED_PATH) {
        Some((end, _)) => format!("{}…", &path[..end]),
        None => path.to_owned(),
    }
}

pub async fn log_requests(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), clip_path(req.uri().path()));
    let started = app::ssr::clock::instant();
    let res = next.run(req).await;
    tracing::info!(%method, %path, status = res.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_paths_are_clipped_in_the_log() {
        assert_eq!(super::clip_path("/ns/a"), "/ns/a");
        assert_eq!(super::clip_path("/setup/0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"), "/setup/…");
        let long = format!("/{}", "a".repeat(65_000));
        let clipped = super::clip_path(&long);
        assert_eq!(clipped.chars().count(), 201);
        assert!(clipped.ends_with('…'));
    }
}

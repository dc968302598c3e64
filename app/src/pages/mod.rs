//! One module per page.

pub mod account;
pub mod audit;
pub mod completeness;
pub mod home;
pub mod login;
pub mod namespace;
pub mod not_found;
pub mod reader;
pub mod secret;
pub mod tokens;
pub mod users;
pub mod webhooks;

use crate::error::AppError;
use leptos::prelude::*;

/// Shown where a page's data failed to load; the page answers with the
/// error's status (404 for a missing namespace, …).
#[component]
pub fn LoadError(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(axum::http::StatusCode::from_u16(error.status()).unwrap_or_default());
    }
    view! { <p class="form-error" role="alert">{error.to_string()}</p> }
}

/// Shown while a page's data loads (only seen with JavaScript on).
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

/// `n secret(s)`
pub fn count_label(n: u32) -> String {
    if n == 1 {
        "1 secret".into()
    } else {
        format!("{n} secrets")
    }
}

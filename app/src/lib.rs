//! Strongroom's web app: pages, server functions and (with `ssr`) the store.

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use app::{shell, App};

/// Entry point of the WebAssembly bundle. Pages are server-rendered HTML; the
/// loader script then hydrates each `#[island]`, in document order.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}

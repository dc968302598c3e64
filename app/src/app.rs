//! The shell, the router and the route table.

use crate::pages::{home::HomePage, namespace::NamespacePage, not_found::NotFound, secret::SecretPage};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the page as hydrated, which
    // the browser tests wait for before clicking.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    // Async SSR: pages wait for their data before sending HTML, so they are
    // complete without JavaScript.
    view! {
        <Stylesheet id="leptos" href="/pkg/strongroom.css"/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Title text="Strongroom"/>
        <Router>
            <header class="top">
                <a class="brand" href="/">"Strongroom"</a>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/ns/:namespace") view=NamespacePage ssr=SsrMode::Async/>
                    <Route path=path!("/ns/:namespace/:key") view=SecretPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

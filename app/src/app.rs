//! The shell, the router and the route table.

use crate::{
    api::session::{current_user, Logout},
    components::{Flash, MeResource, SubmitButton},
    pages::{
        account::AccountPage,
        audit::AuditPage,
        completeness::CompletenessPage,
        home::HomePage,
        login::{LoginPage, SetupPage},
        namespace::NamespacePage,
        not_found::NotFound,
        reader::ReaderPage,
        secret::SecretPage,
        tokens::TokensPage,
        users::{UserPage, UsersPage},
        webhooks::WebhooksPage,
    },
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The Content-Security-Policy of a page: only scripts carrying this
/// response's nonce run (and what they load), plus the WebAssembly they compile.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(value) = content_security_policy(&nonce.to_string()).parse() {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="stylesheet" href=format!("/pkg/{}.css", options.output_name)/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // Islands: the page is server-rendered HTML, and only `#[island]`
                // components load code in the browser.
                <HydrationScripts options islands=true/>
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
    // Nobody is signed in on the sign-in page: asking would only add a refused
    // request to the audit trail at every visit.
    let path = first_path();
    let on_login = path == "/login" || path.starts_with("/setup/");
    let me: MeResource = Resource::new(
        || (),
        move |_| async move {
            match on_login {
                true => Err(crate::error::AppError::Unauthorized),
                false => current_user().await,
            }
        },
    );
    provide_context(me);

    // Async SSR: pages wait for their data before sending HTML, so they are
    // complete without JavaScript. Forms post as plain HTML forms (see
    // `server/src/layers/forms.rs`), whether or not the browser runs the islands.
    view! {
        <Title text="Strongroom"/>
        <Router>
            <a class="skip" href="#main">"Skip to content"</a>
            <TopBar/>
            <main id="main" tabindex="-1">
                <TrialBanner/>
                <Flash/>
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/setup/:token") view=SetupPage ssr=SsrMode::Async/>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users/:name") view=UserPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/tokens") view=TokensPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin/webhooks") view=WebhooksPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/readers/:reader") view=ReaderPage ssr=SsrMode::Async/>
                    <Route path=path!("/completeness/:namespace") view=CompletenessPage ssr=SsrMode::Async/>
                    <Route path=path!("/ns/:namespace") view=NamespacePage ssr=SsrMode::Async/>
                    <Route path=path!("/ns/:namespace/:key") view=SecretPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
        <SlashFocus/>
        <Loaded/>
    }
}

/// `/` puts the keyboard in the page's search or filter box (as on GitHub
/// and MDN), unless the user is typing somewhere already.
#[island]
fn SlashFocus() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, |ev| {
            if ev.key() != "/" || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let typing = document().active_element().is_some_and(|a| {
                matches!(a.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || a.has_attribute("contenteditable")
            });
            if typing {
                return;
            }
            let target = ["search-q", "filter-q", "audit-namespace"]
                .iter()
                .find_map(|id| document().get_element_by_id(id))
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(field) = target {
                ev.prevent_default();
                let _ = field.focus();
            }
        });
        std::mem::forget(handle);
    }
}

/// The last island of every page: hydrated after all the others, it marks
/// `<body>` so that the browser tests know the page's code has loaded.
#[island]
fn Loaded() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}

/// The path of the request being rendered (pages render on the server only:
/// islands mode).
fn first_path() -> String {
    #[cfg(feature = "ssr")]
    return use_context::<axum::http::request::Parts>().map(|p| p.uri.path().to_owned()).unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    return String::new();
}

/// Tells admins that the root key is a trial key, kept next to the data.
#[component]
fn TrialBanner() -> impl IntoView {
    let me = expect_context::<MeResource>();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                me.await.ok().filter(|me| me.trial_key && me.is_admin()).map(|_| view! {
                    <p class="banner trial" role="note">"This server runs on a trial root key kept next to its data: \
                        anyone with a copy of the data directory can read every value. For real use, make a key with "
                        <code>"strongroom keygen"</code>", keep it elsewhere and set "
                        <code>"STRONGROOM_MASTER_KEY_FILE"</code>" (see the README's Keys section)."</p>
                })
            })}
        </Suspense>
    }
}

/// Whether single sign-on is set (its sign-out also ends the IdP's session).
fn sso_sign_out() -> bool {
    #[cfg(feature = "ssr")]
    return use_context::<crate::ssr::state::AppState>().is_some_and(|s| s.auth.sso.is_some());
    #[cfg(not(feature = "ssr"))]
    false
}

/// The brand, and for a signed-in user: who, their links, and Sign out.
#[component]
fn TopBar() -> impl IntoView {
    let me = expect_context::<MeResource>();
    let logout = ServerAction::<Logout>::new();
    view! {
        <header class="top">
            <a class="brand" href="/">"Strongroom"</a>
            <Suspense>
                {move || Suspend::new(async move {
                    me.await.ok().map(|me| view! {
                        <nav class="user" aria-label="Account">
                            <span>"Signed in as " <strong>{me.username.to_string()}</strong></span>
                            <a href="/account">"Account"</a>
                            {me.can_read_trail().then(|| view! { <a href="/audit">"Audit"</a> })}
                            {me.is_admin().then(|| view! { <a href="/admin/users">"Users"</a><a href="/admin/tokens">"Tokens"</a><a href="/admin/webhooks">"Webhooks"</a> })}
                            {if sso_sign_out() {
                                // Ends the IdP's session too, where it offers that.
                                view! {
                                    <form method="post" action="/auth/oidc/logout">
                                        <button type="submit" class="link">"Sign out"</button>
                                    </form>
                                }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=logout>
                                        <SubmitButton url=Logout::url() class="link" back="/login".to_owned()>"Sign out"</SubmitButton>
                                    </ActionForm>
                                }.into_any()
                            }}
                        </nav>
                    })
                })}
            </Suspense>
        </header>
    }
}

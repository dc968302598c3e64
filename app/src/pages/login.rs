//! `/login`: Username, Password, "Sign in".

use crate::{
    api::session::{first_run, setup_valid, Login, SetupAdmin},
    components::{error_of, settled, typed, Cleared, FieldError, FormError, SubmitButton},
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The SSO button's text, when SSO is set, and whether the password form is
/// shown (`STRONGROOM_PASSWORD_SIGNIN=none` hides it). Rendered on the server only.
fn sign_in_options() -> (Option<String>, bool) {
    #[cfg(feature = "ssr")]
    if let Some(sso) = use_context::<crate::ssr::state::AppState>().and_then(|s| s.auth.sso.clone()) {
        return (Some(sso.name), sso.password_sign_in != crate::domain::sso::PasswordSignIn::None);
    }
    (None, true)
}

/// Where to go after signing in: a page of this server (see `local_path`), else home.
pub fn safe_next(next: Option<String>) -> String {
    next.filter(|n| crate::domain::local_path::local_path(n).is_some()).unwrap_or_else(|| "/".to_owned())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = error_of(login);
    let first = Resource::new(|| (), |_| first_run());
    let (sso, password) = sign_in_options();
    let next = safe_next(use_query_map().get_untracked().get("next"));
    let sso_link = format!("/auth/oidc/login?next={}", crate::components::encode_query_value(&next));
    view! {
        <Title text="Sign in · Strongroom"/>
        <Suspense>
            {move || Suspend::new(async move {
                first.await.ok().flatten().map(|f| view! {
                    <section class="panel narrow first-run" aria-labelledby="first-run-title">
                        <h2 id="first-run-title">"No account exists yet"</h2>
                        {match f.link_file {
                            Some(file) => view! {
                                <p>"Open the one-time setup link the server wrote to "<code>{file}</code>
                                    " (valid for an hour, once) to create the first admin in this browser. Or, \
                                    on the server:"</p>
                            }.into_any(),
                            None => view! { <p>"Create the first admin on the server:"</p> }.into_any(),
                        }}
                        <pre tabindex="0"><code id="first-run-command">{f.command}</code></pre>
                        <p class="hint">"It asks for a password. Then sign in here."</p>
                    </section>
                })
            })}
        </Suspense>
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            {sso.map(|name| view! {
                <p><a class="button primary" id="sso-sign-in" href=sso_link>{format!("Sign in with {name}")}</a></p>
            })}
            <Show when=move || password>
            <ActionForm action=login>
                <label for="login-username">"Username"</label>
                <input id="login-username" name="username" value=typed(Login::url(), &[], "username")
                    autocomplete="username" autocapitalize="off" spellcheck="false" required/>
                <label for="login-password">"Password"</label>
                <input id="login-password" name="password" type="password" autocomplete="current-password"
                    required aria-describedby="login-password-error"/>
                <FieldError error field="password" id="login-password-error".into()/>
                <label for="login-code">"One-time code (if set up)"</label>
                <input id="login-code" name="code" autocomplete="one-time-code" inputmode="numeric"
                    spellcheck="false" maxlength="7"/>
                <FormError error fields=&["password"]/>
                <SubmitButton url=Login::url()>"Sign in"</SubmitButton>
            </ActionForm>
            </Show>
        </section>
    }
}

/// `/setup/{token}`: create the first admin, through the one-time link.
#[component]
pub fn SetupPage() -> impl IntoView {
    let params = settled(use_params_map());
    let token = params.with_untracked(|p| p.get("token").unwrap_or_default());
    let setup = ServerAction::<SetupAdmin>::new();
    let error = error_of(setup);
    let valid = Resource::new(|| (), {
        let token = token.clone();
        move |_| setup_valid(token.clone())
    });
    view! {
        <Title text="Set up · Strongroom"/>
        <section class="panel narrow">
            <h1>"Create the first admin"</h1>
            <Suspense>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        if !valid.await.unwrap_or(false) {
                            return view! {
                                <FormError error/>
                                <p class="form-error" role="alert">"This setup link is not valid: it was used, it \
                                    expired, or the server restarted. "<a href="/login">"Sign in"</a>" instead."</p>
                            }.into_any();
                        }
                        let url = SetupAdmin::url();
                        view! {
                            <p class="hint">"This account is the admin of every namespace: it adds users, grants \
                                and tokens. The link works once."</p>
                            <ActionForm action=setup>
                                <input type="hidden" name="token" value=token/>
                                <label for="setup-username">"Username"</label>
                                <input id="setup-username" name="username" value=typed(url, &[], "username") required
                                    autocomplete="username" autocapitalize="off" spellcheck="false"
                                    aria-describedby="setup-username-error"/>
                                <FieldError error field="username" id="setup-username-error".into()/>
                                <label for="setup-password">"Password"</label>
                                <Cleared endpoint=url/>
                                <input id="setup-password" name="password" type="password" autocomplete="new-password"
                                    required minlength="12" aria-describedby="setup-password-hint setup-password-error"/>
                                <p class="hint" id="setup-password-hint">"At least 12 characters."</p>
                                <FieldError error field="password" id="setup-password-error".into()/>
                                <FormError error fields=&["username", "password"]/>
                                <SubmitButton url=url>"Create admin and sign in"</SubmitButton>
                            </ActionForm>
                        }.into_any()
                    })
                }}
            </Suspense>
        </section>
    }
}

//! `/login`: Username, Password, "Sign in".

use crate::{
    api::session::Login,
    components::{error_of, FieldError, FormError, SubmitButton},
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;

/// Where to go after signing in: a page of this server (see `local_path`), else home.
pub fn safe_next(next: Option<String>) -> String {
    next.filter(|n| crate::domain::local_path::local_path(n).is_some()).unwrap_or_else(|| "/".to_owned())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let error = error_of(login);
    view! {
        <Title text="Sign in · Strongroom"/>
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=login>
                <label for="login-username">"Username"</label>
                <input id="login-username" name="username" autocomplete="username" autocapitalize="off" spellcheck="false"/>
                <label for="login-password">"Password"</label>
                <input id="login-password" name="password" type="password" autocomplete="current-password"
                    aria-describedby="login-password-error"/>
                <FieldError error field="password" id="login-password-error".into()/>
                <FormError error fields=&["password"]/>
                <SubmitButton url=Login::url()>"Sign in"</SubmitButton>
            </ActionForm>
        </section>
    }
}

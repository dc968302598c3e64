//! `/account`: change one's own password.

use crate::{
    api::session::ChangePassword,
    components::{error_of, reset_on_success, FieldError, FormError, SubmitButton},
};
use leptos::{html, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let error = error_of(change);
    let form = NodeRef::<html::Form>::new();
    reset_on_success(change, form);
    let done = move || {
        change.value().with(|v| matches!(v, Some(Ok(())))).then(|| {
            view! { <p role="status">"Password changed. Your other sessions were signed out."</p> }
        })
    };
    view! {
        <Title text="Account · Strongroom"/>
        <h1>"Account"</h1>
        <section class="panel">
            <h2>"Change password"</h2>
            <ActionForm action=change node_ref=form>
                <label for="account-current">"Current password"</label>
                <input id="account-current" name="current" type="password" autocomplete="current-password"/>
                <FieldError error field="current" id="account-current-error".into()/>
                <label for="account-new">"New password"</label>
                <input id="account-new" name="new_password" type="password" autocomplete="new-password"/>
                <FieldError error field="new_password" id="account-new-error".into()/>
                <p class="hint">"15 to 1024 characters. A passphrase of several words is easiest."</p>
                <FormError error fields=&["current", "new_password"]/>
                <SubmitButton url=ChangePassword::url()>"Change password"</SubmitButton>
            </ActionForm>
            {done}
        </section>
    }
}

//! `/account`: change one's own password.

use crate::{
    api::session::{password_changed, ChangePassword},
    components::{error_of, FieldError, FormError, SubmitButton},
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let error = error_of(change);
    // A successful change comes back to `/account?changed=ID`, a one-time
    // notice of this user's: a link someone else made shows nothing.
    let changed = use_query_map().read_untracked().get("changed").unwrap_or_default();
    let done = Resource::new(
        || (),
        move |_| {
            let changed = changed.clone();
            async move { !changed.is_empty() && password_changed(changed).await.unwrap_or(false) }
        },
    );
    let done = move || {
        Suspend::new(async move {
            done.await.then(|| {
                view! { <p role="status">"Password changed. Your other sessions were signed out."</p> }
            })
        })
    };
    view! {
        <Title text="Account · Strongroom"/>
        <h1>"Account"</h1>
        <section class="panel">
            <h2>"Change password"</h2>
            <ActionForm action=change>
                <label for="account-current">"Current password"</label>
                <input id="account-current" name="current" type="password" autocomplete="current-password"/>
                <FieldError error field="current" id="account-current-error".into()/>
                <label for="account-new">"New password"</label>
                <input id="account-new" name="new_password" type="password" autocomplete="new-password"/>
                <FieldError error field="new_password" id="account-new-error".into()/>
                <p class="hint">"15 to 1024 characters. A passphrase of several words is easiest."</p>
                <FormError error fields=&["current", "new_password"]/>
                <SubmitButton url=ChangePassword::url() back="/account".to_owned()>"Change password"</SubmitButton>
            </ActionForm>
            <Suspense>{done}</Suspense>
        </section>
    }
}

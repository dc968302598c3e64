//! `/admin/users`: users, their grants and sessions (admins of every namespace).

use super::{LoadError, Loading};
use crate::{
    api::users::{list_users, AddUser, EndUserSessions, GrantRole, ResetPassword, RevokeRole, SetUserDisabled},
    components::{error_of, settled, typed, Cleared, FieldError, FormError, SubmitButton, When},
    domain::{view::UserView, Grant, Role},
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// A role must be chosen: no role is preselected, and the least comes first.
/// After a refused post the choice made is kept.
#[component]
fn RoleSelect(id: String, chosen: String) -> impl IntoView {
    let least_first = [Role::Auditor, Role::Editor, Role::Admin];
    view! {
        <select id=id name="role" required>
            <option value="" selected=chosen.is_empty()>"Choose a role"</option>
            {least_first.into_iter().map(|r| {
                view! { <option value=r.as_str() selected=chosen == r.as_str()>{r.as_str()}</option> }
            }).collect_view()}
        </select>
    }
}

/// The namespace a grant covers, or every namespace, ticked on purpose.
#[component]
fn ScopeFields(id: String, scope: String, every: bool) -> impl IntoView {
    let (every_id, every_label) = (format!("{id}-every"), format!("{id}-every"));
    let id_label = id.clone();
    view! {
        <label for=id_label>"Namespace"</label>
        <input id=id name="scope" value=scope placeholder="company.team" autocomplete="off" spellcheck="false"
            pattern="[a-z0-9][a-z0-9_.-]*" title="Lowercase letters, digits, _, - and dots"/>
        <label class="inline" for=every_label>
            <input id=every_id type="checkbox" name="every" value="on" checked=every/>
            " Every namespace"
        </label>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    // A post reloads the page: the list is read once per render.
    let users = Resource::new(|| (), |_| list_users());
    let add_error = error_of(add);
    let url = AddUser::url();
    let typed_add = |name: &str| typed(url, &[], name);

    view! {
        <Title text="Users · Strongroom"/>
        <h1>"Users"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => view! {
                        <table aria-label="Users" class="users">
                            <thead><tr><th scope="col">"User"</th><th scope="col">"Grants"</th>
                                <th scope="col">"Sessions"</th><th scope="col">"Last sign-in"</th>
                                <th scope="col"><span class="visually-hidden">"Manage"</span></th></tr></thead>
                            <tbody>{list.into_iter().map(|u| view! { <UserRow u/> }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel" id="add-user">
            <h2>"Add a user"</h2>
            <ActionForm action=add>
                <label for="add-username">"Username"</label>
                <input id="add-username" name="username" value=typed_add("username") autocomplete="off" spellcheck="false"
                    required aria-describedby="add-username-error"/>
                <FieldError error=add_error field="username" id="add-username-error".into()/>
                <label for="add-password">"Password"</label>
                <Cleared endpoint=url/>
                <input id="add-password" name="password" type="password" autocomplete="new-password" required
                    minlength="12" aria-describedby="add-password-hint add-password-error"/>
                <p class="hint" id="add-password-hint">"At least 12 characters; they change it on their account page."</p>
                <FieldError error=add_error field="password" id="add-password-error".into()/>
                <label for="add-role">"Role"</label>
                <RoleSelect id="add-role".into() chosen=typed_add("role")/>
                <FieldError error=add_error field="role" id="add-role-error".into()/>
                <ScopeFields id="add-scope".into() scope=typed_add("scope") every=typed_add("every") == "on"/>
                <FieldError error=add_error field="scope" id="add-scope-error".into()/>
                <FormError error=add_error fields=&["username", "password", "role", "scope"]/>
                <SubmitButton url=url>"Add user"</SubmitButton>
            </ActionForm>
        </section>
    }
}

/// Grants as chips (`editor · finance`), those from the IdP's groups marked.
fn grant_chips(grants: &[Grant], from_idp: &[Grant]) -> impl IntoView {
    grants
        .iter()
        .map(|g| {
            let sso = if from_idp.contains(g) { " (from SSO)" } else { "" };
            view! { <span class="chip">{format!("{} · {}{sso}", g.role, g.scope)}</span>" " }
        })
        .collect_view()
}

#[component]
fn UserRow(u: UserView) -> impl IntoView {
    let name = u.username.to_string();
    let href = format!("/admin/users/{name}");
    view! {
        <tr class:inherited=u.disabled>
            <td data-label="User"><a href=href.clone()>{name.clone()}</a>
                {u.disabled.then_some(" (disabled)")}</td>
            <td data-label="Grants">{grant_chips(&u.grants, &u.idp_grants)}</td>
            <td data-label="Sessions">{u.sessions}</td>
            <td data-label="Last sign-in">{match u.last_sign_in {
                Some(at) => view! { <When at/> }.into_any(),
                None => view! { <span class="muted">"never"</span> }.into_any(),
            }}</td>
            <td><a class="button small" href=href aria-label=format!("Manage {name}")>"Manage"</a></td>
        </tr>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    grant: ServerAction<GrantRole>,
    revoke: ServerAction<RevokeRole>,
    disable: ServerAction<SetUserDisabled>,
    reset: ServerAction<ResetPassword>,
    end: ServerAction<EndUserSessions>,
}

/// `/admin/users/{name}`: one user's grants, sessions and password.
#[component]
pub fn UserPage() -> impl IntoView {
    let params = settled(use_params_map());
    let query = settled(use_query_map());
    let name = params.with_untracked(|p| p.get("name").unwrap_or_default());
    let revoking = query.with_untracked(|q| match q.get("confirm").as_deref() {
        Some("revoke") => Some((q.get("role").unwrap_or_default(), q.get("scope").unwrap_or_default())),
        _ => None,
    });
    let a = Actions {
        grant: ServerAction::new(),
        revoke: ServerAction::new(),
        disable: ServerAction::new(),
        reset: ServerAction::new(),
        end: ServerAction::new(),
    };
    let users = Resource::new(|| (), |_| list_users());
    let errors = [error_of(a.revoke), error_of(a.disable), error_of(a.end)];
    view! {
        <nav class="crumbs" aria-label="Breadcrumb"><ol><li><a href="/admin/users">"Users"</a></li></ol></nav>
        <h1>{name.clone()}</h1>
        <Title text=format!("{name} · Users · Strongroom")/>
        {errors.into_iter().map(|error| view! { <FormError error/> }).collect_view()}
        <Suspense fallback=Loading>
            {move || {
                let (name, revoking) = (name.clone(), revoking.clone());
                Suspend::new(async move {
                    match users.await.map(|list| list.into_iter().find(|u| u.username.as_str() == name)) {
                        Ok(Some(u)) => view! { <ManageUser u a revoking/> }.into_any(),
                        Ok(None) => view! { <p class="form-error" role="alert">"No such user."</p> }.into_any(),
                        Err(error) => view! { <LoadError error/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn ManageUser(u: UserView, a: Actions, revoking: Option<(String, String)>) -> impl IntoView {
    let name = u.username.to_string();
    let here = format!("/admin/users/{name}");
    if let Some((role, scope)) = revoking {
        let shown = if scope.is_empty() { "every namespace".to_owned() } else { scope.clone() };
        return view! {
            <section class="panel confirm" aria-labelledby="confirm-title">
                <h2 id="confirm-title" tabindex="-1" autofocus>{format!("Revoke {role} on {shown} from {name}?")}</h2>
                <ActionForm action=a.revoke>
                    <input type="hidden" name="username" value=name.clone()/>
                    <input type="hidden" name="role" value=role.clone()/>
                    <input type="hidden" name="scope" value=scope/>
                    <SubmitButton url=RevokeRole::url() class="danger" back=here.clone()>{format!("Revoke {role} on {shown}")}</SubmitButton>
                    " " <a class="button secondary" href=here>"Cancel"</a>
                </ActionForm>
            </section>
        }
        .into_any();
    }
    let grants = u
        .grants
        .iter()
        .map(|g| {
            let sso = if u.idp_grants.contains(g) { " (from SSO)" } else { "" };
            let label = format!("{} on {}{sso}", g.role, g.scope);
            let href = format!(
                "{here}?confirm=revoke&role={}&scope={}",
                g.role.as_str(),
                crate::components::encode_query_value(g.scope.as_str())
            );
            view! { <li><span class="chip">{label.clone()}</span>" "
            <a class="button small" href=href>{format!("Revoke {label}…")}</a></li> }
        })
        .collect_view();
    let grant_error = error_of(a.grant);
    let reset_error = error_of(a.reset);
    let id = [("username", name.clone())];
    let (chosen_role, chosen_scope, chosen_every) = {
        let ident = [("username", name.as_str())];
        let typed_grant = |field: &str| typed(GrantRole::url(), &ident, field);
        (typed_grant("role"), typed_grant("scope"), typed_grant("every") == "on")
    };
    let toggle_label = format!("{} {name}", if u.disabled { "Enable" } else { "Disable" });
    let (grant_label, reset_label, end_label) =
        (format!("Grant to {name}"), format!("Reset password of {name}"), format!("End sessions of {name}"));
    let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name);
    view! {
        <p>{if u.disabled { "Disabled. " } else { "" }}{format!("{} live sessions. Added ", u.sessions)}<When at=u.created_at/></p>
        <section class="panel">
            <h2>"Grants"</h2>
            <ul class="plain grants" aria-label="Grants">{grants}</ul>
            <ActionForm action=a.grant>
                <input type="hidden" name="username" value=n1/>
                <label for="grant-role">"Role"</label>
                <RoleSelect id="grant-role".into() chosen=chosen_role/>
                <FieldError error=grant_error field="role" id="grant-role-error".into()/>
                <ScopeFields id="grant-scope".into() scope=chosen_scope every=chosen_every/>
                <FieldError error=grant_error field="scope" id="grant-scope-error".into()/>
                <FormError error=grant_error fields=&["role", "scope"]/>
                <SubmitButton url=GrantRole::url()>{grant_label}</SubmitButton>
            </ActionForm>
        </section>
        <section class="panel">
            <h2>"Password"</h2>
            <ActionForm action=a.reset>
                <input type="hidden" name="username" value=n2/>
                <label for="reset-password">"New password"</label>
                <Cleared endpoint=ResetPassword::url() identity=id.to_vec()/>
                <input id="reset-password" name="password" type="password" autocomplete="new-password" required
                    minlength="12" aria-describedby="reset-password-error"/>
                <FieldError error=reset_error field="password" id="reset-password-error".into()/>
                <FormError error=reset_error fields=&["password"]/>
                <SubmitButton url=ResetPassword::url()>{reset_label}</SubmitButton>
            </ActionForm>
        </section>
        <section class="panel">
            <h2>"Access"</h2>
            <ActionForm action=a.end>
                <input type="hidden" name="username" value=n3/>
                <SubmitButton url=EndUserSessions::url() class="small">{end_label}</SubmitButton>
            </ActionForm>
            <ActionForm action=a.disable>
                <input type="hidden" name="username" value=n4/>
                <input type="hidden" name="disabled" value=(!u.disabled).to_string()/>
                <SubmitButton url=SetUserDisabled::url() class="small danger">{toggle_label}</SubmitButton>
            </ActionForm>
        </section>
    }
    .into_any()
}

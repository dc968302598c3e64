//! `/admin/users`: users, their grants and sessions (admins of every namespace).

use super::{LoadError, Loading};
use crate::{
    api::users::{list_users, AddUser, EndUserSessions, GrantRole, ResetPassword, RevokeRole, SetUserDisabled},
    components::{error_of, FieldError, FormError, SubmitButton},
    domain::{view::UserView, Role},
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;

#[derive(Clone, Copy)]
struct Actions {
    add: ServerAction<AddUser>,
    grant: ServerAction<GrantRole>,
    revoke: ServerAction<RevokeRole>,
    disable: ServerAction<SetUserDisabled>,
    reset: ServerAction<ResetPassword>,
    end: ServerAction<EndUserSessions>,
}

/// A role must be chosen: no role is preselected, and the least comes first.
#[component]
fn RoleSelect(id: String) -> impl IntoView {
    let least_first = [Role::Auditor, Role::Editor, Role::Admin];
    view! {
        <select id=id name="role" required>
            <option value="" selected>"Choose a role"</option>
            {least_first.into_iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
        </select>
    }
}

/// The namespace a grant covers, or every namespace, ticked on purpose.
#[component]
fn ScopeFields(id: String) -> impl IntoView {
    let (every, every_label) = (format!("{id}-every"), format!("{id}-every"));
    let id_label = id.clone();
    view! {
        <label for=id_label>"Namespace"</label>
        <input id=id name="scope" placeholder="company.team" autocomplete="off" spellcheck="false"/>
        <label class="inline" for=every_label>
            <input id=every type="checkbox" name="every" value="on"/>
            " Every namespace"
        </label>
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let a = Actions {
        add: ServerAction::new(),
        grant: ServerAction::new(),
        revoke: ServerAction::new(),
        disable: ServerAction::new(),
        reset: ServerAction::new(),
        end: ServerAction::new(),
    };
    // A post reloads the page: the list is read once per render.
    let users = Resource::new(|| (), |_| list_users());
    let add_error = error_of(a.add);
    let errors = [error_of(a.grant), error_of(a.revoke), error_of(a.disable), error_of(a.reset), error_of(a.end)];

    view! {
        <Title text="Users · Strongroom"/>
        <h1>"Users"</h1>
        {errors.into_iter().map(|error| view! { <FormError error/> }).collect_view()}
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => view! {
                        <table aria-label="Users">
                            <thead><tr><th scope="col">"User"</th><th scope="col">"Grants"</th>
                                <th scope="col">"Sessions"</th><th scope="col">"Actions"</th></tr></thead>
                            <tbody>{list.into_iter().map(|u| view! { <UserRow u a/> }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel">
            <h2>"Add a user"</h2>
            <ActionForm action=a.add>
                <label for="add-username">"Username"</label>
                <input id="add-username" name="username" autocomplete="off" spellcheck="false"/>
                <FieldError error=add_error field="username" id="add-username-error".into()/>
                <label for="add-password">"Password"</label>
                <input id="add-password" name="password" type="password" autocomplete="new-password"/>
                <FieldError error=add_error field="password" id="add-password-error".into()/>
                <label for="add-role">"Role"</label>
                <RoleSelect id="add-role".into()/>
                <FieldError error=add_error field="role" id="add-role-error".into()/>
                <ScopeFields id="add-scope".into()/>
                <FieldError error=add_error field="scope" id="add-scope-error".into()/>
                <FormError error=add_error fields=&["username", "password", "role", "scope"]/>
                <SubmitButton url=AddUser::url()>"Add user"</SubmitButton>
            </ActionForm>
        </section>
    }
}

#[component]
fn UserRow(u: UserView, a: Actions) -> impl IntoView {
    let name = u.username.to_string();
    let status = if u.disabled { " (disabled)" } else { "" };
    let grants = u
        .grants
        .into_iter()
        .map(|g| {
            let (name, role, scope) = (name.clone(), g.role.as_str(), g.scope.as_str().to_owned());
            let label = format!("{} on {}", g.role, g.scope);
            let revoke_label = format!("Revoke {label}");
            view! {
                <li>{label}
                    <ActionForm action=a.revoke>
                        <input type="hidden" name="username" value=name/>
                        <input type="hidden" name="role" value=role/>
                        <input type="hidden" name="scope" value=scope/>
                        <SubmitButton url=RevokeRole::url() class="small">{revoke_label}</SubmitButton>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    // Each form's children are a closure of their own: give each its copy.
    let (for_grant, for_toggle, for_end, for_reset) = (name.clone(), name.clone(), name.clone(), name.clone());
    let grant_label = format!("Grant to {name}");
    let toggle_label = format!("{} {name}", if u.disabled { "Enable" } else { "Disable" });
    let end_label = format!("End sessions of {name}");
    let reset_label = format!("Reset password of {name}");
    let (grant_role, grant_scope, reset) =
        (format!("grant-role-{name}"), format!("grant-scope-{name}"), format!("reset-{name}"));
    view! {
        <tr>
            <td>{name}{status}</td>
            <td>
                <ul class="plain">{grants}</ul>
                <ActionForm action=a.grant>
                    <input type="hidden" name="username" value=for_grant/>
                    <label for=grant_role.clone()>"Role"</label>
                    <RoleSelect id=grant_role/>
                    <ScopeFields id=grant_scope/>
                    <SubmitButton url=GrantRole::url() class="small">{grant_label}</SubmitButton>
                </ActionForm>
            </td>
            <td>{u.sessions}</td>
            <td>
                <ActionForm action=a.disable>
                    <input type="hidden" name="username" value=for_toggle/>
                    <input type="hidden" name="disabled" value=(!u.disabled).to_string()/>
                    <SubmitButton url=SetUserDisabled::url() class="small">
                        {toggle_label}
                    </SubmitButton>
                </ActionForm>
                <ActionForm action=a.end>
                    <input type="hidden" name="username" value=for_end/>
                    <SubmitButton url=EndUserSessions::url() class="small">{end_label}</SubmitButton>
                </ActionForm>
                <ActionForm action=a.reset>
                    <input type="hidden" name="username" value=for_reset/>
                    <label for=reset.clone()>"New password"</label>
                    <input id=reset name="password" type="password" autocomplete="new-password"/>
                    <SubmitButton url=ResetPassword::url() class="small">{reset_label}</SubmitButton>
                </ActionForm>
            </td>
        </tr>
    }
}

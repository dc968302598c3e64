//! `/admin/tokens`: workload tokens (admins of every namespace). A new token
//! is shown once, right after it is made, with a copy button; afterwards only
//! its name, scope and dates are listed.

use super::{LoadError, Loading};
use crate::{
    api::approles::{
        list_approles, list_jwt_roles, reveal_secret_id, CreateApprole, IssueSecretId, RevokeApprole, RevokeJwtRole,
        RevokeSecretId,
    },
    api::tokens::{list_tokens, reveal_token, CreateToken, RevokeToken},
    components::{error_of, settled, this_origin, typed, CopyButton, FieldError, FormError, SubmitButton},
    domain::{
        jwt::JwtRoleView,
        token::{AppRoleView, NewSecretId, NewToken, Ttl},
        Timestamp, TokenView,
    },
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Where this page's forms come back to: without `?created=`, which a token
/// shown once would otherwise turn into an "already shown" banner.
const TOKENS: &str = "/admin/tokens";

#[component]
pub fn TokensPage() -> impl IntoView {
    let query = settled(use_query_map());
    let created = move || query.read().get("created").unwrap_or_default();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(|| (), |_| list_tokens());
    let fresh = Resource::new(created, |id| async move {
        if id.is_empty() {
            Ok(None)
        } else {
            reveal_token(id).await.map(Some)
        }
    });
    let (create_error, revoke_error) = (error_of(create), error_of(revoke));

    view! {
        <Title text="Tokens · Strongroom"/>
        <h1>"Tokens"</h1>
        <p class="hint">"Read-only tokens for workloads (Kestra, Prefect, CI jobs, scripts), each scoped to a \
            namespace subtree. Every value a token reads is recorded in the audit trail."</p>
        <Suspense>
            {move || Suspend::new(async move {
                match fresh.await {
                    Ok(Some(Some(new))) => view! { <Revealed new/> }.into_any(),
                    Ok(Some(None)) => view! {
                        <p class="banner" role="status">"That token was already shown. A token is shown only once: \
                            if it was not copied, revoke it and create another."</p>
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <FormError error=revoke_error/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No tokens yet."</p> }.into_any(),
                    Ok(list) => view! { <TokenTable list revoke/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel">
            <h2>"Create a token"</h2>
            <ActionForm action=create>
                <label for="token-name">"Name"</label>
                <input id="token-name" name="name" value=typed(CreateToken::url(), &[], "name") required placeholder="kestra-prod" autocomplete="off" spellcheck="false"/>
                <FieldError error=create_error field="name" id="token-name-error".into()/>
                <label for="token-namespace">"Namespace"</label>
                <input id="token-namespace" name="namespace" value=typed(CreateToken::url(), &[], "namespace") required placeholder="company.team, or * for every namespace" autocomplete="off"/>
                <FieldError error=create_error field="namespace" id="token-namespace-error".into()/>
                <label for="token-expires">"Expires"</label>
                <input id="token-expires" name="expires" value=typed(CreateToken::url(), &[], "expires") placeholder="never, 30d, 12h or 2027-01-31" autocomplete="off"/>
                <FieldError error=create_error field="expires" id="token-expires-error".into()/>
                <FormError error=create_error fields=&["name", "namespace", "expires"]/>
                <SubmitButton url=CreateToken::url() back=TOKENS.to_owned()>"Create token"</SubmitButton>
            </ActionForm>
        </section>
        <AppRoles/>
        <JwtRoles/>
    }
}

/// JWT roles: CI jobs and pods log in with the ID token their platform signs
/// (made with `strongroom jwt-role create`: a role binds an issuer, an
/// audience and claims, which belong in configuration reviewed like code).
#[component]
fn JwtRoles() -> impl IntoView {
    let roles = Resource::new(|| (), |_| list_jwt_roles());
    let revoke = ServerAction::<RevokeJwtRole>::new();
    let revoke_error = error_of(revoke);
    view! {
        <h2 id="jwt-roles">"JWT roles"</h2>
        <p class="hint">"A CI job or pod logs in with the ID token its platform signs (GitHub Actions, GitLab CI, \
            Kubernetes) and gets a token that lives minutes. Made with "<code>"strongroom jwt-role create"</code>
            "; its logins are audited as jwt:NAME with the token's subject."</p>
        <FormError error=revoke_error/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match roles.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No JWT roles yet."</p> }.into_any(),
                    Ok(list) => view! { <JwtRoleTable list revoke/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JwtRoleTable(list: Vec<JwtRoleView>, revoke: ServerAction<RevokeJwtRole>) -> impl IntoView {
    view! {
        <table aria-label="JWT roles">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Issuer"</th><th scope="col">"Audience"</th>
                <th scope="col">"Bound claims"</th><th scope="col">"Scope"</th><th scope="col">"Token lifetime"</th>
                <th scope="col">"Live logins"</th><th scope="col">"Status"</th><th scope="col">"Actions"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|r| {
                    let name = r.name.to_string();
                    let live = r.revoked_at.is_none();
                    let status = if live { "active".to_owned() } else { format!("revoked {}", when(r.revoked_at, "")) };
                    let label = format!("Revoke JWT role {name}");
                    view! {
                        <tr class:inherited=!live>
                            <td><a href=format!("/readers/jwt:{name}") title="What it read">{name.clone()}</a></td>
                            <td><code>{r.issuer.to_string()}</code></td>
                            <td><code>{r.audience.clone()}</code></td>
                            <td><code>{r.bound.to_string()}</code></td>
                            <td>{r.scope.to_string()}</td>
                            <td>{Ttl(r.token_ttl).to_string()}</td>
                            <td>{r.live_logins}</td>
                            <td>{status}</td>
                            <td>{live.then(|| view! {
                                <ActionForm action=revoke>
                                    <input type="hidden" name="name" value=name/>
                                    <SubmitButton url=RevokeJwtRole::url() class="small" back=TOKENS.to_owned()>{label}</SubmitButton>
                                </ActionForm>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// AppRoles: workloads log in with a role id and a secret id for a
/// short-lived token, instead of holding a token for ever.
#[component]
fn AppRoles() -> impl IntoView {
    let query = settled(use_query_map());
    let issued = move || query.read().get("issued").unwrap_or_default();
    let create = ServerAction::<CreateApprole>::new();
    let (another, revoke, revoke_secret) = (
        ServerAction::<IssueSecretId>::new(),
        ServerAction::<RevokeApprole>::new(),
        ServerAction::<RevokeSecretId>::new(),
    );
    let roles = Resource::new(|| (), |_| list_approles());
    let fresh = Resource::new(issued, |id| async move {
        if id.is_empty() {
            Ok(None)
        } else {
            reveal_secret_id(id).await.map(Some)
        }
    });
    let create_error = error_of(create);
    let (another_error, revoke_error, revoke_secret_error) =
        (error_of(another), error_of(revoke), error_of(revoke_secret));
    view! {
        <h2 id="approles">"AppRoles"</h2>
        <p class="hint">"A workload logs in with a role id and a secret id (Vault's AppRole: hvac, the bao CLI and \
            agent, strongroom run) and gets a token that lives an hour or less. Its reads are audited as approle:NAME."</p>
        <Suspense>
            {move || Suspend::new(async move {
                match fresh.await {
                    Ok(Some(Some(new))) => view! { <RevealedSecretId new/> }.into_any(),
                    Ok(Some(None)) => view! {
                        <p class="banner" role="status">"That secret id was already shown. A secret id is shown only \
                            once: if it was not copied, revoke it and issue another."</p>
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <FormError error=another_error/>
        <FormError error=revoke_error/>
        <FormError error=revoke_secret_error/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match roles.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No AppRoles yet."</p> }.into_any(),
                    Ok(list) => view! { <AppRoleTable list another revoke revoke_secret/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel">
            <h2>"Create an AppRole"</h2>
            <ActionForm action=create>
                <label for="approle-name">"AppRole name"</label>
                <input id="approle-name" name="name" value=typed(CreateApprole::url(), &[], "name") required placeholder="deploy-prod" autocomplete="off" spellcheck="false"/>
                <FieldError error=create_error field="name" id="approle-name-error".into()/>
                <label for="approle-namespace">"AppRole namespace"</label>
                <input id="approle-namespace" name="namespace" value=typed(CreateApprole::url(), &[], "namespace") required placeholder="company.team, or * for every namespace" autocomplete="off"/>
                <FieldError error=create_error field="namespace" id="approle-namespace-error".into()/>
                <label for="approle-token-ttl">"Token lifetime"</label>
                <input id="approle-token-ttl" name="token_ttl" value=typed(CreateApprole::url(), &[], "token_ttl") placeholder="1h (15m … 24h)" autocomplete="off"/>
                <FieldError error=create_error field="token_ttl" id="approle-token-ttl-error".into()/>
                <label for="approle-secret-id-ttl">"Secret id lifetime"</label>
                <input id="approle-secret-id-ttl" name="secret_id_ttl" value=typed(CreateApprole::url(), &[], "secret_id_ttl") placeholder="30d, up to 366d, or never" autocomplete="off"/>
                <FieldError error=create_error field="secret_id_ttl" id="approle-secret-id-ttl-error".into()/>
                <FormError error=create_error fields=&["name", "namespace", "token_ttl", "secret_id_ttl"]/>
                <SubmitButton url=CreateApprole::url() back=TOKENS.to_owned()>"Create AppRole"</SubmitButton>
            </ActionForm>
        </section>
    }
}

/// The one time a secret id is shown, with its role id and snippets.
#[component]
fn RevealedSecretId(new: NewSecretId) -> impl IntoView {
    let origin = this_origin();
    let ns = match new.scope.as_str() {
        "" => "your.namespace".to_owned(),
        scope => scope.to_owned(),
    };
    let (role_id, secret_id) = (new.role_id.clone(), new.secret_id.clone());
    let snippets = [
        (
            "snippet-approle-run",
            "Run a command with its secrets",
            format!(
                "STRONGROOM_SERVER={origin} STRONGROOM_ROLE_ID={role_id} \\\n  STRONGROOM_SECRET_ID_FILE=/run/secrets/secret-id strongroom run {ns} -- ./your-job"
            ),
        ),
        (
            "snippet-approle-bao",
            "Vault / OpenBao clients",
            format!("VAULT_ADDR={origin}\nbao write auth/approle/login role_id={role_id} secret_id=@/run/secrets/secret-id"),
        ),
    ];
    view! {
        <section class="panel reveal" role="status" aria-label="New secret id">
            <h2>{format!("A secret id for AppRole {}", new.role)}</h2>
            <p><strong>"Copy it now: it is shown only this once."</strong>" Strongroom keeps only its hash. It expires "
                {when(new.expires_at, "never")}"."</p>
            <label for="new-role-id">"Role id (not secret)"</label>
            <div class="token-row">
                <input id="new-role-id" readonly value=role_id.clone() class="token" spellcheck="false" autocomplete="off"/>
                <CopyButton from="new-role-id".to_owned() what="the role id".to_owned()/>
            </div>
            <label for="new-secret-id">"Secret id"</label>
            <div class="token-row">
                <input id="new-secret-id" data-testid="new-secret-id" readonly value=secret_id class="token" spellcheck="false" autocomplete="off"/>
                <CopyButton from="new-secret-id".to_owned() what="the secret id".to_owned()/>
            </div>
            <p class="hint">{format!("Its accessor (to revoke it): {}", new.accessor)}</p>
            <Snippets snippets=snippets.into()/>
        </section>
    }
}

#[component]
fn AppRoleTable(
    list: Vec<AppRoleView>,
    another: ServerAction<IssueSecretId>,
    revoke: ServerAction<RevokeApprole>,
    revoke_secret: ServerAction<RevokeSecretId>,
) -> impl IntoView {
    view! {
        <table aria-label="AppRoles">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Role id"</th><th scope="col">"Scope"</th>
                <th scope="col">"Token lifetime"</th><th scope="col">"Secret ids"</th><th scope="col">"Live logins"</th>
                <th scope="col">"Status"</th><th scope="col">"Actions"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|r| {
                    let name = r.name.to_string();
                    let live = r.revoked_at.is_none();
                    let status = if live { "active".to_owned() } else { format!("revoked {}", when(r.revoked_at, "")) };
                    let accessor_id = format!("accessor-{name}");
                    let labels = (
                        format!("New secret id for {name}"),
                        format!("Accessor of the {name} secret id to revoke"),
                        format!("Revoke that secret id of {name}"),
                        format!("Revoke {name}"),
                    );
                    let (n1, n2, n3) = (name.clone(), name.clone(), name.clone());
                    view! {
                        <tr class:inherited=!live>
                            <td><a href=format!("/readers/approle:{name}") title="What it read">{name.clone()}</a></td>
                            <td><code>{r.role_id.clone()}</code></td>
                            <td>{r.scope.to_string()}</td>
                            <td>{Ttl(r.token_ttl).to_string()}</td>
                            <td>{format!("{} live, each for {}", r.live_secret_ids, Ttl(r.secret_id_ttl))}</td>
                            <td>{r.live_logins}</td>
                            <td>{status}</td>
                            <td>{live.then(|| view! {
                                <ActionForm action=another>
                                    <input type="hidden" name="name" value=n1/>
                                    <SubmitButton url=IssueSecretId::url() class="small" back=TOKENS.to_owned()>{labels.0}</SubmitButton>
                                </ActionForm>
                                <ActionForm action=revoke_secret>
                                    <input type="hidden" name="name" value=n2/>
                                    <label for=accessor_id.clone() class="visually-hidden">{labels.1}</label>
                                    <input id=accessor_id.clone() name="accessor" required placeholder="accessor" autocomplete="off" spellcheck="false" class="small"/>
                                    <SubmitButton url=RevokeSecretId::url() class="small" back=TOKENS.to_owned()>{labels.2}</SubmitButton>
                                </ActionForm>
                                <ActionForm action=revoke>
                                    <input type="hidden" name="name" value=n3/>
                                    <SubmitButton url=RevokeApprole::url() class="small" back=TOKENS.to_owned()>{labels.3}</SubmitButton>
                                </ActionForm>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The one time a token is shown: the token itself, large, and snippets
/// ready to paste with it.
#[component]
fn Revealed(new: NewToken) -> impl IntoView {
    let name = new.view.name.to_string();
    let (token, origin) = (new.token.clone(), this_origin());
    let ns = match new.view.scope.as_str() {
        "" => "your.namespace".to_owned(),
        scope => scope.to_owned(),
    };
    let snippets = [
        ("snippet-env", "Environment", format!("STRONGROOM_SERVER={origin}\nSTRONGROOM_TOKEN={token}")),
        (
            "snippet-run",
            "Run a command with its secrets",
            format!("STRONGROOM_SERVER={origin} STRONGROOM_TOKEN={token} \\\n  strongroom run {ns} -- ./your-job"),
        ),
        (
            "snippet-curl",
            "HTTP",
            format!("curl -H 'Authorization: Bearer {token}' \\\n  {origin}/v1/namespaces/{ns}/export?format=dotenv"),
        ),
        (
            "snippet-vault",
            "Vault / OpenBao clients",
            format!("VAULT_ADDR={origin}\nVAULT_TOKEN={token}\nbao kv get -mount=secret {}", ns.replace('.', "/")),
        ),
    ];
    view! {
        <section class="panel reveal" role="status" aria-label="New token">
            <h2>{format!("Token {name} created")}</h2>
            <p><strong>"Copy it now: it is shown only this once."</strong>" Strongroom keeps only its hash."</p>
            <label for="new-token">"Token"</label>
            <div class="token-row">
                <input id="new-token" data-testid="new-token" readonly value=new.token.clone() class="token"
                    spellcheck="false" autocomplete="off"/>
                <CopyButton from="new-token".to_owned() what="the token".to_owned()/>
            </div>
            <Snippets snippets=snippets.into()/>
        </section>
    }
}

/// Snippets ready to paste beside something shown once: `(element id, label, text)`.
#[component]
fn Snippets(snippets: Vec<(&'static str, &'static str, String)>) -> impl IntoView {
    view! {
        <h3>"Ready to paste"</h3>
        <dl class="snippets">
            {snippets.into_iter().map(|(id, label, text)| view! {
                <dt>{label}</dt>
                <dd><pre tabindex="0"><code id=id>{text}</code></pre>
                    <CopyButton from=id.to_owned() what=format!("the {label} snippet")/></dd>
            }).collect_view()}
        </dl>
    }
}

fn when(t: Option<Timestamp>, none: &'static str) -> String {
    t.map_or_else(|| none.to_owned(), |t| t.to_string())
}

#[component]
fn TokenTable(list: Vec<TokenView>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    view! {
        <table aria-label="Tokens">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"Scope"</th><th scope="col">"Created"</th>
                <th scope="col">"Expires"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th>
                <th scope="col">"Actions"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|t| {
                    let name = t.name.to_string();
                    let live = t.is_live();
                    let status = match &t.revoked_by {
                        Some(by) => format!("revoked by {by}"),
                        None => t.status().to_owned(),
                    };
                    let label = format!("Revoke {name}");
                    view! {
                        <tr class:inherited=!live>
                            <td><a href=format!("/readers/token:{name}") title="What it read">{name.clone()}</a></td>
                            <td>{t.scope.to_string()}</td>
                            <td>{format!("{} by {}", t.created_at, t.created_by)}</td>
                            <td>{when(t.expires_at, "never")}</td>
                            <td>{when(t.last_used_at, "never")}</td>
                            <td>{status}</td>
                            <td>{live.then(|| view! {
                                <ActionForm action=revoke>
                                    <input type="hidden" name="name" value=name.clone()/>
                                    <SubmitButton url=RevokeToken::url() class="small" back=TOKENS.to_owned()>{label.clone()}</SubmitButton>
                                </ActionForm>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

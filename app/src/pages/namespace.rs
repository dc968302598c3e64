//! `/ns/{namespace}`: effective secrets (own, inherited, shadowing), the
//! add-secret form, deleted secrets and child namespaces.

use super::{count_label, LoadError, Loading};
use crate::{
    api::{namespaces::get_namespace, secrets::AddSecret},
    components::{error_of, reset_on_success, settled, FieldError, FormError, IfCan, SubmitButton},
    domain::{
        view::{EffectiveSecret, NamespaceView},
        Role,
    },
};
use leptos::{html, prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn NamespacePage() -> impl IntoView {
    let params = settled(use_params_map());
    let ns = move || params.read().get("namespace").unwrap_or_default();
    let add = ServerAction::<AddSecret>::new();
    let view = Resource::new(move || (ns(), add.version().get()), |(ns, _)| get_namespace(ns));
    let error = error_of(add);
    let form = NodeRef::<html::Form>::new();
    reset_on_success(add, form);

    view! {
        <nav class="crumbs"><a href="/">"Namespaces"</a></nav>
        <h1>{ns}</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match view.await {
                    Ok(v) => view! { <NamespaceBody v/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <IfCan role=Role::Editor ns=Signal::derive(ns)>
        <section class="panel">
            <h2>"Add a secret"</h2>
            <ActionForm action=add node_ref=form>
                <input type="hidden" name="namespace" value=ns/>
                <label for="add-key">"Key"</label>
                <input id="add-key" name="key" placeholder="DB_PASSWORD" autocomplete="off" spellcheck="false"
                    aria-describedby="add-key-error"/>
                <FieldError error field="key" id="add-key-error".into()/>
                <label for="add-value">"Value"</label>
                <textarea id="add-value" name="value" class="secret-input" rows="3" autocomplete="new-password"
                    spellcheck="false" autocapitalize="off" aria-describedby="add-value-error"></textarea>
                <FieldError error field="value" id="add-value-error".into()/>
                <p class="hint">"Write-only: once saved, the value is never shown again."</p>
                <label for="add-description">"Description"</label>
                <input id="add-description" name="description" autocomplete="off"/>
                <FieldError error field="description" id="add-description-error".into()/>
                <FormError error fields=&["key", "value", "description"]/>
                <SubmitButton url=AddSecret::url()>"Add secret"</SubmitButton>
            </ActionForm>
        </section>
        </IfCan>
    }
}

#[component]
fn NamespaceBody(v: NamespaceView) -> impl IntoView {
    let NamespaceView { namespace, effective, deleted, children } = v;
    view! {
        // Titled from the loaded data: a closure over the route params would run
        // after the route's reactive scope is gone, when SSR writes the <head>.
        <Title text=format!("{} · Strongroom", namespace.path)/>
        {(!namespace.description.is_empty()).then(|| view! { <p class="description">{namespace.description.clone()}</p> })}
        <section>
            <h2>"Secrets"</h2>
            {if effective.is_empty() {
                view! { <p class="muted">"No secrets here or in any parent namespace."</p> }.into_any()
            } else {
                view! {
                    <table class="secrets" aria-label="Effective secrets">
                        <thead><tr>
                            <th scope="col">"Key"</th><th scope="col">"Defined in"</th><th scope="col">"Versions"</th>
                            <th scope="col">"Last change"</th><th scope="col">"Rotate by"</th><th scope="col">"Status"</th>
                        </tr></thead>
                        <tbody>{effective.into_iter().map(|s| view! { <SecretRow s/> }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
        {(!deleted.is_empty()).then(|| view! {
            <section>
                <h2>"Deleted secrets"</h2>
                <ul aria-label="Deleted secrets">
                    {deleted.into_iter().map(|m| {
                        let href = format!("/ns/{}/{}", m.namespace, m.key);
                        view! { <li><a href=href>{m.key.to_string()}</a>" "<span class="muted">"deleted by "
                            {m.deleted_by.unwrap_or_default()}</span></li> }
                    }).collect_view()}
                </ul>
            </section>
        })}
        <section>
            <h2>"Child namespaces"</h2>
            {if children.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <ul aria-label="Child namespaces">
                        {children.into_iter().map(|c| {
                            let href = format!("/ns/{}", c.path);
                            view! { <li><a href=href>{c.path.to_string()}</a>" "
                                <span class="count">{count_label(c.secret_count)}</span></li> }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// The due date, marked when it has passed.
#[component]
pub fn RotateBy(meta: crate::domain::view::SecretMeta) -> impl IntoView {
    match (meta.due, meta.overdue) {
        (None, _) => view! { <span class="muted">"—"</span> }.into_any(),
        (Some(due), true) => {
            view! { <span class="badge overdue">{format!("overdue since {}", due.date())}</span> }.into_any()
        }
        (Some(due), false) => view! { <span>{due.date()}</span> }.into_any(),
    }
}

#[component]
fn SecretRow(s: EffectiveSecret) -> impl IntoView {
    let EffectiveSecret { meta, own, shadows, can_open } = s;
    let href = format!("/ns/{}/{}", meta.namespace, meta.key);
    let key = meta.key.to_string();
    let key_cell = if can_open {
        view! { <a href=href>{key}</a> }.into_any()
    } else {
        view! { <span title="Defined outside your grants">{key}</span> }.into_any()
    };
    let status = match (own, shadows) {
        (true, Some(parent)) => format!("own, shadows {parent}"),
        (true, None) => "own".to_owned(),
        (false, _) => format!("inherited from {}", meta.namespace),
    };
    let overdue = meta.overdue;
    view! {
        <tr class:inherited=!own class:overdue=overdue>
            <td>{key_cell}</td>
            <td>{meta.namespace.to_string()}</td>
            <td>{meta.version}</td>
            <td>{meta.updated_at.to_string()}" by "{meta.updated_by.clone()}</td>
            <td><RotateBy meta=meta.clone()/></td>
            <td>{status}</td>
        </tr>
    }
}

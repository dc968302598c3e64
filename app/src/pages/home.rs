//! `/`: the namespace tree, secrets overdue for rotation, unused ones, and the
//! create-namespace form.

use super::{count_label, LoadError, Loading};
use crate::{
    api::{
        namespaces::{list_namespaces, search, CreateNamespace},
        secrets::{overdue_secrets, unused_secrets},
    },
    components::{error_of, settled, FieldError, FormError, IfCan, SubmitButton},
    domain::{
        view::{NamespaceList, SearchResults, SecretMeta},
        Role,
    },
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

#[component]
pub fn HomePage() -> impl IntoView {
    let create = ServerAction::<CreateNamespace>::new();
    let query = settled(use_query_map());
    let after = move || query.read().get("after").unwrap_or_default();
    let namespaces = Resource::new(after, |after| list_namespaces(Some(after)));
    let q = move || query.read().get("q").unwrap_or_default();
    // No search asked for, no call.
    let found = Resource::new(q, |q| async move {
        if q.trim().is_empty() {
            Ok(SearchResults::default())
        } else {
            search(q).await
        }
    });
    let overdue = Resource::new(|| (), |_| overdue_secrets(30));
    let unused = Resource::new(|| (), |_| unused_secrets());
    let error = error_of(create);

    view! {
        <Title text="Namespaces · Strongroom"/>
        <h1>"Namespaces"</h1>
        <Form method="GET" action="/" attr:class="filters" attr:role="search" attr:aria-label="Search names">
            <span class="filter-field">
                <label for="search-q">"Find a namespace or key"</label>
                <input id="search-q" name="q" type="search" value=q placeholder="STRIPE_KEY" autocomplete="off"
                    spellcheck="false" maxlength="100"/>
            </span>
            <button type="submit">"Search"</button>
        </Form>
        <Suspense>
            {move || Suspend::new(async move {
                let text = q();
                match found.await {
                    _ if text.trim().is_empty() => ().into_any(),
                    Ok(results) => view! { <Found results text/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match namespaces.await {
                    Ok(page) if page.total == 0 => {
                        view! { <p class="muted">"No namespaces yet. Create the first one below."</p> }.into_any()
                    }
                    Ok(page) => view! { <NamespaceTree page first=after().is_empty()/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense>
            {move || Suspend::new(async move {
                overdue.await.ok().filter(|list| !list.is_empty()).map(|list| {
                    let (late, soon): (Vec<_>, Vec<_>) = list.into_iter().partition(|m| m.overdue);
                    view! {
                        {(!late.is_empty()).then(|| view! { <Due list=late title="Overdue for rotation" label="Overdue secrets"/> })}
                        {(!soon.is_empty()).then(|| view! { <Due list=soon title="Due in the next 30 days" label="Secrets due soon"/> })}
                    }
                })
            })}
        </Suspense>
        <Suspense>
            {move || Suspend::new(async move {
                unused.await.ok().filter(|list| !list.is_empty()).map(|list| view! { <Unused list/> })
            })}
        </Suspense>
        <IfCan role=Role::Editor>
        <section class="panel">
            <h2>"Create a namespace"</h2>
            <ActionForm action=create>
                <label for="create-namespace">"Namespace"</label>
                <input id="create-namespace" name="namespace" placeholder="company.team" autocomplete="off"
                    spellcheck="false" aria-describedby="create-namespace-error"/>
                <FieldError error field="namespace" id="create-namespace-error".into()/>
                <p class="hint">"Dotted path, e.g. " <code>"company.team.etl"</code>
                    ". Missing parent namespaces are created too."</p>
                <label for="create-description">"Description"</label>
                <input id="create-description" name="description" autocomplete="off"/>
                <FieldError error field="description" id="create-description-error".into()/>
                <FormError error fields=&["namespace", "description"]/>
                <SubmitButton url=CreateNamespace::url()>"Create namespace"</SubmitButton>
            </ActionForm>
        </section>
        </IfCan>
    }
}

/// One page of the tree; links to the next page and back to the first are
/// plain links (no JavaScript needed).
#[component]
fn NamespaceTree(page: NamespaceList, first: bool) -> impl IntoView {
    let NamespaceList { namespaces, total, next } = page;
    let paging = (!first || next.is_some()).then(|| {
        let shown = format!("{} of {total} namespaces", namespaces.len());
        view! {
            <nav class="pager" aria-label="Namespace pages">
                <span class="muted">{shown}</span>
                {(!first).then(|| view! { " " <a href="/">"First page"</a> })}
                {next.map(|n| view! { " " <a href=format!("/?after={n}")>"More namespaces"</a> })}
            </nav>
        }
    });
    view! {
        <ul class="tree" aria-label="Namespace tree">
            {namespaces
                .into_iter()
                .map(|ns| {
                    // A class, not an inline style: the CSP allows no inline styles.
                    let indent = format!("depth-{}", ns.path.depth() - 1);
                    let href = format!("/ns/{}", ns.path);
                    view! {
                        <li class=indent>
                            <a href=href>{ns.path.to_string()}</a>
                            " "
                            <span class="count">{count_label(ns.secret_count)}</span>
                            " "
                            <span class="muted">{ns.description}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        {paging}
    }
}

/// Search results: names only, each secret with the namespace defining it.
#[component]
fn Found(results: SearchResults, text: String) -> impl IntoView {
    let SearchResults { namespaces, secrets, truncated } = results;
    let none = namespaces.is_empty() && secrets.is_empty();
    view! {
        <section class="panel" aria-label="Search results">
            <h2>{format!("Names containing \u{201c}{}\u{201d}", text.trim())}</h2>
            {none.then(|| view! { <p class="muted" role="status">"Nothing found in the namespaces you may see."</p> })}
            {(!namespaces.is_empty()).then(|| view! {
                <h3>"Namespaces"</h3>
                <ul aria-label="Namespaces found">
                    {namespaces.into_iter().map(|ns| {
                        let href = format!("/ns/{ns}");
                        view! { <li><a href=href>{ns.to_string()}</a></li> }
                    }).collect_view()}
                </ul>
            })}
            {(!secrets.is_empty()).then(|| view! {
                <h3>"Secrets"</h3>
                <ul aria-label="Secrets found">
                    {secrets.into_iter().map(|(ns, key)| {
                        let href = format!("/ns/{ns}/{key}");
                        let place = format!(" in {ns}");
                        view! { <li><a href=href>{key.to_string()}</a>{place}</li> }
                    }).collect_view()}
                </ul>
            })}
            {truncated.then(|| view! { <p class="hint">"Only the first 100 of each kind are listed: search for more of the name."</p> })}
        </section>
    }
}

/// Secrets no workload has read lately (`STRONGROOM_UNUSED_DAYS`), in the
/// namespaces the user may see: candidates for removal, or a sign a
/// workload reads them some other way.
#[component]
fn Unused(list: Vec<SecretMeta>) -> impl IntoView {
    const SHOWN: usize = 20;
    let more = list.len().saturating_sub(SHOWN);
    view! {
        <section class="panel">
            <h2>"Unused"</h2>
            <p class="hint">"No workload read these lately. A namespace's list filters them with Status: Unused."</p>
            <ul aria-label="Unused secrets">
                {list.into_iter().take(SHOWN).map(|m| {
                    let href = format!("/ns/{}/{}", m.namespace, m.key);
                    let place = format!(" in {} ", m.namespace);
                    let last = match m.last_read {
                        Some(at) => format!("last read {}", at.date()),
                        None => "never read".to_owned(),
                    };
                    view! { <li><a href=href><code>{m.key.to_string()}</code></a>{place}<span class="badge">{last}</span></li> }
                }).collect_view()}
            </ul>
            {(more > 0).then(|| view! { <p class="hint">{format!("and {more} more")}</p> })}
        </section>
    }
}

/// Secrets past their rotate-by date, in the namespaces the user may see.
#[component]
fn Due(list: Vec<SecretMeta>, title: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <section class="panel overdue">
            <h2>{title}</h2>
            <ul aria-label=label>
                {list.into_iter().map(|m| {
                    let href = format!("/ns/{}/{}", m.namespace, m.key);
                    let due = format!("due {}", m.due.map(|d| d.date()).unwrap_or_default());
                    let place = format!(" in {} ", m.namespace);
                    let class = if m.overdue { "badge overdue" } else { "badge" };
                    view! {
                        <li><a href=href><code>{m.key.to_string()}</code></a>{place}<span class=class>{due}</span></li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

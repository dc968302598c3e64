//! `/audit`: the trail, filtered by namespace subtree, actor, action and time;
//! keyset pages; CSV and JSON Lines exports of the same filter. A plain GET
//! form, so filters are links and work with JavaScript off.

use super::{LoadError, Loading};
use crate::{
    api::audit::list_audit,
    components::{encode_query_value, settled},
    domain::audit::{escape_controls, Action, AuditEntry, AuditPage, OutcomeFilter},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

const FIELDS: [&str; 7] = ["namespace", "actor", "action", "from", "to", "key", "outcome"];

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = settled(use_query_map());
    let get = move |name: &str| query.read().get(name).unwrap_or_default();
    let filter = move || FIELDS.map(get);
    let page = Resource::new(
        move || (filter(), get("before").parse::<i64>().ok()),
        |([namespace, actor, action, from, to, key, outcome], before)| {
            list_audit(namespace, actor, action, from, to, before, Some(key), Some(outcome))
        },
    );
    // The filter as a query string, for the export and "Older" links.
    let filter_query = move || {
        FIELDS
            .iter()
            .zip(filter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode_query_value(&v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let field = move |name: &'static str, label: &'static str, kind: &'static str| {
        let id = format!("audit-{name}");
        view! {
            <span class="filter-field">
                <label for=id.clone()>{label}</label>
                <input id=id name=name type=kind value=move || get(name)/>
            </span>
        }
    };
    view! {
        <Title text="Audit trail · Strongroom"/>
        <h1>"Audit trail"</h1>
        <Form method="GET" action="/audit" attr:class="filters" attr:aria-label="Filter the trail">
            {field("namespace", "Namespace", "text")}
            {field("actor", "Actor", "text")}
            {field("key", "Key", "text")}
            <span class="filter-field">
                <label for="audit-action">"Action"</label>
                <select id="audit-action" name="action">
                    <option value="">"Any"</option>
                    {Action::ALL.iter().map(|a| {
                        let name = a.as_str();
                        view! { <option value=name selected=move || get("action") == name>{name}</option> }
                    }).collect_view()}
                </select>
            </span>
            <span class="filter-field">
                <label for="audit-outcome">"Outcome"</label>
                <select id="audit-outcome" name="outcome">
                    {OutcomeFilter::CHOICES.iter().map(|(value, label)| {
                        view! { <option value=*value selected=move || get("outcome") == *value>{*label}</option> }
                    }).collect_view()}
                </select>
            </span>
            {field("from", "From (UTC)", "datetime-local")}
            {field("to", "To (UTC)", "datetime-local")}
            <button type="submit">"Filter"</button>
        </Form>
        <p class="exports">
            "Export this filter: "
            <a href=move || format!("/audit/export.csv?{}", filter_query()) download="audit.csv">"CSV"</a>
            " · "
            <a href=move || format!("/audit/export.jsonl?{}", filter_query()) download="audit.jsonl">"JSON Lines"</a>
        </p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! { <Entries p filter_query=filter_query()/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Entries(p: AuditPage, filter_query: String) -> impl IntoView {
    let AuditPage { entries, older } = p;
    if entries.is_empty() {
        return view! { <p class="muted">"No entries match."</p> }.into_any();
    }
    let older = older.map(|id| {
        let sep = if filter_query.is_empty() { "" } else { "&" };
        view! { <a class="older" href=format!("/audit?{filter_query}{sep}before={id}")>"Older entries"</a> }
    });
    view! {
        // Scrolls inside its own box on a narrow screen, never the page; a
        // region in the Tab order, so the keyboard can scroll it too.
        <div class="scroll" tabindex="0" role="region" aria-label="Audit entries, scrollable">
        <table class="audit" aria-label="Audit entries">
            <thead><tr>
                <th>"Time"</th><th>"Actor"</th><th>"Action"</th><th>"Namespace"</th><th>"Key"</th>
                <th>"Version"</th><th>"Client"</th><th>"Outcome"</th>
            </tr></thead>
            <tbody>{entries.into_iter().map(|e| view! { <Row e/> }).collect_view()}</tbody>
        </table>
        </div>
        {older}
    }
    .into_any()
}

/// Names are shown with control characters made visible (`\n`, `\u{1b}`), so
/// no name can fake a row or hide text.
#[component]
fn Row(e: AuditEntry) -> impl IntoView {
    let show = |s: &str| escape_controls(s).into_owned();
    let refused = !e.outcome.starts_with(crate::domain::audit::OK);
    view! {
        <tr class:refused=refused>
            <td><time>{e.at.to_string()}</time></td>
            <td>{show(&e.actor)}</td>
            <td>{e.action.clone()}</td>
            <td>{show(&e.namespace)}</td>
            <td>{show(&e.key)}</td>
            <td>{e.version.map(|v| v.to_string())}</td>
            <td>{show(&e.client)}</td>
            <td class="outcome">{show(&e.outcome)}</td>
        </tr>
    }
}

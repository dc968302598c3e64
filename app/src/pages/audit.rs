//! `/audit`: the trail, filtered by namespace subtree, actor, action and time;
//! keyset pages; CSV and JSON Lines exports of the same filter. A plain GET
//! form, so filters are links and work with JavaScript off.

use super::{LoadError, Loading};
use crate::{
    api::audit::list_audit,
    components::{encode_query_value, settled},
    domain::audit::{escape_controls, Action, AuditEntry, AuditPage, OutcomeFilter, CHANGES},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

const FIELDS: [&str; 7] = ["namespace", "actor", "action", "from", "to", "key", "outcome"];

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = settled(use_query_map());
    // Several actions may be chosen at once: they travel as one comma-separated list.
    let get = move |name: &str| match name {
        "action" => query.read().get_all(name).unwrap_or_default().join(","),
        _ => query.read().get(name).unwrap_or_default(),
    };
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
        // Dates are typed as ISO 8601, 24-hour, in UTC: the same on every browser and locale.
        let (pattern, placeholder) = match kind {
            "date" => (Some(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?"), Some("2026-12-06 14:05")),
            _ => (None, None),
        };
        view! {
            <span class="filter-field">
                <label for=id.clone()>{label}</label>
                <input id=id name=name type="text" value=move || get(name) pattern=pattern placeholder=placeholder
                    autocomplete="off" spellcheck="false"/>
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
                <select id="audit-action" name="action" multiple size="4" aria-describedby="audit-action-hint">
                    <option value=CHANGES selected=move || get("action") == CHANGES>"every change"</option>
                    {Action::ALL.iter().map(|a| {
                        let name = a.as_str();
                        view! { <option value=name selected=move || get("action").split(',').any(|x| x == name)>{name}</option> }
                    }).collect_view()}
                </select>
                <span class="hint" id="audit-action-hint">"None chosen: any. Ctrl or ⌘ picks several."</span>
            </span>
            <span class="filter-field">
                <label for="audit-outcome">"Outcome"</label>
                <select id="audit-outcome" name="outcome">
                    {OutcomeFilter::CHOICES.iter().map(|(value, label)| {
                        view! { <option value=*value selected=move || get("outcome") == *value>{*label}</option> }
                    }).collect_view()}
                </select>
            </span>
            {field("from", "From (UTC)", "date")}
            {field("to", "To (UTC)", "date")}
            <button type="submit">"Filter"</button>
        </Form>
        <p class="presets">"Presets: "
            <a href=move || format!("/audit?{}", with_field(&filter_query(), "action", CHANGES))>"changes only"</a>" · "
            <a href=move || format!("/audit?{}", with_field(&filter_query(), "outcome", "refused"))>"refused only"</a>" · "
            <a href="/audit">"everything"</a>
        </p>
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
            <tbody>{entries.into_iter().map(|e| view! { <Row e filter_query=filter_query.clone()/> }).collect_view()}</tbody>
        </table>
        </div>
        {older}
    }
    .into_any()
}

/// Names are shown with control characters made visible (`\n`, `\u{1b}`), so
/// no name can fake a row or hide text.
#[component]
fn Row(e: AuditEntry, filter_query: String) -> impl IntoView {
    let show = |s: &str| escape_controls(s).into_owned();
    let refused = !e.outcome.starts_with(crate::domain::audit::OK);
    // Each name is a link to the trail filtered by it (within the filter in force).
    let cell = |name: &'static str, value: &str| {
        let shown = show(value);
        if value.is_empty() {
            return view! { <td></td> }.into_any();
        }
        let href = format!("/audit?{}", with_field(&filter_query, name, value));
        view! { <td><a href=href title=format!("Only {name} {shown}")>{shown.clone()}</a></td> }.into_any()
    };
    view! {
        <tr class:refused=refused>
            <td><time datetime=e.at.rfc3339()>{e.at.to_string()}</time></td>
            {cell("actor", &e.actor)}
            {cell("action", &e.action)}
            {cell("namespace", &e.namespace)}
            {cell("key", &e.key)}
            <td>{e.version.map(|v| v.to_string())}</td>
            <td>{show(&e.client)}</td>
            <td class="outcome">{show(&e.outcome)}</td>
        </tr>
    }
}

/// `query` with `name` set to `value` (replacing what it had).
fn with_field(query: &str, name: &str, value: &str) -> String {
    let prefix = format!("{name}=");
    let mut pairs: Vec<String> =
        query.split('&').filter(|p| !p.is_empty() && !p.starts_with(&prefix)).map(str::to_owned).collect();
    pairs.push(format!("{name}={}", encode_query_value(value)));
    pairs.join("&")
}

//! `/readers/{reader}`: every secret one workload identity read (`token:NAME`,
//! `approle:ROLE`, `jwt:ROLE`), how often and when last — from the trail's
//! read summary, limited to the namespaces the viewer's trail grants cover.

use super::{LoadError, Loading};
use crate::{api::audit::reader_reads, components::When, domain::Timestamp};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ReaderPage() -> impl IntoView {
    let params = crate::components::settled(use_params_map());
    let reader = move || params.read().get("reader").unwrap_or_default();
    let reads = Resource::new(reader, reader_reads);
    view! {
        <Title text=format!("{} · Strongroom", reader())/>
        <h1>"What " <code>{reader}</code> " read"</h1>
        <p class="muted">"Every secret this workload read, from the audit trail; a login's short-lived tokens \
            count as their role."</p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match reads.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted">"Nothing read that you may see."</p>
                    }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|r| Reads {
                            href: format!("/ns/{}/{}", r.namespace, r.key),
                            name: format!("{}/{}", r.namespace, r.key),
                            reads: r.reads,
                            last_at: r.last_at,
                        });
                        view! { <ReadsTable label="Secrets read" first="Secret" rows=rows.collect()/> }.into_any()
                    }
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One row of [`ReadsTable`]: what was read, or who read, and how often.
pub struct Reads {
    pub href: String,
    pub name: String,
    pub reads: i64,
    pub last_at: Timestamp,
}

/// Reads as a table: a linked name, how many, the last one (a secret's Read
/// by, a reader's page).
#[component]
pub fn ReadsTable(label: &'static str, first: &'static str, rows: Vec<Reads>) -> impl IntoView {
    view! {
        <div class="scroll" tabindex="0" role="region" aria-label=format!("{label}, scrollable")>
        <table class="versions" aria-label=label>
            <thead><tr><th scope="col">{first}</th><th scope="col">"Reads"</th>
                <th scope="col">"Last read"</th></tr></thead>
            <tbody>{rows.into_iter().map(|r| view! {
                <tr>
                    <td><a href=r.href>{r.name}</a></td>
                    <td>{r.reads}</td>
                    <td class="nowrap"><When at=r.last_at/></td>
                </tr>
            }).collect_view()}</tbody>
        </table>
        </div>
    }
}

//! `/readers/{reader}`: every secret one workload identity read (`token:NAME`,
//! `approle:ROLE`, `jwt:ROLE`), how often and when last — from the trail's
//! read summary, limited to the namespaces the viewer's trail grants cover.

use super::{LoadError, Loading};
use crate::{api::audit::reader_reads, components::When};
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
                    Ok(list) => view! {
                        <div class="scroll" tabindex="0" role="region" aria-label="Secrets read, scrollable">
                        <table class="versions" aria-label="Secrets read">
                            <thead><tr><th scope="col">"Secret"</th><th scope="col">"Reads"</th>
                                <th scope="col">"Last read"</th></tr></thead>
                            <tbody>{list.into_iter().map(|r| {
                                let href = format!("/ns/{}/{}", r.namespace, r.key);
                                view! {
                                    <tr>
                                        <td><a href=href>{format!("{}/{}", r.namespace, r.key)}</a></td>
                                        <td>{r.reads}</td>
                                        <td class="nowrap"><When at=r.last_at/></td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                        </div>
                    }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

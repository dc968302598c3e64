//! `/completeness/{namespace}`: the subtree's namespaces × the keys any of
//! them requires, each cell defined here, inherited, missing or overdue —
//! the page a team lead opens before a release. Names only.

use super::{LoadError, Loading};
use crate::{
    api::namespaces::completeness,
    components::{settled, Crumbs},
    domain::view::{Completeness, CompletenessMatrix},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn CompletenessPage() -> impl IntoView {
    let params = settled(use_params_map());
    let ns = move || params.read().get("namespace").unwrap_or_default();
    let matrix = Resource::new(ns, completeness);
    view! {
        <Crumbs ns=ns()/>
        <h1>"Completeness of " {ns}</h1>
        <Title text=format!("Completeness of {} · Strongroom", ns())/>
        <p class="muted">"Every namespace here and below, and each key that one of them requires \
            (set under Required keys on a namespace's page; checked by strongroom check)."</p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match matrix.await {
                    Ok(m) => view! { <Matrix m/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Matrix(m: CompletenessMatrix) -> impl IntoView {
    if m.keys.is_empty() {
        return view! { <p class="muted">"No namespace here or below requires any key."</p> }.into_any();
    }
    let (missing, overdue) = m.gaps();
    let summary = match (missing, overdue) {
        (0, 0) => "Complete: every required key is defined and none is overdue.".to_owned(),
        (m, o) => format!("{m} missing, {o} overdue."),
    };
    view! {
        <p role="status" class:form-error={missing > 0}>{summary}</p>
        <div class="scroll" tabindex="0" role="region" aria-label="Completeness, scrollable">
            <table class="matrix" aria-label="Required keys by namespace">
                <thead><tr><th scope="col">"Namespace"</th>
                    {m.keys.iter().map(|k| view! { <th scope="col"><code>{k.to_string()}</code></th> }).collect_view()}
                </tr></thead>
                <tbody>{m.rows.into_iter().map(|(ns, cells)| {
                    let href = format!("/ns/{ns}#required");
                    view! {
                        <tr>
                            <th scope="row"><a href=href>{ns.to_string()}</a></th>
                            {cells.into_iter().map(|c| view! { <Cell c/> }).collect_view()}
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Cell(c: Completeness) -> impl IntoView {
    let late = |overdue: bool| overdue.then(|| view! { " " <span class="badge overdue">"overdue"</span> });
    match c {
        Completeness::NotRequired => view! { <td class="muted">"not required"</td> }.into_any(),
        Completeness::Here { overdue } => view! { <td>"defined here" {late(overdue)}</td> }.into_any(),
        Completeness::Inherited { from, overdue } => {
            view! { <td>{format!("from {from}")} {late(overdue)}</td> }.into_any()
        }
        Completeness::Missing => view! { <td class="missing"><strong>"missing"</strong></td> }.into_any(),
    }
}

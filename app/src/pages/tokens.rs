//! `/admin/tokens`: workload tokens (admins of every namespace). A new token
//! is shown once, right after it is made, with a copy button; afterwards only
//! its name, scope and dates are listed.

use super::{LoadError, Loading};
use crate::{
    api::tokens::{list_tokens, reveal_token, CreateToken, RevokeToken},
    components::{error_of, settled, FieldError, FormError, SubmitButton},
    domain::{token::NewToken, Timestamp, TokenView},
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
                <input id="token-name" name="name" placeholder="kestra-prod" autocomplete="off" spellcheck="false"/>
                <FieldError error=create_error field="name" id="token-name-error".into()/>
                <label for="token-namespace">"Namespace"</label>
                <input id="token-namespace" name="namespace" placeholder="company.team, or * for every namespace" autocomplete="off"/>
                <FieldError error=create_error field="namespace" id="token-namespace-error".into()/>
                <label for="token-expires">"Expires"</label>
                <input id="token-expires" name="expires" placeholder="never, 30d, 12h or 2027-01-31" autocomplete="off"/>
                <FieldError error=create_error field="expires" id="token-expires-error".into()/>
                <FormError error=create_error fields=&["name", "namespace", "expires"]/>
                <SubmitButton url=CreateToken::url() back=TOKENS.to_owned()>"Create token"</SubmitButton>
            </ActionForm>
        </section>
    }
}

/// The one time a token is shown.
#[component]
fn Revealed(new: NewToken) -> impl IntoView {
    let name = new.view.name.to_string();
    view! {
        <section class="panel reveal" role="status" aria-label="New token">
            <h2>{format!("Token {name} created")}</h2>
            <p>"Copy it now: it is shown only this once, and Strongroom keeps only its hash."</p>
            <label for="new-token">"Token"</label>
            <input id="new-token" data-testid="new-token" readonly value=new.token.clone() class="token" spellcheck="false"
                autocomplete="off"/>
            <CopyButton from="new-token".to_owned()/>
        </section>
    }
}

/// Copies the value of the field `from` to the clipboard. An island: the one
/// part of this page that runs in the browser. It takes the field's id, not
/// the token, so the token is not repeated in the island's serialized props.
#[island]
fn CopyButton(from: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let field =
                document().get_element_by_id(&from).and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok());
            if let Some(field) = field {
                let _ = window().navigator().clipboard().write_text(&field.value());
                copied.set(true);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &from;
    };
    view! { <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button> }
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
                            <td>{name.clone()}</td>
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

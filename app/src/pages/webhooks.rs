//! `/admin/webhooks`: where events go (admins of every namespace). A new
//! signing secret is shown once, right after it is made; the delivery log
//! shows what was sent, to whom, and how it went — names only.

use super::{LoadError, Loading};
use crate::{
    api::webhooks::{
        list_webhooks, reveal_webhook_secret, webhook_log, AddWebhook, RemoveWebhook, RotateWebhookSecret,
    },
    components::{error_of, settled, typed, CopyButton, FieldError, FormError, SubmitButton},
    domain::webhook::{DeliveryView, NewWebhook, WebhookView, EVENTS},
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Where this page's forms come back to: without `?created=`.
const WEBHOOKS: &str = "/admin/webhooks";

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let query = settled(use_query_map());
    let created = move || query.read().get("created").unwrap_or_default();
    let add = ServerAction::<AddWebhook>::new();
    let (rotate, remove) = (ServerAction::<RotateWebhookSecret>::new(), ServerAction::<RemoveWebhook>::new());
    let hooks = Resource::new(|| (), |_| list_webhooks());
    let log = Resource::new(|| (), |_| webhook_log());
    let fresh = Resource::new(created, |id| async move {
        if id.is_empty() {
            Ok(None)
        } else {
            reveal_webhook_secret(id).await.map(Some)
        }
    });
    let (add_error, rotate_error, remove_error) = (error_of(add), error_of(rotate), error_of(remove));
    view! {
        <Title text="Webhooks · Strongroom"/>
        <h1>"Webhooks"</h1>
        <p class="hint">"Strongroom posts an event to each webhook when a secret is added, rotated, deleted, restored \
            or purged, when a token is created or revoked, once a day per secret while its rotation is overdue, and \
            once a day per required key a namespace lacks. Names only, never a value; each request is signed \
            (Strongroom-Signature)."</p>
        <Suspense>
            {move || Suspend::new(async move {
                match fresh.await {
                    Ok(Some(Some(new))) => view! { <Revealed new/> }.into_any(),
                    Ok(Some(None)) => view! {
                        <p class="banner" role="status">"That signing secret was already shown. It is shown only \
                            once: if it was not copied, give the webhook a new one."</p>
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <FormError error=rotate_error/>
        <FormError error=remove_error/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match hooks.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No webhooks yet."</p> }.into_any(),
                    Ok(list) => view! { <WebhookTable list rotate remove/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel">
            <h2>"Add a webhook"</h2>
            <ActionForm action=add>
                <label for="webhook-name">"Name"</label>
                <input id="webhook-name" name="name" value=typed(AddWebhook::url(), &[], "name") required placeholder="team-chat" autocomplete="off" spellcheck="false"/>
                <FieldError error=add_error field="name" id="webhook-name-error".into()/>
                <label for="webhook-url">"URL"</label>
                <input id="webhook-url" name="url" type="url" value=typed(AddWebhook::url(), &[], "url") required placeholder="https://hooks.example.com/strongroom" autocomplete="off" spellcheck="false"/>
                <FieldError error=add_error field="url" id="webhook-url-error".into()/>
                <label for="webhook-events">"Events"</label>
                <input id="webhook-events" name="events" value=typed(AddWebhook::url(), &[], "events") placeholder="blank for all" autocomplete="off" spellcheck="false" aria-describedby="webhook-events-hint"/>
                <p class="hint" id="webhook-events-hint">{format!("Separated by commas: {}.", EVENTS.join(", "))}</p>
                <FieldError error=add_error field="events" id="webhook-events-error".into()/>
                <label for="webhook-format">"Format"</label>
                <select id="webhook-format" name="format">
                    <option value="json">"JSON (signed)"</option>
                    <option value="slack">"Slack / Mattermost message"</option>
                </select>
                <FieldError error=add_error field="format" id="webhook-format-error".into()/>
                <FormError error=add_error fields=&["name", "url", "events", "format"]/>
                <SubmitButton url=AddWebhook::url() back=WEBHOOKS.to_owned()>"Add webhook"</SubmitButton>
            </ActionForm>
        </section>
        <h2 id="deliveries">"Deliveries"</h2>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"Nothing delivered yet."</p> }.into_any(),
                    Ok(list) => view! { <DeliveryTable list/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn WebhookTable(
    list: Vec<WebhookView>,
    rotate: ServerAction<RotateWebhookSecret>,
    remove: ServerAction<RemoveWebhook>,
) -> impl IntoView {
    view! {
        <div class="scroll" tabindex="0" role="region" aria-label="Webhooks, scrollable">
        <table aria-label="Webhooks">
            <thead><tr>
                <th scope="col">"Name"</th><th scope="col">"URL"</th><th scope="col">"Events"</th>
                <th scope="col">"Format"</th><th scope="col">"Waiting"</th><th scope="col">"Given up"</th>
                <th scope="col">"Added"</th><th scope="col">"Actions"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|w| {
                    let name = w.name.to_string();
                    let events = match w.events.to_string().as_str() { "*" => "all".to_owned(), some => some.replace(',', ", ") };
                    let (rotate_label, remove_label) = (format!("New secret for {name}"), format!("Remove webhook {name}"));
                    let both = w.previous_until.map(|t| format!(" (the previous secret signs too until {t})"));
                    let (given_up, rotate_name) = (w.failed != 0, name.clone());
                    view! {
                        <tr>
                            <td>{name.clone()}</td>
                            <td><code>{w.url.to_string()}</code>{both}</td>
                            <td>{events}</td>
                            <td>{w.format.as_str()}</td>
                            <td>{w.pending}</td>
                            <td class:form-error=given_up>{w.failed}</td>
                            <td>{format!("{} by {}", w.created_at, w.created_by)}</td>
                            <td>
                                <ActionForm action=rotate>
                                    <input type="hidden" name="name" value=rotate_name/>
                                    <SubmitButton url=RotateWebhookSecret::url() class="small" back=WEBHOOKS.to_owned()>{rotate_label}</SubmitButton>
                                </ActionForm>
                                <ActionForm action=remove>
                                    <input type="hidden" name="name" value=name/>
                                    <SubmitButton url=RemoveWebhook::url() class="small danger" back=WEBHOOKS.to_owned()>{remove_label}</SubmitButton>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

#[component]
fn DeliveryTable(list: Vec<DeliveryView>) -> impl IntoView {
    view! {
        <div class="scroll" tabindex="0" role="region" aria-label="Deliveries, scrollable">
        <table aria-label="Deliveries">
            <thead><tr>
                <th scope="col">"Event"</th><th scope="col">"Subject"</th><th scope="col">"Webhook"</th>
                <th scope="col">"State"</th><th scope="col">"Attempts"</th><th scope="col">"Last answer"</th>
                <th scope="col">"Happened"</th><th scope="col">"Delivery id"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|d| {
                    let failed = d.state == "failed";
                    view! {
                    <tr>
                        <td>{d.event}</td>
                        <td>{d.subject}</td>
                        <td>{d.webhook}</td>
                        <td class:form-error=failed>{d.state}</td>
                        <td>{d.attempts}</td>
                        <td>{d.last_result.unwrap_or_default()}</td>
                        <td>{d.created_at.to_string()}</td>
                        <td><code>{d.delivery}</code></td>
                    </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// The one time a signing secret is shown.
#[component]
fn Revealed(new: NewWebhook) -> impl IntoView {
    let secret = new.secret.clone();
    view! {
        <section class="panel reveal" role="status" aria-label="New signing secret">
            <h2>{format!("Signing secret for webhook {}", new.view.name)}</h2>
            <p><strong>"Copy it now: it is shown only this once."</strong>" The receiver checks \
                Strongroom-Signature: t=TIME,v1=HMAC-SHA256(secret, \"TIME.BODY\") in hex, compared in constant time, \
                with TIME within 5 minutes of its clock."</p>
            <label for="new-webhook-secret">"Signing secret"</label>
            <div class="token-row">
                <input id="new-webhook-secret" data-testid="new-webhook-secret" readonly value=secret class="token" spellcheck="false" autocomplete="off"/>
                <CopyButton from="new-webhook-secret".to_owned() what="the signing secret".to_owned()/>
            </div>
        </section>
    }
}

//! `/ns/{namespace}`: effective secrets (own, inherited, shadowing), the
//! add-secret form, deleted secrets and child namespaces.

use super::{count_label, LoadError, Loading};
use crate::{
    api::{
        import::{pending_import, ApplyImport, PreviewImport},
        namespaces::{get_namespace, DeleteNamespace, DescribeNamespace},
        secrets::AddSecret,
    },
    components::{encode_query_value, error_of, settled, FieldError, FormError, IfCan, SubmitButton},
    domain::{
        view::{EffectiveSecret, NamespaceView, StatusFilter, Window, MAX_FILTER, SECRETS_PER_PAGE},
        Role,
    },
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
};

#[component]
pub fn NamespacePage() -> impl IntoView {
    let params = settled(use_params_map());
    let ns = move || params.read().get("namespace").unwrap_or_default();
    let add = ServerAction::<AddSecret>::new();
    let query = settled(use_query_map());
    let import_id = move || query.read().get("import").unwrap_or_default();
    let (describe, delete) = (ServerAction::<DescribeNamespace>::new(), ServerAction::<DeleteNamespace>::new());
    let get = move |name: &str| query.read().get(name).unwrap_or_default();
    let filter = move || (get("q"), get("status"), get("page").parse::<u32>().unwrap_or(0));
    let view = Resource::new(move || (ns(), filter()), |(ns, (q, status, page))| get_namespace(ns, q, status, page));
    let error = error_of(add);

    view! {
        <nav class="crumbs"><a href="/">"Namespaces"</a></nav>
        <h1>{ns}</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match view.await {
                    Ok(v) => view! { <NamespaceBody v q=get("q") status=get("status")/> }.into_any(),
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
        <IfCan role=Role::Editor ns=Signal::derive(ns)>
        <section class="panel">
            <h2>"Add a secret"</h2>
            <ActionForm action=add>
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
                <label for="add-tags">"Tags"</label>
                <input id="add-tags" name="tags" placeholder="owner=payments env=prod" autocomplete="off"
                    spellcheck="false" aria-describedby="add-tags-hint add-tags-error"/>
                <p class="hint" id="add-tags-hint">"Optional " <code>"name=value"</code> " labels, separated by spaces."</p>
                <FieldError error field="tags" id="add-tags-error".into()/>
                <FormError error fields=&["key", "value", "description", "tags"]/>
                <SubmitButton url=AddSecret::url()>"Add secret"</SubmitButton>
            </ActionForm>
        </section>
        {move || {
            let id = import_id();
            if id.is_empty() {
                view! { <ImportForm ns=ns()/> }.into_any()
            } else {
                view! { <ImportPreview ns=ns() id/> }.into_any()
            }
        }}
        {move || view! { <DescribeForm ns=ns() action=describe/> }}
        </IfCan>
        <IfCan role=Role::Admin ns=Signal::derive(ns)>
        {move || view! { <DeleteForm ns=ns() action=delete/> }}
        </IfCan>
    }
}

#[component]
fn NamespaceBody(v: NamespaceView, q: String, status: String) -> impl IntoView {
    let NamespaceView { namespace, effective, window, deleted, children } = v;
    let path = namespace.path.to_string();
    let filtered = !q.trim().is_empty() || !status.is_empty();
    view! {
        // Titled from the loaded data: a closure over the route params would run
        // after the route's reactive scope is gone, when SSR writes the <head>.
        <Title text=format!("{} · Strongroom", namespace.path)/>
        {(!namespace.description.is_empty()).then(|| view! { <p class="description">{namespace.description.clone()}</p> })}
        <section>
            <h2>"Secrets"</h2>
            {(window.total > 0).then(|| view! { <SecretFilterForm path=path.clone() q=q.clone() status=status.clone()/> })}
            {if window.total == 0 {
                view! { <p class="muted">"No secrets here or in any parent namespace."</p> }.into_any()
            } else if effective.is_empty() {
                view! { <p class="muted" role="status">"No secrets match this filter."</p> }.into_any()
            } else {
                view! {
                    <div class="scroll" tabindex="0" role="region" aria-label="Effective secrets, scrollable">
                    <table class="secrets" aria-label="Effective secrets">
                        <thead><tr>
                            <th scope="col">"Key"</th><th scope="col">"Defined in"</th><th scope="col">"Versions"</th>
                            <th scope="col">"Last change"</th><th scope="col">"Rotate by"</th><th scope="col">"Status"</th>
                            <th scope="col">"Tags"</th>
                        </tr></thead>
                        <tbody>{effective.into_iter().map(|s| view! { <SecretRow s/> }).collect_view()}</tbody>
                    </table>
                    </div>
                }.into_any()
            }}
            {(filtered || window.pages > 1).then(|| view! { <Pager path q status window/> })}
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
    // Outside the caller's grants only the key and where it is defined show.
    let hidden = || view! { <span class="muted" title="Defined outside your grants">"—"</span> };
    let (version, change, rotate) = if can_open {
        (
            view! { {meta.version} }.into_any(),
            view! { {meta.updated_at.to_string()}" by "{meta.updated_by.clone()} }.into_any(),
            view! { <RotateBy meta=meta.clone()/> }.into_any(),
        )
    } else {
        (hidden().into_any(), hidden().into_any(), hidden().into_any())
    };
    let tags = meta.tags.pairs().map(|t| view! { <span class="tag">{t}</span>" " }).collect_view();
    view! {
        <tr class:inherited=!own class:overdue=overdue>
            <td>{key_cell}</td>
            <td>{meta.namespace.to_string()}</td>
            <td>{version}</td>
            <td>{change}</td>
            <td>{rotate}</td>
            <td>{status}</td>
            <td>{tags}</td>
        </tr>
    }
}

/// The filter box: a plain GET form, so a filter is a link and works
/// without JavaScript.
#[component]
fn SecretFilterForm(path: String, q: String, status: String) -> impl IntoView {
    view! {
        <Form method="GET" action=format!("/ns/{path}") attr:class="filters" attr:aria-label="Filter the secrets">
            <span class="filter-field">
                <label for="filter-q">"Filter"</label>
                <input id="filter-q" name="q" type="search" value=q placeholder="key, description or env=prod"
                    autocomplete="off" spellcheck="false" maxlength=MAX_FILTER/>
            </span>
            <span class="filter-field">
                <label for="filter-status">"Status"</label>
                <select id="filter-status" name="status">
                    {StatusFilter::ALL.iter().map(|(_, name, label)| {
                        view! { <option value=*name selected=status == *name>{*label}</option> }
                    }).collect_view()}
                </select>
            </span>
            <button type="submit">"Filter"</button>
        </Form>
    }
}

/// Where this page is among the matching secrets, with plain links to the others.
#[component]
fn Pager(path: String, q: String, status: String, window: Window) -> impl IntoView {
    let Window { total, matching, page, pages } = window;
    let clear = (!q.trim().is_empty() || !status.is_empty()).then(|| format!("/ns/{path}"));
    let link = move |page: u32| {
        let mut query = vec![];
        if !q.trim().is_empty() {
            query.push(format!("q={}", encode_query_value(&q)));
        }
        if !status.is_empty() {
            query.push(format!("status={}", encode_query_value(&status)));
        }
        if page > 0 {
            query.push(format!("page={page}"));
        }
        if query.is_empty() {
            format!("/ns/{path}")
        } else {
            format!("/ns/{path}?{}", query.join("&"))
        }
    };
    let first = page as usize * SECRETS_PER_PAGE + 1;
    let last = (first + SECRETS_PER_PAGE - 1).min(matching as usize);
    let shown = if matching == 0 {
        format!("0 of {total} secrets match.")
    } else if matching == total {
        format!("{first}–{last} of {total} secrets")
    } else {
        format!("{first}–{last} of {matching} matching ({total} in all)")
    };
    view! {
        <nav class="pager" aria-label="Secret pages">
            <span class="muted">{shown}</span>
            {(page > 0).then(|| view! { " " <a href=link(page - 1) rel="prev">"Previous"</a> })}
            {(page + 1 < pages).then(|| view! { " " <a href=link(page + 1) rel="next">"Next"</a> })}
            {clear.map(|href| view! { " " <a href=href>"Clear filter"</a> })}
        </nav>
    }
}

/// Step 1 of an import: paste a file; the server answers with a preview.
#[component]
fn ImportForm(ns: String) -> impl IntoView {
    let preview = ServerAction::<PreviewImport>::new();
    let error = error_of(preview);
    view! {
        <section class="panel">
            <h2>"Import .env"</h2>
            <p class="hint">"Paste a .env file, Kestra's SECRET_ file (base64 values are decoded), Prefect's \
                PREFECT__CONTEXT__SECRETS__ lines or a JSON object. You will see which keys it adds, rotates or \
                leaves unchanged before anything is stored."</p>
            <ActionForm action=preview>
                <input type="hidden" name="namespace" value=ns/>
                <label for="import-content">".env file"</label>
                <textarea id="import-content" name="content" class="secret-input" rows="6" autocomplete="new-password"
                    spellcheck="false" autocapitalize="off" aria-describedby="import-content-error"></textarea>
                <FieldError error field="content" id="import-content-error".into()/>
                <label for="import-format">"Format"</label>
                <select id="import-format" name="format">
                    <option value="auto">"detect"</option>
                    <option value="dotenv">"dotenv"</option>
                    <option value="kestra">"kestra (SECRET_, base64)"</option>
                    <option value="prefect">"prefect"</option>
                    <option value="json">"json"</option>
                </select>
                <FieldError error field="format" id="import-format-error".into()/>
                <FormError error fields=&["content", "format"]/>
                <SubmitButton url=PreviewImport::url()>"Preview import"</SubmitButton>
            </ActionForm>
        </section>
    }
}

/// Step 2: what the import would do, by key name only; then apply it.
#[component]
fn ImportPreview(ns: String, id: String) -> impl IntoView {
    let apply = ServerAction::<ApplyImport>::new();
    let error = error_of(apply);
    let plan = Resource::new(|| (), {
        let (ns, id) = (ns.clone(), id.clone());
        move |_| pending_import(ns.clone(), id.clone())
    });
    let back = format!("/ns/{ns}");
    view! {
        <section class="panel" aria-label="Import preview">
            <h2>"Import preview"</h2>
            <Suspense fallback=Loading>
                {move || {
                    let (ns, id, back) = (ns.clone(), id.clone(), back.clone());
                    Suspend::new(async move {
                        match plan.await {
                            Ok(Some(plan)) => {
                                let decoded = if plan.format == "kestra" { ", values decoded from base64" } else { "" };
                                let line = |label: &'static str, keys: &[crate::domain::SecretKey]| {
                                    let names = keys.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(", ");
                                    view! { <li><strong>{format!("{label} {}", keys.len())}</strong>
                                        {(!names.is_empty()).then(|| format!(": {names}"))}</li> }
                                };
                                view! {
                                    <p role="status">{format!("Read as {}{decoded}.", plan.format)}</p>
                                    <ul class="plain import-plan">
                                        {line("Adds", &plan.adds)}
                                        {line("Rotates", &plan.rotates)}
                                        {line("Unchanged", &plan.unchanged)}
                                    </ul>
                                    <ActionForm action=apply>
                                        <input type="hidden" name="namespace" value=ns/>
                                        <input type="hidden" name="id" value=id/>
                                        <FormError error/>
                                        <SubmitButton url=ApplyImport::url()>"Apply import"</SubmitButton>
                                    </ActionForm>
                                    <p><a href=back>"Cancel"</a></p>
                                }.into_any()
                            }
                            // A refused apply lands here too: the preview is used up, the reason shown.
                            Ok(None) => view! {
                                <FormError error/>
                                <p class="form-error" role="alert">"This import preview has expired or was already \
                                    applied. Paste the file again."</p>
                                <p><a href=back>"Back"</a></p>
                            }.into_any(),
                            Err(error) => view! { <LoadError error/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn DescribeForm(ns: String, action: ServerAction<DescribeNamespace>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <section class="panel">
            <h2>"Description"</h2>
            <ActionForm action>
                <input type="hidden" name="namespace" value=ns/>
                <label for="describe-description">"New description"</label>
                <input id="describe-description" name="description" autocomplete="off"
                    aria-describedby="describe-description-error"/>
                <FieldError error field="description" id="describe-description-error".into()/>
                <FormError error fields=&["description"]/>
                <SubmitButton url=DescribeNamespace::url()>"Set description"</SubmitButton>
            </ActionForm>
        </section>
    }
}

#[component]
fn DeleteForm(ns: String, action: ServerAction<DeleteNamespace>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <section class="panel">
            <h2>"Delete namespace"</h2>
            <p class="hint">"Only an empty namespace can be deleted: no secrets (deleted ones count until purged), no child namespaces."</p>
            <ActionForm action>
                <input type="hidden" name="namespace" value=ns/>
                <FormError error/>
                <SubmitButton url=DeleteNamespace::url() class="danger">"Delete namespace"</SubmitButton>
            </ActionForm>
        </section>
    }
}

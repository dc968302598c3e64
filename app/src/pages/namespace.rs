//! `/ns/{namespace}`: effective secrets (own, inherited, shadowing), the
//! add-secret form, deleted secrets and child namespaces.

use super::{count_label, LoadError, Loading};
use crate::{
    api::{
        import::{pending_import, ApplyImport, PreviewImport},
        namespaces::{get_namespace, required_keys, DeleteNamespace, DescribeNamespace, RequireKeys, UnrequireKey},
        secrets::AddSecret,
    },
    components::{
        encode_query_value, error_of, settled, typed, Cleared, Crumbs, FieldError, FormError, MeResource, SubmitButton,
        ValueTools, When,
    },
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

/// What the namespace page shows instead of its usual sections.
enum Step {
    /// An import's preview: a step of its own, where the eye is.
    Import(String),
    /// Asking before the namespace is deleted.
    ConfirmDelete,
    Usual,
}

#[component]
pub fn NamespacePage() -> impl IntoView {
    let params = settled(use_params_map());
    let ns = move || params.read().get("namespace").unwrap_or_default();
    let query = settled(use_query_map());
    let get = move |name: &str| query.read().get(name).unwrap_or_default();
    let step = match (get("import"), get("confirm").as_str()) {
        (id, _) if !id.is_empty() => Step::Import(id),
        (_, "delete") => Step::ConfirmDelete,
        _ => Step::Usual,
    };
    let filter = move || (get("q"), get("status"), get("page").parse::<u32>().unwrap_or(0));
    let view = Resource::new(move || (ns(), filter()), |(ns, (q, status, page))| get_namespace(ns, q, status, page));
    let me = expect_context::<MeResource>();
    let delete = ServerAction::<DeleteNamespace>::new();

    view! {
        <Crumbs ns=ns()/>
        <h1>{ns}</h1>
        {match step {
            Step::Import(id) => view! { <ImportPreview ns=ns() id/> }.into_any(),
            Step::ConfirmDelete => view! { <ConfirmDelete ns=ns() action=delete/> }.into_any(),
            Step::Usual => view! {
                <Suspense fallback=Loading>
                    {move || Suspend::new(async move {
                        let (v, me) = (view.await, me.await);
                        match v {
                            Ok(v) => {
                                let can = |role| me.as_ref().is_ok_and(|me| me.can(role, &v.namespace.path));
                                let (can_edit, can_admin) = (can(Role::Editor), can(Role::Admin));
                                view! { <NamespaceBody v q=get("q") status=get("status") can_edit can_admin/> }.into_any()
                            }
                            Err(error) => view! { <LoadError error/> }.into_any(),
                        }
                    })}
                </Suspense>
            }.into_any(),
        }}
    }
}

#[component]
fn NamespaceBody(v: NamespaceView, q: String, status: String, can_edit: bool, can_admin: bool) -> impl IntoView {
    let NamespaceView { namespace, effective, window, deleted, children } = v;
    let path = namespace.path.to_string();
    let filtered = !q.trim().is_empty() || !status.is_empty();
    let (own_secrets, child_count) = (namespace.secret_count as usize + deleted.len(), children.len());
    let description = namespace.description.clone();
    view! {
        // Titled from the loaded data: a closure over the route params would run
        // after the route's reactive scope is gone, when SSR writes the <head>.
        <Title text=format!("{} · Strongroom", namespace.path)/>
        {(!namespace.description.is_empty()).then(|| view! { <p class="description">{namespace.description.clone()}</p> })}
        {can_edit.then(|| view! {
            <nav class="sections" aria-label="Sections of this page">
                <a href="#secrets">"Secrets"</a><a href="#add">"Add a secret"</a><a href="#import">"Import"</a>
                <a href="#settings">"Settings"</a>
            </nav>
        })}
        <section id="secrets" aria-labelledby="secrets-title">
            <h2 id="secrets-title">"Secrets"</h2>
            {(window.total > 0).then(|| view! { <SecretFilterForm path=path.clone() q=q.clone() status=status.clone()/> })}
            {if window.total == 0 {
                view! { <p class="muted">"No secrets here or in any parent namespace."</p> }.into_any()
            } else if effective.is_empty() {
                view! { <p class="muted" role="status">"No secrets match this filter."</p> }.into_any()
            } else {
                let here = path.clone();
                view! {
                    <table class="secrets" aria-label="Effective secrets">
                        <thead><tr>
                            <th scope="col">"Key"</th><th scope="col">"Defined in"</th><th scope="col">"Version"</th>
                            <th scope="col">"Last change"</th><th scope="col">"Rotate by"</th><th scope="col">"Tags"</th>
                        </tr></thead>
                        <tbody>{effective.into_iter().map(|s| view! { <SecretRow s here=here.clone()/> }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            {(filtered || window.pages > 1).then(|| view! { <Pager path=path.clone() q status window/> })}
        </section>
        {(!deleted.is_empty()).then(|| view! {
            <section>
                <h2>"Deleted secrets"</h2>
                <ul aria-label="Deleted secrets">
                    {deleted.into_iter().map(|m| {
                        let href = format!("/ns/{}/{}", m.namespace, m.key);
                        view! { <li><a href=href><code>{m.key.to_string()}</code></a>" "<span class="muted">"deleted by "
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
        <RequiredKeys ns=path.clone() can_edit/>
        {can_edit.then(|| view! {
            <AddForm ns=path.clone()/>
            <ImportForm ns=path.clone()/>
            <section id="settings" aria-labelledby="settings-title">
                <h2 id="settings-title">"Settings"</h2>
                <DescribeForm ns=path.clone() description/>
                {can_admin.then(|| view! { <DangerZone ns=path.clone() own_secrets child_count/> })}
            </section>
        })}
    }
}

/// Adding one secret. After a refused post the typed fields come back (never the value).
#[component]
fn AddForm(ns: String) -> impl IntoView {
    let add = ServerAction::<AddSecret>::new();
    let error = error_of(add);
    let url = AddSecret::url();
    view! {
        <section class="panel" id="add" aria-labelledby="add-title">
            <h2 id="add-title">"Add a secret"</h2>
            <ActionForm action=add>
                <input type="hidden" name="namespace" value=ns/>
                <label for="add-key">"Key"</label>
                <input id="add-key" name="key" value=typed(url, &[], "key") placeholder="DB_PASSWORD" autocomplete="off"
                    spellcheck="false" required pattern="[A-Za-z_][A-Za-z0-9_]*" maxlength="128"
                    title="Letters, digits and _, not starting with a digit" aria-describedby="add-key-hint add-key-error"/>
                <p class="hint" id="add-key-hint">"Letters, digits and " <code>"_"</code>
                    ", not starting with a digit: it becomes an environment variable name."</p>
                <FieldError error field="key" id="add-key-error".into()/>
                <label for="add-value">"Value"</label>
                <Cleared endpoint=url/>
                <textarea id="add-value" name="value" class="secret-input" rows="3" autocomplete="new-password"
                    spellcheck="false" autocapitalize="off" required aria-describedby="add-value-hint add-value-error"></textarea>
                <ValueTools field="add-value".to_owned()/>
                <p class="hint" id="add-value-hint">"Write-only: once saved, the value is never shown again. UTF-8 text \
                    up to 64 KiB; line ends are saved as LF."</p>
                <FieldError error field="value" id="add-value-error".into()/>
                <label for="add-description">"Description"</label>
                <input id="add-description" name="description" value=typed(url, &[], "description") autocomplete="off"
                    aria-describedby="add-description-error"/>
                <FieldError error field="description" id="add-description-error".into()/>
                <label for="add-tags">"Tags"</label>
                <input id="add-tags" name="tags" value=typed(url, &[], "tags") placeholder="owner=payments env=prod"
                    autocomplete="off" spellcheck="false" aria-describedby="add-tags-hint add-tags-error"/>
                <p class="hint" id="add-tags-hint">"Optional " <code>"name=value"</code> " labels, separated by spaces."</p>
                <FieldError error field="tags" id="add-tags-error".into()/>
                <FormError error fields=&["key", "value", "description", "tags"]/>
                <SubmitButton url=url>"Add secret"</SubmitButton>
            </ActionForm>
        </section>
    }
}

/// Deleting the namespace: only when empty; the button says why not otherwise.
#[component]
fn DangerZone(ns: String, own_secrets: usize, child_count: usize) -> impl IntoView {
    let reason = match (own_secrets, child_count) {
        (0, 0) => None,
        (s, 0) => Some(format!("It still has {s} secrets (deleted ones count until purged).")),
        (0, c) => Some(format!("It still has {c} child namespaces.")),
        (s, c) => Some(format!("It still has {s} secrets and {c} child namespaces.")),
    };
    view! {
        <div class="panel danger-zone">
            <h3>"Danger zone"</h3>
            <p class="hint">"Only an empty namespace can be deleted: no secrets (deleted ones count until purged), no child namespaces."</p>
            {match reason {
                None => view! { <a class="button danger" href=format!("/ns/{ns}?confirm=delete")>"Delete namespace…"</a> }.into_any(),
                Some(why) => view! {
                    <button type="button" class="danger" disabled aria-describedby="delete-why">"Delete namespace…"</button>
                    <p class="hint" id="delete-why">{why}</p>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
fn ConfirmDelete(ns: String, action: ServerAction<DeleteNamespace>) -> impl IntoView {
    let error = error_of(action);
    let here = format!("/ns/{ns}");
    view! {
        <section class="panel confirm" aria-labelledby="confirm-title">
            <h2 id="confirm-title" tabindex="-1" autofocus>{format!("Delete the namespace {ns}?")}</h2>
            <p>"Grants and tokens naming it stay, and apply again if it is created anew."</p>
            <ActionForm action>
                <input type="hidden" name="namespace" value=ns.clone()/>
                <FormError error/>
                <SubmitButton url=DeleteNamespace::url() class="danger">"Delete namespace"</SubmitButton>
                " " <a class="button secondary" href=here>"Cancel"</a>
            </ActionForm>
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
fn SecretRow(s: EffectiveSecret, here: String) -> impl IntoView {
    let EffectiveSecret { meta, own, shadows, can_open, reused } = s;
    let href = format!("/ns/{}/{}", meta.namespace, meta.key);
    let key = meta.key.to_string();
    let key_cell = if can_open {
        let same = reused.then(|| view! { " " <span class="badge" title="Another secret you may audit holds the same value">"reused"</span> });
        view! { <a href=href><code>{key}</code></a>{same} }.into_any()
    } else {
        view! { <code title="Defined outside your grants">{key}</code> }.into_any()
    };
    let defined = match (own, shadows) {
        (true, Some(parent)) => {
            view! { "here " <span class="muted">{format!("· overrides {parent}")}</span> }.into_any()
        }
        (true, None) => view! { "here" }.into_any(),
        (false, _) => {
            let href = format!("/ns/{}", meta.namespace);
            view! { <a href=href>{meta.namespace.to_string()}</a> }.into_any()
        }
    };
    let overdue = meta.overdue;
    // Outside the caller's grants only the key and where it is defined show.
    let hidden = || view! { <span class="muted" title="Defined outside your grants">"—"</span> };
    let (version, change, rotate) = if can_open {
        (
            view! { {meta.version} }.into_any(),
            view! { <When at=meta.updated_at/>" by "{meta.updated_by.clone()} }.into_any(),
            view! { <RotateBy meta=meta.clone()/> }.into_any(),
        )
    } else {
        (hidden().into_any(), hidden().into_any(), hidden().into_any())
    };
    // A tag filters this namespace's list when clicked.
    let tags = meta
        .tags
        .pairs()
        .map(|t| {
            let href = format!("/ns/{here}?q={}", encode_query_value(&t));
            view! { <a class="tag" href=href>{t}</a>" " }
        })
        .collect_view();
    let description = (!meta.description.is_empty())
        .then(|| view! { <span class="row-description">{meta.description.clone()}</span> });
    view! {
        <tr class:inherited=!own class:overdue=overdue>
            <td data-label="Key">{key_cell}{description}</td>
            <td data-label="Defined in">{defined}</td>
            <td data-label="Version">{version}</td>
            <td data-label="Last change" class="nowrap">{change}</td>
            <td data-label="Rotate by">{rotate}</td>
            <td data-label="Tags">{tags}</td>
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
        <section class="panel" id="import" aria-labelledby="import-title">
            <h2 id="import-title">"Import .env"</h2>
            <p class="hint">"Paste a .env file, Kestra's SECRET_ file (base64 values are decoded), Prefect's \
                PREFECT__CONTEXT__SECRETS__ lines or a JSON object. You will see which keys it adds, rotates or \
                leaves unchanged before anything is stored."</p>
            <ActionForm action=preview>
                <input type="hidden" name="namespace" value=ns/>
                <label for="import-content">".env file"</label>
                <Cleared endpoint=PreviewImport::url()/>
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
        <section class="panel" aria-labelledby="preview-title">
            <h2 id="preview-title" tabindex="-1" autofocus>"Import preview"</h2>
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
                                    {(!plan.shadows.is_empty()).then(|| view! {
                                        <p class="banner">"Will override inherited secrets for this subtree:"</p>
                                        <ul class="shadows" aria-label="Keys that override inherited secrets">
                                            {plan.shadows.iter().map(|(key, from)| view! {
                                                <li><code>{key.to_string()}</code>{format!(" — will override {from}/{key} for {ns} and below")}</li>
                                            }).collect_view()}
                                        </ul>
                                    })}
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
fn DescribeForm(ns: String, description: String) -> impl IntoView {
    let action = ServerAction::<DescribeNamespace>::new();
    let error = error_of(action);
    let description = match error.get_untracked() {
        Some(_) => typed(DescribeNamespace::url(), &[], "description"),
        None => description,
    };
    view! {
        <div class="panel">
            <ActionForm action>
                <input type="hidden" name="namespace" value=ns/>
                <label for="describe-description">"Namespace description"</label>
                <input id="describe-description" name="description" value=description autocomplete="off"
                    aria-describedby="describe-description-error"/>
                <FieldError error field="description" id="describe-description-error".into()/>
                <FormError error fields=&["description"]/>
                <SubmitButton url=DescribeNamespace::url()>"Save description"</SubmitButton>
            </ActionForm>
        </div>
    }
}

/// The keys this namespace requires (its own and its parents'), whether each
/// resolves here, and for editors the forms to require more or fewer.
#[component]
fn RequiredKeys(ns: String, can_edit: bool) -> impl IntoView {
    let here = ns.clone();
    let list = Resource::new(move || here.clone(), required_keys);
    let (require, unrequire) = (ServerAction::<RequireKeys>::new(), ServerAction::<UnrequireKey>::new());
    let (require_error, unrequire_error) = (error_of(require), error_of(unrequire));
    let back = format!("/ns/{ns}#required");
    let (ns_form, back_form) = (ns.clone(), back.clone());
    view! {
        <section id="required" aria-labelledby="required-title">
            <h2 id="required-title">"Required keys"</h2>
            <p><a href=format!("/completeness/{ns}")>"Completeness of this namespace and those below"</a></p>
            <FormError error=unrequire_error/>
            <Suspense fallback=Loading>
                {move || {
                    let (ns, back) = (ns.clone(), back.clone());
                    Suspend::new(async move {
                        match list.await {
                            Ok(list) if list.is_empty() => view! {
                                <p class="muted">"None. Required keys are names this namespace and those under it must define; \
                                    strongroom check says whether they do."</p>
                            }.into_any(),
                            Ok(list) => view! {
                                <div class="scroll" tabindex="0" role="region" aria-label="Required keys, scrollable">
                                <table class="required" aria-label="Required keys">
                                    <thead><tr><th scope="col">"Key"</th><th scope="col">"Required by"</th>
                                        <th scope="col">"Here"</th>{can_edit.then(|| view! { <th scope="col">"Actions"</th> })}</tr></thead>
                                    <tbody>{list.into_iter().map(|r| {
                                        let here = match &r.defined_in {
                                            Some(d) if d.as_str() == ns => "defined here".to_owned(),
                                            Some(d) => format!("inherited from {d}"),
                                            None => "missing".to_owned(),
                                        };
                                        let own = r.declared_in.as_str() == ns;
                                        let (key, label) = (r.key.to_string(), format!("No longer require {} here", r.key));
                                        let (ns, back) = (ns.clone(), back.clone());
                                        view! {
                                            <tr class:missing=r.defined_in.is_none()>
                                                <td><code>{r.key.to_string()}</code></td>
                                                <td>{r.declared_in.to_string()}</td>
                                                <td>{here}</td>
                                                {can_edit.then(|| view! { <td>{own.then(|| view! {
                                                    <ActionForm action=unrequire>
                                                        <input type="hidden" name="namespace" value=ns.clone()/>
                                                        <input type="hidden" name="key" value=key.clone()/>
                                                        <SubmitButton url=UnrequireKey::url() class="small" back=back.clone()>{label.clone()}</SubmitButton>
                                                    </ActionForm>
                                                })}</td> })}
                                            </tr>
                                        }
                                    }).collect_view()}</tbody>
                                </table>
                                </div>
                            }.into_any(),
                            Err(error) => view! { <LoadError error/> }.into_any(),
                        }
                    })
                }}
            </Suspense>
            {can_edit.then(|| view! {
                <ActionForm action=require>
                    <input type="hidden" name="namespace" value=ns_form.clone()/>
                    <label for="require-keys">"Require keys (here and below)"</label>
                    <input id="require-keys" name="keys" placeholder="DB_PASSWORD STRIPE_KEY" autocomplete="off"
                        spellcheck="false" aria-describedby="require-keys-error"/>
                    <FieldError error=require_error field="keys" id="require-keys-error".into()/>
                    <FormError error=require_error fields=&["keys"]/>
                    <SubmitButton url=RequireKeys::url() back=back_form.clone()>"Require"</SubmitButton>
                </ActionForm>
            })}
        </section>
    }
}

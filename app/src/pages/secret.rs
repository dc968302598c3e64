//! `/ns/{namespace}/{KEY}`: the secret's story — summary, how to refer to
//! it, its actions behind buttons, and its activity (versions, the last
//! changes from the trail). Destructive actions ask first (`?confirm=…`: a
//! step of its own, with JavaScript on or off).

use super::{
    namespace::RotateBy,
    reader::{Reads, ReadsTable},
    LoadError, Loading,
};
use crate::{
    api::{
        audit::list_audit,
        secrets::{
            delete_preview, get_secret, same_value, secret_readers, DeleteSecret, DescribeSecret, PurgeSecret,
            RestoreSecret, RestoreVersion, RotateSecret, SetRetention, SetRotation, SetTags,
        },
    },
    components::{
        error_of, settled, typed, Cleared, CopyButton, Crumbs, FieldError, FormError, MeResource, SubmitButton,
        ValueTools, When,
    },
    domain::{
        audit::AuditEntry,
        view::{ReaderView, Retention, Rotation, SameValueView, SecretDetail, SecretMeta, VersionMeta},
        Role,
    },
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The page's resources beyond the secret itself (see `SecretPage`).
#[derive(Clone, Copy)]
struct Extras {
    readers: Resource<Result<Vec<ReaderView>, crate::error::AppError>>,
    shared: Resource<Option<SameValueView>>,
}

#[derive(Clone, Copy)]
struct Actions {
    rotate: ServerAction<RotateSecret>,
    delete: ServerAction<DeleteSecret>,
    restore: ServerAction<RestoreSecret>,
    restore_version: ServerAction<RestoreVersion>,
    rotation: ServerAction<SetRotation>,
    retention: ServerAction<SetRetention>,
    tags: ServerAction<SetTags>,
    describe: ServerAction<DescribeSecret>,
    purge: ServerAction<PurgeSecret>,
}

/// What the page asks to confirm (`?confirm=delete|purge|restore&version=N`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Confirm {
    Delete,
    Purge,
    RestoreVersion(u32),
}

impl Confirm {
    fn from_query(confirm: &str, version: &str) -> Option<Self> {
        match confirm {
            "delete" => Some(Self::Delete),
            "purge" => Some(Self::Purge),
            "restore" => version.parse().ok().map(Self::RestoreVersion),
            _ => None,
        }
    }
}

#[component]
pub fn SecretPage() -> impl IntoView {
    let params = settled(use_params_map());
    let query = settled(use_query_map());
    let ns = move || params.read().get("namespace").unwrap_or_default();
    let key = move || params.read().get("key").unwrap_or_default();
    let confirm = query.with_untracked(|q| {
        Confirm::from_query(&q.get("confirm").unwrap_or_default(), &q.get("version").unwrap_or_default())
    });
    let actions = Actions {
        rotate: ServerAction::new(),
        delete: ServerAction::new(),
        restore: ServerAction::new(),
        restore_version: ServerAction::new(),
        rotation: ServerAction::new(),
        retention: ServerAction::new(),
        tags: ServerAction::new(),
        describe: ServerAction::new(),
        purge: ServerAction::new(),
    };
    let detail = Resource::new(move || (ns(), key()), |(ns, key)| get_secret(ns, key));
    let me = expect_context::<MeResource>();
    // Made here, once per page, not in the body below: the body is built again
    // when what it awaits settles, and a resource made there could still be
    // loading when its first build is dropped (its request then has no state).
    let more = Extras {
        readers: Resource::new(move || (ns(), key()), |(ns, key)| secret_readers(ns, key)),
        // Only those who may read the trail are asked (anyone else would be refused, and audited).
        shared: Resource::new(
            move || (ns(), key()),
            move |(ns, key)| async move {
                match me.await {
                    Ok(me) if me.can_read_trail() => same_value(ns, key).await.ok(),
                    _ => None,
                }
            },
        ),
    };

    view! {
        <Crumbs ns=ns() last_is_link=true/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let (detail, me) = (detail.await, me.await);
                match detail {
                    Ok(d) => {
                        let can = |role| me.as_ref().is_ok_and(|me| me.can(role, &d.meta.namespace));
                        let (can_edit, can_purge) = (can(Role::Editor), can(Role::Admin));
                        let reads_trail = me.as_ref().is_ok_and(|me| me.can_read_trail());
                        view! { <SecretBody d actions more can_edit can_purge reads_trail confirm/> }.into_any()
                    }
                    Err(error) => view! { <h1>{key()}</h1><LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SecretBody(
    d: SecretDetail,
    actions: Actions,
    more: Extras,
    can_edit: bool,
    can_purge: bool,
    reads_trail: bool,
    confirm: Option<Confirm>,
) -> impl IntoView {
    let SecretDetail { meta, versions, shadows, retention } = d;
    let (ns, key) = (meta.namespace.to_string(), meta.key.to_string());
    let deleted = meta.deleted_at.is_some();
    let here = format!("/ns/{ns}/{key}");
    // A confirmation is a step of its own: the rest of the page waits.
    let confirm = confirm.filter(|c| match c {
        Confirm::Delete | Confirm::RestoreVersion(_) => can_edit,
        Confirm::Purge => can_purge && deleted,
    });
    view! {
        // Titled from the loaded data: a closure over the route params would run
        // after the route's reactive scope is gone, when SSR writes the <head>.
        <Title text=format!("{key} · {ns} · Strongroom")/>
        <h1 class="key-title"><code id="key-name">{key.clone()}</code>" "
            <CopyButton from="key-name".to_owned() what="the key name".to_owned()/></h1>
        {match confirm {
            Some(c) => view! { <ConfirmStep c meta=meta.clone() actions here/> }.into_any(),
            None => view! {
                <Summary meta=meta.clone() shadows retention/>
                {(reads_trail && !deleted).then(|| view! { <SameValue shared=more.shared/> })}
                {(!deleted).then(|| view! { <References ns=ns.clone() key=key.clone()/> })}
                <ReadBy readers=more.readers/>
                {can_edit.then(|| view! {
                    <ActionsPanel meta=meta.clone() retention can_purge actions here=here.clone()/>
                })}
                <Activity versions meta reads_trail can_restore=can_edit && !deleted here/>
            }.into_any(),
        }}
    }
}

/// What the secret is: one glance.
#[component]
fn Summary(meta: SecretMeta, shadows: Option<crate::domain::NamespacePath>, retention: Retention) -> impl IntoView {
    let rotation = match (&meta.rotation, meta.due) {
        (Rotation::EveryDays(_), Some(due)) => format!("{} — next by {}", meta.rotation, due.date()),
        (rotation, _) => rotation.to_string(),
    };
    view! {
        {meta.deleted_at.map(|at| view! {
            <p class="banner" role="status">"Deleted " <When at/> " by " {meta.deleted_by.clone()}
                ". Workloads no longer see it; restore it to bring it back."</p>
        })}
        {if meta.description.is_empty() {
            view! { <p class="description muted">"No description."</p> }.into_any()
        } else {
            view! { <p class="description">{meta.description.clone()}</p> }.into_any()
        }}
        <dl class="meta">
            <dt>"Defined in"</dt><dd>{meta.namespace.to_string()}
                {shadows.map(|p| view! { <span class="muted">{format!(" — overrides {p}/{} for this subtree", meta.key)}</span> })}</dd>
            <dt>"Version"</dt><dd><span data-testid="current-version">{meta.version}</span>
                <span class="muted">" — value since "<When at=meta.value_since/></span></dd>
            <dt>"Rotation"</dt><dd data-testid="rotation">{rotation}
                {meta.overdue.then(|| view! { " " <RotateBy meta=meta.clone()/> })}</dd>
            <dt>"Tags"</dt><dd data-testid="tags">{if meta.tags.is_empty() {
                view! { <span class="muted">"none"</span> }.into_any()
            } else {
                let ns = meta.namespace.to_string();
                meta.tags.pairs().map(|t| {
                    let href = format!("/ns/{ns}?q={}", crate::components::encode_query_value(&t));
                    view! { <a class="tag" href=href>{t}</a>" " }
                }).collect_view().into_any()
            }}</dd>
            <dt>"Versions kept"</dt><dd data-testid="retention">{retention.keep()}
                {retention.own.is_none().then_some(" (the default)")}</dd>
            <dt>"Created"</dt><dd><When at=meta.created_at/>" by "{meta.created_by.clone()}</dd>
            <dt>"Last change"</dt><dd><When at=meta.updated_at/>" by "{meta.updated_by.clone()}</dd>
            <dt>"Last read"</dt><dd data-testid="last-read">{match meta.last_read {
                Some(at) => view! { <When at/>" by a workload" }.into_any(),
                None => view! { <span class="muted">"never read by a workload"</span> }.into_any(),
            }}</dd>
        </dl>
    }
}

/// Which other secrets the viewer may see hold the same value (for auditors
/// and admins; the server refuses anyone else, and then nothing shows).
#[component]
fn SameValue(shared: Resource<Option<SameValueView>>) -> impl IntoView {
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                shared.await.filter(|s| !s.same_as.is_empty()).map(|s| view! {
                    <div class="banner" role="note" data-testid="same-value">
                        {s.same_as_parent.map(|p| view! {
                            <p>{format!("Same value as the parent it overrides ({p}): this override changes nothing.")}</p>
                        })}
                        <p>"Same value as "{s.same_as.into_iter().enumerate().map(|(i, other)| {
                            let href = format!("/ns/{other}");
                            view! { {(i > 0).then_some(", ")}<a href=href><code>{other}</code></a> }
                        }).collect_view()}". Rotating one leaves the others as they are."</p>
                    </div>
                })
            })}
        </Suspense>
    }
}

/// Every workload identity that read the value (from the trail's read
/// summary): who, how often, when last — before a rotation, who to tell.
#[component]
fn ReadBy(readers: Resource<Result<Vec<ReaderView>, crate::error::AppError>>) -> impl IntoView {
    view! {
        <section aria-labelledby="read-by-title">
            <h2 id="read-by-title">"Read by"</h2>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match readers.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted">"No workload has read this value."</p>
                        }.into_any(),
                        Ok(list) => {
                            let rows = list.into_iter().map(|r| Reads {
                                href: format!("/readers/{}", r.reader),
                                name: r.reader,
                                reads: r.reads,
                                last_at: r.last_at,
                            });
                            view! { <ReadsTable label="Read by" first="Workload" rows=rows.collect()/> }.into_any()
                        }
                        Err(error) => view! { <LoadError error/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Ready-to-paste ways to refer to the secret, each with a copy button.
#[component]
fn References(ns: String, key: String) -> impl IntoView {
    let refs = [
        ("ref-kestra", "Kestra", format!("{{{{ secret('{key}') }}}}")),
        ("ref-cli", "Command line", format!("strongroom get {ns} {key}")),
        ("ref-vault", "Vault / OpenBao", format!("bao kv get -mount=secret -field={key} {}", ns.replace('.', "/"))),
        ("ref-api", "HTTP API", format!("/v1/namespaces/{ns}/secrets/{key}")),
    ];
    view! {
        <section class="panel references" aria-labelledby="references-title">
            <h2 id="references-title">"Use it"</h2>
            <dl class="meta">
                {refs.into_iter().map(|(id, label, text)| view! {
                    <dt>{label}</dt>
                    <dd><code id=id>{text}</code>" "
                        <CopyButton from=id.to_owned() what=format!("the {label} reference")/></dd>
                }).collect_view()}
            </dl>
        </section>
    }
}

/// The actions, each behind its own button (`<details>`: no script needed).
/// A form whose post was refused opens again, with what was typed.
#[component]
fn ActionsPanel(
    meta: SecretMeta,
    retention: Retention,
    can_purge: bool,
    actions: Actions,
    here: String,
) -> impl IntoView {
    let (ns, key) = (meta.namespace.to_string(), meta.key.to_string());
    if meta.deleted_at.is_some() {
        return view! {
            <section class="panel" aria-labelledby="actions-title">
                <h2 id="actions-title">"Actions"</h2>
                <RestoreForm ns=ns.clone() key=key.clone() action=actions.restore/>
                {can_purge.then(|| view! {
                    <p><a class="button danger" href=format!("{here}?confirm=purge")>"Purge…"</a></p>
                })}
            </section>
        }
        .into_any();
    }
    let open = |failed: bool| failed.then_some("");
    let rotate_open = open(error_of(actions.rotate).get_untracked().is_some());
    let details_open =
        open(error_of(actions.describe).get_untracked().is_some() || error_of(actions.tags).get_untracked().is_some());
    let rotation_open = open(error_of(actions.rotation).get_untracked().is_some());
    let retention_open = open(error_of(actions.retention).get_untracked().is_some());
    // A delete or a version restore refused after its step comes back here, saying why.
    let (delete_error, restore_error) = (error_of(actions.delete), error_of(actions.restore_version));
    view! {
        <section class="panel actions" aria-labelledby="actions-title">
            <h2 id="actions-title">"Actions"</h2>
            <FormError error=delete_error/>
            <FormError error=restore_error/>
            <details open=rotate_open>
                <summary>"Rotate the value"</summary>
                <RotateForm ns=ns.clone() key=key.clone() shown=meta.version action=actions.rotate/>
            </details>
            <details open=details_open>
                <summary>"Edit description and tags"</summary>
                <DescribeForm ns=ns.clone() key=key.clone() description=meta.description.clone() action=actions.describe/>
                <TagsForm ns=ns.clone() key=key.clone() tags=meta.tags.to_string() action=actions.tags/>
            </details>
            <details open=rotation_open>
                <summary>"Rotation policy"</summary>
                <RotationForm ns=ns.clone() key=key.clone() rotation=meta.rotation action=actions.rotation/>
            </details>
            {can_purge.then(|| view! {
                <details open=retention_open>
                    <summary>"Versions kept"</summary>
                    <RetentionForm ns=ns.clone() key=key.clone() retention action=actions.retention/>
                </details>
            })}
            <p><a class="button danger" href=format!("{here}?confirm=delete")>"Delete…"</a></p>
        </section>
    }
    .into_any()
}

/// The step that asks before a destructive action, with Cancel back to the page.
#[component]
fn ConfirmStep(c: Confirm, meta: SecretMeta, actions: Actions, here: String) -> impl IntoView {
    let (ns, key) = (meta.namespace.to_string(), meta.key.to_string());
    let cancel = view! { <a class="button secondary" href=here.clone()>"Cancel"</a> };
    let body = match c {
        Confirm::Delete => {
            let effects = Resource::new(|| (), {
                let (ns, key) = (ns.clone(), key.clone());
                move |_| delete_preview(ns.clone(), key.clone())
            });
            let error = error_of(actions.delete);
            let (ns2, key2) = (ns.clone(), key.clone());
            view! {
                <h2 id="confirm-title" tabindex="-1" autofocus>{format!("Delete {key} from {ns}?")}</h2>
                <Suspense fallback=Loading>
                    {move || {
                        let (ns, key) = (ns2.clone(), key2.clone());
                        Suspend::new(async move {
                            effects.await.ok().map(|e| {
                                let instead = match &e.instead {
                                    Some(p) => format!("They will see {p}/{key} instead."),
                                    None => "They will have no value for it.".to_owned(),
                                };
                                let own = match &e.instead {
                                    Some(p) => format!("{ns} itself will see {p}/{key} instead."),
                                    None => format!("Workloads reading {ns} will no longer find {key}."),
                                };
                                view! {
                                    <p>{own}</p>
                                    {if e.below.is_empty() {
                                        view! { <p class="muted">"No namespace below inherits it."</p> }.into_any()
                                    } else {
                                        view! {
                                            <p>{format!("{} namespaces below stop seeing this value:", e.below.len())}</p>
                                            <ul class="plain dependents" aria-label="Namespaces that stop seeing it">
                                                {e.below.iter().map(|p| view! { <li><code>{p.to_string()}</code></li> }).collect_view()}
                                            </ul>
                                            <p>{instead}</p>
                                        }.into_any()
                                    }}
                                }
                            })
                        })
                    }}
                </Suspense>
                <p class="hint">"It can be restored from this page until it is purged."</p>
                <ActionForm action=actions.delete>
                    <input type="hidden" name="namespace" value=ns.clone()/>
                    <input type="hidden" name="key" value=key.clone()/>
                    <FormError error/>
                    <SubmitButton url=DeleteSecret::url() class="danger" back=here.clone()>{format!("Delete {key}")}</SubmitButton>
                    " " {cancel}
                </ActionForm>
            }
            .into_any()
        }
        Confirm::Purge => {
            let error = error_of(actions.purge);
            view! {
                <h2 id="confirm-title" tabindex="-1" autofocus>{format!("Purge {key} from {ns}?")}</h2>
                <p>"Every version of its value is destroyed for good. This cannot be undone."</p>
                <ActionForm action=actions.purge>
                    <input type="hidden" name="namespace" value=ns.clone()/>
                    <input type="hidden" name="key" value=key.clone()/>
                    <label for="purge-confirm">"Type " <code>{key.clone()}</code> " to confirm"</label>
                    <input id="purge-confirm" name="confirm" required autocomplete="off" spellcheck="false"
                        pattern=regex_literal(&key) aria-describedby="purge-confirm-error"/>
                    <FieldError error field="confirm" id="purge-confirm-error".into()/>
                    <FormError error fields=&["confirm"]/>
                    <SubmitButton url=PurgeSecret::url() class="danger">{format!("Purge {key}")}</SubmitButton>
                    " " {cancel}
                </ActionForm>
            }
            .into_any()
        }
        Confirm::RestoreVersion(version) => {
            let error = error_of(actions.restore_version);
            view! {
                <h2 id="confirm-title" tabindex="-1" autofocus>{format!("Restore version {version} of {key}?")}</h2>
                <p>{format!("Its value becomes version {}, the current one; version {} stays in the history.",
                    meta.version + 1, meta.version)}</p>
                <ActionForm action=actions.restore_version>
                    <input type="hidden" name="namespace" value=ns.clone()/>
                    <input type="hidden" name="key" value=key.clone()/>
                    <input type="hidden" name="version" value=version/>
                    <FormError error/>
                    <SubmitButton url=RestoreVersion::url() back=here.clone()>{format!("Restore version {version}")}</SubmitButton>
                    " " {cancel}
                </ActionForm>
            }
            .into_any()
        }
    };
    view! { <section class="panel confirm" aria-labelledby="confirm-title">{body}</section> }
}

/// `text` as a pattern that matches exactly it (keys are `[A-Za-z0-9_.-]`).
fn regex_literal(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c.to_string() } else { format!("\\{c}") }).collect()
}

#[component]
fn RotateForm(ns: String, key: String, shown: u32, action: ServerAction<RotateSecret>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <ActionForm action>
            <input type="hidden" name="namespace" value=ns/>
            <input type="hidden" name="key" value=key/>
            // The version this page showed: a rotation by someone else since is refused, not overwritten.
            <input type="hidden" name="version" value=shown/>
            <label for="rotate-value">"New value"</label>
            <Cleared endpoint=RotateSecret::url()/>
            <textarea id="rotate-value" name="value" class="secret-input" rows="3" autocomplete="new-password"
                spellcheck="false" autocapitalize="off" required aria-describedby="rotate-value-hint rotate-value-error"></textarea>
            <ValueTools field="rotate-value".to_owned()/>
            <p class="hint" id="rotate-value-hint">"Write-only: UTF-8 text up to 64 KiB. Line ends are saved as LF."</p>
            <FieldError error field="value" id="rotate-value-error".into()/>
            <FormError error fields=&["value"]/>
            <SubmitButton url=RotateSecret::url()>"Rotate"</SubmitButton>
        </ActionForm>
    }
}

#[component]
fn DescribeForm(ns: String, key: String, description: String, action: ServerAction<DescribeSecret>) -> impl IntoView {
    let error = error_of(action);
    let typed_description = typed(DescribeSecret::url(), &[], "description");
    let description = if error.get_untracked().is_some() { typed_description } else { description };
    view! {
        <ActionForm action>
            <input type="hidden" name="namespace" value=ns/>
            <input type="hidden" name="key" value=key/>
            <label for="describe-description">"Description"</label>
            <input id="describe-description" name="description" value=description autocomplete="off"
                aria-describedby="describe-description-error"/>
            <FieldError error field="description" id="describe-description-error".into()/>
            <FormError error fields=&["description"]/>
            <SubmitButton url=DescribeSecret::url()>"Save description"</SubmitButton>
        </ActionForm>
    }
}

#[component]
fn RetentionForm(ns: String, key: String, retention: Retention, action: ServerAction<SetRetention>) -> impl IntoView {
    let error = error_of(action);
    let keep = match error.get_untracked() {
        Some(_) => typed(SetRetention::url(), &[], "keep"),
        None => retention.own.map(|n| n.to_string()).unwrap_or_default(),
    };
    view! {
        <ActionForm action>
            <input type="hidden" name="namespace" value=ns/>
            <input type="hidden" name="key" value=key/>
            <label for="retention-keep">"Keep the values of the last"</label>
            <input id="retention-keep" name="keep" type="number" min="1" max=Retention::MAX value=keep
                placeholder=retention.default.to_string() aria-describedby="retention-keep-error"/>
            <FieldError error field="keep" id="retention-keep-error".into()/>
            <p class="hint">"Empty: the server's default ("{retention.default}"). Older values are destroyed; their history stays."</p>
            <FormError error fields=&["keep"]/>
            <SubmitButton url=SetRetention::url()>"Set versions kept"</SubmitButton>
        </ActionForm>
    }
}

#[component]
fn RotationForm(ns: String, key: String, rotation: Rotation, action: ServerAction<SetRotation>) -> impl IntoView {
    let error = error_of(action);
    // Prefilled with the policy in force, or with what a refused post typed.
    let (by, every) = match (error.get_untracked(), rotation) {
        (Some(_), _) => (typed(SetRotation::url(), &[], "rotate_by"), typed(SetRotation::url(), &[], "every_days")),
        (None, Rotation::By(t)) => (t.date(), String::new()),
        (None, Rotation::EveryDays(n)) => (String::new(), n.to_string()),
        (None, Rotation::None) => (String::new(), String::new()),
    };
    view! {
        <ActionForm action attr:class="inline-fields">
            <input type="hidden" name="namespace" value=ns/>
            <input type="hidden" name="key" value=key/>
            <span class="filter-field">
                <label for="rotation-every">"Every (days)"</label>
                <input id="rotation-every" name="every_days" type="number" min="1" max="3650" value=every
                    aria-describedby="rotation-every-error"/>
            </span>
            <span class="filter-field">
                <label for="rotation-by">"Or by (date)"</label>
                <input id="rotation-by" name="rotate_by" type="date" value=by aria-describedby="rotation-by-error"/>
            </span>
            <FieldError error field="every_days" id="rotation-every-error".into()/>
            <FieldError error field="rotate_by" id="rotation-by-error".into()/>
            <p class="hint">"An interval counts from each rotation. Leave both empty to clear the policy."</p>
            <FormError error fields=&["rotate_by", "every_days"]/>
            <SubmitButton url=SetRotation::url()>"Set rotation"</SubmitButton>
        </ActionForm>
    }
}

#[component]
fn TagsForm(ns: String, key: String, tags: String, action: ServerAction<SetTags>) -> impl IntoView {
    let error = error_of(action);
    let tags = if error.get_untracked().is_some() { typed(SetTags::url(), &[], "tags") } else { tags };
    view! {
        <ActionForm action>
            <input type="hidden" name="namespace" value=ns/>
            <input type="hidden" name="key" value=key/>
            <label for="tags-tags">"Tags"</label>
            <input id="tags-tags" name="tags" value=tags placeholder="owner=payments env=prod" autocomplete="off"
                spellcheck="false" aria-describedby="tags-tags-hint tags-tags-error"/>
            <p class="hint" id="tags-tags-hint">"Replaces every tag: " <code>"name=value"</code>
                " pairs separated by spaces; empty removes them all."</p>
            <FieldError error field="tags" id="tags-tags-error".into()/>
            <FormError error fields=&["tags"]/>
            <SubmitButton url=SetTags::url()>"Save tags"</SubmitButton>
        </ActionForm>
    }
}

#[component]
fn RestoreForm(ns: String, key: String, action: ServerAction<RestoreSecret>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <ActionForm action>
            <input type="hidden" name="namespace" value=ns/>
            <input type="hidden" name="key" value=key/>
            <FormError error/>
            <SubmitButton url=RestoreSecret::url()>"Restore"</SubmitButton>
        </ActionForm>
    }
}

/// Versions, and the last changes from the trail with a link to all of it.
#[component]
fn Activity(
    versions: Vec<VersionMeta>,
    meta: SecretMeta,
    reads_trail: bool,
    can_restore: bool,
    here: String,
) -> impl IntoView {
    let (ns, key, current) = (meta.namespace.to_string(), meta.key.to_string(), meta.version);
    let trail = Resource::new(|| (), {
        let (ns, key) = (ns.clone(), key.clone());
        move |_| {
            let (ns, key) = (ns.clone(), key.clone());
            async move {
                match reads_trail {
                    true => list_audit(
                        ns,
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        None,
                        Some(key),
                        None,
                    )
                    .await
                    .map(|p| p.entries.into_iter().filter(|e| e.action != "read").take(8).collect())
                    .unwrap_or_default(),
                    false => Vec::<AuditEntry>::new(),
                }
            }
        }
    });
    let all = format!("/audit?namespace={}&key={}", crate::components::encode_query_value(&ns), key);
    view! {
        <section aria-labelledby="activity-title">
            <h2 id="activity-title">"Activity"</h2>
            <h3>"Versions"</h3>
            <div class="scroll" tabindex="0" role="region" aria-label="Versions, scrollable">
            <table class="versions" aria-label="Versions">
                <thead><tr><th scope="col">"Version"</th><th scope="col">"Stored"</th><th scope="col">"Note"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {versions.into_iter().map(|v| {
                        let note = match (v.destroyed, v.restored_from) {
                            (true, _) => "value destroyed (past retention)".to_owned(),
                            (false, Some(from)) => format!("restored from version {from}"),
                            (false, None) if v.version == current => "current".to_owned(),
                            (false, None) => String::new(),
                        };
                        let restorable = can_restore && !v.destroyed && v.version != current;
                        let href = format!("{here}?confirm=restore&version={}", v.version);
                        view! {
                            <tr>
                                <td>{v.version}</td>
                                <td class="nowrap"><When at=v.created_at/>" by "{v.created_by}</td>
                                <td>{note}</td>
                                <td>{restorable.then(|| view! {
                                    <a class="button small" href=href>{format!("Restore version {}…", v.version)}</a>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            {reads_trail.then(|| view! {
                <h3>"Last changes"</h3>
                <Suspense fallback=Loading>
                    {move || Suspend::new(async move {
                        let entries = trail.await;
                        if entries.is_empty() {
                            return view! { <p class="muted">"Nothing in the trail yet."</p> }.into_any();
                        }
                        view! {
                            <ul class="plain changes" aria-label="Last changes">
                                {entries.into_iter().map(|e| view! {
                                    <li><When at=e.at/>" — "<strong>{e.actor}</strong>" "{e.action}
                                        {e.version.map(|v| format!(" (version {v})"))}
                                        {(e.outcome != "ok").then(|| view! { " " <span class="muted">{e.outcome}</span> })}</li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })}
                </Suspense>
                <p><a href=all.clone()>"All of it in the audit trail"</a></p>
            })}
        </section>
    }
}

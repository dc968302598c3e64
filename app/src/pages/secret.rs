//! `/ns/{namespace}/{KEY}`: metadata, version history, rotate, delete, restore.

use super::{namespace::RotateBy, LoadError, Loading};
use crate::{
    api::secrets::{
        get_secret, DeleteSecret, PurgeSecret, RestoreSecret, RestoreVersion, RotateSecret, SetRetention, SetRotation,
        SetTags,
    },
    components::{error_of, settled, FieldError, FormError, MeResource, SubmitButton},
    domain::{
        view::{Retention, SecretDetail, VersionMeta},
        Role,
    },
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[derive(Clone, Copy)]
struct Actions {
    rotate: ServerAction<RotateSecret>,
    delete: ServerAction<DeleteSecret>,
    restore: ServerAction<RestoreSecret>,
    restore_version: ServerAction<RestoreVersion>,
    rotation: ServerAction<SetRotation>,
    retention: ServerAction<SetRetention>,
    tags: ServerAction<SetTags>,
    purge: ServerAction<PurgeSecret>,
}

#[component]
pub fn SecretPage() -> impl IntoView {
    let params = settled(use_params_map());
    let ns = move || params.read().get("namespace").unwrap_or_default();
    let key = move || params.read().get("key").unwrap_or_default();
    let actions = Actions {
        rotate: ServerAction::new(),
        delete: ServerAction::new(),
        restore: ServerAction::new(),
        restore_version: ServerAction::new(),
        rotation: ServerAction::new(),
        retention: ServerAction::new(),
        tags: ServerAction::new(),
        purge: ServerAction::new(),
    };
    let detail = Resource::new(move || (ns(), key()), |(ns, key)| get_secret(ns, key));
    let me = expect_context::<MeResource>();

    view! {
        <nav class="crumbs"><a href="/">"Namespaces"</a>" / "<a href=move || format!("/ns/{}", ns())>{ns}</a></nav>
        <h1>{key}</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let (detail, me) = (detail.await, me.await);
                match detail {
                    Ok(d) => {
                        let can = |role| me.as_ref().is_ok_and(|me| me.can(role, &d.meta.namespace));
                        let (can_edit, can_purge) = (can(Role::Editor), can(Role::Admin));
                        view! { <SecretBody d actions can_edit can_purge/> }.into_any()
                    }
                    Err(error) => view! { <LoadError error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SecretBody(d: SecretDetail, actions: Actions, can_edit: bool, can_purge: bool) -> impl IntoView {
    let SecretDetail { meta, versions, shadows, retention } = d;
    let (ns, key) = (meta.namespace.to_string(), meta.key.to_string());
    let deleted = meta.deleted_at.is_some();
    let current = meta.version;
    view! {
        // Titled from the loaded data: a closure over the route params would run
        // after the route's reactive scope is gone, when SSR writes the <head>.
        <Title text=format!("{key} · {ns} · Strongroom")/>
        {deleted.then(|| view! {
            <p class="banner" role="status">"Deleted " {meta.deleted_at.map(|t| t.to_string())} " by "
                {meta.deleted_by.clone()} ". Workloads no longer see it; restore it to bring it back."</p>
        })}
        <dl class="meta">
            <dt>"Namespace"</dt><dd>{ns.clone()}</dd>
            <dt>"Description"</dt><dd>{meta.description.clone()}</dd>
            <dt>"Tags"</dt><dd data-testid="tags">{if meta.tags.is_empty() {
                view! { <span class="muted">"none"</span> }.into_any()
            } else {
                meta.tags.pairs().map(|t| view! { <span class="tag">{t}</span>" " }).collect_view().into_any()
            }}</dd>
            <dt>"Current version"</dt><dd data-testid="current-version">{current}</dd>
            <dt>"Created"</dt><dd>{meta.created_at.to_string()}" by "{meta.created_by.clone()}</dd>
            <dt>"Updated"</dt><dd>{meta.updated_at.to_string()}" by "{meta.updated_by.clone()}</dd>
            <dt>"Value since"</dt><dd>{meta.value_since.to_string()}</dd>
            <dt>"Rotation"</dt><dd data-testid="rotation">{meta.rotation.to_string()}</dd>
            <dt>"Rotate by"</dt><dd data-testid="rotate-by"><RotateBy meta=meta.clone()/></dd>
            <dt>"Versions kept"</dt><dd data-testid="retention">{retention.keep()}
                {retention.own.is_none().then_some(" (the default)")}</dd>
            {shadows.map(|p| view! { <dt>"Shadows"</dt><dd>"the definition in "{p.to_string()}</dd> })}
        </dl>
        {if !can_edit {
            ().into_any()
        } else if deleted {
            view! {
                <RestoreForm ns=ns.clone() key=key.clone() action=actions.restore/>
                {can_purge.then(|| view! { <PurgeForm ns=ns.clone() key=key.clone() action=actions.purge/> })}
            }.into_any()
        } else {
            view! {
                <RotateForm ns=ns.clone() key=key.clone() shown=current action=actions.rotate/>
                <RotationForm ns=ns.clone() key=key.clone() action=actions.rotation/>
                <TagsForm ns=ns.clone() key=key.clone() tags=meta.tags.to_string() action=actions.tags/>
                {can_purge.then(|| view! { <RetentionForm ns=ns.clone() key=key.clone() retention action=actions.retention/> })}
                <DeleteForm ns=ns.clone() key=key.clone() action=actions.delete/>
            }.into_any()
        }}
        <VersionTable versions ns key current can_restore=can_edit && !deleted action=actions.restore_version/>
    }
}

#[component]
fn RotateForm(ns: String, key: String, shown: u32, action: ServerAction<RotateSecret>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <section class="panel">
            <h2>"Rotate"</h2>
            <ActionForm action>
                <input type="hidden" name="namespace" value=ns/>
                <input type="hidden" name="key" value=key/>
                // The version this page showed: a rotation by someone else since is refused, not overwritten.
                <input type="hidden" name="version" value=shown/>
                <label for="rotate-value">"New value"</label>
                <textarea id="rotate-value" name="value" class="secret-input" rows="3" autocomplete="new-password"
                    spellcheck="false" autocapitalize="off" aria-describedby="rotate-value-error"></textarea>
                <FieldError error field="value" id="rotate-value-error".into()/>
                <FormError error fields=&["value"]/>
                <SubmitButton url=RotateSecret::url()>"Rotate"</SubmitButton>
            </ActionForm>
        </section>
    }
}

#[component]
fn RetentionForm(ns: String, key: String, retention: Retention, action: ServerAction<SetRetention>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <section class="panel">
            <h2>"Versions kept"</h2>
            <ActionForm action>
                <input type="hidden" name="namespace" value=ns/>
                <input type="hidden" name="key" value=key/>
                <label for="retention-keep">"Keep the values of the last"</label>
                <input id="retention-keep" name="keep" type="number" min="1" max=Retention::MAX
                    value=retention.own.map(|n| n.to_string()).unwrap_or_default()
                    placeholder=retention.default.to_string() aria-describedby="retention-keep-error"/>
                <FieldError error field="keep" id="retention-keep-error".into()/>
                <p class="hint">"Empty: the server's default ("{retention.default}"). Older values are destroyed; their history stays."</p>
                <FormError error fields=&["keep"]/>
                <SubmitButton url=SetRetention::url()>"Set versions kept"</SubmitButton>
            </ActionForm>
        </section>
    }
}

#[component]
fn RotationForm(ns: String, key: String, action: ServerAction<SetRotation>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <section class="panel">
            <h2>"Rotation policy"</h2>
            <ActionForm action>
                <input type="hidden" name="namespace" value=ns/>
                <input type="hidden" name="key" value=key/>
                <label for="rotation-by">"Rotate by"</label>
                <input id="rotation-by" name="rotate_by" type="date" aria-describedby="rotation-by-error"/>
                <FieldError error field="rotate_by" id="rotation-by-error".into()/>
                <label for="rotation-every">"Or every (days)"</label>
                <input id="rotation-every" name="every_days" type="number" min="1" max="3650"
                    aria-describedby="rotation-every-error"/>
                <FieldError error field="every_days" id="rotation-every-error".into()/>
                <p class="hint">"Leave both empty to clear the policy. An interval counts from each rotation."</p>
                <FormError error fields=&["rotate_by", "every_days"]/>
                <SubmitButton url=SetRotation::url()>"Set rotation"</SubmitButton>
            </ActionForm>
        </section>
    }
}

#[component]
fn TagsForm(ns: String, key: String, tags: String, action: ServerAction<SetTags>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <section class="panel">
            <h2>"Tags"</h2>
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
                <SubmitButton url=SetTags::url()>"Set tags"</SubmitButton>
            </ActionForm>
        </section>
    }
}

#[component]
fn DeleteForm(ns: String, key: String, action: ServerAction<DeleteSecret>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <ActionForm action>
            <input type="hidden" name="namespace" value=ns/>
            <input type="hidden" name="key" value=key/>
            <FormError error/>
            <SubmitButton url=DeleteSecret::url() class="danger">"Delete"</SubmitButton>
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

#[component]
fn PurgeForm(ns: String, key: String, action: ServerAction<PurgeSecret>) -> impl IntoView {
    let error = error_of(action);
    view! {
        <section class="panel">
            <h2>"Purge"</h2>
            <p class="hint">"Removes this secret and every version of its value for good. This cannot be undone."</p>
            <ActionForm action>
                <input type="hidden" name="namespace" value=ns/>
                <input type="hidden" name="key" value=key/>
                <FormError error/>
                <SubmitButton url=PurgeSecret::url() class="danger">"Purge"</SubmitButton>
            </ActionForm>
        </section>
    }
}

#[component]
fn VersionTable(
    versions: Vec<VersionMeta>,
    ns: String,
    key: String,
    current: u32,
    can_restore: bool,
    action: ServerAction<RestoreVersion>,
) -> impl IntoView {
    let error = error_of(action);
    view! {
        <section>
            <h2>"Versions"</h2>
            <FormError error/>
            <table class="versions" aria-label="Versions">
                <thead><tr><th scope="col">"Version"</th><th scope="col">"Created"</th><th scope="col">"Note"</th>
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
                        let (ns, key) = (ns.clone(), key.clone());
                        view! {
                            <tr>
                                <td>{v.version}</td>
                                <td>{v.created_at.to_string()}" by "{v.created_by}</td>
                                <td>{note}</td>
                                <td>{restorable.then(|| view! {
                                    <ActionForm action>
                                        <input type="hidden" name="namespace" value=ns/>
                                        <input type="hidden" name="key" value=key/>
                                        <input type="hidden" name="version" value=v.version/>
                                        <SubmitButton url=RestoreVersion::url()>"Restore version "{v.version}</SubmitButton>
                                    </ActionForm>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

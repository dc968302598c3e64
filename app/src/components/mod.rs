//! Widgets shared by the pages: form errors and submit buttons.

use crate::{
    domain::{Me, NamespacePath, Role},
    error::AppError,
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_url;

/// The signed-in user, loaded once per page by `App`.
pub type MeResource = Resource<Result<Me, AppError>>;

/// Renders `children` only when the signed-in user holds `role` on `ns` (or,
/// without `ns`, on any namespace). Hiding is for the eye: the server refuses
/// what the role may not do whether or not a form is shown.
#[component]
pub fn IfCan(role: Role, #[prop(optional, into)] ns: Option<Signal<String>>, children: ChildrenFn) -> impl IntoView {
    let me = expect_context::<MeResource>();
    let children = StoredValue::new(children);
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let ns = ns.map(|ns| ns.get_untracked());
                let allowed = me.await.ok().is_some_and(|me| match ns.as_deref().map(NamespacePath::parse) {
                    Some(Ok(ns)) => me.can(role, &ns),
                    Some(Err(_)) => false,
                    None => me.grants.iter().any(|g| g.role >= role),
                });
                allowed.then(|| children.read_value()())
            })}
        </Suspense>
    }
}

/// The error of an action's last call, if it failed.
pub fn error_of<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    Signal::derive(move || action.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err().cloned())))
}

/// The message for `field`, shown right after that field. `id` is the field's
/// id plus `-error`. A failed post re-renders the page with the message, which
/// takes the keyboard focus as the page loads (`autofocus`), so the user lands
/// where the fix is; with JavaScript, the field itself then takes it.
#[component]
pub fn FieldError(error: Signal<Option<AppError>>, field: &'static str, id: String) -> impl IntoView {
    let input = id.strip_suffix("-error").map(str::to_owned);
    move || {
        error.get().filter(|e| e.field() == Some(field)).map(|e| {
            view! {
                <p class="field-error" role="alert" id=id.clone() tabindex="-1" autofocus>
                    {e.to_string()}
                </p>
                {input.clone().map(|id| view! { <FocusField id/> })}
            }
        })
    }
}

/// Marks the field `id` invalid and puts the keyboard focus in it, unless the
/// user has already moved it elsewhere (the page's code loads a moment after
/// the page: typing that has begun must not jump to another field). An island:
/// it runs in the browser only.
#[island]
fn FocusField(id: String) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    if let Some(field) = document().get_element_by_id(&id) {
        use leptos::wasm_bindgen::JsCast;
        let _ = field.set_attribute("aria-invalid", "true");
        let message = format!("{id}-error");
        let untouched = document().active_element().is_none_or(|a| a.id() == message || a.tag_name() == "BODY");
        if let Some(field) = field.dyn_ref::<web_sys::HtmlElement>().filter(|_| untouched) {
            let _ = field.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Errors that belong to no single field of the form (for example, a missing
/// namespace, or a field the form does not show). Focused when shown.
#[component]
pub fn FormError(error: Signal<Option<AppError>>, #[prop(optional)] fields: &'static [&'static str]) -> impl IntoView {
    move || {
        error.get().filter(|e| e.field().is_none_or(|f| !fields.contains(&f))).map(|e| {
            view! {
                <p class="form-error" role="alert" tabindex="-1" autofocus>
                    {e.to_string()}
                </p>
            }
        })
    }
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn encode_query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Computes `memo` now, on this thread, and returns it. During SSR a page's
/// parts render on several threads, and reactive_graph 0.2.16 can panic (an
/// unwrap in `ArcMemo::try_read_untracked`) when two threads compute a memo for
/// the first time at once. Route memos never change on the server afterwards.
pub fn settled<T: Send + Sync + 'static>(memo: Memo<T>) -> Memo<T> {
    memo.with_untracked(|_| ());
    memo
}

/// This page's path and query, without the error a failed no-JS post left in it.
/// Read from the URL signal, which has no such race (see [`settled`]).
fn current_page() -> String {
    use_url().with_untracked(|url| {
        let query: Vec<&str> = url
            .search()
            .trim_start_matches('?')
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("__path=") && !pair.starts_with("__err="))
            .collect();
        if query.is_empty() {
            url.path().to_owned()
        } else {
            format!("{}?{}", url.path(), query.join("&"))
        }
    })
}

/// A submit button for an `ActionForm`. Without JavaScript the form posts to
/// `url?back=<this page>`, so the server knows where to return (and where to show
/// errors) without relying on the Referer header.
#[component]
pub fn SubmitButton(
    url: &'static str,
    children: Children,
    #[prop(optional, into)] class: String,
    /// Where to return instead of this page (for a form that removes this page).
    #[prop(optional, into)]
    back: Option<String>,
) -> impl IntoView {
    let here = back.unwrap_or_else(current_page);
    let formaction = format!("{url}?back={}", encode_query_value(&here));
    view! {
        <button type="submit" formaction=formaction class=class>
            {children()}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::encode_query_value;

    #[test]
    fn paths_pass_through_and_everything_else_is_escaped() {
        assert_eq!(encode_query_value("/ns/company.team/DB_URL"), "/ns/company.team/DB_URL");
        assert_eq!(encode_query_value("/a b?c&d"), "/a%20b%3Fc%26d");
    }
}

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
        error.get().and_then(|e| e.message_for(field)).map(|message| {
            view! {
                <p class="field-error" role="alert" id=id.clone() tabindex="-1" autofocus>
                    {message}
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
        error.get().filter(|e| e.beyond(fields)).map(|e| {
            view! {
                <p class="form-error" role="alert" tabindex="-1" autofocus>
                    {e.to_string()}
                </p>
            }
        })
    }
}

/// The refused post this page is re-rendered for, if any (see `Submitted`).
fn submitted() -> Option<crate::domain::submitted::Submitted> {
    #[cfg(feature = "ssr")]
    return use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::domain::submitted::Submitted>().cloned());
    #[cfg(not(feature = "ssr"))]
    return None;
}

/// What was typed in field `name` of the form at `endpoint` (whose hidden
/// `identity` fields match) before its post was refused; else empty. Never a
/// secret: only the fields in `submitted::REFILLED` come back.
pub fn typed(endpoint: &str, identity: &[(&str, &str)], name: &str) -> String {
    submitted().and_then(|s| s.get(endpoint, identity, name).map(str::to_owned)).unwrap_or_default()
}

/// After a refused post of the form at `endpoint`: says plainly that what was
/// typed in a secret field was cleared, since it is never sent back.
#[component]
pub fn Cleared(endpoint: &'static str, #[prop(optional)] identity: Vec<(&'static str, String)>) -> impl IntoView {
    let identity: Vec<(&str, &str)> = identity.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let cleared = submitted()
        .filter(|s| s.endpoint == endpoint && identity.iter().all(|(n, v)| s.get(endpoint, &[], n) == Some(*v)))
        .map(|s| s.cleared)
        .unwrap_or_default();
    let what = match cleared.first().copied() {
        None => return None,
        Some("content") => "The pasted text was cleared",
        Some("value") => "The value you typed was cleared",
        Some(_) => "The password you typed was cleared",
    };
    Some(view! {
        <p class="cleared" role="status">{what}": Strongroom never sends a secret back to a browser. Paste or type it again."</p>
    })
}

/// The answer of the form post that led here ("Added DB_URL to company …"),
/// shown once.
#[component]
pub fn Flash() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let message = crate::ssr::access::take_flash();
    #[cfg(not(feature = "ssr"))]
    let message: Option<String> = None;
    message.map(|m| view! { <p class="flash" role="status" tabindex="-1">{m}</p> })
}

/// A time on one line (`2026-12-06 03:33`), how long ago, and the full UTC
/// time in its title.
#[component]
pub fn When(at: crate::domain::Timestamp) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let ago = at.relative_to(crate::ssr::clock::now());
    #[cfg(not(feature = "ssr"))]
    let ago = String::new();
    view! {
        <time datetime=at.rfc3339() title=at.to_string()>{at.minute()}</time>
        " " <span class="ago">{ago}</span>
    }
}

/// `Namespaces › company › payments › api`, each segment a link to its namespace.
#[component]
pub fn Crumbs(ns: String, #[prop(optional)] last_is_link: bool) -> impl IntoView {
    let parts: Vec<&str> = ns.split('.').filter(|p| !p.is_empty()).collect();
    let count = parts.len();
    let links = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let href = format!("/ns/{}", parts[..=i].join("."));
            let here = i + 1 == count && !last_is_link;
            let part = part.to_string();
            view! {
                <li>{if here {
                    view! { <span aria-current="page">{part}</span> }.into_any()
                } else {
                    view! { <a href=href>{part}</a> }.into_any()
                }}</li>
            }
        })
        .collect_view();
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <ol><li><a href="/">"Namespaces"</a></li>{links}</ol>
        </nav>
    }
}

/// Copies the text of the element `from` (a field's value, or any element's
/// text) to the clipboard; `what` completes its name ("Copy the token"). An
/// island; it takes the element's id, not the text, so a token is not
/// repeated in the island's serialized props. Without JavaScript the text is
/// there to select.
#[island]
pub fn CopyButton(from: String, what: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let text = document().get_element_by_id(&from).map(|e| match e.dyn_ref::<web_sys::HtmlInputElement>() {
                Some(field) => field.value(),
                None => e.text_content().unwrap_or_default(),
            });
            if let Some(text) = text {
                let _ = window().navigator().clipboard().write_text(&text);
                copied.set(true);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &from;
    };
    view! {
        <button type="button" class="copy" on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
            <span class="visually-hidden">{format!(" {what}")}</span>
        </button>
    }
}

/// Show/Hide and Load from file, for the write-only value box `field`. An
/// island: with JavaScript off it stays hidden (the box still takes a paste).
/// A file is read in the browser and put in the box: text of at most 64 KiB
/// in UTF-8, as the server accepts — anything else is refused here, saying why.
#[island]
pub fn ValueTools(field: String) -> impl IntoView {
    let ready = RwSignal::new(false);
    let shown = RwSignal::new(false);
    let note = RwSignal::new(String::new());
    Effect::new(move |_| ready.set(true));
    let (for_toggle, input_id) = (field.clone(), format!("{field}-file"));
    let toggle = move |_| {
        shown.update(|s| *s = !*s);
        #[cfg(feature = "hydrate")]
        if let Some(el) = document().get_element_by_id(&for_toggle) {
            let _ = el.class_list().toggle_with_force("shown", shown.get_untracked());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &for_toggle;
    };
    let load = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        load_file(ev, field.clone(), note);
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &field, note);
    };
    view! {
        <div class="value-tools" hidden=move || !ready.get()>
            <button type="button" class="small" aria-pressed=move || shown.get().to_string() on:click=toggle>
                {move || if shown.get() { "Hide value" } else { "Show value" }}
            </button>
            <label class="file-pick" for=input_id.clone()>"Load from file"</label>
            <input id=input_id type="file" class="visually-hidden" on:change=load/>
            <span class="hint" role="status">{move || note.get()}</span>
        </div>
    }
}

/// Reads the picked file into the box `field`, or says why not.
#[cfg(feature = "hydrate")]
fn load_file(ev: leptos::ev::Event, field: String, note: RwSignal<String>) {
    use leptos::wasm_bindgen::{closure::Closure, JsCast};
    const MAX: f64 = 64.0 * 1024.0;
    let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
    let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
    input.set_value("");
    if file.size() > MAX {
        note.set(format!("{} is {} bytes: a value is at most 64 KiB.", file.name(), file.size()));
        return;
    }
    let Ok(reader) = web_sys::FileReader::new() else { return };
    let name = file.name();
    let reader_in = reader.clone();
    let onload = Closure::once(move || {
        let bytes = reader_in.result().map(|r| js_sys::Uint8Array::new(&r).to_vec()).unwrap_or_default();
        match String::from_utf8(bytes) {
            Ok(text) if text.is_empty() => note.set(format!("{name} is empty.")),
            Ok(text) => {
                let area = document()
                    .get_element_by_id(&field)
                    .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok());
                if let Some(area) = area {
                    area.set_value(&text);
                    note.set(format!("Loaded {name}: {} bytes. Not saved yet.", text.len()));
                }
            }
            Err(_) => {
                note.set(format!("{name} is not UTF-8 text: values are text. Encode a binary file as base64 first."))
            }
        }
    });
    reader.set_onload(Some(onload.as_ref().unchecked_ref()));
    onload.forget();
    let _ = reader.read_as_array_buffer(&file);
}

/// This server as the browser reached it (`http://host:port`), for
/// ready-to-paste snippets.
/// The configured public URL wins; without one, the server is reached directly
/// (no proxy), over plain HTTP, at the `Host` the browser used.
pub fn this_origin() -> String {
    #[cfg(feature = "ssr")]
    {
        // Quietly: the route list is made at start by rendering without a request or state.
        if let Some(origin) =
            use_context::<crate::ssr::state::AppState>().and_then(|s| s.setup.first_run().public_origin)
        {
            return origin;
        }
        if let Some(parts) = use_context::<axum::http::request::Parts>() {
            let host = parts.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
            let plain = host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            if !host.is_empty() && plain {
                return format!("http://{host}");
            }
        }
    }
    "http://127.0.0.1:3000".to_owned()
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

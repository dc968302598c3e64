//! Every server function's status codes on good and bad input, the no-JS form
//! path, pages and headers — against a real server on a loopback port.

use crate::common::{error_field, start};

const CANARY: &str = "canary-http-4b1d9e77c2a0";

#[tokio::test]
async fn namespaces_create_list_get() {
    let s = start().await;
    let mut a = s.login("admin").await;
    let (status, body) = a.call("namespaces/create", &[("namespace", "company.team"), ("description", "Team")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["path"], "company.team");

    let (status, body) = a.call("namespaces/list", &[]).await;
    assert_eq!(status, 200);
    let paths: Vec<&str> = body["namespaces"].as_array().unwrap().iter().map(|n| n["path"].as_str().unwrap()).collect();
    assert_eq!((paths, &body["next"]), (vec!["company", "company.team"], &serde_json::Value::Null));

    let (status, body) = a.call("namespaces/get", &[("namespace", "company")]).await;
    assert_eq!((status, body["children"][0]["path"].as_str()), (200, Some("company.team")));

    for (form, want, field) in [
        (vec![("namespace", "Company"), ("description", "")], 422, Some("namespace")),
        (vec![("namespace", "a..b"), ("description", "")], 422, Some("namespace")),
        (vec![("namespace", "company"), ("description", "")], 409, Some("namespace")),
        (vec![("namespace", "x"), ("description", "\u{1b}[2J")], 422, Some("description")),
        (vec![("description", "no namespace")], 400, None),
    ] {
        let (status, body) = a.call("namespaces/create", &form).await;
        assert_eq!((status, error_field(&body).1.as_deref()), (want, field), "{form:?} -> {body}");
    }
    assert_eq!(a.call("namespaces/get", &[("namespace", "nope")]).await.0, 404);
    assert_eq!(a.call("namespaces/get", &[("namespace", "NOPE")]).await.0, 422);
    // Nothing above created anything.
    assert_eq!(a.call("namespaces/list", &[]).await.1["total"], 2);
}

#[tokio::test]
async fn secrets_add_rotate_delete_restore_and_their_refusals() {
    let s = start().await;
    let mut a = s.login("admin").await;
    a.call("namespaces/create", &[("namespace", "co"), ("description", "")]).await;
    let add = async |a: &mut crate::common::Client<'_>, key: &'static str, value: String| {
        a.call("secrets/add", &[("namespace", "co"), ("key", key), ("value", &value), ("description", "")]).await
    };
    let (status, body) = add(&mut a, "DB", CANARY.into()).await;
    assert_eq!((status, body["version"].as_u64()), (200, Some(1)), "{body}");

    let max = "x".repeat(64 * 1024);
    assert_eq!(add(&mut a, "BIG", max.clone()).await.0, 200);
    for (key, value, want, field) in [
        ("1DB", "v".to_owned(), 422, Some("key")),
        ("DB-2", "v".to_owned(), 422, Some("key")),
        ("EMPTY", String::new(), 422, Some("value")),
        ("HUGE", format!("{max}x"), 422, Some("value")),
        ("DB", "again".to_owned(), 409, Some("key")),
    ] {
        let (status, body) = add(&mut a, key, value).await;
        assert_eq!((status, error_field(&body).1.as_deref()), (want, field), "{key} -> {body}");
    }
    let (status, _) =
        a.call("secrets/add", &[("namespace", "missing"), ("key", "K"), ("value", "v"), ("description", "")]).await;
    assert_eq!(status, 404);

    let rotate = async |a: &mut crate::common::Client<'_>, key: &'static str, value: &'static str| {
        a.call("secrets/rotate", &[("namespace", "co"), ("key", key), ("value", value)]).await
    };
    let (status, body) = rotate(&mut a, "DB", "canary-http-rotated").await;
    assert_eq!((status, body["version"].as_u64()), (200, Some(2)));
    assert_eq!(rotate(&mut a, "NOPE", "v").await.0, 404);
    assert_eq!(rotate(&mut a, "DB", "").await.0, 422);

    let named = |k: &'static str| [("namespace", "co"), ("key", k)];
    assert_eq!(a.call("secrets/delete", &named("NOPE")).await.0, 404);
    assert_eq!(a.call("secrets/restore", &named("DB")).await.0, 409); // not deleted
    assert_eq!(a.call("secrets/delete", &named("DB")).await.0, 200);
    assert_eq!(a.call("secrets/delete", &named("DB")).await.0, 409); // already deleted
    assert_eq!(rotate(&mut a, "DB", "v").await.0, 409);
    assert_eq!(add(&mut a, "DB", "v".into()).await.0, 409);
    assert_eq!(a.call("secrets/restore", &named("DB")).await.0, 200);

    let version = |v: &'static str| vec![("namespace", "co"), ("key", "DB"), ("version", v)];
    let (status, body) = a.call("secrets/restore_version", &version("1")).await;
    assert_eq!((status, body["version"].as_u64()), (200, Some(3)));
    assert_eq!(a.call("secrets/restore_version", &version("99")).await.0, 404);
    assert_eq!(a.call("secrets/restore_version", &version("one")).await.0, 400);

    let (status, body) = a.call("secrets/get", &named("DB")).await;
    assert_eq!((status, body["versions"].as_array().map(Vec::len)), (200, Some(3)));
    assert_eq!(a.call("secrets/get", &named("NOPE")).await.0, 404);
    assert_eq!(a.call("secrets/get", &[("namespace", "co"), ("key", "bad key")]).await.0, 422);

    // No response carried a value; the database files hold none in clear.
    let seen = s.seen.lock().unwrap().clone();
    for needle in [CANARY.as_bytes(), b"canary-http-rotated", max.as_bytes()] {
        assert!(!seen.windows(needle.len()).any(|w| w == needle), "a response carried a value");
        for file in s.db_files() {
            let bytes = std::fs::read(&file).unwrap();
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{} holds a value", file.display());
        }
    }
}

#[tokio::test]
async fn a_plain_form_post_that_fails_gets_the_page_back_with_the_error_and_a_4xx() {
    let s = start().await;
    let mut a = s.login("admin").await;
    a.call("namespaces/create", &[("namespace", "co"), ("description", "")]).await;
    let form = [("namespace", "co"), ("key", "9lives"), ("value", CANARY), ("description", "")];
    let res = a.post_page("secrets/add", "/ns/co", &form).await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(res.headers().get("location").is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"id="add-key-error""#), "error is not next to the Key field");
    assert!(html.contains("Key must start with a letter"));
    assert!(html.contains("<h1>co</h1>"), "not the namespace page");
    assert!(!html.contains(CANARY), "the re-rendered page echoes the value");

    let res = a
        .post_page("secrets/add", "/ns/co", &[("namespace", "zz"), ("key", "K"), ("value", "v"), ("description", "")])
        .await;
    assert_eq!(res.status().as_u16(), 404);
}

#[tokio::test]
async fn a_plain_form_post_that_succeeds_is_sent_back_with_303() {
    let s = start().await;
    let a = s.login("admin").await;
    // A created namespace opens; its answer waits in a flash cookie for that page (not for API clients).
    let res = a.post_page("namespaces/create", "/", &[("namespace", "co"), ("description", "")]).await;
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(res.headers()["location"], "/ns/co");
    let flash = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("strongroom_flash="));
    assert!(flash.is_some_and(|c| c.contains("HttpOnly; SameSite=Strict; Max-Age=60")), "{:?}", res.headers());
    let res = a.post_page("namespaces/describe", "/ns/co", &[("namespace", "co"), ("description", "d")]).await;
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/ns/co"));
    // `back` must be a same-site page: anything else returns home.
    let res = a.post_page("namespaces/describe", "//evil.example/x", &[("namespace", "co"), ("description", "")]).await;
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/"));
}

#[tokio::test]
async fn pages_answer_with_real_statuses_and_security_headers() {
    let s = start().await;
    let mut a = s.login("admin").await;
    a.call("namespaces/create", &[("namespace", "co"), ("description", "")]).await;
    a.call("secrets/add", &[("namespace", "co"), ("key", "K"), ("value", CANARY), ("description", "d")]).await;
    for (path, want) in [
        ("/", 200),
        ("/ns/co", 200),
        ("/ns/co/K", 200),
        ("/ns/nope", 404),
        ("/ns/co/NOPE", 404),
        ("/no/such/page", 404),
    ] {
        let (status, headers, body) = a.get(path).await;
        assert_eq!(status, want, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        assert!(!body.contains(CANARY), "{path} shows a value");
    }
    let (_, _, html) = a.get("/ns/co").await;
    assert!(html.contains("<title>co · Strongroom</title>"), "{html}");
    assert!(a.get("/ns/co/K").await.2.contains("<title>K · co · Strongroom</title>"));
    assert!(html.contains(r#"autocomplete="new-password""#));
    assert!(html.contains("</textarea>") && !html.contains(&format!(">{CANARY}<")));
    assert_eq!(a.get("/healthz").await.0, 200);
}

/// Many pages at once on a multi-threaded runtime, as in production: parts of
/// a page render on different threads, which once panicked in a route memo and
/// left the request hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_render_while_many_are_requested_at_once() {
    let s = start().await;
    let mut a = s.login("admin").await;
    a.call("namespaces/create", &[("namespace", "company.team"), ("description", "")]).await;
    a.call("secrets/add", &[("namespace", "company"), ("key", "K"), ("value", "v"), ("description", "")]).await;
    let cookie = a.cookie.clone().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200 {
        let path = ["/", "/ns/company", "/ns/company.team", "/ns/company/K", "/account"][n % 5];
        let (http, url, cookie) = (a.http.clone(), format!("{}{path}", s.base), cookie.clone());
        tasks.spawn(async move {
            let res = http.get(&url).header("cookie", cookie).send();
            let res = tokio::time::timeout(std::time::Duration::from_secs(20), res).await;
            (url, res.map(|r| r.map(|r| r.status().as_u16())))
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (url, status) = done.unwrap();
        assert!(matches!(status, Ok(Ok(200))), "{url}: {status:?}");
    }
}

#[tokio::test]
async fn rotation_policies_set_due_dates_and_overdue_secrets_are_listed_for_those_who_may_see_them() {
    let s = start().await;
    s.add_user("outsider", app::domain::Role::Auditor, "other").await;
    let mut a = s.login("admin").await;
    for ns in ["co", "other"] {
        a.call("namespaces/create", &[("namespace", ns), ("description", "")]).await;
    }
    for key in ["OLD", "FRESH"] {
        a.call("secrets/add", &[("namespace", "co"), ("key", key), ("value", "v"), ("description", "")]).await;
    }
    let set = |key: &'static str, by: &'static str, days: &'static str| {
        [("namespace", "co"), ("key", key), ("rotate_by", by), ("every_days", days)]
    };
    let (status, fresh) = a.call("secrets/rotation", &set("FRESH", "", "30")).await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(fresh["rotation"]["EveryDays"], 30);
    let since = fresh["value_since"].as_i64().unwrap();
    assert_eq!(fresh["due"].as_i64(), Some(since + 30 * 86_400));
    assert_eq!(fresh["overdue"], false);
    let (status, old) = a.call("secrets/rotation", &set("OLD", "2020-01-01", "")).await;
    assert_eq!((status, &old["overdue"]), (200, &serde_json::Value::Bool(true)), "{old}");

    for (form, field) in [
        (set("OLD", "2020-01-01", "30"), "every_days"),
        (set("OLD", "", "0"), "every_days"),
        (set("OLD", "", "many"), "every_days"),
        (set("OLD", "2020-02-30", ""), "rotate_by"),
    ] {
        let (status, body) = a.call("secrets/rotation", &form).await;
        assert_eq!((status, error_field(&body).1.as_deref()), (422, Some(field)), "{form:?}");
    }
    assert_eq!(a.call("secrets/rotation", &set("NOPE", "", "30")).await.0, 404);

    let (_, overdue) = a.call("secrets/overdue", &[]).await;
    let keys: Vec<&str> = overdue.as_array().unwrap().iter().map(|m| m["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["OLD"]);
    let (_, _, home) = a.get("/").await;
    assert!(home.contains("Overdue for rotation") && home.contains("due 2020-01-01"), "{home}");
    let (_, _, page) = a.get("/ns/co").await;
    assert!(page.contains("overdue since 2020-01-01"));
    let (status, list) = s.login("outsider").await.call("secrets/overdue", &[]).await;
    assert_eq!((status, list), (200, serde_json::json!([])), "not in the outsider's grants");

    // Clearing the policy clears the due date.
    let (_, old) = a.call("secrets/rotation", &set("OLD", "", "")).await;
    assert_eq!((old["due"].clone(), old["overdue"].clone()), (serde_json::Value::Null, serde_json::Value::Bool(false)));
    assert_eq!(a.call("secrets/overdue", &[]).await.1, serde_json::json!([]));
}

#[tokio::test]
async fn purge_removes_a_deleted_secret_and_every_ciphertext_for_good() {
    let s = start().await;
    let mut a = s.login("admin").await;
    a.call("namespaces/create", &[("namespace", "co"), ("description", "")]).await;
    a.call("secrets/add", &[("namespace", "co"), ("key", "K"), ("value", CANARY), ("description", "")]).await;
    a.call("secrets/rotate", &[("namespace", "co"), ("key", "K"), ("value", "second")]).await;
    let form = [("namespace", "co"), ("key", "K")];
    let purge = [("namespace", "co"), ("key", "K"), ("confirm", "K")];
    let (status, body) = a.call("secrets/purge", &purge).await;
    assert_eq!((status, error_field(&body).0.as_str()), (409, "Conflict"), "a live secret is deleted first");
    assert_eq!(a.call("secrets/delete", &form).await.0, 200);
    // Purging cannot be undone: the key must be typed again.
    let (status, body) = a.call("secrets/purge", &[("namespace", "co"), ("key", "K"), ("confirm", "k")]).await;
    assert_eq!((status, error_field(&body).1.as_deref()), (422, Some("confirm")), "{body}");
    let (status, meta) = a.call("secrets/purge", &purge).await;
    assert_eq!((status, meta["version"].as_u64()), (200, Some(2)), "{meta}");
    assert_eq!(a.call("secrets/get", &form).await.0, 404);
    assert_eq!(a.call("secrets/purge", &purge).await.0, 404);
    let (_, view) = a.call("namespaces/get", &[("namespace", "co")]).await;
    assert_eq!(view["deleted"], serde_json::json!([]));
    assert_eq!(s.number("SELECT count(*) FROM secret_versions").await, 0);
    // The key can be used afresh.
    let add = [("namespace", "co"), ("key", "K"), ("value", "new"), ("description", "")];
    assert_eq!(a.call("secrets/add", &add).await.1["version"], 1);
}

#[tokio::test]
async fn health_and_readiness_answer_json_without_a_session() {
    let s = start().await;
    let (status, headers, body) = s.anon().get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    assert_eq!(headers["content-type"], "application/json");
    let (status, _, body) = s.anon().get("/readyz").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(json["checks"], serde_json::json!({ "database": "ok", "keys": "ok" }));
    // A trail head that does not match the key this server holds: not ready.
    s.sql("UPDATE meta SET value = (SELECT value FROM meta WHERE name = 'key_check') WHERE name = 'audit_head'");
    let (status, _, body) = s.anon().get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("does not match"), "{body}");
}

//! Regression tests for the outside attack and code review (issue 9): each
//! test names the item it covers and failed before its fix.

use crate::common::start;

/// Item 8: no `next` or `back` can send the browser to another origin.
#[tokio::test]
async fn item_8_redirects_never_leave_this_origin() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    admin.call("namespaces/create", &[("namespace", "x"), ("description", "")]).await;
    for next in ["/%09/evil.example", "/%0A/evil.example", "/%5Cevil.example", "//evil.example", "https://evil.example"]
    {
        let (status, headers, _) = admin.get(&format!("/login?next={next}")).await;
        assert_eq!((status, headers["location"].to_str().unwrap()), (303, "/"), "{next}");
    }
    let (_, headers, _) = admin.get("/login?next=/ns/company").await;
    assert_eq!(headers["location"], "/ns/company");
    // A no-JS form post returns only to a page of this server.
    let res =
        admin.post_page("namespaces/describe", "/%09/evil.example", &[("namespace", "x"), ("description", "")]).await;
    assert_eq!((res.status().as_u16(), res.headers()["location"].to_str().unwrap()), (303, "/"));
}

/// Item 9: a crafted link cannot put its own text on a page as our error.
#[tokio::test]
async fn item_9_error_text_in_a_link_is_not_shown() {
    use base64::Engine as _;
    let s = start().await;
    let phishing =
        app::error::AppError::conflict(Some("password"), "Account locked. Verify at https://evil.example/unlock");
    let err = base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&phishing).unwrap());
    let link = format!("/login?__path=%2Fapi%2Fsession%2Flogin&__err={}&next=/ns/x", err.replace('=', "%3D"));
    let (status, headers, body) = s.anon().get(&link).await;
    assert_eq!((status, headers["location"].to_str().unwrap()), (303, "/login?next=/ns/x"), "{body}");
    let (_, _, body) = s.anon().get("/login?next=/ns/x").await;
    assert!(!body.contains("evil.example"));
    // Signed in, any page: the same.
    let admin = s.login("admin").await;
    let (status, headers, _) = admin.get(&format!("/?__err={}", err.replace('=', "%3D"))).await;
    assert_eq!((status, headers["location"].to_str().unwrap()), (303, "/"));
}

/// Item 12: a standalone entry (a refusal) and the chain's head are one commit.
#[tokio::test]
async fn item_12_a_refusal_entry_and_its_head_commit_together() {
    let s = start().await;
    let before = s.audit_count().await;
    s.sql(
        "CREATE TRIGGER no_head BEFORE INSERT ON meta WHEN NEW.name = 'audit_head'
         BEGIN SELECT RAISE(ABORT, 'no head'); END;",
    );
    // Refused before any server function: recorded with `AppState::record`.
    let res = s.anon().post_page("namespaces/create", "/", &[("namespace", "x"), ("description", "")]).await;
    assert_eq!(res.status(), 401);
    assert_eq!(s.audit_count().await, before, "the entry was committed without its head");
    s.sql("DROP TRIGGER no_head;");
    let key = s.state.audit.clone();
    let verdict = s.state.db.read(move |c| app::ssr::audit::verify(c, &key)).await.unwrap();
    assert!(matches!(verdict, app::ssr::audit::Verdict::Intact { .. }), "{verdict:?}");
}

async fn verdict(s: &crate::common::Server) -> app::ssr::audit::Verdict {
    let key = s.state.audit.clone();
    s.state.db.read(move |c| app::ssr::audit::verify(c, &key)).await.unwrap()
}

/// Item 13: a new trail verifies; a wiped one (rows and head) does not.
#[tokio::test]
async fn item_13_a_wiped_trail_does_not_verify() {
    use app::ssr::audit::Verdict;
    let s = start().await;
    // A new database's trail starts with its security rows being sealed (`rows.sealed`).
    assert_eq!(verdict(&s).await, Verdict::Intact { entries: 1 });
    s.login("admin").await;
    assert!(matches!(verdict(&s).await, Verdict::Intact { entries: 2 }));
    s.sql("DELETE FROM audit; DELETE FROM meta WHERE name = 'audit_head';");
    assert!(matches!(verdict(&s).await, Verdict::Broken { .. }), "{:?}", verdict(&s).await);
}

/// Item 15: an editor cannot create namespaces outside the grant by creating a child.
#[tokio::test]
async fn item_15_an_editor_cannot_create_parents_outside_the_grant() {
    let s = start().await;
    s.add_user("ed", app::domain::Role::Editor, "newco.team.app").await;
    let mut ed = s.login("ed").await;
    let (status, body) = ed.call("namespaces/create", &[("namespace", "newco.team.app"), ("description", "")]).await;
    assert_eq!(status, 403, "{body}");
    let created = s.state.db.read(app::ssr::store::list_namespaces).await.unwrap();
    assert!(created.is_empty(), "{created:?}");
    assert!(s.last_outcome().await.starts_with("refused"));
    // An admin may; the entry names every namespace created.
    let mut admin = s.login("admin").await;
    let (status, _) = admin.call("namespaces/create", &[("namespace", "newco.team.app"), ("description", "")]).await;
    assert_eq!(status, 200);
    assert_eq!(s.last_outcome().await, "ok: also created newco, newco.team");
    let (status, _) = ed.call("namespaces/create", &[("namespace", "newco.team.app.db"), ("description", "")]).await;
    assert_eq!(status, 200);
}

/// Item 16: an inherited secret from outside the caller's grants shows its key
/// and where it is defined, not its description or who made it.
#[tokio::test]
async fn item_16_inherited_secrets_from_outside_the_grants_show_no_metadata() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    admin.call("namespaces/create", &[("namespace", "company.team"), ("description", "")]).await;
    let add = [
        ("namespace", "company"),
        ("key", "ROOT_DB"),
        ("value", "v"),
        ("description", "the root database canary-desc"),
    ];
    assert_eq!(admin.call("secrets/add", &add).await.0, 200);
    s.add_user("teamlead", app::domain::Role::Auditor, "company.team").await;
    let mut lead = s.login("teamlead").await;
    let (status, body) = lead.call("namespaces/get", &[("namespace", "company.team")]).await;
    assert_eq!(status, 200);
    let text = body.to_string();
    assert!(text.contains("ROOT_DB") && text.contains("\"company\""), "{text}");
    assert!(!text.contains("canary-desc") && !text.contains("\"admin\""), "{text}");
    let (_, _, page) = lead.get("/ns/company.team").await;
    assert!(page.contains("ROOT_DB") && !page.contains("canary-desc"));
    // With a grant there, everything shows.
    let (_, body) = admin.call("namespaces/get", &[("namespace", "company.team")]).await;
    assert!(body.to_string().contains("canary-desc"));
}

/// Item 17: after a purge the ciphertext (and the value's fingerprint) is in
/// no database file, the WAL included.
#[tokio::test]
async fn item_17_a_purged_ciphertext_is_gone_from_every_database_file() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    admin.call("namespaces/create", &[("namespace", "gone"), ("description", "")]).await;
    let add = [("namespace", "gone"), ("key", "K"), ("value", "purge me"), ("description", "")];
    assert_eq!(admin.call("secrets/add", &add).await.0, 200);
    for value in ["purge me too", "purge me three", "purge me four"] {
        admin.call("secrets/rotate", &[("namespace", "gone"), ("key", "K"), ("value", value)]).await;
    }
    // The ciphertexts and the values' fingerprints: both go with a purge.
    let sealed: Vec<Vec<u8>> =
        s.state
            .db
            .read(|c| {
                let mut stmt = c.sqlite().unwrap().prepare(
                    "SELECT ciphertext FROM secret_versions UNION ALL SELECT fingerprint FROM secret_versions",
                )?;
                let rows = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<Vec<u8>>>>();
                rows
            })
            .await
            .unwrap();
    assert_eq!(sealed.len(), 8);
    let found = |s: &crate::common::Server| {
        s.db_files().iter().any(|f| {
            let bytes = std::fs::read(f).unwrap();
            sealed.iter().any(|ct| bytes.windows(16).any(|w| w == &ct[..16]))
        })
    };
    assert!(found(&s), "the test would find a ciphertext");
    assert_eq!(admin.call("secrets/delete", &[("namespace", "gone"), ("key", "K")]).await.0, 200);
    assert_eq!(admin.call("secrets/purge", &[("namespace", "gone"), ("key", "K"), ("confirm", "K")]).await.0, 200);
    assert!(!found(&s), "a purged ciphertext is still in {:?}", s.db_files());
}

/// Review of the workload change: an import preview is audited and throttled
/// (it tells whether a pasted value equals the stored one), a file whose lines
/// multiply each other is refused, and no request body may be huge.
#[tokio::test]
async fn import_previews_are_audited_throttled_and_bounded() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    admin.call("namespaces/create", &[("namespace", "pins"), ("description", "")]).await;
    admin.call("secrets/add", &[("namespace", "pins"), ("key", "PIN"), ("value", "0042"), ("description", "")]).await;
    let guess = |pin: &str| format!("PIN={pin}\n");
    let (status, body) =
        admin.call("import/preview", &[("namespace", "pins"), ("content", &guess("0042")), ("format", "")]).await;
    assert_eq!(status, 200, "{body}");
    let entry = s.last_entry().await;
    assert_eq!(
        (entry.action.as_str(), entry.outcome.as_str()),
        ("secret.import", "ok: previewed, would add 0, rotate 0, leave 1 unchanged: PIN")
    );
    let mut statuses = Vec::new();
    for n in 0..25 {
        statuses.push(
            admin
                .call(
                    "import/preview",
                    &[("namespace", "pins"), ("content", &guess(&format!("{n:04}"))), ("format", "")],
                )
                .await
                .0,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 19, "{statuses:?}");
    // A 1 KB file that would expand to gigabytes is refused by line.
    let mut bomb = format!("A={}\n", "a".repeat(16));
    for (name, prev) in ["B", "C", "D", "E", "F", "G", "H"].iter().zip(["A", "B", "C", "D", "E", "F", "G"]) {
        bomb.push_str(&format!("{name}={}\n", format!("${{{prev}}}").repeat(16)));
    }
    s.add_user("other-admin", app::domain::Role::Admin, "").await;
    let mut other = s.login("other-admin").await;
    let (status, body) =
        other.call("import/preview", &[("namespace", "pins"), ("content", &bomb), ("format", "")]).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("line 5"), "{body}");
    // Bodies over 2 MiB are refused before anything reads them.
    let huge = "x".repeat(3 * 1024 * 1024);
    let (status, _) = other.call("import/preview", &[("namespace", "pins"), ("content", &huge), ("format", "")]).await;
    assert_eq!(status, 413);
}

/// Item 20: form fields that are not UTF-8 are refused (not stored as U+FFFD);
/// a 404 under /pkg/ is not cacheable; the schema and file modes are tested in
/// `app::ssr::db`, the log's path clipping in `telemetry`.
#[tokio::test]
async fn item_20_non_utf8_forms_are_refused_and_errors_are_not_cached() {
    let s = start().await;
    let admin = s.login("admin").await;
    let res = admin
        .http
        .post(format!("{}/api/namespaces/create", s.base))
        .header("cookie", admin.cookie.clone().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("namespace=caf%E9&description=")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(s.state.db.read(app::ssr::store::list_namespaces).await.unwrap().is_empty());
    let (status, headers, _) = s.anon().get("/pkg/nothing-here.js").await;
    assert_eq!((status, headers.get("cache-control").map(|v| v.to_str().unwrap())), (404, Some("no-store")));
}

/// Item 10: only hosts of ours are answered (no DNS rebinding), an Origin must
/// match scheme as well as host, and an https public URL brings HSTS.
#[tokio::test]
async fn item_10_unknown_hosts_are_refused_and_origins_match_their_scheme() {
    let s = start().await;
    let http = reqwest::Client::new();
    let res = http.get(format!("{}/login", s.base)).header("host", "rebound.evil.example").send().await.unwrap();
    assert_eq!(res.status(), 421);
    let res = http
        .get(format!("{}/login", s.base))
        .header("host", format!("localhost:{}", s.host.split(':').nth(1).unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let admin = s.login("admin").await;
    let res = http
        .post(format!("{}/api/namespaces/create", s.base))
        .header("cookie", admin.cookie.clone().unwrap())
        .header("origin", format!("https://{}", s.host))
        .form(&[("namespace", "tls-mismatch"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    use tower::ServiceExt as _;
    let options = leptos::prelude::LeptosOptions::builder().output_name("strongroom").site_root("target/site").build();
    let public = strongroom::layers::origin::OwnOrigin(Some("https://secrets.example.com".into()));
    let app =
        strongroom::router(s.state.clone(), options, strongroom::Front { own_origin: public, ..Default::default() });
    let req =
        axum::http::Request::get("/healthz").header("host", "secrets.example.com").body(axum::body::Body::empty());
    let res = app.clone().oneshot(req.unwrap()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");
    let req = axum::http::Request::get("/healthz").header("host", "other.example.com").body(axum::body::Body::empty());
    assert_eq!(app.oneshot(req.unwrap()).await.unwrap().status(), 421);
}

/// Item 11: anonymous page views (GET or HEAD) leave nothing in the trail.
#[tokio::test]
async fn item_11_anonymous_page_views_are_not_recorded() {
    let s = start().await;
    let before = s.audit_count().await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/", "/ns/company", "/audit", "/admin/users", "/nope"] {
        assert_eq!(http.get(format!("{}{path}", s.base)).send().await.unwrap().status(), 303, "{path}");
        assert_eq!(http.head(format!("{}{path}", s.base)).send().await.unwrap().status(), 303, "HEAD {path}");
    }
    let _ = s.anon().get("/login").await;
    assert_eq!(s.audit_count().await, before);
    // A refused mutation still is.
    assert_eq!(s.anon().call("namespaces/create", &[("namespace", "x"), ("description", "")]).await.0, 401);
    assert_eq!(s.audit_count().await, before + 1);
}

/// Item 14: entries name what was done, parsed and normalized, and downloads of
/// the trail are recorded too.
#[tokio::test]
async fn item_14_entries_record_normalized_names_and_exports() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    assert_eq!(admin.call("namespaces/create", &[("namespace", "company"), ("description", "")]).await.0, 200);
    s.add_user("lead", app::domain::Role::Auditor, "company").await;
    let grant = [("username", "lead"), ("role", "editor"), ("scope", " company ")];
    assert_eq!(admin.call("users/grant", &grant).await.0, 200);
    assert_eq!(s.last_entry().await.namespace, "company", "visible to the company auditor");
    let (status, _, _) = admin.get("/audit/export.csv?namespace=company").await;
    assert_eq!(status, 200);
    let entry = s.last_entry().await;
    assert_eq!(
        (entry.action.as_str(), entry.namespace.as_str(), entry.outcome.as_str()),
        ("audit.export", "company", "ok: csv")
    );
}

fn from(n: u8) -> Option<std::net::IpAddr> {
    Some(std::net::IpAddr::from([127, 0, 0, n]))
}

/// Items 5 and 3: wrong passwords sent at once are counted before they are
/// checked (five are checked, the rest refused unchecked), and refused
/// attempts never queue for the hash that others wait for.
#[tokio::test]
async fn items_3_and_5_concurrent_guesses_are_counted_first_and_locked_ones_skip_the_hash() {
    let s = start().await;
    s.add_user("victim", app::domain::Role::Auditor, "").await;
    let hashes = || s.state.auth.hasher.verified();
    let before = hashes();
    let server = &s;
    let guesses = (0..40u8).map(|n| async move {
        let mut c = server.client_from(from(10 + n % 20));
        c.call("session/login", &[("username", "victim"), ("password", "a wrong guess")]).await.0
    });
    let statuses = futures_util::future::join_all(guesses).await;
    assert!(statuses.iter().all(|&st| st == 401), "{statuses:?}");
    assert_eq!(hashes() - before, 5, "only the five free attempts were checked");
    // Locked now, even with the right password, answering alike.
    let mut c = s.client_from(from(40));
    let (status, body) =
        c.call("session/login", &[("username", "victim"), ("password", crate::common::PASSWORD)]).await;
    assert_eq!((status, crate::common::error_field(&body).0.as_str()), (401, "SignInFailed"));

    // An address that failed 20 times is refused without hashing, however
    // often it tries; someone elsewhere signs in meanwhile.
    let locked = from(50);
    for n in 0..20 {
        let name = format!("nobody{n}");
        s.client_from(locked).call("session/login", &[("username", name.as_str()), ("password", "x")]).await;
    }
    let before = hashes();
    let flood = (0..100).map(|_| async {
        s.client_from(locked).call("session/login", &[("username", "admin"), ("password", "x")]).await.0
    });
    let real = async {
        let mut c = s.client_from(from(60));
        c.call("session/login", &[("username", "admin"), ("password", crate::common::PASSWORD)]).await.0
    };
    let (flood, real) = tokio::join!(futures_util::future::join_all(flood), real);
    assert_eq!(real, 200);
    assert!(flood.iter().all(|&st| st == 401));
    assert_eq!(hashes() - before, 1, "only the real sign-in was hashed");
}

/// Item 7: changing one's password is throttled like signing in.
#[tokio::test]
async fn item_7_change_password_is_throttled_like_sign_in() {
    let s = start().await;
    s.add_user("someone", app::domain::Role::Auditor, "").await;
    let mut me = s.login("someone").await;
    let new = "a brand new long password";
    for _ in 0..5 {
        let (status, _) = me.call("session/password", &[("current", "not it at all"), ("new_password", new)]).await;
        assert_eq!(status, 422);
    }
    let (status, body) =
        me.call("session/password", &[("current", crate::common::PASSWORD), ("new_password", new)]).await;
    assert_eq!((status, crate::common::error_field(&body).0.as_str()), (429, "RateLimited"));
}

/// Item 1: exports that are opened and never read are bounded per user (and in
/// all), and their slots come back when the clients go away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_1_stalled_exports_are_bounded() {
    let s = start().await;
    let admin = s.login("admin").await;
    // Enough of a trail that an unread export fills the socket and stalls.
    let seeded = std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["audit", "seed", "100000", "--data-dir"])
        .arg(s.dir.path())
        .env("STRONGROOM_MASTER_KEY", &s.root_key)
        .envs(s.store_env())
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let open = || {
        admin.http.get(format!("{}/audit/export.jsonl", s.base)).header("cookie", admin.cookie.clone().unwrap()).send()
    };
    let (first, second) = (open().await.unwrap(), open().await.unwrap());
    assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 200));
    let third = open().await.unwrap();
    assert_eq!(third.status(), 429);
    assert_eq!(s.last_outcome().await, "refused: too many attempts");
    // Others are not held up: sign-in and pages answer.
    assert_eq!(s.anon().get("/healthz").await.0, 200);
    // Gone clients give their slots back.
    drop((first, second));
    let mut status = 0;
    for _ in 0..50 {
        status = open().await.unwrap().status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}

/// Item 19: a secret purged and made again under the same name (and the same
/// row id) does not accept its predecessor's ciphertext.
#[tokio::test]
async fn item_19_a_recreated_secret_refuses_its_predecessors_ciphertext() {
    let s = start().await;
    s.secrets("again", &[("K", "the first value")]).await;
    let token = s.token("reader", "again", None).await;
    let (status, _, body) = s.api("GET", "/v1/namespaces/again/secrets/K", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let first: (i64, String) = s
        .state
        .db
        .read(|c| {
            c.sqlite().unwrap().query_row(
                "SELECT secret_id, hex(nonce) || ':' || hex(ciphertext) FROM secret_versions",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
        .unwrap();
    let mut admin = s.login("admin").await;
    assert_eq!(admin.call("secrets/delete", &[("namespace", "again"), ("key", "K")]).await.0, 200);
    assert_eq!(admin.call("secrets/purge", &[("namespace", "again"), ("key", "K"), ("confirm", "K")]).await.0, 200);
    let add = [("namespace", "again"), ("key", "K"), ("value", "the second value"), ("description", "")];
    assert_eq!(admin.call("secrets/add", &add).await.0, 200);
    let second: i64 = s.number("SELECT id FROM secrets").await;
    assert_eq!(second, first.0, "the test wants the row id reused, as SQLite does");
    let (nonce, ciphertext) = first.1.split_once(':').unwrap();
    s.sql(&format!("UPDATE secret_versions SET nonce = X'{nonce}', ciphertext = X'{ciphertext}'"));
    let (status, _, body) = s.api("GET", "/v1/namespaces/again/secrets/K", Some(&token)).await;
    assert_eq!(status, 500, "{body}");
    assert!(!body.contains("the first value") && !body.contains("the second value"), "{body}");
}

/// Item 19: secrets made before the per-secret id (format 1) still read and rotate.
#[tokio::test]
async fn item_19_secrets_sealed_before_the_per_secret_id_still_read() {
    use app::ssr::crypto::Place;
    let s = start().await;
    s.secrets("legacy", &[("OLD", "placeholder")]).await;
    // Reseal version 1 as the previous format did: no uid, format byte 1.
    let (ns, key) =
        (app::domain::NamespacePath::parse("legacy").unwrap(), app::domain::SecretKey::parse("OLD").unwrap());
    let value = app::domain::SecretValue::parse("sealed in format 1".into()).unwrap();
    let sealed =
        s.state.keyring.seal_value(Place { namespace: &ns, key: &key, version: 1, uid: None }, &value).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    s.sql(&format!(
        "UPDATE secrets SET uid = NULL; UPDATE secret_versions SET key_id = {}, nonce = X'{}', ciphertext = X'{}'",
        sealed.key_id,
        hex(&sealed.nonce),
        hex(&sealed.ciphertext)
    ));
    let token = s.token("reader", "legacy", None).await;
    let (status, _, body) = s.api("GET", "/v1/namespaces/legacy/secrets/OLD", Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("sealed in format 1"), "{body}");
    let mut admin = s.login("admin").await;
    let (status, body) =
        admin.call("secrets/restore_version", &[("namespace", "legacy"), ("key", "OLD"), ("version", "1")]).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = s.api("GET", "/v1/namespaces/legacy/secrets/OLD", Some(&token)).await;
    assert!(status == 200 && body.contains("sealed in format 1") && body.contains("\"version\":2"), "{body}");
}

/// Item 6: behind a trusted proxy each client is itself (one client's failures
/// do not throttle the others), a forged X-Forwarded-For from elsewhere is
/// ignored, and a browser that signed in before is never locked out by others'
/// failures against its account or from its address.
#[tokio::test]
async fn item_6_one_client_behind_a_proxy_cannot_lock_everyone_out() {
    use crate::common::{start_with, PASSWORD};
    use app::domain::Role;
    // Without trusted proxies the header is whatever a client wishes: ignored.
    let s = start().await;
    let (status, _) =
        s.forwarded_for("198.51.100.66").call("session/login", &[("username", "admin"), ("password", "no")]).await;
    assert_eq!(status, 401);
    assert_eq!(s.last_entry().await.client, "127.0.0.1");

    let proxies = strongroom::layers::client::TrustedProxies::parse("127.0.0.1").unwrap();
    let s = start_with(strongroom::Front { proxies, ..Default::default() }).await;
    s.add_user("lead", Role::Auditor, "company").await;
    // The lead has signed in from this browser before.
    let mut lead = s.forwarded_for("198.51.100.1");
    assert_eq!(lead.call("session/login", &[("username", "lead"), ("password", PASSWORD)]).await.0, 200);
    assert!(lead.device.is_some());
    lead.cookie = None;
    // Someone at the same address fails 30 times, against random names and the lead's.
    for n in 0..30 {
        let name = if n % 2 == 0 { format!("guess{n}") } else { "lead".into() };
        let (status, _) =
            s.forwarded_for("198.51.100.1").call("session/login", &[("username", &name), ("password", "wrong")]).await;
        assert!(status == 401 || status == 429, "{status}");
    }
    assert_eq!(s.last_entry().await.client, "198.51.100.1", "the trail names the client, not the proxy");
    // That address and the lead's name are throttled for a browser without history...
    let (status, _) =
        s.forwarded_for("198.51.100.1").call("session/login", &[("username", "admin"), ("password", PASSWORD)]).await;
    assert_eq!(status, 401, "the address is slowed");
    let (status, _) =
        s.forwarded_for("198.51.100.2").call("session/login", &[("username", "lead"), ("password", PASSWORD)]).await;
    assert_eq!(status, 401, "the account is locked for browsers without history");
    // ...but another client behind the same proxy signs in,
    assert_eq!(
        s.forwarded_for("198.51.100.2").call("session/login", &[("username", "admin"), ("password", PASSWORD)]).await.0,
        200
    );
    // and so does the lead, from the browser that signed in before.
    let (status, body) = lead.call("session/login", &[("username", "lead"), ("password", PASSWORD)]).await;
    assert_eq!(status, 200, "{body}");
}

/// Item 4: however many namespaces exist, the home page lists a bounded page
/// of them (links page through the rest, no JavaScript needed), and
/// descriptions are capped.
#[tokio::test]
async fn item_4_the_namespace_tree_comes_in_bounded_pages() {
    use app::domain::{Description, NamespacePath, Role};
    let s = start().await;
    let long = "d".repeat(1000);
    s.state
        .db
        .call(move |c| {
            for n in 0..450 {
                let ns = NamespacePath::parse(&format!("org{:02}.team{n:03}", n % 7)).unwrap();
                let stamp = app::ssr::store::Stamp { actor: "test", at: app::ssr::clock::now() };
                app::ssr::store::create_namespace(c, &ns, &Description::parse(&long).unwrap(), stamp)?;
            }
            Ok::<_, app::ssr::store::StoreError>(())
        })
        .await
        .unwrap();
    let admin = s.login("admin").await;
    let (mut seen, mut path, mut pages) = (Vec::new(), "/".to_owned(), 0);
    loop {
        let (status, _, body) = admin.get(&path).await;
        assert_eq!(status, 200);
        assert!(body.len() < 600_000, "a page of the tree is {} bytes", body.len());
        let rows: Vec<String> = body
            .split("<li class=\"depth-")
            .skip(1)
            .map(|row| row.split("href=\"/ns/").nth(1).unwrap().split('"').next().unwrap().to_owned())
            .collect();
        assert!(rows.len() <= app::api::namespaces::TREE_PAGE, "{} rows on one page", rows.len());
        seen.extend(rows);
        pages += 1;
        match body.split("href=\"/?after=").nth(1) {
            Some(rest) => path = format!("/?after={}", rest.split('"').next().unwrap()),
            None => break,
        }
    }
    assert_eq!((pages, seen.len()), (3, 457), "450 teams and their 7 parents, each once");
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 457);
    // A grant on one subtree pages through that subtree only.
    s.add_user("lead", Role::Auditor, "org03").await;
    let lead = s.login("lead").await;
    let (_, _, body) = lead.get("/").await;
    assert!(body.contains("/ns/org03.team003") && !body.contains("/ns/org04") && !body.contains("?after="));
    // Bad cursors are a clear error, not a page of something else.
    let mut admin = s.login("admin").await;
    let (status, body) = admin.call("namespaces/list", &[("after", "not a namespace!")]).await;
    assert_eq!((status, crate::common::error_field(&body).1.as_deref()), (422, Some("after")), "{body}");
    let too_long = "x".repeat(1001);
    let (status, body) = admin.call("namespaces/create", &[("namespace", "capped"), ("description", &too_long)]).await;
    assert_eq!((status, crate::common::error_field(&body).1.as_deref()), (422, Some("description")), "{body}");
}

/// Item 11: refused reads from one client get ten entries a minute; the rest
/// are counted into one entry. Refused writes and sign-ins are all recorded.
#[tokio::test]
async fn item_11_a_flood_of_refused_reads_is_counted_not_recorded_one_by_one() {
    let s = start().await;
    s.secrets("flood", &[("K", "v")]).await;
    let before = s.audit_count().await;
    for _ in 0..40 {
        let (status, _, _) = s.api("GET", "/v1/namespaces/flood/secrets/K", Some("sr_not-a-token")).await;
        assert_eq!(status, 401);
    }
    for _ in 0..20 {
        assert_eq!(s.anon().call("namespaces/list", &[]).await.0, 401);
    }
    assert_eq!(s.audit_count().await, before + 10, "ten entries, then counted");
    // An anonymous refused write shares that allowance (issue 18, item 6); a sign-in is recorded each time.
    assert_eq!(s.anon().call("namespaces/create", &[("namespace", "x"), ("description", "")]).await.0, 401);
    assert_eq!(s.anon().call("session/login", &[("username", "admin"), ("password", "nope")]).await.0, 401);
    assert_eq!(s.audit_count().await, before + 11);
    // Another client has its own ten.
    let (status, _, _) = s.api_from(from(9), "GET", "/v1/namespaces/flood/secrets/K", Some("sr_not-a-token")).await;
    assert_eq!(status, 401);
    assert_eq!(s.audit_count().await, before + 12);
    // The count is written when the minute is over (here: now).
    app::ssr::access::workload::flush_refusals(&s.state).await.unwrap();
    let entry = s.last_entry().await;
    assert_eq!((entry.action.as_str(), entry.client.as_str()), ("request", "127.0.0.1"));
    assert!(entry.outcome.starts_with("refused: 51 more refused requests"), "{}", entry.outcome);
    assert_eq!(s.audit_count().await, before + 13);
}

// ------------------------------------------------------------ Issue 18: Hardening II
// Each test names the items of issue 18 it covers; each failed before its fix.

/// Items 1, 2 and 10: an import is refused as its lines are read when it has
/// more than 5,000 entries, a key twice, or values that expand past 4 MiB.
#[tokio::test]
async fn issue_18_items_1_2_10_import_bombs_are_refused_while_reading() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    admin.call("namespaces/create", &[("namespace", "bomb"), ("description", "")]).await;
    let big = format!("X={}\n", "x".repeat(64 * 1024 - 1));
    async fn call(admin: &mut crate::common::Client<'_>, text: String) -> (u16, serde_json::Value) {
        admin.call("import/preview", &[("namespace", "bomb"), ("content", &text), ("format", "")]).await
    }
    // 75,000 references to a 64 KiB value (5 GB once expanded) in 1 MiB: refused at entry 5,001.
    let mut many = big.clone();
    for i in 0..75_000 {
        many.push_str(&format!("B{i}=${{X}}\n"));
        if many.len() > 1000 * 1024 {
            break;
        }
    }
    let (status, body) = call(&mut admin, many).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("more than 5,000 secrets"), "{body}");
    // 100 references: within the entry cap, but 6.4 MB once expanded.
    let mut wide = big.clone();
    for i in 0..100 {
        wide.push_str(&format!("B{i}=${{X}}\n"));
    }
    let (status, body) = call(&mut admin, wide).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("line 65: the values add up to more than 4 MiB"), "{body}");
    // A key twice is refused at its second line, before anything is expanded.
    let (status, body) = call(&mut admin, format!("{big}Y=${{X}}\nY=${{X}}${{X}}\n")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("line 3: key appears more than once"), "{body}");
    // 5,000 keys apply in one go.
    let ok: String = (0..5_000).map(|i| format!("K{i}=v{i}\n")).collect();
    let (status, body) = call(&mut admin, ok).await;
    assert_eq!(status, 200, "{body}");
}

/// Item 6: anonymous refused writes (cross-origin posts, calls without a
/// session) get ten entries a minute per client; a signed-in caller's
/// refusals are all recorded.
#[tokio::test]
async fn issue_18_item_6_anonymous_refused_writes_cannot_flood_the_trail() {
    let s = start().await;
    let before = s.audit_count().await;
    let http = reqwest::Client::new();
    for _ in 0..30 {
        let res = http
            .post(format!("{}/api/namespaces/create", s.base))
            .header("origin", "http://evil.example")
            .form(&[("namespace", "x"), ("description", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(s.anon().call("namespaces/create", &[("namespace", "x"), ("description", "")]).await.0, 401);
    }
    assert_eq!(s.audit_count().await, before + 10, "ten entries, the rest counted");
    s.add_user("auditor", app::domain::Role::Auditor, "").await;
    let mut auditor = s.login("auditor").await;
    let signed_in = s.audit_count().await;
    for _ in 0..15 {
        assert_eq!(auditor.call("namespaces/create", &[("namespace", "x"), ("description", "")]).await.0, 403);
    }
    assert_eq!(s.audit_count().await, signed_in + 15, "every refusal of a signed-in caller");
}

/// Item 15: workload exports are bounded per token (each holds a namespace's values).
#[tokio::test]
async fn issue_18_item_15_workload_exports_are_bounded_per_token() {
    let s = start().await;
    s.secrets("exp", &[("K", "v")]).await;
    let token = s.token("exporter", "exp", None).await;
    let id = app::domain::TokenId(s.number("SELECT id FROM tokens WHERE name = 'exporter'").await);
    let held = [s.state.workload_exports.take(id).unwrap(), s.state.workload_exports.take(id).unwrap()];
    let (status, _, body) = s.api("GET", "/v1/namespaces/exp/export?format=json", Some(&token)).await;
    assert_eq!(status, 503, "{body}");
    drop(held);
    let (status, _, body) = s.api("GET", "/v1/namespaces/exp/export?format=json", Some(&token)).await;
    assert_eq!((status, body.as_str()), (200, "{\"K\":\"v\"}\n"));
}

/// Also seen: a HEAD of the page that shows a new token once does not use the showing up.
#[tokio::test]
async fn issue_18_a_head_request_does_not_use_up_the_one_time_token() {
    let s = start().await;
    let admin = s.login("admin").await;
    let res = admin
        .post_page("tokens/create", "/admin/tokens", &[("name", "ci"), ("namespace", "*"), ("expires", "never")])
        .await;
    assert_eq!(res.status(), 303);
    let page = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(page.contains("created="), "{page}");
    let cookie = admin.cookie.clone().unwrap();
    let head = admin.http.head(format!("{}{page}", s.base)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let (_, _, body) = admin.get(&page).await;
    assert!(body.contains("sr_"), "the token was used up by the HEAD");
    let (_, _, body) = admin.get(&page).await;
    assert!(!body.contains("sr_"), "shown twice");
}

/// Also seen: the Vault map's version counts changes along the namespace's own
/// path only, not changes anywhere on the server.
#[tokio::test]
async fn issue_18_the_vault_map_version_tells_nothing_of_other_namespaces() {
    let s = start().await;
    s.secrets("team.app", &[("A", "1")]).await;
    s.secrets("other", &[("B", "1")]).await;
    let token = s.token("reader", "", None).await;
    async fn version(s: &crate::common::Server, token: String) -> u64 {
        let (_, _, body) = s.api("GET", "/v1/secret/metadata/team/app", Some(&token)).await;
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["data"]["current_version"].as_u64().unwrap()
    }
    let first = version(&s, token.clone()).await;
    s.secrets("other", &[("C", "2"), ("D", "3"), ("E", "4")]).await;
    assert_eq!(version(&s, token.clone()).await, first, "changes elsewhere moved it");
    s.secrets("team", &[("PARENT", "x")]).await;
    let above = version(&s, token.clone()).await;
    assert!(above > first, "a change above it moves it");
    s.secrets("team.app", &[("F", "y")]).await;
    assert!(version(&s, token).await > above, "a change in it moves it");
}

/// The real binary with `env`, on a data dir of its own; killed when dropped.
struct Served {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn served(env: &[(&str, &str)]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let root = app::ssr::crypto::RootKey::generate().unwrap();
    crate::common::binary::prepare(dir.path(), &root, 1).await;
    let port = crate::common::binary::free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .env_remove("STRONGROOM_MASTER_KEY_FILE")
        .env("STRONGROOM_MASTER_KEY", root.to_base64().as_str())
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let served = Served { child, port, _dir: dir };
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.is_ok_and(|r| r.status() == 200) {
            return served;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the server did not start");
}

/// A raw connection from `local` (any 127.0.0.0/8 address) to the server.
async fn connect(port: u16, local: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    socket.connect(format!("127.0.0.1:{port}").parse().unwrap()).await.unwrap()
}

/// Reads until the server closes the connection (or `within` passes: `None`).
async fn read_to_close(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut got)).await {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

/// Item 3: one client cannot hold every connection slot: connections per
/// client are capped (others still served), an HTTP/2 preface is closed at
/// once, a body that trickles in is cut off, and idle keep-alive connections close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_item_3_one_client_cannot_hold_the_connection_slots() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let s = served(&[("STRONGROOM_MAX_CONNECTIONS_PER_CLIENT", "3"), ("STRONGROOM_HEADER_TIMEOUT_SECS", "30")]).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // the readiness checks' connections are gone
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = connect(s.port, "127.0.0.1").await;
        c.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap(); // headers never finished
        held.push(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fourth = connect(s.port, "127.0.0.1").await;
    let _ = fourth.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await;
    assert_eq!(read_to_close(&mut fourth, Duration::from_secs(5)).await.as_deref(), Some(""), "a fourth was served");
    let other = reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().ok()).build().unwrap();
    let res = other.get(format!("http://127.0.0.1:{}/healthz", s.port)).send().await.unwrap();
    assert_eq!(res.status(), 200, "another client is still served");
    // HTTP/2 with prior knowledge: not served, closed at once (from another client: ours are all taken).
    let mut h2 = connect(s.port, "127.0.0.3").await;
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0").await.unwrap();
    let answer = read_to_close(&mut h2, Duration::from_secs(5)).await.expect("an h2 preface held the connection");
    assert!(!answer.contains("HTTP/2"), "{answer}");
    drop(held);

    // Every connection taken, from many addresses: the idlest half-sent one makes room.
    let s = served(&[("STRONGROOM_MAX_CONNECTIONS", "4"), ("STRONGROOM_HEADER_TIMEOUT_SECS", "30")]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut held = Vec::new();
    for n in 5..9 {
        let mut c = connect(s.port, &format!("127.0.0.{n}")).await;
        // Half of them never finish their headers; the others send headers and wait with the body.
        let opening: &[u8] = if n < 7 {
            b"GET /healthz HTTP/1.1\r\n"
        } else {
            b"POST /api/session/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nu"
        };
        c.write_all(opening).await.unwrap();
        held.push(c);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..6 {
        let res = reqwest::Client::new().get(format!("http://127.0.0.1:{}/healthz", s.port)).send().await;
        assert_eq!(res.map(|r| r.status().as_u16()).ok(), Some(200), "a new client was kept out");
    }
    let closed = read_to_close(&mut held[0], Duration::from_secs(5)).await;
    assert_eq!(closed.as_deref(), Some(""), "the idlest half-sent connection made room");
    drop(held);

    let s = served(&[("STRONGROOM_REQUEST_TIMEOUT_SECS", "2"), ("STRONGROOM_KEEPALIVE_IDLE_SECS", "1")]).await;
    // A body that trickles in: 408 when the deadline passes, and the connection closed.
    let mut slow = connect(s.port, "127.0.0.1").await;
    slow.write_all(b"POST /api/session/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n").await.unwrap();
    let trickle = async {
        for _ in 0..20 {
            if slow.write_all(b"u").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let started = app::ssr::clock::instant();
    trickle.await;
    let answer = read_to_close(&mut slow, Duration::from_secs(5)).await.unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(11), "the body was read for {:?}", started.elapsed());
    // An idle keep-alive connection is closed after STRONGROOM_KEEPALIVE_IDLE_SECS.
    let mut idle = connect(s.port, "127.0.0.1").await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let answer = read_to_close(&mut idle, Duration::from_secs(6)).await.expect("an idle connection stayed open");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Issue 19, item 1: a value posted from a form with CRLF (as browsers submit a
/// textarea) is stored with LF, so a pasted key works; the bytes are what was meant.
#[tokio::test]
async fn issue_19_item_1_a_pasted_value_arrives_with_lf_line_ends() {
    let s = start().await;
    let pasted =
        "-----BEGIN OPENSSH PRIVATE KEY-----\r\nb3BlbnNzaC1rZXk\r\nlone\rcr\r\n-----END OPENSSH PRIVATE KEY-----\r\n";
    s.secrets("keys", &[("SSH_KEY", pasted)]).await;
    let token = s.token("keys-reader", "keys", None).await;
    let (status, _, body) = s.api("GET", "/v1/namespaces/keys/secrets/SSH_KEY", Some(&token)).await;
    let value = serde_json::from_str::<serde_json::Value>(&body).unwrap()["value"].as_str().unwrap().to_owned();
    assert_eq!(status, 200);
    assert_eq!(value, pasted.replace("\r\n", "\n").replace('\r', "\n"));
}

/// Issue 19, item 2: adding a user or a grant needs a role chosen and "every
/// namespace" asked for explicitly; an empty namespace alone is refused.
#[tokio::test]
async fn issue_19_item_2_no_grant_defaults_to_admin_of_everything() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    let add = |role: &'static str, scope: &'static str, every: &'static str| {
        vec![
            ("username", "newbie"),
            ("password", crate::common::PASSWORD),
            ("role", role),
            ("scope", scope),
            ("every", every),
        ]
    };
    for (form, field) in
        [(add("", "company", ""), "role"), (add("admin", "", ""), "scope"), (add("admin", "company", "on"), "scope")]
    {
        let (status, body) = admin.call("users/add", &form).await;
        assert_eq!((status, crate::common::error_field(&body).1.as_deref()), (422, Some(field)), "{form:?}: {body}");
    }
    assert_eq!(admin.call("users/add", &add("auditor", "company", "")).await.0, 200);
    let grant = [("username", "newbie"), ("role", "editor"), ("scope", "")];
    assert_eq!(admin.call("users/grant", &grant).await.0, 422);
    let grant = [("username", "newbie"), ("role", "editor"), ("scope", ""), ("every", "on")];
    assert_eq!(admin.call("users/grant", &grant).await.0, 200);
}

/// Second attack on issue 18, item 6: sign-ins refused while locked out (no
/// password checked) share the refusal allowance; the real attempts before the
/// lock are each recorded.
#[tokio::test]
async fn issue_18_item_6_locked_sign_ins_cannot_flood_the_trail() {
    let s = start().await;
    let before = s.audit_count().await;
    let mut client = s.client_from(from(23));
    for _ in 0..60 {
        let (status, _) =
            client.call("session/login", &[("username", "nosuchuser"), ("password", "not the password")]).await;
        assert_eq!(status, 401);
    }
    let written = s.audit_count().await - before;
    assert!((5..=16).contains(&written), "{written} entries for 60 refused sign-ins");
}

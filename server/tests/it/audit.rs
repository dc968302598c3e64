//! The audit trail: one entry per action with the right fields, the HMAC chain
//! against edits made straight in the database file, all-or-nothing writes,
//! and hostile names through the page and both exports.

use crate::common::{start, Server, PASSWORD};
use app::{
    domain::{audit::unescape, Role},
    ssr::audit::{self, Verdict},
};

/// Entries appended since `before`, oldest first.
async fn since(s: &Server, before: i64) -> Vec<app::domain::audit::AuditEntry> {
    let all = s.state.db.read(move |c| {
        let mut out = Vec::new();
        audit::for_each(c, &Default::default(), &[app::domain::Scope::All], |e| {
            if e.id > before {
                out.push(e);
            }
            true
        })
        .map(|_| out)
    });
    all.await.unwrap()
}

async fn verdict(s: &Server) -> Verdict {
    let key = s.state.audit.clone();
    s.state.db.read(move |c| audit::verify(c, &key)).await.unwrap()
}

#[tokio::test]
async fn each_action_records_exactly_one_entry_with_the_right_fields() {
    let s = start().await;
    s.add_user("carol", Role::Editor, "company").await;
    let mut admin = s.login("admin").await;
    let mut carol = s.login("carol").await;
    // (client, endpoint, form) → (actor, action, namespace, key, version, outcome prefix)
    type Step<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, [&'a str; 5], Option<i64>);
    let steps: Vec<Step> = vec![
        (
            "admin",
            "namespaces/create",
            vec![("namespace", "company.team"), ("description", "")],
            ["admin", "namespace.create", "company.team", "", "ok: also created company"],
            None,
        ),
        (
            "carol",
            "secrets/add",
            vec![("namespace", "company.team"), ("key", "DB"), ("value", "v1"), ("description", "")],
            ["carol", "secret.add", "company.team", "DB", "ok"],
            Some(1),
        ),
        (
            "carol",
            "secrets/rotate",
            vec![("namespace", "company.team"), ("key", "DB"), ("value", "v2")],
            ["carol", "secret.rotate", "company.team", "DB", "ok"],
            Some(2),
        ),
        (
            "carol",
            "secrets/restore_version",
            vec![("namespace", "company.team"), ("key", "DB"), ("version", "1")],
            ["carol", "secret.restore-version", "company.team", "DB", "ok"],
            Some(3),
        ),
        (
            "carol",
            "secrets/delete",
            vec![("namespace", "company.team"), ("key", "DB")],
            ["carol", "secret.delete", "company.team", "DB", "ok"],
            Some(3),
        ),
        (
            "carol",
            "secrets/restore",
            vec![("namespace", "company.team"), ("key", "DB")],
            ["carol", "secret.restore", "company.team", "DB", "ok"],
            Some(3),
        ),
        (
            "carol",
            "secrets/add",
            vec![("namespace", "elsewhere"), ("key", "X"), ("value", "v"), ("description", "")],
            ["carol", "secret.add", "elsewhere", "X", "refused: Namespace not found."],
            None,
        ),
        (
            "carol",
            "secrets/add",
            vec![("namespace", "company"), ("key", "bad key"), ("value", "v"), ("description", "")],
            ["carol", "secret.add", "company", "bad key", "refused: invalid key"],
            None,
        ),
        (
            "anon",
            "secrets/rotate",
            vec![("namespace", "company.team"), ("key", "DB"), ("value", "v")],
            ["(anonymous)", "secret.rotate", "company.team", "DB", "refused: not signed in"],
            None,
        ),
        (
            "admin",
            "users/add",
            vec![("username", "dave"), ("password", PASSWORD), ("role", "auditor"), ("scope", "company")],
            ["admin", "user.add", "company", "dave as auditor", "ok"],
            None,
        ),
        (
            "admin",
            "users/grant",
            vec![("username", "dave"), ("role", "editor"), ("scope", "company.team")],
            ["admin", "user.grant", "company.team", "dave as editor", "ok"],
            None,
        ),
        (
            "admin",
            "users/revoke",
            vec![("username", "dave"), ("role", "editor"), ("scope", "company.team")],
            ["admin", "user.revoke", "company.team", "dave as editor", "ok"],
            None,
        ),
        (
            "admin",
            "users/reset_password",
            vec![("username", "dave"), ("password", "a brand new long password")],
            ["admin", "user.reset-password", "", "dave", "ok"],
            None,
        ),
        (
            "admin",
            "users/end_sessions",
            vec![("username", "dave")],
            ["admin", "user.end-sessions", "", "dave", "ok"],
            None,
        ),
        (
            "admin",
            "users/disable",
            vec![("username", "dave"), ("disabled", "true")],
            ["admin", "user.disable", "", "dave", "ok"],
            None,
        ),
        (
            "admin",
            "users/disable",
            vec![("username", "dave"), ("disabled", "false")],
            ["admin", "user.enable", "", "dave", "ok"],
            None,
        ),
        (
            "carol",
            "users/disable",
            vec![("username", "dave"), ("disabled", "true")],
            ["carol", "user.disable", "", "dave", "refused: forbidden"],
            None,
        ),
        (
            "carol",
            "session/password",
            vec![("current", PASSWORD), ("new_password", "carol's new long password")],
            ["carol", "password.change", "", "", "ok"],
            None,
        ),
        (
            "anon",
            "session/login",
            vec![("username", "carol"), ("password", "not her password at all")],
            ["carol", "sign-in", "", "", "refused: wrong password"],
            None,
        ),
        (
            "anon",
            "session/login",
            vec![("username", "nobody"), ("password", "whatever it is, long")],
            ["(unknown user)", "sign-in", "", "", "refused: wrong username or password"],
            None,
        ),
        (
            "anon",
            "session/login",
            vec![("username", "dave"), ("password", "a brand new long password")],
            ["dave", "sign-in", "", "", "ok"],
            None,
        ),
        ("carol", "session/logout", vec![], ["carol", "sign-out", "", "", "ok"], None),
    ];
    for (who, endpoint, form, [actor, action, namespace, key, outcome], version) in steps {
        let before = s.audit_count().await;
        let client = match who {
            "admin" => &mut admin,
            "carol" => &mut carol,
            _ => &mut s.anon(),
        };
        let (status, body) = client.call(endpoint, &form).await;
        let new = since(&s, before).await;
        assert_eq!(new.len(), 1, "{endpoint} as {who} ({status} {body}): {new:?}");
        let e = &new[0];
        let got = [e.actor.as_str(), &e.action, &e.namespace, &e.key, &e.outcome];
        assert_eq!(got, [actor, action, namespace, key, outcome], "{endpoint} as {who}");
        assert_eq!(e.version, version, "{endpoint} as {who}");
        assert_eq!(e.client, "127.0.0.1");
        assert!((app::ssr::clock::now().0 - e.at.0).abs() < 60);
    }
    // Never a value, password or token in any entry.
    let all = format!("{:?}", since(&s, 0).await);
    for secret in ["v1", "v2", PASSWORD, "brand new", "not her password", "whatever it is"] {
        assert!(!all.contains(secret), "{secret} is in the trail");
    }
    assert_eq!(verdict(&s).await, Verdict::Intact { entries: s.audit_count().await as u64 });
}

async fn trail_of(n: usize) -> Server {
    let s = start().await;
    let mut admin = s.login("admin").await;
    for i in 0..n {
        let ns = format!("team{i}");
        admin.call("namespaces/create", &[("namespace", ns.as_str()), ("description", "")]).await;
    }
    s
}

#[tokio::test]
async fn verify_names_the_first_entry_edited_removed_reordered_or_inserted() {
    for (tamper, want_id) in [
        ("UPDATE audit SET actor = 'mallory' WHERE id = 3", 3),
        ("DELETE FROM audit WHERE id = 4", 5),
        // Swap the contents of entries 2 and 3, MACs included.
        ("UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; UPDATE audit SET id = 3 WHERE id = -2", 2),
        // A forged entry in the middle: the next ids shift up by one.
        ("UPDATE audit SET id = id + 1000 WHERE id >= 4; UPDATE audit SET id = id - 999 WHERE id >= 1000;
          INSERT INTO audit SELECT 4, at, 'mallory', action, namespace, key, version, client, outcome, mac FROM audit WHERE id = 3", 4),
        // The newest entries cut off the end.
        ("DELETE FROM audit WHERE id >= 6", 5),
    ] {
        let s = trail_of(6).await;
        let count = s.audit_count().await;
        assert!(count >= 7, "{count}");
        assert_eq!(verdict(&s).await, Verdict::Intact { entries: count as u64 });
        s.sql(tamper);
        match verdict(&s).await {
            Verdict::Broken { id, .. } => assert_eq!(id, want_id, "{tamper}"),
            intact => panic!("not detected: {tamper}: {intact:?}"),
        }
    }
}

#[tokio::test]
async fn the_command_verifies_the_file_and_exits_non_zero_naming_the_entry() {
    let s = trail_of(3).await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args(["audit", "verify", "--data-dir", s.dir.path().to_str().unwrap()])
            .env("STRONGROOM_MASTER_KEY", s.root_key.as_str())
            .env_remove("STRONGROOM_MASTER_KEY_FILE")
            .envs(s.store_env())
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));
    s.sql("UPDATE audit SET outcome = 'ok' WHERE id = 2 AND outcome = 'ok'; UPDATE audit SET at = at + 1 WHERE id = 2");
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("broken at entry 2"), "{err}");
}

#[tokio::test]
async fn a_change_whose_entry_cannot_be_written_does_not_happen() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    admin.call("namespaces/create", &[("namespace", "company"), ("description", "")]).await;
    let before = s.audit_count().await;
    s.refuse_audit_inserts(true);
    let (status, body) =
        admin.call("secrets/add", &[("namespace", "company"), ("key", "K"), ("value", "v"), ("description", "")]).await;
    assert_eq!(status, 500, "{body}");
    let (status, _) = admin.call("namespaces/create", &[("namespace", "other"), ("description", "")]).await;
    assert_eq!(status, 500);
    s.refuse_audit_inserts(false);
    assert_eq!(s.audit_count().await, before, "nothing was recorded");
    let (_, view) = admin.call("namespaces/get", &[("namespace", "company")]).await;
    assert_eq!(view["effective"].as_array().unwrap().len(), 0, "the secret was stored: {view}");
    assert_eq!(admin.call("namespaces/get", &[("namespace", "other")]).await.0, 404);
    // And the writer is usable again.
    let (status, _) =
        admin.call("secrets/add", &[("namespace", "company"), ("key", "K"), ("value", "v"), ("description", "")]).await;
    assert_eq!(status, 200);
    assert_eq!(verdict(&s).await, Verdict::Intact { entries: s.audit_count().await as u64 });
}

/// Parses one RFC 4180 line of the export (no raw newlines: the export escapes them).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut fields, mut cur, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[tokio::test]
async fn hostile_names_round_trip_through_page_csv_and_json_lines() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    let hostile = "evil\nid,time\r\n\"quoted\",\u{1b}[2J\u{1b}[31mred\u{7}=cmd";
    let (status, _) = admin.call("namespaces/create", &[("namespace", hostile), ("description", "")]).await;
    assert_eq!(status, 422);
    assert_eq!(s.last_entry().await.namespace, hostile);

    let (status, _, html) = admin.get("/audit?action=namespace.create").await;
    assert_eq!(status, 200);
    assert!(!html.contains('\u{1b}') && !html.contains('\u{7}'), "raw control characters in the page");
    assert!(html.contains("evil\\nid,time\\r\\n") && html.contains("\\u{1b}[2J\\u{1b}[31mred\\u{7}=cmd"), "{html}");

    let (status, headers, csv) = admin.get("/audit/export.csv?action=namespace.create").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(!csv.contains('\u{1b}'));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "one header and one record, each on one line: {csv:?}");
    let header = csv_fields(lines[0]);
    let record = csv_fields(lines[1]);
    assert_eq!(header.len(), record.len());
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(unescape(&record[column("namespace")]), hostile);
    assert_eq!(record[column("action")], "namespace.create");

    let (status, _, jsonl) = admin.get("/audit/export.jsonl?action=namespace.create").await;
    assert_eq!(status, 200);
    assert!(!jsonl.contains('\u{1b}'));
    let lines: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["namespace"], hostile);
}

#[tokio::test]
async fn the_trail_is_limited_to_the_readers_grants() {
    let s = start().await;
    s.add_user("fin", Role::Auditor, "finance").await;
    s.add_user("ed", Role::Editor, "finance").await;
    let mut admin = s.login("admin").await;
    for ns in ["finance.payroll", "ops"] {
        admin.call("namespaces/create", &[("namespace", ns), ("description", "")]).await;
    }
    let filter = [("namespace", ""), ("actor", ""), ("action", ""), ("from", ""), ("to", "")];
    let mut fin = s.login("fin").await;
    let (status, page) = fin.call("audit/list", &filter).await;
    assert_eq!(status, 200);
    let namespaces: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["namespace"].as_str().unwrap()).collect();
    assert_eq!(namespaces, ["finance.payroll"], "{page}");
    let (_, csv, _) = (0, fin.get("/audit/export.csv").await.2, 0);
    assert!(csv.contains("finance.payroll") && !csv.contains("ops") && !csv.contains("sign-in"), "{csv}");
    let mut ed = s.login("ed").await;
    assert_eq!(ed.call("audit/list", &filter).await.0, 403);
    assert_eq!(ed.get("/audit/export.csv").await.0, 403);
    assert_eq!(s.anon().get("/audit/export.jsonl").await.0, 303, "anonymous: sent to sign in");
    // Keyset pages: newest first, `older` continues without overlap.
    for i in 0..60 {
        let ns = format!("ops.t{i}");
        admin.call("namespaces/create", &[("namespace", ns.as_str()), ("description", "")]).await;
    }
    let (_, first) = admin
        .call(
            "audit/list",
            &[("namespace", "ops"), ("actor", "admin"), ("action", "namespace.create"), ("from", ""), ("to", "")],
        )
        .await;
    let older = first["older"].as_i64().unwrap().to_string();
    let first_ids: Vec<i64> = first["entries"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(first_ids.len(), 50);
    assert!(first_ids.windows(2).all(|w| w[0] > w[1]));
    let (_, second) = admin
        .call(
            "audit/list",
            &[
                ("namespace", "ops"),
                ("actor", "admin"),
                ("action", "namespace.create"),
                ("from", ""),
                ("to", ""),
                ("before", &older),
            ],
        )
        .await;
    assert_eq!(second["entries"].as_array().unwrap().len(), 11, "60 children and ops itself");
    assert!(second["older"].is_null());
    let (status, body) = admin
        .call("audit/list", &[("namespace", ""), ("actor", ""), ("action", ""), ("from", "soon"), ("to", "")])
        .await;
    assert_eq!((status, crate::common::error_field(&body).1.as_deref()), (422, Some("from")));
}

#[tokio::test]
async fn requests_refused_before_any_server_function_are_recorded_too() {
    let s = start().await;
    let mut admin = s.login("admin").await;
    let before = s.audit_count().await;
    // No `key` argument: it does not decode, so the function never runs.
    assert_eq!(admin.call("secrets/add", &[("namespace", "co")]).await.0, 400);
    assert_eq!(s.audit_count().await, before + 1);
    let e = s.last_entry().await;
    let got = (e.actor.as_str(), e.action.as_str(), e.key.as_str(), e.outcome.as_str());
    assert_eq!(got, ("admin", "request", "/api/secrets/add", "refused: malformed request"));
}

/// `audit archive`: the older entries go to a file that verifies on its own
/// (and fails when edited or cut short), the live trail verifies on from the
/// checkpoint, and `audit verify --archive …` checks them chained, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_entries_verify_on_their_own_and_chained_into_the_live_trail() {
    use crate::common::{strongroom, text};
    let dir = tempfile::tempdir().unwrap();
    let key = app::ssr::crypto::RootKey::generate().unwrap().to_base64().to_string();
    let run = |args: &[&str]| strongroom(args, dir.path(), &key);
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        text(&out)
    };
    ok(&["audit", "seed", "3000"]);
    let day = |days_ago: i64| app::domain::Timestamp(app::ssr::clock::now().0 - days_ago * 86_400).date();
    let (a1, a2) = (dir.path().join("a1.jsonl"), dir.path().join("a2.jsonl"));
    let said = ok(&["audit", "archive", "--before", &day(200), "--to", a1.to_str().unwrap()]);
    assert!(said.contains("archived entries 1 to"), "{said}");
    assert!(ok(&["audit", "verify"]).contains("audit trail intact"));
    let said = ok(&["audit", "archive", "--before", &day(30), "--to", a2.to_str().unwrap()]);
    assert!(said.contains("removed from the live trail"), "{said}");
    let both = ok(&["audit", "verify", "--archive", a1.to_str().unwrap(), "--archive", a2.to_str().unwrap()]);
    assert!(both.contains("a1.jsonl: intact") && both.contains("audit trail intact"), "{both}");
    // Out of order, or the newer one missing: the chain does not close.
    assert!(!run(&["audit", "verify", "--archive", a2.to_str().unwrap(), "--archive", a1.to_str().unwrap()])
        .status
        .success());
    assert!(!run(&["audit", "verify", "--archive", a1.to_str().unwrap()]).status.success());
    // An existing file is never overwritten; nothing older: nothing archived.
    assert!(!run(&["audit", "archive", "--before", &day(30), "--to", a1.to_str().unwrap()]).status.success());
    assert!(ok(&["audit", "archive", "--before", &day(300), "--to", dir.path().join("a3").to_str().unwrap()])
        .contains("nothing archived"));
    // An edited entry, or a file cut short, does not verify.
    let original = std::fs::read_to_string(&a1).unwrap();
    let edited = original.replacen("\"outcome\":\"ok\"", "\"outcome\":\"ok!\"", 1);
    assert_ne!(edited, original);
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, &edited).unwrap();
    let out = run(&["audit", "verify", "--archive", bad.to_str().unwrap(), "--archive", a2.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out).contains("MAC does not match"), "{}", text(&out));
    let cut: Vec<&str> = original.lines().collect();
    std::fs::write(&bad, cut[..cut.len() - 1].join("\n")).unwrap();
    let out = run(&["audit", "verify", "--archive", bad.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out).contains("cut short"), "{}", text(&out));
    // The trail records each archive; the live trail holds what is newer.
    let conn = rusqlite::Connection::open(dir.path().join("strongroom.db")).unwrap();
    let archives: i64 =
        conn.query_row("SELECT count(*) FROM audit WHERE action = 'audit.archive'", [], |r| r.get(0)).unwrap();
    assert_eq!(archives, 2);
    let oldest: i64 = conn.query_row("SELECT min(at) FROM audit", [], |r| r.get(0)).unwrap();
    assert!(oldest >= app::ssr::clock::now().0 - 31 * 86_400);
}

/// `STRONGROOM_AUDIT_KEEP_DAYS`: the server archives what is older on its own
/// (to DATA_DIR/audit-archive/), keeps serving, and the result verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_archives_entries_older_than_the_days_it_keeps() {
    use crate::common::{binary, strongroom, text};
    if crate::common::on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = app::ssr::crypto::RootKey::generate().unwrap();
    binary::prepare(dir.path(), &root, 1).await;
    let key = root.to_base64().to_string();
    let out = strongroom(&["audit", "seed", "2000"], dir.path(), &key);
    assert!(out.status.success(), "{}", text(&out));
    let (mut server, base) = binary::serve_with(dir.path(), &key, &[("STRONGROOM_AUDIT_KEEP_DAYS", "30")]).await;
    let archives = dir.path().join("audit-archive");
    let mut found = Vec::new();
    for _ in 0..200 {
        found = std::fs::read_dir(&archives)
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "jsonl")).collect())
            .unwrap_or_default();
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 1, "one archive");
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.unwrap().status(), 200);
    // The file is whole once named; the pruning commits just after it.
    let mut out = strongroom(&["audit", "verify", "--archive", found[0].to_str().unwrap()], dir.path(), &key);
    for _ in 0..50 {
        if out.status.success() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        out = strongroom(&["audit", "verify", "--archive", found[0].to_str().unwrap()], dir.path(), &key);
    }
    assert!(out.status.success(), "{}", text(&out));
    let _ = server.kill();
    let _ = server.wait();
}

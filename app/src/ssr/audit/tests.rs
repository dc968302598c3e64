use super::*;
use crate::domain::{
    audit::{Action, AuditFilter, OutcomeFilter},
    Scope, Timestamp,
};
use crate::ssr::crypto::BaseKey;

#[test]
fn long_text_is_cut_when_stored_and_the_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::ssr::db::open(&dir.path().join("t.db")).unwrap();
    let key = AuditKey::derive(&BaseKey::generate().unwrap());
    let entry = NewEntry {
        at: Timestamp(0),
        actor: Actor::CommandLine,
        action: Action::Read,
        namespace: "é".repeat(1000),
        key: "k".into(),
        version: None,
        client: Client::Local,
        outcome: "ok".into(),
    };
    append(&conn, &key, entry).unwrap();
    let stored: String = conn.query_row("SELECT namespace FROM audit", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, "é".repeat(MAX_TEXT));
    assert_eq!(verify(&conn, &key).unwrap(), Verdict::Intact { entries: 1 });
}

#[test]
fn a_subtree_page_merged_per_namespace_equals_the_single_query() {
    use crate::domain::NamespacePath;
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::ssr::db::open(&dir.path().join("t.db")).unwrap();
    let key = AuditKey::derive(&BaseKey::generate().unwrap());
    let names = ["co", "co.a", "co.a.x", "co.b", "co-op", "co-op.a", "cob", "", "other"];
    for n in 0..900 {
        let entry = NewEntry {
            at: Timestamp(n),
            actor: Actor::CommandLine,
            action: Action::Read,
            namespace: names[(n as usize * 7) % names.len()].into(),
            key: "k".into(),
            version: None,
            client: Client::Local,
            outcome: if n % 5 == 0 { "refused: forbidden".into() } else { "ok".into() },
        };
        append(&conn, &key, entry).unwrap();
    }
    let sub = |s: &str| Scope::Subtree(NamespacePath::parse(s).unwrap());
    let scope_sets = [vec![Scope::All], vec![sub("co.a")], vec![sub("co.b"), sub("co-op")], vec![sub("other")]];
    for ns in ["co", "co.a", "co-op", "cob", "nothing"] {
        for outcome in [None, Some(OutcomeFilter::Ok), Some(OutcomeFilter::Refused)] {
            let filter =
                AuditFilter { namespace: Some(NamespacePath::parse(ns).unwrap()), outcome, ..Default::default() };
            for scopes in &scope_sets {
                for before in [None, Some(500), Some(3)] {
                    for limit in [1, 50, 1000] {
                        let merged = subtree_page(&conn, &filter, scopes, before, limit).unwrap().unwrap();
                        let single = query_page(&conn, &filter, scopes, before, limit).unwrap();
                        assert_eq!(merged, single, "{ns} {outcome:?} {scopes:?} {before:?} {limit}");
                    }
                }
            }
        }
    }
    // Anything more to the filter, or too many namespaces: the single query.
    let filter = AuditFilter {
        namespace: Some(NamespacePath::parse("co").unwrap()),
        actor: Some("a".into()),
        ..Default::default()
    };
    assert!(subtree_page(&conn, &filter, &[Scope::All], None, 50).unwrap().is_none());
    for n in 0..=MAX_MERGED {
        let entry = NewEntry {
            at: Timestamp(0),
            actor: Actor::CommandLine,
            action: Action::Read,
            namespace: format!("co.many{n}"),
            key: "k".into(),
            version: None,
            client: Client::Local,
            outcome: "ok".into(),
        };
        append(&conn, &key, entry).unwrap();
    }
    let filter = AuditFilter { namespace: Some(NamespacePath::parse("co").unwrap()), ..Default::default() };
    assert!(subtree_page(&conn, &filter, &[Scope::All], None, 50).unwrap().is_none());
}

#[test]
fn actors_and_clients_display_as_the_trail_stores_them() {
    // The chain's MACs cover this text: a change here breaks every stored chain.
    let name = |s: &str| crate::domain::Username::parse(s).unwrap();
    let token = |s: &str| crate::domain::TokenName::parse(s).unwrap();
    let actors = [
        (Actor::User(name("alice")), "alice"),
        (Actor::Token(token("deploy-bot")), "token:deploy-bot"),
        (Actor::UnknownToken, "(unknown token)"),
        (Actor::CommandLine, "(command line)"),
        (Actor::ServerStart, "(server start)"),
        (Actor::UnknownUser, "(unknown user)"),
        (Actor::Anonymous, "(anonymous)"),
    ];
    for (actor, stored) in actors {
        assert_eq!(actor.to_string(), stored);
    }
    assert_eq!(Actor::Token(token("deploy-bot")).to_string(), token("deploy-bot").actor());
    let clients = [
        (Client::of(Some("10.0.0.7".parse().unwrap())), "10.0.0.7"),
        (Client::of(Some("2001:db8::1".parse().unwrap())), "2001:db8::1"),
        (Client::Address("2001:db8:0:1::/64".into()), "2001:db8:0:1::/64"),
        (Client::Local, "local"),
        (Client::of(None), "unknown"),
    ];
    for (client, stored) in clients {
        assert_eq!(client.to_string(), stored);
    }
    for action in Action::ALL {
        assert_eq!(Action::parse(action.as_str()), Some(*action), "{action:?}");
    }
}

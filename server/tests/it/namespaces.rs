//! Namespaces after they are made: a new description (editor), deleting an
//! empty one (admin) — refused, saying why, while anything is in it.

use crate::common::{error_field, start};
use app::domain::Role;

#[tokio::test]
async fn a_description_changes_and_only_an_empty_namespace_is_deleted() {
    let s = start().await;
    s.secrets("company.team", &[("K", "v")]).await;
    s.secrets("other", &[]).await;
    s.add_user("ed", Role::Editor, "company").await;
    let (mut admin, mut editor) = (s.login("admin").await, s.login("ed").await);

    let (status, body) =
        editor.call("namespaces/describe", &[("namespace", "company.team"), ("description", "Payments team")]).await;
    assert_eq!((status, body["description"].as_str()), (200, Some("Payments team")), "{body}");
    let (_, view) = editor.call("namespaces/get", &[("namespace", "company")]).await;
    assert!(view.to_string().contains("Payments team"), "{view}");
    assert_eq!(s.last_entry().await.action, "namespace.describe");
    let long = "x".repeat(1001);
    let (status, body) =
        editor.call("namespaces/describe", &[("namespace", "company.team"), ("description", &long)]).await;
    assert_eq!((status, error_field(&body).1), (422, Some("description".into())));
    let (status, _) = editor.call("namespaces/describe", &[("namespace", "other"), ("description", "x")]).await;
    assert!(status == 403 || status == 404, "outside the editor's grant: {status}");
    let (_, other) = admin.call("namespaces/get", &[("namespace", "other")]).await;
    assert!(!other.to_string().contains("\"description\":\"x\""), "{other}");

    // Deleting is an admin's call, and only for an empty namespace.
    assert_eq!(editor.call("namespaces/delete", &[("namespace", "company.team")]).await.0, 403);
    let (status, body) = admin.call("namespaces/delete", &[("namespace", "company")]).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("0 secrets") && body.to_string().contains("1 child namespaces"), "{body}");
    let (status, body) = admin.call("namespaces/delete", &[("namespace", "company.team")]).await;
    assert!(status == 409 && body.to_string().contains("1 secrets"), "{body}");
    // A deleted secret still counts: its history is kept until purged.
    admin.call("secrets/delete", &[("namespace", "company.team"), ("key", "K")]).await;
    assert_eq!(admin.call("namespaces/delete", &[("namespace", "company.team")]).await.0, 409);
    assert_eq!(
        admin.call("secrets/purge", &[("namespace", "company.team"), ("key", "K"), ("confirm", "K")]).await.0,
        200
    );
    let (status, body) = admin.call("namespaces/delete", &[("namespace", "company.team")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.last_entry().await.action, "namespace.delete");
    assert_eq!(admin.call("namespaces/get", &[("namespace", "company.team")]).await.0, 404);
    assert_eq!(admin.call("namespaces/delete", &[("namespace", "company")]).await.0, 200);
    assert_eq!(admin.call("namespaces/delete", &[("namespace", "company")]).await.0, 404);
}

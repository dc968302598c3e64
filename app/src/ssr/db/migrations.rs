//! The schema, as the migrations that build it, in order (see `db` for what each table holds).

/// Each entry moves the schema from version `index` to `index + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
CREATE TABLE data_keys (
    id         INTEGER PRIMARY KEY,
    nonce      BLOB NOT NULL,
    wrapped    BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE namespaces (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL UNIQUE,
    parent_id   INTEGER REFERENCES namespaces(id),
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
) STRICT;
CREATE TABLE secrets (
    id           INTEGER PRIMARY KEY,
    namespace_id INTEGER NOT NULL REFERENCES namespaces(id),
    key          TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   INTEGER NOT NULL,
    updated_by   TEXT NOT NULL,
    deleted_at   INTEGER,
    deleted_by   TEXT,
    UNIQUE (namespace_id, key)
) STRICT;
CREATE TABLE secret_versions (
    secret_id     INTEGER NOT NULL REFERENCES secrets(id),
    version       INTEGER NOT NULL,
    key_id        INTEGER REFERENCES data_keys(id),
    nonce         BLOB,
    ciphertext    BLOB,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    restored_from INTEGER,
    PRIMARY KEY (secret_id, version)
) STRICT;
"#,
    r#"
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    created_by          TEXT NOT NULL,
    password_changed_at INTEGER NOT NULL
) STRICT;
CREATE TABLE grants (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'auditor')),
    namespace  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (user_id, role, namespace)
) STRICT;
CREATE TABLE sessions (
    token_hash   BLOB PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_user ON sessions(user_id);
"#,
    r#"
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    version   INTEGER,
    client    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    mac       BLOB NOT NULL
) STRICT;
CREATE INDEX audit_by_namespace ON audit(namespace, id);
CREATE INDEX audit_by_actor ON audit(actor, id);
CREATE INDEX audit_by_action ON audit(action, id);
CREATE INDEX audit_by_time ON audit(at, id);
"#,
    r#"
ALTER TABLE secrets ADD COLUMN rotate_by INTEGER;
ALTER TABLE secrets ADD COLUMN rotate_every_days INTEGER;
"#,
    r#"
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_hash   BLOB NOT NULL UNIQUE,
    namespace    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    revoked_by   TEXT
) STRICT;
CREATE INDEX audit_by_key ON audit(key, id);
"#,
    r#"
CREATE TABLE changes (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
) STRICT;
INSERT INTO changes (id, seq) VALUES (1, 1);
ALTER TABLE namespaces ADD COLUMN changed INTEGER NOT NULL DEFAULT 1;
CREATE TRIGGER secrets_changed_insert AFTER INSERT ON secrets BEGIN
    UPDATE changes SET seq = seq + 1;
    UPDATE namespaces SET changed = (SELECT seq FROM changes) WHERE id = NEW.namespace_id;
END;
CREATE TRIGGER secrets_changed_update AFTER UPDATE ON secrets BEGIN
    UPDATE changes SET seq = seq + 1;
    UPDATE namespaces SET changed = (SELECT seq FROM changes) WHERE id = NEW.namespace_id;
END;
CREATE TRIGGER secrets_changed_delete AFTER DELETE ON secrets BEGIN
    UPDATE changes SET seq = seq + 1;
    UPDATE namespaces SET changed = (SELECT seq FROM changes) WHERE id = OLD.namespace_id;
END;
"#,
    // "What did this person do of this kind": newest first without sorting.
    r#"
CREATE INDEX audit_by_actor_action ON audit(actor, action, id);
"#,
    // A random id per secret, bound into its ciphertexts (format 2). Secrets made
    // before keep NULL and format 1 until `strongroom rewrap` gives them one.
    r#"
ALTER TABLE secrets ADD COLUMN uid BLOB CHECK (uid IS NULL OR length(uid) = 16);
"#,
    // Versions this secret keeps with their ciphertext; NULL: the default
    // (`STRONGROOM_KEEP_VERSIONS`, recorded in meta at start).
    r#"
ALTER TABLE secrets ADD COLUMN keep_versions INTEGER CHECK (keep_versions IS NULL OR keep_versions BETWEEN 1 AND 1000);
"#,
    // Databases made before the base key was stored derive from the root key
    // itself; marked here so that `keys::unlock` takes that path for them only.
    r#"
INSERT INTO meta (name, value) SELECT 'base_key_legacy', x'01'
WHERE EXISTS (SELECT 1 FROM meta WHERE name = 'key_check') AND NOT EXISTS (SELECT 1 FROM meta WHERE name = 'base_key');
"#,
    // Tags (`name=value` pairs, sorted, space-separated: `domain::Tags`), and the
    // refused entries of the trail, newest first (overall and per namespace)
    // without scanning the rest; partial, so entries that are `ok` cost nothing.
    r#"
ALTER TABLE secrets ADD COLUMN tags TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_refused ON audit(id) WHERE substr(outcome, 1, 2) <> 'ok';
CREATE INDEX audit_refused_by_namespace ON audit(namespace, id) WHERE substr(outcome, 1, 2) <> 'ok';
"#,
    // The security rows' MACs (see `rows`; given by `rows::seal` at the next
    // unlock), and each namespace's own change counter: a namespace's map
    // version is the sum along its ancestry, so it grows with a change there
    // or above and tells nothing of changes elsewhere (a server-wide counter
    // did). Counters keep their values, so no version goes back.
    r#"
ALTER TABLE users ADD COLUMN mac BLOB;
ALTER TABLE grants ADD COLUMN mac BLOB;
ALTER TABLE tokens ADD COLUMN mac BLOB;
DROP TRIGGER secrets_changed_insert;
DROP TRIGGER secrets_changed_update;
DROP TRIGGER secrets_changed_delete;
DROP TABLE changes;
CREATE TRIGGER secrets_changed_insert AFTER INSERT ON secrets BEGIN
    UPDATE namespaces SET changed = changed + 1 WHERE id = NEW.namespace_id;
END;
CREATE TRIGGER secrets_changed_update AFTER UPDATE ON secrets BEGIN
    UPDATE namespaces SET changed = changed + 1 WHERE id = NEW.namespace_id;
END;
CREATE TRIGGER secrets_changed_delete AFTER DELETE ON secrets BEGIN
    UPDATE namespaces SET changed = changed + 1 WHERE id = OLD.namespace_id;
END;
"#,
    // Leases (`db::lease`): which node runs a singleton job, until when.
    r#"
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
) STRICT;
"#,
    // What several nodes must agree on (`auth::shared`, `memory::handover`):
    // sign-in failures per account and device, and one-time hand-overs (a new
    // token shown once, a pasted import awaiting its apply), sealed.
    r#"
CREATE TABLE throttles (
    kind     TEXT NOT NULL,
    key      TEXT NOT NULL,
    failures INTEGER NOT NULL,
    last_ms  INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) STRICT;
CREATE INDEX throttles_by_age ON throttles(last_ms);
CREATE TABLE handovers (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    owner      INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    key_id     INTEGER NOT NULL,
    nonce      BLOB NOT NULL,
    sealed     BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX handovers_by_owner ON handovers(kind, owner);
CREATE INDEX handovers_by_expiry ON handovers(expires_at);
"#,
    // Sessions join the security rows (`store::rows`): someone who can write
    // the database could otherwise add the hash of a token they know for an
    // admin. Sessions from before had no MAC: everyone signs in again.
    r#"
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN mac BLOB;
"#,
    // AppRoles (`store::approles`): workload logins. Security rows (MACs).
    r#"
CREATE TABLE approles (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role_id       TEXT NOT NULL UNIQUE,
    namespace     TEXT NOT NULL,
    token_ttl     INTEGER NOT NULL,
    secret_id_ttl INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    revoked_at    INTEGER,
    revoked_by    TEXT,
    mac           BLOB
) STRICT;
CREATE TABLE approle_secret_ids (
    id         INTEGER PRIMARY KEY,
    approle_id INTEGER NOT NULL REFERENCES approles(id),
    hash       BLOB NOT NULL UNIQUE,
    accessor   TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    mac        BLOB
) STRICT;
CREATE INDEX approle_secret_ids_by_role ON approle_secret_ids(approle_id);
"#,
    // JWT roles (`store::jwt_roles`): workload logins with signed identity
    // tokens. Security rows (MACs).
    r#"
CREATE TABLE jwt_roles (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    issuer       TEXT NOT NULL,
    audience     TEXT NOT NULL,
    bound_claims TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    token_ttl    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   INTEGER,
    revoked_by   TEXT,
    mac          BLOB
) STRICT;
"#,
    // SSO (`store::sso`): IdP identities and the grants their groups give
    // (security rows); a session may end sooner than the configured limit (an
    // SSO session), and that limit joins the session's MAC: sessions from
    // before had none, so everyone signs in again.
    r#"
CREATE TABLE sso_identities (
    id              INTEGER PRIMARY KEY,
    issuer          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    last_sign_in_at INTEGER,
    mac             BLOB,
    UNIQUE (issuer, subject)
) STRICT;
CREATE INDEX sso_identities_by_user ON sso_identities(user_id);
CREATE TABLE idp_grants (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    role      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    mac       BLOB,
    PRIMARY KEY (user_id, role, namespace)
) STRICT;
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN max_age INTEGER;
"#,
    // Second factors of local accounts (`store::second_factors`). Security rows.
    r#"
CREATE TABLE second_factors (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id),
    nonce      BLOB NOT NULL,
    sealed     BLOB NOT NULL,
    last_step  INTEGER,
    created_at INTEGER NOT NULL,
    mac        BLOB
) STRICT;
"#,
    // Required keys (`store::required`): names a namespace and its children must define. Security rows.
    r#"
CREATE TABLE required_keys (
    namespace_id INTEGER NOT NULL REFERENCES namespaces(id),
    key          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    mac          BLOB,
    PRIMARY KEY (namespace_id, key)
) STRICT;
"#,
    // Who read each secret (`audit::reads`): a summary of the trail's value
    // reads, kept by the batch that appends them, so "read by" and "unused"
    // never scan the trail. Filled from the trail already there.
    r#"
CREATE TABLE secret_reads (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    reader    TEXT NOT NULL,
    reads     INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    PRIMARY KEY (namespace, key, reader)
) STRICT;
CREATE INDEX secret_reads_by_reader ON secret_reads (reader);
INSERT INTO secret_reads (namespace, key, reader, reads, last_at)
SELECT namespace, key, actor, count(*), max(at) FROM audit
WHERE action = 'secret.read' AND version IS NOT NULL
GROUP BY namespace, key, actor;
"#,
    // Keyed fingerprints of stored values (`store::fingerprints`): filled at the next start.
    r#"
ALTER TABLE secret_versions ADD COLUMN fingerprint BLOB;
ALTER TABLE secret_versions ADD COLUMN fingerprint_gen INTEGER;
CREATE INDEX secret_versions_by_fingerprint ON secret_versions (fingerprint) WHERE fingerprint IS NOT NULL;
"#,
    // Webhooks (`store::webhooks`): targets (security rows, their signing
    // secrets sealed) and the outbox of deliveries, filled from the committed
    // trail (each entry is written in its change's transaction) and by the
    // daily reminders.
    r#"
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    format     TEXT NOT NULL,
    nonce      BLOB NOT NULL,
    sealed     BLOB NOT NULL,
    old_nonce  BLOB,
    old_sealed BLOB,
    old_until  INTEGER,
    after_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    mac        BLOB
) STRICT;
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks(id),
    delivery    TEXT NOT NULL UNIQUE,
    event       TEXT NOT NULL,
    cause       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    last_result TEXT,
    done_at     INTEGER,
    mac         BLOB,
    UNIQUE (webhook_id, cause)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
"#,
];

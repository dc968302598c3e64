//! `GET /audit/export.csv` and `/audit/export.jsonl`: the filtered trail,
//! streamed. Rows are read on a blocking thread from a connection of the
//! export's own and sent on in 64 KiB chunks through a bounded channel, so
//! memory stays flat however long the trail; a client that goes away stops
//! the read.

use app::{
    api::audit::{parse_filter, trail_scopes},
    domain::audit::{csv_cell, Action, AuditEntry},
    error::AppError,
    ssr::{
        access::outcome_of,
        audit::{self, Actor, Client, NewEntry},
        state::AppState,
    },
};
use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use std::{collections::HashMap, convert::Infallible, net::SocketAddr};

const CHUNK: usize = 64 * 1024;
/// How long a client may leave a chunk unread before its export is ended.
const STALLED: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq)]
enum TrailFormat {
    Csv,
    JsonLines,
}

impl TrailFormat {
    fn write(self, e: &AuditEntry, out: &mut Vec<u8>) {
        match self {
            TrailFormat::Csv => {
                let version = e.version.map(|v| v.to_string()).unwrap_or_default();
                let cells = [
                    e.id.to_string(),
                    e.at.rfc3339(),
                    csv_cell(&e.actor).into_owned(),
                    csv_cell(&e.action).into_owned(),
                    csv_cell(&e.namespace).into_owned(),
                    csv_cell(&e.key).into_owned(),
                    version,
                    csv_cell(&e.client).into_owned(),
                    csv_cell(&e.outcome).into_owned(),
                ];
                out.extend_from_slice(cells.join(",").as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            TrailFormat::JsonLines => {
                // serde_json escapes every control character (\n, \u001b, …) but not
                // U+2028 / U+2029, on which some line-splitters break a record.
                let line = serde_json::json!({
                    "id": e.id, "time": e.at.rfc3339(), "actor": e.actor, "action": e.action,
                    "namespace": e.namespace, "key": e.key, "version": e.version,
                    "client": e.client, "outcome": e.outcome,
                });
                let text = line.to_string().replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029");
                out.extend_from_slice(text.as_bytes());
                out.push(b'\n');
            }
        }
    }
}

pub async fn export(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let format = match file.as_str() {
        "export.csv" => TrailFormat::Csv,
        "export.jsonl" => TrailFormat::JsonLines,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let q = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    let cookies = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let user = state.session(cookies).await.ok().flatten().map(|(user, _)| user);
    let refuse = |error: AppError, actor: Actor| {
        let entry = NewEntry {
            at: app::ssr::clock::now(),
            actor,
            action: Action::Read,
            namespace: q("namespace").to_owned(),
            key: String::new(),
            version: None,
            client: Client::of(Some(client.ip())),
            outcome: outcome_of(&error),
        };
        let state = state.clone();
        async move {
            state.record_refused_read(entry).await;
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{error}\n")).into_response()
        }
    };
    let Some(user) = user else { return refuse(AppError::Unauthorized, Actor::Anonymous).await };
    let actor = Actor::User(user.username.clone());
    let scopes = trail_scopes(&user.grants);
    if scopes.is_empty() {
        return refuse(AppError::Forbidden, actor).await;
    }
    let filter = match parse_filter(q("namespace"), q("actor"), q("action"), q("from"), q("to"), q("key"), q("outcome"))
    {
        Ok(filter) => filter,
        Err(error) => return refuse(error, actor).await,
    };
    // Each export holds a read transaction (and, while it streams, a thread):
    // a bounded number run at once, and a client that stops reading is cut off.
    let Some(slot) = state.exports.take(user.id) else { return refuse(AppError::RateLimited, actor).await };

    // A download of the trail is itself recorded, with its filter.
    state
        .record(NewEntry {
            at: app::ssr::clock::now(),
            actor: actor.clone(),
            action: Action::AuditExport,
            namespace: filter.namespace.as_ref().map(|n| n.to_string()).unwrap_or_default(),
            key: String::new(),
            version: None,
            client: Client::of(Some(client.ip())),
            outcome: format!("ok: {}", if format == TrailFormat::Csv { "csv" } else { "jsonl" }),
        })
        .await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let db = state.db.clone();
    let runtime = tokio::runtime::Handle::current();
    // A chunk not taken by the client within STALLED ends the export.
    let send =
        move |chunk: Bytes| runtime.block_on(tokio::time::timeout(STALLED, tx.send(chunk))).is_ok_and(|r| r.is_ok());
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let conn = match db.own_reader() {
            Ok(conn) => conn,
            Err(e) => return tracing::error!(error = %e, "export: no database connection"),
        };
        let mut buf = Vec::with_capacity(CHUNK + 1024);
        if format == TrailFormat::Csv {
            buf.extend_from_slice(b"id,time,actor,action,namespace,key,version,client,outcome\r\n");
        }
        let mut open = true;
        // One read transaction: the export is one consistent snapshot.
        let result = app::ssr::db::in_snapshot(&conn, |snapshot| {
            audit::for_each(snapshot, &filter, &scopes, |entry| {
                format.write(&entry, &mut buf);
                if buf.len() >= CHUNK {
                    open = send(Bytes::from(std::mem::take(&mut buf)));
                }
                open
            })
        })
        .and_then(|done| done);
        match result {
            Ok(()) if open && !buf.is_empty() => {
                send(Bytes::from(buf));
            }
            Ok(()) if !open => tracing::info!("export ended: the client went away or stopped reading"),
            Ok(()) => {}
            // The client sees a cut-off download rather than a wrong one.
            Err(e) => tracing::error!(error = %e, "export failed part-way"),
        }
    });
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) });
    let (content_type, name) = match format {
        TrailFormat::Csv => ("text/csv; charset=utf-8", "audit.csv"),
        TrailFormat::JsonLines => ("application/jsonl; charset=utf-8", "audit.jsonl"),
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

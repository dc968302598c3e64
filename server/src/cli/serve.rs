//! `strongroom serve`: the web UI and the workload API.

use super::{local::open_state, RunError};
use crate::{
    config::{KeyOrigin, ServeArgs},
    router,
};
use leptos::prelude::LeptosOptions;

pub async fn serve(args: ServeArgs) -> Result<(), RunError> {
    let addr = args.socket_addr()?;
    let metrics_addr = args.metrics_socket_addr()?;
    crate::config::refuse_root_in_others_dir(&args.data_dir).map_err(RunError::User)?;
    args.ensure_data_dir()?;
    let (root, origin) = args.root_key(std::env::var("STRONGROOM_MASTER_KEY").ok())?;
    if let KeyOrigin::Trial { created } = origin {
        let path = args.data_dir.join("master.key");
        tracing::warn!(
            "{} TRIAL ROOT KEY {}: for trying Strongroom out only. Anyone who can read this file \
             and the database can decrypt every secret. For real use, generate a key with \
             `strongroom keygen`, keep it outside the data directory and set \
             STRONGROOM_MASTER_KEY_FILE.",
            if created { "CREATED" } else { "USING" },
            path.display()
        );
    }
    let source = args.source()?;
    if let app::ssr::db::Source::File(_) = source {
        let sqlite = rusqlite::version();
        if !sqlite_supported(rusqlite::version_number()) {
            return Err(RunError::User(format!(
                "SQLite {sqlite} is older than 3.51.3, which fixes a WAL-reset corruption bug: \
                 build strongroom with its bundled SQLite"
            )));
        }
        tracing::info!(sqlite, "SQLite version");
    }
    tracing::info!(store = %source, "opening the store");
    let settings = args.auth_settings()?;
    let limits = args.limits()?;
    let front = crate::Front {
        own_origin: crate::layers::origin::OwnOrigin(args.public_origin()?),
        proxies: args.trusted_proxies()?,
        assets: crate::assets::Assets::new(args.site_root.clone()),
        request_timeout: limits.request_timeout,
        sso: args.sso()?.map(|c| std::sync::Arc::new(crate::sso::Sso::new(c))),
    };
    let state = open_state(source, root, settings).await?;
    let (keep, chain) = (args.keep_versions, state.audit.clone());
    let now = app::ssr::clock::now();
    let recorded = state.db.call(move |c| {
        app::ssr::db::Transact::write(c, |tx| app::ssr::store::set_default_retention(tx, &chain, keep, now))
    });
    match recorded.await {
        Ok(None) => tracing::info!(keep, "versions kept per secret by default"),
        Ok(Some(0)) => tracing::info!(keep, "versions kept per secret by default (recorded)"),
        Ok(Some(destroyed)) => {
            tracing::warn!(keep, destroyed, "the default number of versions kept changed; older values destroyed")
        }
        // Not fatal: on a full disk the server still serves reads.
        Err(e) => tracing::error!(error = %e, keep, "could not record the default number of versions kept"),
    }

    let delivery = crate::webhooks::Delivery {
        allow: args.webhook_allow()?,
        first_retry_secs: i64::from(args.webhook_first_retry_secs),
    };
    // The background jobs' leases, given back on a clean stop so that the
    // next start (or another node) takes them over at once.
    let mut leases = vec![crate::webhooks::start(state.clone(), delivery)];
    for sink in args.audit_streams()? {
        leases.push(crate::audit_stream::start(state.clone(), sink));
    }
    if let Some(days) = args.audit_keep_days {
        super::audit::keep_days(state.clone(), args.data_dir.clone(), days);
    }
    state.setup.describe(&args.data_dir, matches!(origin, KeyOrigin::Trial { .. }), args.public_origin()?);

    if let Some(at) = metrics_addr {
        let listener = tokio::net::TcpListener::bind(at).await.map_err(|e| RunError::Listen(at.to_string(), e))?;
        let metrics = crate::metrics::router(state.clone());
        tracing::info!(address = %at, "metrics on http://{at}/metrics");
        // The same connection cap and header timeout as the public listener.
        tokio::spawn(crate::listen::serve(listener, metrics, limits.clone(), std::future::pending()));
    }

    let options = LeptosOptions::builder()
        .output_name(front.assets.bundle_name())
        .site_root(args.site_root.as_ref().map_or("target/site".into(), |d| d.display().to_string()))
        .site_addr(addr)
        .build();
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| RunError::Listen(addr.to_string(), e))?;
    let bound = listener.local_addr().map_err(RunError::Serve)?;
    tracing::info!(address = %bound, data_dir = %args.data_dir.display(), "listening on http://{bound}");
    if state.db.read(app::ssr::store::accounts::user_count).await.unwrap_or(1) == 0 {
        // The link is a credential: its file's path is logged, never the link.
        // Bound to every address, the link names the loopback one.
        let reachable = match bound.ip() {
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
                std::net::SocketAddr::from(([127, 0, 0, 1], bound.port()))
            }
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
                std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, bound.port()))
            }
            _ => bound,
        };
        let base = args.public_origin()?.unwrap_or_else(|| format!("http://{reachable}"));
        let data_dir = std::path::absolute(&args.data_dir).unwrap_or_else(|_| args.data_dir.clone());
        match state.setup.begin(&args.data_dir, &base) {
            Ok(file) => tracing::warn!(
                "No accounts yet. Open the one-time setup link in {} (valid for an hour, once) to create the \
                 first admin, or run `strongroom user add NAME --role admin --data-dir {}`.",
                file.display(),
                data_dir.display()
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "No accounts yet. Create the first admin with `strongroom user add NAME --role admin --data-dir {}`.",
                data_dir.display()
            ),
        }
    }
    let (stats, setup, db) = (state.reads.stats.clone(), state.setup.clone(), state.db.clone());
    crate::listen::serve(listener, router(state, options, front), limits, shutdown_signal()).await;
    // A setup link does not outlive its server (the next start makes another).
    setup.end();
    crate::stop_background();
    for (name, holder) in leases {
        let _ = db.call(move |c| app::ssr::db::lease::release(c, &name, &holder)).await;
    }
    let (commits, reads) = (
        stats.commits.load(std::sync::atomic::Ordering::Relaxed),
        stats.jobs.load(std::sync::atomic::Ordering::Relaxed),
    );
    tracing::info!(commits, reads, "workload-read batches since start");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

/// SQLite 3.51.3 or newer (`SQLITE_VERSION_NUMBER` form: 3051003).
fn sqlite_supported(version_number: i32) -> bool {
    version_number >= 3_051_003
}

#[cfg(test)]
mod tests {
    #[test]
    fn sqlite_before_3_51_3_is_refused_and_the_bundled_one_is_not() {
        assert!(!super::sqlite_supported(3_051_002));
        assert!(!super::sqlite_supported(3_045_000));
        assert!(super::sqlite_supported(3_051_003));
        assert!(super::sqlite_supported(rusqlite::version_number()), "{}", rusqlite::version());
    }
}

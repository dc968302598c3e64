//! Operations figures against the real release binary, each beside its target:
//! rotate latency, 50 writers + 200 readers at once (errors reaching users,
//! throughput), backup of 100,000 secrets, rewrap speed.
//!   cargo run --release -p strongroom --example ops_bench -- path/to/strongroom
//! `OPS_SECONDS` sets the concurrency run's length (default 30),
//! `OPS_SECRETS` the secrets seeded for backup and rewrap (default 100000).
// A measuring tool fails loudly: the no-unwrap policy (clippy.toml) is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use app::{
    domain::{Description, NamespacePath, SecretKey, SecretValue},
    ssr::{db::Transact, store, store::keyring},
};
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use support::{ms, pct, Instance};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn call(http: &reqwest::Client, base: &str, cookie: &str, endpoint: &str, form: &[(&str, &str)]) -> u16 {
    let res = http.post(format!("{base}/api/{endpoint}")).header("cookie", cookie).form(form).send().await;
    res.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let bin = std::env::args().nth(1).expect("usage: ops_bench path/to/strongroom");
    let (seconds, seeded) = (env_or("OPS_SECONDS", 30), env_or("OPS_SECRETS", 100_000));
    let instance = Instance::new(bin);
    instance.add_admin();
    let log = instance.dir.path().join("server.log");
    let (mut server, base) = instance.serve_logging("warn", &log).await;
    let http = reqwest::Client::new();
    let cookie = support::sign_in(&http, &base).await;
    assert_eq!(
        call(&http, &base, &cookie, "namespaces/create", &[("namespace", "bench"), ("description", "")]).await,
        200
    );
    for w in 0..50 {
        let key = format!("W{w}");
        let form = [("namespace", "bench"), ("key", key.as_str()), ("value", "v0"), ("description", "")];
        assert_eq!(call(&http, &base, &cookie, "secrets/add", &form).await, 200);
    }

    // One admin rotating one secret, one after another.
    let mut took = Vec::new();
    for n in 0..300 {
        let value = format!("rotation {n}");
        let started = app::ssr::clock::instant();
        let status =
            call(&http, &base, &cookie, "secrets/rotate", &[("namespace", "bench"), ("key", "W0"), ("value", &value)])
                .await;
        took.push(started.elapsed());
        assert_eq!(status, 200);
    }
    println!(
        "rotate (server function, HTTP, 300 in a row): p50 {} (target <= 2 ms), p99 {}",
        ms(pct(took.clone(), 0.5)),
        ms(pct(took, 0.99))
    );

    // 50 writers and 200 readers at once.
    let created = instance.command(&["token", "create", "ops-reader", "--namespace", "bench"]).output().unwrap();
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let (writes, reads, errors) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for w in 0..50 {
        let (http, base, cookie, stop, writes, errors) =
            (http.clone(), base.clone(), cookie.clone(), stop.clone(), writes.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let key = format!("W{w}");
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let value = format!("{key}-{n}");
                match call(
                    &http,
                    &base,
                    &cookie,
                    "secrets/rotate",
                    &[("namespace", "bench"), ("key", &key), ("value", &value)],
                )
                .await
                {
                    200 => writes.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for r in 0..200 {
        let (http, base, token, stop, reads, errors) =
            (http.clone(), base.clone(), token.clone(), stop.clone(), reads.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let url = format!("{base}/v1/namespaces/bench/secrets/W{}", r % 50);
            while !stop.load(Ordering::Relaxed) {
                let res = http.get(&url).bearer_auth(&token).send().await;
                match res.map(|r| r.status().as_u16()).unwrap_or(0) {
                    200 => reads.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let busy = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("locked") || l.contains("busy"))
        .count();
    let (w, r, e) = (writes.load(Ordering::Relaxed), reads.load(Ordering::Relaxed), errors.load(Ordering::Relaxed));
    println!(
        "50 writers + 200 readers for {seconds} s: {:.0} writes/s, {:.0} reads/s (each read audited); \
         {e} failed requests and {busy} busy/locked log lines (target 0)",
        w as f64 / seconds as f64,
        r as f64 / seconds as f64
    );
    server.kill().unwrap();
    server.wait().unwrap();

    // Many secrets, stored straight into the store (the file, or the database
    // STRONGROOM_DATABASE_URL names), then a backup and a rewrap.
    let root = instance.root();
    let source = match std::env::var("STRONGROOM_DATABASE_URL") {
        Ok(url) => app::ssr::db::Source::Postgres(app::ssr::db::url::PgUrl::parse(&url, None, None).unwrap()),
        Err(_) => app::ssr::db::Source::File(instance.dir.path().join("strongroom.db")),
    };
    let started = app::ssr::clock::instant();
    // The PostgreSQL client blocks: off the async threads.
    tokio::task::spawn_blocking(move || {
        let mut conn = source.connect(false).unwrap();
        let unlocked = keyring::unlock(&mut conn, &root, app::ssr::clock::now()).unwrap();
        let stamp = store::Stamp { actor: "bench", at: app::ssr::clock::now() };
        let none = Description::default();
        for chunk in 0..seeded.div_ceil(1000) {
            let ns = NamespacePath::parse(&format!("bench.team{chunk}")).unwrap();
            // One transaction per thousand (each add is a savepoint inside it).
            conn.write(|tx| {
                store::create_namespace(tx, &ns, &none, stamp)?;
                for i in 0..1000.min(seeded - chunk * 1000) {
                    let key = SecretKey::parse(&format!("SECRET_{i}")).unwrap();
                    let value = SecretValue::parse(format!("value {chunk}/{i}")).unwrap();
                    store::add_secret(tx, &unlocked.keyring, &ns, &key, &value, &none, stamp)?;
                }
                Ok::<_, store::StoreError>(())
            })
            .unwrap();
        }
    })
    .await
    .unwrap();
    println!("seeded {seeded} secrets in {:.1} s", started.elapsed().as_secs_f64());
    let target = instance.dir.path().join("backup.db");
    let started = app::ssr::clock::instant();
    let out = instance.command(&["backup", target.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    println!(
        "backup of {seeded} secrets: {:.2} s (target <= 5 s), {} MiB",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&target).unwrap().len() / (1024 * 1024)
    );
    assert!(instance.command(&["keyring", "rotate"]).output().unwrap().status.success());
    let out = instance.command(&["rewrap"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    println!("{} (target >= 20000 versions/s)", String::from_utf8_lossy(&out.stdout).trim());
}

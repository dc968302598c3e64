//! Workload reads side by side with OpenBao KV v2, both durable and auditing
//! every read, with the same load tool and settings (printed first).
//!   cargo run --release -p strongroom --example read_bench -- path/to/strongroom path/to/openbao.sh
//! Prints req/s, p50 and p99 for Strongroom's native API and Vault surface, for
//! its `/healthz` (what the HTTP stack alone does) and for OpenBao (its file
//! audit device on), the ratios, Strongroom's peak RSS, and how many reads
//! each fsync carried. Both servers share the machine's cores with wrk.
//! With `STRONGROOM_DATABASE_URL` set, Strongroom runs on that PostgreSQL,
//! OpenBao on its PostgreSQL storage backend in the same database, and the
//! native read is measured again through two Strongroom nodes at once.
// A measuring tool fails loudly: the no-unwrap policy (clippy.toml) is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::{
    process::{Command, Stdio},
    time::Duration,
};
use support::{rss_kib, Instance};

const SECONDS: &str = "8s";
const WARM_UP: &str = "2s";
const THREADS: &str = "2";
const CONNECTIONS: &str = "32";
/// 28 bytes: a typical password or API key.
const VALUE: &str = "bench-value-0123456789abcdef";

struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

/// wrk's latency figure (`1.23ms`, `850.00us`, `1.01s`) in milliseconds.
fn millis(text: &str) -> f64 {
    let (num, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len()));
    let n: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => f64::NAN,
    }
}

/// A warm-up run (not counted), then the measured one.
fn wrk(url: &str, header: &str) -> Load {
    let _ = Command::new("wrk").args(["-t", THREADS, "-c", CONNECTIONS, "-d", WARM_UP, "-H", header, url]).output();
    let out = Command::new("wrk")
        .args(["-t", THREADS, "-c", CONNECTIONS, "-d", SECONDS, "--latency", "-H", header, url])
        .output()
        .expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned())).unwrap_or_default()
    };
    Load {
        rps: field("Requests/sec:").parse().unwrap_or(0.0),
        p50_ms: millis(&field("50%")),
        p99_ms: millis(&field("99%")),
        non_2xx: field("Non-2xx or 3xx responses:").parse().unwrap_or(0),
    }
}

/// `wrk` against each URL at once (one process each, the same settings);
/// their rates summed, the worse of their latencies.
fn wrk_together(urls: &[String], header: &str) -> Load {
    // All started before any is waited for.
    let started: Vec<_> = urls
        .iter()
        .map(|url| {
            let (url, header) = (url.clone(), header.to_owned());
            std::thread::spawn(move || wrk(&url, &header))
        })
        .collect();
    let runs: Vec<Load> = started.into_iter().map(|t| t.join().unwrap()).collect();
    Load {
        rps: runs.iter().map(|l| l.rps).sum(),
        p50_ms: runs.iter().map(|l| l.p50_ms).fold(0.0, f64::max),
        p99_ms: runs.iter().map(|l| l.p99_ms).fold(0.0, f64::max),
        non_2xx: runs.iter().map(|l| l.non_2xx).sum(),
    }
}

fn row(name: &str, l: &Load) {
    println!("{name:<44} {:>9.0} {:>9.2} {:>9.2} {:>8}", l.rps, l.p50_ms, l.p99_ms, l.non_2xx);
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin = args.next().expect("usage: read_bench path/to/strongroom path/to/openbao.sh");
    let peer = args.next().expect("usage: read_bench path/to/strongroom path/to/openbao.sh");
    let instance = Instance::new(bin);
    instance.add_admin();
    let log = instance.dir.path().join("server.log");
    let (mut server, base) = instance.serve_logging("warn,strongroom::cli::serve=info", &log).await;
    let http = reqwest::Client::new();
    let cookie = support::sign_in(&http, &base).await;
    for (endpoint, form) in [
        ("namespaces/create", vec![("namespace", "bench.team"), ("description", "")]),
        ("secrets/add", vec![("namespace", "bench"), ("key", "DB_PASSWORD"), ("value", VALUE), ("description", "")]),
        ("secrets/add", vec![("namespace", "bench.team"), ("key", "API_KEY"), ("value", VALUE), ("description", "")]),
    ] {
        let res = http.post(format!("{base}/api/{endpoint}")).header("cookie", &cookie).form(&form).send().await;
        assert_eq!(res.unwrap().status(), 200, "{endpoint}");
    }
    let created = instance.command(&["token", "create", "bench-reader", "--namespace", "bench"]).output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();

    eprintln!("read_bench: Strongroom native API");
    let native =
        wrk(&format!("{base}/v1/namespaces/bench.team/secrets/DB_PASSWORD"), &format!("Authorization: Bearer {token}"));
    eprintln!("read_bench: Strongroom Vault surface");
    let vault = wrk(&format!("{base}/v1/secret/data/bench/team"), &format!("X-Vault-Token: {token}"));
    eprintln!("read_bench: Strongroom /healthz");
    let health = wrk(&format!("{base}/healthz"), "Accept: */*");
    // A second node on the same database: the same reads through both at once.
    let postgres = std::env::var("STRONGROOM_DATABASE_URL").ok();
    let two_nodes = if postgres.is_some() {
        eprintln!("read_bench: Strongroom native API through two nodes on one PostgreSQL");
        let second = instance.sibling();
        let (mut other, other_base) = second.serve().await;
        let path = "/v1/namespaces/bench.team/secrets/DB_PASSWORD";
        let both = wrk_together(
            &[format!("{base}{path}"), format!("{other_base}{path}")],
            &format!("Authorization: Bearer {token}"),
        );
        let _ = other.kill();
        let _ = other.wait();
        Some(both)
    } else {
        None
    };
    let peak = rss_kib(server.id(), "VmHWM:");
    // A graceful stop logs the batch counts.
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let count = |name: &str| -> f64 {
        logged
            .lines()
            .filter(|l| l.contains("workload-read batches"))
            .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix(&format!("{name}="))?.parse().ok()))
            .unwrap_or(f64::NAN)
    };
    let (commits, reads) = (count("commits"), count("reads"));

    eprintln!("read_bench: OpenBao KV v2 with a file audit device");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let mut start = vec![peer.as_str(), "start", &port, "audit"];
    start.extend(postgres.as_deref()); // its PostgreSQL storage backend, in the same database
    let started = Command::new("bash").args(&start).stdout(Stdio::piped()).output().unwrap();
    let bao_url = String::from_utf8_lossy(&started.stdout).trim().to_owned();
    let bao_bin = format!("{}/.cache/strongroom/pyenv/bin/bao", std::env::var("HOME").unwrap());
    let put = Command::new(&bao_bin)
        .args([
            "kv",
            "put",
            "-mount=secret",
            "bench/team",
            &format!("DB_PASSWORD={VALUE}"),
            &format!("API_KEY={VALUE}"),
        ])
        .env("BAO_ADDR", &bao_url)
        .env("BAO_TOKEN", "root")
        .output()
        .unwrap();
    assert!(put.status.success(), "bao kv put: {}", String::from_utf8_lossy(&put.stderr));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bao = wrk(&format!("{bao_url}/v1/secret/data/bench/team"), "X-Vault-Token: root");
    let _ = Command::new("bash").args([&peer, "stop", &port]).status();

    let engine = if postgres.is_some() { "PostgreSQL 15 (both servers)" } else { "SQLite; OpenBao: in memory" };
    println!("== workload reads: every read durable (fsync) and audited before its value leaves; store: {engine}");
    println!(
        "load: wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS} after a {WARM_UP} warm-up; a {}-byte value; native: one key \
         inherited from the parent namespace; Vault: a map of 2 keys (one inherited); token scope: the parent \
         namespace (bench); both servers and wrk share this machine's {} cores",
        VALUE.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("OpenBao's file audit device writes each entry without an fsync of its own, which favours it");
    println!("{:<44} {:>9} {:>9} {:>9} {:>8}", "", "req/s", "p50 ms", "p99 ms", "non-2xx");
    row("Strongroom /v1/namespaces/{ns}/secrets/{KEY}", &native);
    row("Strongroom /v1/secret/data/{path} (Vault)", &vault);
    row("OpenBao 2.7.2 /v1/secret/data/{path}", &bao);
    row("Strongroom /healthz (no store, no audit)", &health);
    if let Some(both) = &two_nodes {
        row("Strongroom native, two nodes at once (sum)", both);
    }
    println!(
        "req/s ratio native / OpenBao:  {:.2}x   Vault surface / OpenBao: {:.2}x   (target >= 3x)",
        native.rps / bao.rps,
        vault.rps / bao.rps
    );
    println!(
        "share of the /healthz rate: native {:.0} %, Vault surface {:.0} %   (target >= 50 %)",
        100.0 * native.rps / health.rps,
        100.0 * vault.rps / health.rps
    );
    println!("p99: native {:.2} ms, Vault surface {:.2} ms   (target <= 20 ms)", native.p99_ms, vault.p99_ms);
    println!("Strongroom peak RSS (VmHWM): {:.1} MB   (target <= 64 MB)", peak as f64 / 1024.0);
    println!("group commit: {reads} jobs in {commits} commits = {:.1} reads per fsync", reads / commits);
}

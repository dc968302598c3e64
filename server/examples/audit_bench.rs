//! The audit trail at scale, against the real release binary:
//!   cargo run --release -p strongroom --example audit_bench -- path/to/strongroom [entries]
//! Seeds a trail (default 1,000,000 entries) with `strongroom audit seed`, then
//! prints filtered /audit page p50/p99, the pages that answer from the read
//! summary (a secret's Read by, the `unused` filter, the home page's list),
//! export throughput and the server's RSS during the export, and finally
//! archives the older entries and verifies archive and live trail together.
// A measuring tool fails loudly: the no-unwrap policy (clippy.toml) is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::{process::Stdio, time::Duration};
use support::{ms, pct, rss_kib, Instance};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin = args.next().expect("usage: audit_bench path/to/strongroom [entries]");
    let entries: u64 = args.next().map_or(1_000_000, |n| n.parse().expect("entries: a number"));
    let instance = Instance::new(bin);

    let started = app::ssr::clock::instant();
    let seed = instance.command(&["audit", "seed", &entries.to_string()]).stdout(Stdio::null()).status();
    assert!(seed.unwrap().success());
    let seeded = started.elapsed();
    instance.add_admin();
    let started = app::ssr::clock::instant();
    let verified = instance.command(&["audit", "verify"]).output().unwrap();
    let verify_time = started.elapsed();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));

    let (mut server, base) = instance.serve().await;
    let http = reqwest::Client::new();
    let cookie = support::sign_in(&http, &base).await;

    println!("== audit trail: {entries} entries");
    println!("seed: {:.1} s; audit verify: {:.2} s", seeded.as_secs_f64(), verify_time.as_secs_f64());
    println!("filtered /audit page (HTML, 50 entries), 100 requests each:   p50 / p99");
    let mut worst = Duration::ZERO;
    for (name, query) in [
        ("no filter", ""),
        ("namespace subtree", "namespace=company.team07"),
        ("actor", "actor=user03"),
        ("action", "action=secret.delete"),
        ("one week", "from=2026-06-01&to=2026-06-08"),
        ("namespace + action", "namespace=company.team07&action=secret.restore"),
        ("actor + action + month", "actor=user03&action=secret.add&from=2026-03-01&to=2026-04-01"),
        ("refused only", "outcome=refused"),
        ("subtree, refused only", "namespace=company.team07&outcome=refused"),
        ("rare: no match", "actor=nobody"),
        ("deep page", "namespace=company.team07&before=5000"),
    ] {
        let mut times = Vec::new();
        for _ in 0..100 {
            let started = app::ssr::clock::instant();
            let res = http.get(format!("{base}/audit?{query}")).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(res.status(), 200, "{query}");
            res.bytes().await.unwrap();
            times.push(started.elapsed());
        }
        let p99 = pct(times.clone(), 0.99);
        worst = worst.max(p99);
        println!("  {name:<24} {:>9} / {:>9}", ms(pct(times, 0.5)), ms(p99));
    }
    println!("worst page p99: {} (target <= 50 ms)", ms(worst));

    // Pages that answer from the read summary (issue 23): a secret the
    // seeded reads name, its namespace filtered by `unused`, the home page.
    for (ns, key) in [("company.team07", "KEY_5"), ("company.team07", "KEY_6")] {
        let form = [("namespace", ns), ("description", "")];
        http.post(format!("{base}/api/namespaces/create")).header("cookie", &cookie).form(&form).send().await.unwrap();
        let form = [("namespace", ns), ("key", key), ("value", "bench-value"), ("description", "")];
        let res = http.post(format!("{base}/api/secrets/add")).header("cookie", &cookie).form(&form).send().await;
        assert_eq!(res.unwrap().status(), 200);
    }
    println!("read-summary pages at {entries} trail entries, 100 requests each:   p50 / p99");
    for (name, path) in [
        ("secret page with Read by", "/ns/company.team07/KEY_5"),
        ("namespace, status=unused", "/ns/company.team07?status=unused"),
        ("home (overdue + unused)", "/"),
    ] {
        let mut times = Vec::new();
        for _ in 0..100 {
            let started = app::ssr::clock::instant();
            let res = http.get(format!("{base}{path}")).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            let body = res.text().await.unwrap();
            if path.ends_with("KEY_5") {
                assert!(body.contains("/readers/token:agent"), "the seeded reads are listed");
            }
            times.push(started.elapsed());
        }
        println!("  {name:<26} {:>9} / {:>9} (target p99 <= 20 ms)", ms(pct(times.clone(), 0.5)), ms(pct(times, 0.99)));
    }

    // The whole trail as CSV and JSON Lines, sampling the server's RSS meanwhile.
    let pid = server.id();
    for file in ["export.csv", "export.jsonl"] {
        let rss_before = rss_kib(pid, "VmRSS:");
        let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let sampling = sampling.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(rss_kib(pid, "VmRSS:"));
                    std::thread::sleep(Duration::from_millis(20));
                }
                peak
            })
        };
        let started = app::ssr::clock::instant();
        let mut res = http.get(format!("{base}/audit/{file}")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let (mut lines, mut bytes) = (0u64, 0u64);
        while let Some(chunk) = res.chunk().await.unwrap() {
            lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            bytes += chunk.len() as u64;
        }
        let took = started.elapsed();
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let peak = sampler.join().unwrap();
        let rows = if file.ends_with("csv") { lines - 1 } else { lines };
        println!(
            "{file}: {rows} entries, {:.0} MiB in {:.2} s = {:.0} entries/s (target >= 50,000); server RSS {} -> peak {} KiB",
            bytes as f64 / 1048576.0,
            took.as_secs_f64(),
            rows as f64 / took.as_secs_f64(),
            rss_before,
            peak
        );
    }
    let _ = server.kill();
    let _ = server.wait();

    // Archive everything older than 30 days, then verify the archive and the
    // live trail together (the round trip `STRONGROOM_AUDIT_KEEP_DAYS` makes daily).
    let before = app::domain::Timestamp(app::ssr::clock::now().0 - 30 * 86_400).date();
    let file = instance.dir.path().join("archive.jsonl");
    let started = app::ssr::clock::instant();
    let out =
        instance.command(&["audit", "archive", "--before", &before, "--to", file.to_str().unwrap()]).output().unwrap();
    let archive_time = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let started = app::ssr::clock::instant();
    let out = instance.command(&["audit", "verify", "--archive", file.to_str().unwrap()]).output().unwrap();
    let verify_time = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    println!(
        "archive before {before}: {:.1} s, {:.0} MiB; verify archive + live trail: {:.1} s\n  {}",
        archive_time.as_secs_f64(),
        std::fs::metadata(&file).unwrap().len() as f64 / 1048576.0,
        verify_time.as_secs_f64(),
        said.trim().replace('\n', "\n  ")
    );
}

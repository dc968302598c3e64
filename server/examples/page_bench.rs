//! The page of a namespace holding 1,000 effective secrets over 3 levels of
//! inheritance, against the real release binary:
//!   cargo run --release -p strongroom --example page_bench -- path/to/strongroom
//! Prints: first-screen bytes (raw and as transferred with brotli), how much
//! of it is hydration data, p50/p99 on one connection, a filtered page and a
//! search, and the server's RSS afterwards.
// A measuring tool fails loudly: the no-unwrap policy (clippy.toml) is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;
use support::{ms, pct, rss_kib, Instance};

const LEVELS: [(&str, usize); 3] = [("co", 400), ("co.team", 300), ("co.team.etl", 300)];
const ROUNDS: usize = 500;

async fn timed(http: &reqwest::Client, url: &str, cookie: &str, n: usize) -> (Vec<Duration>, usize) {
    let mut out = Vec::with_capacity(n);
    let mut size = 0;
    for _ in 0..n {
        let started = app::ssr::clock::instant();
        let res = http.get(url).header("cookie", cookie).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        size = res.bytes().await.unwrap().len();
        out.push(started.elapsed());
    }
    (out, size)
}

#[tokio::main]
async fn main() {
    let bin = std::env::args().nth(1).expect("usage: page_bench path/to/strongroom");
    let instance = Instance::new(bin);
    instance.add_admin();
    let (mut server, base) = instance.serve().await;
    let http = reqwest::Client::new();
    let cookie = support::sign_in(&http, &base).await;

    eprintln!("page_bench: adding 1,000 secrets over 3 levels");
    for (ns, count) in LEVELS {
        let form = [("namespace", ns), ("description", "")];
        http.post(format!("{base}/api/namespaces/create")).header("cookie", &cookie).form(&form).send().await.unwrap();
        for i in 0..count {
            let key = format!("{}_{i:04}", ns.replace('.', "_").to_uppercase());
            let description = format!("credential {i} of {ns}");
            let form = [("namespace", ns), ("key", &key), ("value", "bench-value"), ("description", &description)];
            let res = http.post(format!("{base}/api/secrets/add")).header("cookie", &cookie).form(&form).send();
            assert_eq!(res.await.unwrap().status(), 200);
        }
    }

    let url = format!("{base}/ns/co.team.etl");
    let res = http.get(&url).header("cookie", &cookie).send().await.unwrap();
    let html = res.text().await.unwrap();
    let brotli = http.get(&url).header("cookie", &cookie).header("accept-encoding", "br").send().await.unwrap();
    let encoding = brotli.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned());
    let transferred = brotli.bytes().await.unwrap().len();
    // Resolved resources travel in inline scripts after the markup.
    let scripts: usize = html.split("<script").skip(1).map(|s| s.find("</script>").unwrap_or(0)).sum();
    let rows = html.matches("<tr").count().saturating_sub(1);

    let (page, _) = timed(&http, &url, &cookie, ROUNDS).await;
    let (filtered, _) = timed(&http, &format!("{url}?q=team_02"), &cookie, ROUNDS).await;
    let (search, _) = timed(&http, &format!("{base}/?q=etl_01"), &cookie, ROUNDS).await;
    let rss = rss_kib(server.id(), "VmRSS:");

    println!("== namespace with 1,000 effective secrets (3 levels), first screen");
    println!("table rows rendered:           {rows}");
    println!("page size raw:                 {:.1} KB (of which inline scripts {:.1} KB)", kb(html.len()), kb(scripts));
    println!(
        "page size transferred:         {:.1} KB ({}; target <= 100 KB)",
        kb(transferred),
        encoding.as_deref().unwrap_or("not compressed")
    );
    println!(
        "page p50 / p99 (1 connection): {} / {} (target p99 <= 10 ms)",
        ms(pct(page.clone(), 0.5)),
        ms(pct(page, 0.99))
    );
    println!("filtered (?q=team_02) p50/p99: {} / {}", ms(pct(filtered.clone(), 0.5)), ms(pct(filtered, 0.99)));
    println!("home search (?q=etl_01) p50/p99: {} / {}", ms(pct(search.clone(), 0.5)), ms(pct(search, 0.99)));
    println!("server RSS afterwards:         {} KiB", rss);
    let _ = server.kill();
}

fn kb(bytes: usize) -> f64 {
    bytes as f64 / 1000.0
}

//! Sign-in cost and its effect on everyone else, against the real release binary.
//!   cargo run --release -p strongroom --example signin_bench -- path/to/strongroom
//! Prints: bare argon2id hash p50, sign-in p50, page p99 idle and during a burst
//! of 50 concurrent sign-ins, and the server's peak RSS.
// A measuring tool fails loudly: the no-unwrap policy (clippy.toml) is for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use app::{domain::Password, ssr::auth::Hasher};
use std::time::Duration;
use support::{ms, pct, rss_kib, Instance, PASSWORD};

async fn login(http: &reqwest::Client, base: &str) -> (Duration, String) {
    let started = app::ssr::clock::instant();
    let cookie = support::sign_in(http, base).await;
    (started.elapsed(), cookie)
}

async fn page_latencies(http: &reqwest::Client, base: &str, cookie: &str, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let started = app::ssr::clock::instant();
        let res = http.get(format!("{base}/")).header("cookie", cookie).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        out.push(started.elapsed());
    }
    out
}

#[tokio::main]
async fn main() {
    let bin = std::env::args().nth(1).expect("usage: signin_bench path/to/strongroom");
    let instance = Instance::new(bin);

    // Bare argon2id at the same parameters, for comparison.
    let hasher = Hasher::new(19_456, 2, 1, 1, 1).unwrap();
    let mut bare = Vec::new();
    for _ in 0..15 {
        let started = app::ssr::clock::instant();
        hasher.hash(Password::parse_new(PASSWORD.into()).unwrap()).await.unwrap();
        bare.push(started.elapsed());
    }

    instance.add_admin();
    let (mut server, base) = instance.serve().await;
    let http = reqwest::Client::new();

    eprintln!("signin_bench: server up; signing in one at a time");
    let mut signins = Vec::new();
    let mut cookie = String::new();
    for _ in 0..15 {
        let (took, c) = login(&http, &base).await;
        signins.push(took);
        cookie = c;
    }
    let idle = page_latencies(&http, &base, &cookie, 1000).await;
    let rss_before = rss_kib(server.id(), "VmRSS:");

    // 50 people signing in at once (each their own account and address: one
    // account's or address's attempts are counted before they are checked, so
    // a burst from one of them is refused as guessing), again and again while
    // the pages are measured.
    eprintln!("signin_bench: 50 sign-ins at once");
    for i in 0..50 {
        instance.add_user(&format!("burst{i:02}"), &["--role", "auditor"]);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let burst: Vec<_> = (0..50u8)
        .map(|i| {
            let (base, stop) = (base.clone(), stop.clone());
            let http =
                reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 1, 10 + i])).build().unwrap();
            tokio::spawn(async move {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    support::sign_in_as(&http, &base, &format!("burst{i:02}")).await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy = page_latencies(&http, &base, &cookie, 1000).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut done = 0;
    for task in burst {
        done += task.await.unwrap();
    }
    let peak = rss_kib(server.id(), "VmHWM:");

    // Enumeration: the three refusals should cost the same. Run last, since
    // they lock the account; each kind from its own address, under its limit.
    let refused = |from: [u8; 4], user: &'static str, n: usize| {
        let http = reqwest::Client::builder().local_address(std::net::IpAddr::from(from)).build().unwrap();
        let url = format!("{base}/api/session/login");
        async move {
            let mut out = Vec::new();
            for i in 0..n {
                let name = if user.is_empty() { format!("nobody{i}") } else { user.to_owned() };
                let started = app::ssr::clock::instant();
                let res =
                    http.post(&url).form(&[("username", name.as_str()), ("password", "wrong password, long enough")]);
                let res = res.send().await.unwrap();
                out.push((started.elapsed(), res.status().as_u16(), res.text().await.unwrap()));
            }
            out
        }
    };
    eprintln!("signin_bench: refused sign-ins");
    let unknown = refused([127, 0, 0, 2], "", 15).await;
    let mut wrong = refused([127, 0, 0, 3], "bench", 15).await;
    let locked = wrong.split_off(5);
    let same = unknown.iter().chain(&wrong).chain(&locked).all(|r| (r.1, &r.2) == (unknown[0].1, &unknown[0].2));
    let p50 = |v: &[(Duration, u16, String)]| ms(pct(v.iter().map(|r| r.0).collect(), 0.5));
    let _ = server.kill();
    let _ = server.wait();

    let (idle99, busy99) = (pct(idle.clone(), 0.99), pct(busy.clone(), 0.99));
    println!("== sign-in (argon2id m=19456 KiB, t=2, p=1; 1 hash at a time)");
    println!("bare argon2id hash p50:        {}", ms(pct(bare, 0.5)));
    println!("sign-in p50 (HTTP, idle):      {}", ms(pct(signins, 0.5)));
    println!("page p50 / p99 idle:           {} / {}", ms(pct(idle, 0.5)), ms(idle99));
    println!("page p50 / p99, 50 sign-ins:   {} / {}", ms(pct(busy, 0.5)), ms(busy99));
    println!(
        "page p99 ratio busy / idle:    {:.2}x (target <= 2x; {done} sign-ins completed during the burst)",
        busy99.as_secs_f64() / idle99.as_secs_f64()
    );
    println!("server RSS before burst:       {rss_before} KiB");
    println!(
        "refused sign-in p50: unknown user {} / wrong password {} / locked {}",
        p50(&unknown),
        p50(&wrong),
        p50(&locked)
    );
    println!("  same status and body for all three: {same}");
    println!("server peak RSS (VmHWM):       {peak} KiB");
}

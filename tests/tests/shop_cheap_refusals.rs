//! What a hostile body costs the gateway before anyone is authenticated:
//! 64 KiB epusdt bodies sent in a loop, the gateway's own CPU time (from
//! `/proc`) divided by the number of requests. Every one must be refused,
//! and each in well under 5 ms of CPU.

use jiufu_e2e::*;
use serde_json::Value;
use std::time::Duration;

const CLASSIC: &str = "/api/v1/order/create-transaction";
/// Just under the 64 KiB the shop endpoints read.
const BODY: usize = 64 * 1024 - 64;

/// Thousands of tiny members after the fields a create needs, with a
/// signature that no key made: the member checks, the signing string and
/// the merchant lookup all see the whole body.
fn many_members() -> String {
    let mut body = format!(r#"{{"order_id":"x1","amount":10,"notify_url":"http://shop.example.com/n","signature":"{}""#, "0".repeat(32));
    let mut i = 0;
    while body.len() < BODY - 16 {
        body.push_str(&format!(r#","k{i}":1"#));
        i += 1;
    }
    body.push('}');
    body
}

/// Few members, one of them nearly the whole body: a signing string of 64 KiB.
fn one_long_member() -> String {
    let head =
        format!(r#"{{"order_id":"x2","amount":10,"notify_url":"http://shop.example.com/n","signature":"{}","name":""#, "0".repeat(32));
    let fill = "a".repeat(BODY - head.len() - 2);
    format!(r#"{head}{fill}"}}"#)
}

/// CPU per request of `body` posted `n` times.
async fn cpu_per_request(gw: &Gateway, body: &str, n: u32) -> (Duration, Vec<Value>) {
    let client = http();
    let mut answers = Vec::new();
    let before = gw.cpu_time();
    for _ in 0..n {
        let resp = client
            .post(format!("{}{CLASSIC}", gw.url))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        answers.push(resp.json().await.unwrap());
    }
    (gw.cpu_time().saturating_sub(before) / n, answers)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_64_kib_epusdt_body_is_refused_in_under_5_ms_of_cpu() {
    // Several merchants: classic epusdt finds the merchant by its key. The
    // bad-signature throttle is off here, so every request does the work.
    let gw = Gateway::start_with(&[("JIUFU_BAD_SIGN_LIMIT", "0"), ("JIUFU_LOG", "warn")]);
    for i in 0..8 {
        gw.cli(&["merchant", "add", "--id", &format!("{}", 20_000 + i), "--name", "m", "--key", &format!("Other-merchant-Key-{i}-x7Qz")]);
    }
    // Warm up (connections, caches), then measure.
    let _ = cpu_per_request(&gw, &many_members(), 3).await;
    for (shape, body) in [("one long member", one_long_member()), ("many members", many_members())] {
        assert!(body.len() <= 64 * 1024 && body.len() > 60 * 1024, "{shape}: {}", body.len());
        let (cpu, answers) = cpu_per_request(&gw, &body, 40).await;
        eprintln!("M3 {shape}: {} bytes, {:.2} ms of gateway CPU per request", body.len(), cpu.as_secs_f64() * 1000.0);
        for a in &answers {
            let code = a["status_code"].as_i64();
            assert!(matches!(code, Some(400 | 401)), "{shape}: refused in epusdt's shape: {a}");
            assert!(a["data"].is_null(), "{a}");
        }
        assert!(cpu < Duration::from_millis(5), "{shape}: {cpu:?} of CPU per request");
    }
    assert_eq!(gw.cli(&["order", "list"]).lines().count(), 0, "nothing stored");
}

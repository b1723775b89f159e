//! The checkout page in headless Chromium at phone and desktop sizes:
//! amount, QR, countdown, "I have paid", the switch to success and the
//! redirect; an order whose subject is a script renders inert.
//! Screenshots go to tests/artifacts/.

use jiufu_e2e::browser::Driver;
use jiufu_e2e::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn checkout_flow_in_chromium_phone_and_desktop() {
    let gw = Gateway::start();
    let sink = sink::Sink::start(0).await;
    let driver = Driver::chromedriver().await.expect("chromedriver");
    let shots = artifacts_dir();
    for (label, w, h, mobile, amount, payable) in
        [("phone", 390, 844, true, "10.00", "9.99"), ("desktop", 1280, 800, false, "20.00", "19.99")]
    {
        let no = unique(label);
        let mut o = NewOrder::new(&no, "P901", amount, &sink.url);
        o.set("return_url", &format!("{}/return", sink.base)).sign();
        // one order of the same amount is already open, so this one pays 0.01 less
        NewOrder::new(&unique("first"), "P901", amount, &sink.url).create(&gw).await;
        let id = o.create(&gw).await;
        let page = driver.chromium(w, h, mobile).await.expect("chromium session");
        page.goto(&format!("{}/transfer/{id}?lang=zh", gw.url)).await.unwrap();

        let shown = page.text("#amount").await.unwrap();
        assert!(shown.contains(payable), "{label}: payable amount shown: {shown}");
        let warning = page.text("#exact-warning").await.unwrap();
        assert!(warning.contains("按此金额"), "{label}: exact-amount warning: {warning:?}");
        let qr_ok = page.script("const i = document.getElementById('qr'); return i.complete && i.naturalWidth > 100;").await.unwrap();
        assert_eq!(qr_ok, true, "{label}: QR image loaded");
        let c1 = page.text("#countdown").await.unwrap();
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let c2 = page.text("#countdown").await.unwrap();
        assert_ne!(c1, c2, "{label}: countdown is live");
        assert!(page.find("#open-app").await.is_ok(), "{label}: Alipay open-app button");
        page.screenshot(&shots.join(format!("checkout-{label}-waiting.png"))).await.unwrap();

        page.click("#i-have-paid").await.unwrap();
        page.wait_text("#claimed", "等待收款方确认", Duration::from_secs(5)).await.expect("claimed notice");
        assert_eq!(get_json(&format!("{}/query/{id}", gw.url)).await["state"], 8);
        page.screenshot(&shots.join(format!("checkout-{label}-claimed.png"))).await.unwrap();

        // the payee confirms: the page switches to success, then returns to the shop
        gw.cli(&["order", "confirm", &id]);
        page.wait_text("#paid", "支付成功", Duration::from_secs(6)).await.expect("success shown");
        page.screenshot(&shots.join(format!("checkout-{label}-paid.png"))).await.unwrap();
        let mut url = String::new();
        for _ in 0..100 {
            url = page.current_url().await.unwrap();
            if url.starts_with(&sink.base) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // order number, amount and state; never a sign (the payer must not hold a credential)
        let expected = format!("{}/return?order_no={no}&amount={amount}&state=9", sink.base);
        assert_eq!(url, expected, "{label}: redirected with order_no, amount and state");
        assert_eq!(page.text("#returned").await.unwrap(), "back at the shop");

        // English by switch
        let id2 = NewOrder::new(&unique("en"), "P902", "3.00", &sink.url).create(&gw).await;
        page.goto(&format!("{}/transfer/{id2}?lang=en", gw.url)).await.unwrap();
        assert!(page.text("#i-have-paid").await.unwrap().contains("I have paid"));
        assert!(page.text("#exact-warning").await.unwrap().contains("exactly"));
        page.screenshot(&shots.join(format!("checkout-{label}-english.png"))).await.unwrap();
        // expired and closed pages show no QR
        gw.cli(&["order", "close", &id2]);
        page.goto(&format!("{}/transfer/{id2}", gw.url)).await.unwrap();
        assert!(page.text("#closed").await.unwrap().contains("closed"));
        assert!(page.find("#qr").await.is_err(), "no QR on a closed order");
        page.quit().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn script_in_subject_renders_inert() {
    let gw = Gateway::start();
    let driver = Driver::chromedriver().await.expect("chromedriver");
    let subject = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let mut o = NewOrder::new(&unique("xss"), "P901", "1.00", "https://shop.example.com/n");
    o.set("subject", subject);
    let id = o.create(&gw).await;
    let page = driver.chromium(390, 844, true).await.unwrap();
    page.goto(&format!("{}/transfer/{id}", gw.url)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // an alert would make every WebDriver command fail with "unexpected alert open"
    assert_eq!(page.text("#subject").await.unwrap(), subject, "shown as text");
    let injected = page.script("return document.querySelectorAll('#subject script, #subject img').length").await.unwrap();
    assert_eq!(injected, 0);
    page.screenshot(&artifacts_dir().join("checkout-xss-inert.png")).await.unwrap();
    page.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn works_without_javascript() {
    let gw = Gateway::start();
    let id = NewOrder::new(&unique("nojs"), "P901", "2.00", "https://shop.example.com/n").create(&gw).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().unwrap();
    let html = client
        .get(format!("{}/transfer/{id}", gw.url))
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<form method="post" action="/transfer/"#), "plain form");
    assert!(html.contains(r#"<meta http-equiv="refresh" content="15">"#), "refreshes itself");
    assert!(html.contains("I have paid"), "English by Accept-Language");
    let resp = client.post(format!("{}/transfer/{id}/paid", gw.url)).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(get_json(&format!("{}/query/{id}", gw.url)).await["state"], 8);
    // customers cannot do more than claim: a second claim changes nothing
    client.post(format!("{}/transfer/{id}/paid", gw.url)).send().await.unwrap();
    assert_eq!(get_json(&format!("{}/query/{id}", gw.url)).await["state"], 8);
}

//! `serve --demo`: on an empty database, a demo merchant with demo codes and
//! a ready-to-paste command to create an order.

use crate::Shared;
use crate::domain::NewMerchantRequest;
use jiufu_protocol::{Channel, MerchantId, Secret, sign};
use jiufu_store::MerchantSettings;

/// A merchant notification sink for the demo: logs the call and acknowledges it.
pub fn routes() -> axum::Router {
    axum::Router::new().route(
        "/demo/notify",
        axum::routing::get(|axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
            tracing::info!(query = q.unwrap_or_default(), "demo shop received a payment notification");
            "success"
        }),
    )
}

pub const DEMO_MERCHANT: i64 = 10001;

pub async fn seed(app: &Shared) -> anyhow::Result<()> {
    let now = app.domain.now();
    if !app.domain.all_merchants().await?.is_empty() {
        println!("demo: the database already has merchants; nothing seeded (merchant list shows them)");
        return Ok(());
    }
    let key = Secret::generate();
    let id = MerchantId::new(DEMO_MERCHANT).expect("the demo merchant's id is positive");
    let request =
        NewMerchantRequest { id, name: "演示商店 Demo shop".into(), key: Some(key.clone()), settings: MerchantSettings::default() };
    let merchant = app.domain.add_merchant(request).await?.merchant;
    for (channel, text) in [(Channel::P901, "https://qr.alipay.com/jiufu-demo-code"), (Channel::P902, "wxp://jiufu-demo-code")] {
        app.domain.add_server_code(id, channel, text.into(), None, "demo".into()).await?;
    }
    let base = &app.config.public_url;
    let order_no = format!("demo-{now}");
    let sign = sign::create_order_sign(&DEMO_MERCHANT.to_string(), &order_no, "P901", "0.01", "", key.expose());
    println!(
        "\n=== 就付 Jiufu demo ===\n\
         merchant id : {DEMO_MERCHANT}\n\
         merchant key: {key}\n\
         codes       : P901 (Alipay) and P902 (WeChat) demo codes\n\n\
         1. Create an order of 0.01 yuan:\n   \
         curl -s -X POST {base}/gateway -d userid={DEMO_MERCHANT} -d subject=demo -d order_no={order_no} -d order_type=P901 \
         -d amount=0.01 -d notify_url={base}/demo/notify -d sign={sign}\n\
         2. Open the checkout page it names: {base}/transfer/ORDER_ID\n\
         3. Confirm the payment as the payee would (within 5 minutes, before the order expires):\n   \
         JIUFU_DATABASE_URL={db} {exe} order confirm ORDER_ID\n\
         (or pair a collector: JIUFU_DATABASE_URL={db} {exe} collector pair --merchant {DEMO_MERCHANT})\n",
        key = key.expose(),
        db = match &app.config.database {
            crate::config::Database::Sqlite(path) =>
                format!("sqlite://{}", std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()).display()),
            crate::config::Database::Postgres(url) => crate::config::redact_url(url),
        },
        exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "jiufu-gateway".into())
    );
    // The same as a 易支付 shop would send it: a link the browser can open.
    let mut epay = vec![
        ("pid", DEMO_MERCHANT.to_string()),
        ("type", "alipay".to_owned()),
        ("out_trade_no", format!("epay-{now}")),
        ("notify_url", format!("{base}/demo/notify")),
        ("name", "demo".to_owned()),
        ("money", "0.01".to_owned()),
    ];
    let sign = jiufu_protocol::shop_sign::epay_sign(&epay, key.expose());
    epay.push(("sign", sign));
    epay.push(("sign_type", "MD5".to_owned()));
    println!("4. Or pay as a 易支付 (EPay) shop would send you: open\n   {base}/submit.php?{}\n", crate::dialect::encode_query(&epay));
    println!("{}", crate::dialects().settings_text(base, &merchant));
    Ok(())
}

//! The money rules against a real SQLite file with a fixed clock, no HTTP.

use super::*;
use jiufu_protocol::collector::SourceStatus;
use jiufu_protocol::{Channel, Dialect, Fen, MerchantId, OrderState, Secret};
use jiufu_store::{Merchant, MerchantSettings, Order, StoreError};

const T0: i64 = 1_700_000_000;
const M: i64 = 10001;
const NOTIFY: &str = "https://shop.example.com/notify";

struct World {
    domain: Domain,
    merchant: Merchant,
    _dir: tempfile::TempDir,
}

async fn world_with(settings: MerchantSettings) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = jiufu_store_sqlite::SqliteStore::open(dir.path().join("gateway.db")).unwrap();
    let policy = Policy { allow_private_notify: false, collector_online_secs: 60 };
    let domain = Domain::new(Arc::new(store), Clock::fixed(T0), policy);
    let id = MerchantId::new(M).unwrap();
    let key = Some(Secret::parse("Jf8x2kQm9TzR4wLp").unwrap());
    let added = domain.add_merchant(NewMerchantRequest { id, name: "shop".into(), key, settings }).await.unwrap();
    assert!(added.shares_key_with.is_empty());
    for (channel, qr) in [(Channel::P901, "https://qr.alipay.com/x"), (Channel::P902, "wxp://x")] {
        domain.add_server_code(id, channel, qr.into(), None, "c".into()).await.unwrap();
    }
    World { domain, merchant: added.merchant, _dir: dir }
}

async fn world() -> World {
    world_with(MerchantSettings::default()).await
}

impl World {
    fn request<'a>(&self, order_no: &'a str, amount: &'a str) -> NewOrderRequest<'a> {
        NewOrderRequest {
            merchant: self.merchant.clone(),
            order_no,
            channel: Channel::P901,
            subject: "VIP",
            amount,
            notify_url: NOTIFY,
            return_url: "",
            ip: "",
            order_time: "",
            dialect: Dialect::Jiufu,
            shop_data: String::new(),
            cap_payerless: false,
        }
    }

    async fn create(&self, order_no: &str, amount: &str) -> Result<Order, CreateRefused> {
        self.domain.create_order(self.request(order_no, amount)).await
    }

    async fn payable(&self, order_no: &str, amount: &str) -> Fen {
        self.create(order_no, amount).await.unwrap().payable_fen
    }

    fn seen(&self, order: &Order, observation: &str) -> SeenPayment {
        SeenPayment {
            channel: order.channel,
            amount: order.payable_fen,
            observation_id: observation.into(),
            source: "alipay_app".into(),
            observed_at_ms: self.domain.now() * 1000,
            evidence_json: "{}".into(),
        }
    }

    async fn reload(&self, order: &Order) -> Order {
        self.domain.order(order.id.as_str()).await.unwrap().unwrap()
    }
}

fn malformed(r: Result<Order, CreateRefused>) -> String {
    match r {
        Err(CreateRefused::Malformed(m)) => m,
        other => panic!("expected a malformed field, got {other:?}"),
    }
}

fn bad_amount(r: Result<Order, CreateRefused>) -> String {
    match r {
        Err(CreateRefused::InvalidAmount(m)) => m,
        other => panic!("expected an invalid amount, got {other:?}"),
    }
}

// --- the amount range -----------------------------------------------------

#[tokio::test]
async fn amounts_outside_the_merchants_range_are_refused() {
    let w = world_with(MerchantSettings { min_fen: 100, max_fen: 10_000, ..Default::default() }).await;
    assert_eq!(bad_amount(w.create("a", "0.99").await), "amount must be between 1.00 and 100.00");
    assert_eq!(bad_amount(w.create("b", "100.01").await), "amount must be between 1.00 and 100.00");
    assert_eq!(w.payable("c", "100.00").await, Fen(10_000), "the bounds themselves are in range");
    assert_eq!(w.payable("d", "1").await, Fen(100));
}

#[tokio::test]
async fn amounts_must_be_plain_yuan() {
    let w = world().await;
    for bad in ["1.001", "-1", "abc", "", "1e3", "0"] {
        w.create("x", bad).await.expect_err(bad);
    }
    assert!(w.domain.orders(Default::default()).await.unwrap().is_empty(), "nothing was created");
}

// --- unique payable amounts and the 2 % cap -------------------------------

#[tokio::test]
async fn open_orders_of_one_price_get_unique_amounts_stepping_down() {
    let w = world().await;
    assert_eq!(w.payable("a", "100.00").await, Fen(10_000));
    assert_eq!(w.payable("b", "100.00").await, Fen(9_999));
    assert_eq!(w.payable("c", "100").await, Fen(9_998));
}

#[tokio::test]
async fn the_two_percent_cap_stops_the_discount() {
    let w = world().await;
    // 2 % of 1.00 is 0.02: three amounts, then none.
    assert_eq!(w.payable("a", "1.00").await, Fen(100));
    assert_eq!(w.payable("b", "1.00").await, Fen(99));
    assert_eq!(w.payable("c", "1.00").await, Fen(98));
    assert!(matches!(w.create("d", "1.00").await, Err(CreateRefused::NoFreeAmount)));
}

#[tokio::test]
async fn channels_have_their_own_amounts() {
    let w = world().await;
    let a = w.create("a", "10.00").await.unwrap();
    let b = w.domain.create_order(NewOrderRequest { channel: Channel::P902, ..w.request("b", "10.00") }).await.unwrap();
    assert_eq!((a.payable_fen, b.payable_fen), (Fen(1000), Fen(1000)));
}

#[tokio::test]
async fn a_merchant_may_step_up_instead() {
    let w = world_with(MerchantSettings { step_down: false, step_count: 2, max_offset_bp: 10_000, ..Default::default() }).await;
    assert_eq!(w.payable("a", "1.00").await, Fen(100));
    assert_eq!(w.payable("b", "1.00").await, Fen(101));
    assert_eq!(w.payable("c", "1.00").await, Fen(102));
    assert!(matches!(w.create("d", "1.00").await, Err(CreateRefused::NoFreeAmount)));
}

#[tokio::test]
async fn a_channel_without_a_code_is_refused() {
    let w = world().await;
    let r = w.domain.create_order(NewOrderRequest { channel: Channel::P903, ..w.request("a", "1.00") }).await;
    assert!(matches!(r, Err(CreateRefused::NoCode)), "{r:?}");
    assert_eq!(w.domain.default_channel(w.merchant.id).await.unwrap(), Some(Channel::P901));
}

// --- idempotent retries ---------------------------------------------------

#[tokio::test]
async fn the_same_request_again_is_the_same_order() {
    let w = world().await;
    let first = w.create("a", "5.00").await.unwrap();
    let again = w.create("a", "5.00").await.unwrap();
    assert_eq!((again.id, again.payable_fen), (first.id.clone(), first.payable_fen));
    // The retry took no amount: the next order gets the next one.
    assert_eq!(w.payable("b", "5.00").await, Fen(499));
}

#[tokio::test]
async fn an_order_number_with_other_fields_is_refused() {
    let w = world().await;
    w.create("a", "5.00").await.unwrap();
    assert!(matches!(w.create("a", "6.00").await, Err(CreateRefused::OrderNoReused)));
    let other_subject = w.domain.create_order(NewOrderRequest { subject: "other", ..w.request("a", "5.00") }).await;
    assert!(matches!(other_subject, Err(CreateRefused::OrderNoReused)));
}

// --- the other create rules -----------------------------------------------

#[tokio::test]
async fn callbacks_must_be_public_and_on_the_merchants_hosts() {
    let w = world().await;
    let private = w.domain.create_order(NewOrderRequest { notify_url: "http://127.0.0.1/n", ..w.request("a", "1.00") }).await;
    assert!(malformed(private).starts_with("notify_url "));
    let back = w.domain.create_order(NewOrderRequest { return_url: "ftp://shop.example.com/", ..w.request("a", "1.00") }).await;
    assert_eq!(malformed(back), "return_url must use http or https");

    let listed = world_with(MerchantSettings { callback_hosts: vec!["shop.example.com".into()], ..Default::default() }).await;
    let elsewhere =
        listed.domain.create_order(NewOrderRequest { notify_url: "https://evil.example/n", ..listed.request("a", "1.00") }).await;
    assert_eq!(malformed(elsewhere), "notify_url names a host this merchant does not allow");
    listed.create("b", "1.00").await.unwrap();
}

#[tokio::test]
async fn text_fields_have_limits() {
    let w = world().await;
    let long = "字".repeat(129);
    let r = w.domain.create_order(NewOrderRequest { subject: &long, ..w.request("a", "1.00") }).await;
    assert_eq!(malformed(r), "subject is longer than 128 characters");
    let r = w.domain.create_order(NewOrderRequest { ip: "1.2.3.4\n", ..w.request("a", "1.00") }).await;
    assert_eq!(malformed(r), "ip contains control characters");
    let r = w.domain.create_order(NewOrderRequest { order_no: "", ..w.request("a", "1.00") }).await;
    malformed(r);
}

#[tokio::test]
async fn a_payer_has_at_most_the_merchants_number_of_open_orders() {
    let w = world_with(MerchantSettings { max_open_per_payer: 2, ..Default::default() }).await;
    for no in ["a", "b"] {
        w.domain.create_order(NewOrderRequest { ip: "203.0.113.9", ..w.request(no, "3.00") }).await.unwrap();
    }
    let third = w.domain.create_order(NewOrderRequest { ip: "203.0.113.9", ..w.request("c", "3.00") }).await;
    assert!(matches!(third, Err(CreateRefused::PayerLimit(2))), "{third:?}");
    w.domain.create_order(NewOrderRequest { ip: "203.0.113.10", ..w.request("d", "3.00") }).await.unwrap();
}

#[tokio::test]
async fn shop_orders_without_a_payer_hold_at_most_half_the_amounts() {
    let w = world().await;
    let shop =
        |no: &'static str| NewOrderRequest { cap_payerless: true, dialect: Dialect::Epay, shop_data: "{}".into(), ..w.request(no, "1.00") };
    // 1.00 has three amounts: payerless shop orders may hold one.
    w.domain.create_order(shop("a")).await.unwrap();
    assert!(matches!(w.domain.create_order(shop("b")).await, Err(CreateRefused::PayerlessLimit)));
    // A payer's order still gets one; the native API is not capped.
    w.domain.create_order(NewOrderRequest { ip: "203.0.113.9", ..shop("c") }).await.unwrap();
    w.create("d", "1.00").await.unwrap();
}

#[tokio::test]
async fn a_merchant_requiring_a_collector_needs_one_online() {
    let w = world_with(MerchantSettings { require_collector: true, ..Default::default() }).await;
    assert!(matches!(w.create("a", "1.00").await, Err(CreateRefused::NoCollectorOnline)));
    let token = w.domain.pairing_token(w.merchant.id).await.unwrap().unwrap();
    let paired = w.domain.pair(&token, "phone").await.unwrap();
    let alipay = SourceStatus { name: "alipay".into(), kind: "app".into(), online: true, last_seen: None, channels: vec![Channel::P902] };
    w.domain.heartbeat(&paired.device, &[alipay], "0.1.0").await.unwrap();
    assert!(matches!(w.create("a", "1.00").await, Err(CreateRefused::NoCollectorOnline)), "its source covers another channel");
    let any = SourceStatus { name: "all".into(), kind: "app".into(), online: true, last_seen: None, channels: vec![] };
    w.domain.heartbeat(&paired.device, &[any], "0.1.0").await.unwrap();
    w.create("a", "1.00").await.unwrap();
    // Past the online window the collector no longer counts.
    w.domain.clock.advance(61);
    assert!(matches!(w.create("b", "1.00").await, Err(CreateRefused::NoCollectorOnline)));
}

// --- confirmations: channel, amount, evidence -------------------------------

#[tokio::test]
async fn a_payment_on_another_channel_or_of_another_amount_confirms_nothing() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    let wrong_channel = SeenPayment { channel: Channel::P902, ..w.seen(&o, "obs-1") };
    assert!(matches!(w.domain.confirm_payment(&o, "dev_1", wrong_channel).await, Err(PaymentRefused::ChannelMismatch)));
    let wrong_amount = SeenPayment { amount: Fen(999), ..w.seen(&o, "obs-1") };
    match w.domain.confirm_payment(&o, "dev_1", wrong_amount).await {
        Err(PaymentRefused::AmountMismatch { paid, payable }) => assert_eq!((paid, payable), (Fen(999), Fen(1000))),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.reload(&o).await.state, OrderState::CodeIssued, "nothing changed");
}

#[tokio::test]
async fn the_exact_payment_confirms_once_and_a_retry_is_a_duplicate() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    let (paid, duplicate) = w.domain.confirm_payment(&o, "dev_1", w.seen(&o, "obs-1")).await.unwrap();
    assert_eq!((paid.state, paid.paid_fen, duplicate), (OrderState::Confirmed, Some(Fen(1000)), false));
    assert_eq!(paid.confirmed_by.as_deref(), Some("device:dev_1"));
    let (again, duplicate) = w.domain.confirm_payment(&paid, "dev_1", w.seen(&o, "obs-1")).await.unwrap();
    assert_eq!((again.state, duplicate), (OrderState::Confirmed, true));
    // Another payment for a paid order is refused.
    assert!(matches!(w.domain.confirm_payment(&paid, "dev_1", w.seen(&o, "obs-2")).await, Err(PaymentRefused::AlreadyPaid)));
    // The notification is queued once.
    assert!(w.domain.notification(&o.id).await.unwrap().is_some());
}

#[tokio::test]
async fn one_payment_confirms_one_order() {
    let w = world().await;
    let a = w.create("a", "10.00").await.unwrap();
    let b = w.create("b", "20.00").await.unwrap();
    w.domain.confirm_payment(&a, "dev_1", w.seen(&a, "obs-1")).await.unwrap();
    let reused = w.domain.confirm_payment(&b, "dev_1", SeenPayment { observation_id: "obs-1".into(), ..w.seen(&b, "x") }).await;
    assert!(matches!(reused, Err(PaymentRefused::Store(StoreError::EvidenceUsed(_)))), "{reused:?}");
    assert_eq!(w.reload(&b).await.state, OrderState::CodeIssued);
}

#[tokio::test]
async fn evidence_ids_are_one_to_128_characters() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    for bad in [String::new(), "x".repeat(129)] {
        assert!(matches!(w.domain.confirm_payment(&o, "dev_1", w.seen(&o, &bad)).await, Err(PaymentRefused::BadEvidence)));
    }
    w.domain.confirm_payment(&o, "dev_1", w.seen(&o, &"x".repeat(128))).await.unwrap();
}

// --- expiry and quarantine ------------------------------------------------

#[tokio::test]
async fn orders_expire_on_time() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    assert_eq!(o.expire_at, T0 + 300);
    w.domain.clock.advance(299);
    assert!(w.domain.expire_due().await.unwrap().is_empty());
    w.domain.clock.advance(1);
    assert_eq!(o.state_at(w.domain.now()), OrderState::Expired, "reads as expired before the timer");
    let expired = w.domain.expire_due().await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(w.reload(&o).await.state, OrderState::Expired);
}

#[tokio::test]
async fn a_late_payment_seen_within_the_quarantine_still_confirms() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    w.domain.clock.advance(400);
    w.domain.expire_due().await.unwrap();
    let expired = w.reload(&o).await;
    let (paid, _) = w.domain.confirm_payment(&expired, "dev_1", w.seen(&expired, "late")).await.unwrap();
    assert_eq!(paid.state, OrderState::Confirmed);
}

#[tokio::test]
async fn a_payment_seen_after_the_quarantine_is_too_late() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    assert_eq!(o.quarantine_until, T0 + 900);
    w.domain.clock.advance(900);
    w.domain.expire_due().await.unwrap();
    let expired = w.reload(&o).await;
    assert!(matches!(w.domain.confirm_payment(&expired, "dev_1", w.seen(&expired, "late")).await, Err(PaymentRefused::TooLate)));
    // Seen inside the window, delivered later: it counts.
    let seen_in_time = SeenPayment { observed_at_ms: (T0 + 899) * 1000, ..w.seen(&expired, "queued") };
    assert_eq!(w.domain.confirm_payment(&expired, "dev_1", seen_in_time).await.unwrap().0.state, OrderState::Confirmed);
}

#[tokio::test]
async fn a_collector_clock_ahead_of_ours_is_not_trusted() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    w.domain.clock.advance(1000);
    w.domain.expire_due().await.unwrap();
    let expired = w.reload(&o).await;
    // A payment the collector says it saw in our future counts as seen
    // now: past the quarantine, too late.
    let from_the_future = SeenPayment { observed_at_ms: (T0 + 5000) * 1000, ..w.seen(&expired, "f") };
    assert!(matches!(w.domain.confirm_payment(&expired, "dev_1", from_the_future).await, Err(PaymentRefused::TooLate)));
}

#[tokio::test]
async fn a_closed_order_takes_no_payment() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    let closed = w.domain.close_by_operator(&o).await.unwrap();
    assert_eq!(closed.state, OrderState::Closed);
    assert!(matches!(w.domain.confirm_payment(&closed, "dev_1", w.seen(&closed, "obs")).await, Err(PaymentRefused::TooLate)));
}

#[tokio::test]
async fn an_expired_orders_amount_stays_taken_through_its_quarantine() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    w.domain.clock.advance(300);
    w.domain.expire_due().await.unwrap();
    assert_eq!(w.payable("b", "10.00").await, Fen(999), "10.00 is quarantined");
    w.domain.clock.set(o.quarantine_until + 1);
    w.domain.expire_due().await.unwrap();
    assert_eq!(w.payable("c", "10.00").await, Fen(1000), "free again after the quarantine");
}

// --- claims ----------------------------------------------------------------

#[tokio::test]
async fn a_customer_claims_at_most_three_times() {
    let w = world().await;
    let o = w.create("a", "10.00").await.unwrap();
    for _ in 0..order::MAX_CLAIMS {
        let claimed = w.domain.claim(&o).await.unwrap();
        assert_eq!(claimed.state, OrderState::Claimed);
        let again = w.domain.claim(&claimed).await;
        assert!(matches!(again, Err(ClaimRefused::NotNow(Some(OrderState::Claimed)))), "{again:?}");
        let back = w.domain.reject_claim(&o, "dev_1", "not seen").await.unwrap();
        assert_eq!(back.state, OrderState::CodeIssued);
    }
    assert!(matches!(w.domain.claim(&o).await, Err(ClaimRefused::Limit(3))));
    let record = w.domain.order_record(w.reload(&o).await).await.unwrap();
    assert!(record.history.iter().any(|e| e.actor == jiufu_protocol::Actor::Device("dev_1".into()) && e.reason == "not seen"));
}

// --- merchants and devices ---------------------------------------------------

#[tokio::test]
async fn merchant_settings_keep_their_ranges() {
    let w = world().await;
    let id = w.merchant.id;
    let refused = |r: Result<Merchant, merchants::MerchantRefused>| match r {
        Err(merchants::MerchantRefused::Setting(s)) => s,
        other => panic!("{other:?}"),
    };
    let ttl = SettingsChange { order_ttl_secs: Some(0), ..Default::default() };
    assert_eq!(refused(w.domain.change_settings(id, ttl).await), SettingRefused::TimesOrSteps);
    let limit = SettingsChange { max_open_per_payer: Some(1001), ..Default::default() };
    assert_eq!(refused(w.domain.change_settings(id, limit).await), SettingRefused::PayerLimit);
    let offset = SettingsChange { max_offset: Some("0.5".into()), step_count: Some(10), ..Default::default() };
    let m = w.domain.change_settings(id, offset).await.unwrap();
    assert_eq!((m.settings.max_offset_bp, m.settings.step_count), (50, 10));
    let nobody = w.domain.change_settings(MerchantId::new(1).unwrap(), SettingsChange::default()).await;
    assert!(matches!(nobody, Err(merchants::MerchantRefused::NoSuchMerchant(_))));
}

#[tokio::test]
async fn a_shared_key_is_told_and_finds_nobody() {
    let w = world().await;
    let key = Some(w.merchant.key.clone());
    let other = NewMerchantRequest { id: MerchantId::new(10002).unwrap(), name: "other".into(), key, settings: Default::default() };
    let added = w.domain.add_merchant(other).await.unwrap();
    assert_eq!(added.shares_key_with, vec![M]);
    let found = w.domain.merchant_by_key(|m| m.key.expose() == "Jf8x2kQm9TzR4wLp").await.unwrap();
    assert!(found.is_none(), "never guess whose order this is");
}

#[tokio::test]
async fn device_reports_are_checked_once_in_the_domain() {
    let w = world().await;
    let token = w.domain.pairing_token(w.merchant.id).await.unwrap().unwrap();
    let paired = w.domain.pair(&token, "phone\u{7}").await.unwrap();
    assert_eq!(paired.device.name, "phone");
    assert!(matches!(w.domain.pair(&token, "again").await, Err(DeviceRefused::Unauthorized(_))), "a token pairs once");
    let report = |id: &str| devices::UnmatchedReport {
        observation_id: id.into(),
        channel: Channel::P901,
        amount: Fen(123),
        observed_at: T0 * 1000,
        source: "alipay".into(),
        raw_text: "收款0.01元".into(),
    };
    assert!(matches!(w.domain.report_unmatched(&paired.device, report("")).await, Err(DeviceRefused::BadRequest(_))));
    assert!(w.domain.report_unmatched(&paired.device, report("obs-9")).await.unwrap());
    assert!(!w.domain.report_unmatched(&paired.device, report("obs-9")).await.unwrap(), "recorded once");
    assert!(matches!(w.domain.heartbeat(&paired.device, &[], "1.0 beta").await, Err(DeviceRefused::BadRequest(_))));
    assert_eq!(w.domain.heartbeat(&paired.device, &[], "1.0.0").await.unwrap(), T0);
}

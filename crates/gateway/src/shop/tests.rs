//! Each dialect's notification as it is composed, checked against the
//! contract's vectors and the plain formulas.

use super::*;
use crate::dialect::Ack;
use jiufu_protocol::{Fen, MerchantId, OrderId, OrderNo, OrderState, sign::md5_hex};

const ID: &str = "T1xxxxxxxxxxxxxxxxxxxx";

fn paid(dialect: Dialect, shop_data: &str) -> Order {
    Order {
        id: OrderId::parse(ID).unwrap(),
        merchant_id: MerchantId::new(1000).unwrap(),
        order_no: OrderNo::parse("20220201030210321").unwrap(),
        subject: "VIP".into(),
        channel: Channel::P901,
        state: OrderState::Confirmed,
        order_fen: Fen(1000),
        payable_fen: Fen(999),
        code_id: 1,
        qr_text: String::new(),
        notify_url: "http://example.com/notify?from=shop".into(),
        return_url: "http://example.com/return".into(),
        ip: String::new(),
        order_time: String::new(),
        created_at: 0,
        expire_at: 300,
        quarantine_until: 900,
        claimed_at: None,
        paid_at: Some(10),
        paid_fen: Some(Fen(999)),
        confirmed_by: Some("operator".into()),
        evidence_id: None,
        notified: false,
        dialect,
        shop_data: shop_data.into(),
    }
}

#[test]
fn epusdt_notify_is_the_contracts_vector() {
    // [epusdt.notify]: {"trade_id":"T1","order_id":"20220201030210321","amount":10,"actual_amount":9.99,...}
    let echo = epusdt::Echo { amount: "10.00".into(), md5: false };
    let vector = epusdt::PaidOrder { trade_id: "T1", order_id: "20220201030210321", pid: None, payable: Fen(999), echo: &echo };
    assert_eq!(
        epusdt::paid_body(&vector, "epusdt_password_xasddawqe").unwrap(),
        r#"{"trade_id":"T1","order_id":"20220201030210321","amount":10,"actual_amount":9.99,"token":"","block_transaction_id":"","status":2,"signature":"6a2ec662797d32dcd1ae2c6cd24ec699"}"#
    );
    // An order's notification is that composition of the order.
    let out = crate::dialects().notification(&paid(Dialect::Epusdt, r#"{"amount":"10.00"}"#), "epusdt_password_xasddawqe", 0).unwrap();
    assert_eq!(out.url, "http://example.com/notify?from=shop");
    assert_eq!(out.ack, Ack::OneOf(&["ok", "success"]));
    let of_order = epusdt::PaidOrder { trade_id: ID, ..vector };
    assert_eq!(out.json.expect("a JSON body"), epusdt::paid_body(&of_order, "epusdt_password_xasddawqe").unwrap());
}

#[test]
fn gmpay_notify_adds_pid_and_signs_with_hmac_or_md5_as_asked() {
    let key = "epusdt_password_xasddawqe";
    let string = format!("actual_amount=9.99&amount=10&order_id=20220201030210321&pid=1000&status=2&trade_id={ID}");
    let hmac = crate::dialects().notification(&paid(Dialect::Gmpay, r#"{"amount":"10"}"#), key, 0).unwrap().json.unwrap();
    assert!(hmac.contains(r#""pid":"1000""#), "{hmac}");
    assert!(hmac.contains(&jiufu_protocol::sign::hmac_sha256_hex(key.as_bytes(), &[string.as_bytes()])), "{hmac}");
    let md5 = crate::dialects().notification(&paid(Dialect::Gmpay, r#"{"amount":"10","md5":true}"#), key, 0).unwrap().json.unwrap();
    assert!(md5.contains(&md5_hex(&[&string, key])), "{md5}");
    // Classic epusdt has no pid and signs with md5.
    let classic = crate::dialects().notification(&paid(Dialect::Epusdt, r#"{"amount":"10"}"#), key, 0).unwrap().json.unwrap();
    assert!(!classic.contains("pid"), "{classic}");
}

#[test]
fn epay_notify_and_return_carry_the_same_signed_parameters() {
    let order = paid(Dialect::Epay, r#"{"kind":"alipay","money":"10","param":""}"#);
    let out = crate::dialects().notification(&order, "KEY123", 0).unwrap();
    assert_eq!(out.ack, Ack::OneOf(&["success"]));
    assert!(out.json.is_none(), "a GET");
    let string = format!("money=10&name=VIP&out_trade_no=20220201030210321&pid=1000&trade_no={ID}&trade_status=TRADE_SUCCESS&type=alipay");
    let sign = md5_hex(&[&string, "KEY123"]);
    assert_eq!(
        out.url,
        format!(
            "http://example.com/notify?from=shop&pid=1000&trade_no={ID}&out_trade_no=20220201030210321&type=alipay&name=VIP&money=10\
             &trade_status=TRADE_SUCCESS&sign={sign}&sign_type=MD5"
        )
    );
    assert_eq!(crate::dialects().return_link(&order, "KEY123").unwrap(), out.url.replace("notify?from=shop&", "return?"));
}

#[test]
fn vmq_notify_has_the_price_as_sent_and_the_payable_really_price() {
    let order = paid(Dialect::Vmq, r#"{"price":"10","param":"vone666","kind":"2"}"#);
    let out = crate::dialects().notification(&order, "KEY123", 0).unwrap();
    let sign = md5_hex(&["20220201030210321", "vone666", "2", "10", "9.99", "KEY123"]);
    assert_eq!(
        out.url,
        format!("http://example.com/notify?from=shop&payId=20220201030210321&param=vone666&type=2&price=10&reallyPrice=9.99&sign={sign}")
    );
    assert_eq!(out.ack, Ack::OneOf(&["success"]));
}

#[test]
fn an_order_of_one_dialect_is_never_read_as_another() {
    let order = paid(Dialect::Vmq, r#"{"kind":"alipay","money":"10","param":""}"#);
    assert!(epay::notification(&order, "k").unwrap_err().contains("came through vmq"));
    let broken = paid(Dialect::Epay, "{");
    assert!(crate::dialects().notification(&broken, "k", 0).unwrap_err().contains("unreadable epay data"));
    // The native API ignores shop data altogether.
    assert!(crate::dialects().notification(&paid(Dialect::Jiufu, ""), "k", 0).unwrap().url.contains("state=9"));
}

#[test]
fn channel_names() {
    for (name, ch) in [("alipay", Channel::P901), ("wxpay", Channel::P902), ("qqpay", Channel::P903), ("bank", Channel::P904)] {
        assert_eq!(channel_by_name(name), Some(ch));
        assert_eq!(channel_name(ch), name);
        assert_eq!(channel_by_name(ch.code()), Some(ch));
    }
    assert_eq!(channel_by_name("usdt"), None);
    assert_eq!(channel_by_name("ALIPAY"), None);
}

#[test]
fn an_unpaid_order_has_no_notification_and_no_signed_return() {
    for dialect in Dialect::ALL {
        for state in [OrderState::CodeIssued, OrderState::Claimed, OrderState::Expired, OrderState::Closed] {
            let order = Order { state, ..paid(dialect, r#"{"kind":"alipay","money":"10","param":"","price":"10","amount":"10"}"#) };
            assert!(crate::dialects().notification(&order, "k", 0).unwrap_err().contains("not paid"), "{dialect} {state}");
            assert_eq!(crate::dialects().return_link(&order, "k"), None, "{dialect} {state}");
        }
    }
}

#[test]
fn only_hex_digests_reach_a_merchant_lookup() {
    assert!(hex_signature(&"ab".repeat(16)).is_ok() && hex_signature(&"AB".repeat(32)).is_ok());
    for bad in ["", "x", &"z".repeat(32), &"a".repeat(40), &"a".repeat(10_000)] {
        assert_eq!(hex_signature(bad).unwrap_err().code, ErrorCode::BadSignature, "{bad}");
    }
}

//! The window's commands, called through Tauri's IPC layer (mock runtime)
//! exactly as the window calls them: argument names, JSON shapes and error
//! codes included. The core behind them is real, on a temporary store.

use crate::core::Core;
use crate::{Started, handler};
use jiufu_collector::{Config, Pinned};
use jiufu_protocol::Secret;
use serde_json::{Value, json};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};

struct Window {
    _app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
}

fn window() -> Window {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        key: Some(Secret::new("KEY123-phone-push-key")),
        dbus: false,
        retention: None,
        pinned: Pinned { key: true, ..Pinned::default() },
        ..Config::new(dir.path().join("collector.db"))
    };
    let core = tauri::async_runtime::block_on(Core::start(config)).unwrap();
    let app = mock_builder()
        .manage(core)
        .manage(Started(Instant::now(), AtomicBool::new(false)))
        .manage(crate::StartScreen("orders".into()))
        .invoke_handler(handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    Window { _app: app, webview, _dir: dir }
}

impl Window {
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.webview, request).map(|b| b.deserialize::<Value>().unwrap())
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args).unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// The stable error code a refused command answers with.
    fn refused(&self, cmd: &str, args: Value) -> String {
        let e = self.call(cmd, args).expect_err(cmd);
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{cmd}: an explanation: {e}");
        e["code"].as_str().unwrap().to_owned()
    }

    /// Waits for the core's run to bind its listener.
    fn overview(&self) -> Value {
        for _ in 0..100 {
            let o = self.ok("overview", json!({}));
            if !o["listen"].is_null() {
                return o;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the core never listened")
    }
}

#[test]
fn overview_shows_link_sources_and_the_phone_setup() {
    let w = window();
    let o = w.overview();
    assert_eq!(o["link"]["paired"], false);
    let setup = o["phone"]["config"].as_str().unwrap();
    assert!(setup.starts_with("127.0.0.1:") && setup.ends_with("/KEY123-phone-push-key"), "{setup}");
    assert!(o["phone"]["qr"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert_eq!(o["today_count"], 0);
    assert_eq!(o["today_total"], "0.00");
    assert!(w.ok("ready", json!({})).as_i64().unwrap() >= 0);
    assert_eq!(w.ok("start_screen", json!({})), "orders");
}

#[test]
fn payments_are_recorded_through_the_core_and_bad_amounts_refused() {
    let w = window();
    assert_eq!(w.refused("record_payment", json!({"channel": "P901", "amount": "1,00", "note": ""})), "bad_amount");
    assert_eq!(w.refused("record_payment", json!({"channel": "P999", "amount": "1.00", "note": ""})), "bad_channel");
    assert_eq!(w.refused("record_payment", json!({"channel": "P901", "amount": "0", "note": ""})), "bad_amount");
    assert_eq!(w.ok("payments", json!({"filter": "all"})), json!([]), "refusals changed nothing");
    let r = w.ok("record_payment", json!({"channel": "P901", "amount": "12.34", "note": "看到手机到账"}));
    assert_eq!(r["outcome"], "pending", "{r}");
    let all = w.ok("payments", json!({"filter": "pending"}));
    assert_eq!(all[0]["amount"], "12.34");
    assert_eq!(all[0]["source"], "operator");
    assert_eq!(all[0]["text"], "看到手机到账");
    assert_eq!(w.refused("payments", json!({"filter": "nonsense"})), "bad_filter");
    assert_eq!(w.refused("attach_payment", json!({"observation_id": all[0]["id"], "order_id": "nope"})), "not_unmatched");
}

#[test]
fn codes_are_added_from_images_or_text_and_toggled() {
    let w = window();
    let text = "https://qr.alipay.com/fkx0unit";
    let qr = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let img = qr.render::<image::Luma<u8>>().module_dimensions(6, 6).build();
    let mut png = Vec::new();
    image::DynamicImage::ImageLuma8(img).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
    assert_eq!(w.ok("decode_qr", json!({"image_base64": b64})), text);
    assert_eq!(w.refused("decode_qr", json!({"image_base64": "not base64!"})), "bad_image");
    let blank = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../../icons/32x32.png"));
    assert_eq!(w.refused("decode_qr", json!({"image_base64": blank})), "qr_unreadable");

    assert_eq!(w.refused("add_code", json!({"channel": "P901", "qr_text": " ", "amount": "", "name": ""})), "bad_qr_text");
    assert_eq!(w.refused("add_code", json!({"channel": "P901", "qr_text": text, "amount": "abc", "name": ""})), "bad_amount");
    let code = w.ok("add_code", json!({"channel": "P901", "qr_text": text, "amount": "8.88", "name": "柜台"}));
    assert_eq!(code["amount"], "8.88");
    let v = w.ok("codes", json!({}));
    assert_eq!(v["codes"].as_array().unwrap().len(), 1);
    assert_eq!(v["paired"], false);
    assert_eq!(v["synced"], false, "not yet at any gateway");
    w.ok("set_code_enabled", json!({"uid": code["uid"], "enabled": false}));
    assert_eq!(w.ok("codes", json!({}))["codes"][0]["enabled"], false);
    assert_eq!(w.refused("set_code_enabled", json!({"uid": "missing", "enabled": true})), "not_found");
}

#[test]
fn orders_refuse_what_the_core_refuses() {
    let w = window();
    assert_eq!(w.ok("orders", json!({"filter": "open", "search": ""})), json!([]));
    assert_eq!(w.refused("orders", json!({"filter": "bogus", "search": ""})), "bad_filter");
    assert_eq!(w.refused("confirm_order", json!({"order_id": "missing"})), "not_found");
    assert_eq!(w.refused("reject_order", json!({"order_id": "missing", "reason": "  "})), "reason_required");
    assert_eq!(w.refused("reject_order", json!({"order_id": "missing", "reason": "没收到"})), "not_found");
}

#[test]
fn rules_can_be_tried_and_drafts_checked_before_saving() {
    let w = window();
    let yes = w.ok(
        "try_rules",
        json!({"app": "com.eg.android.AlipayGphone", "title": "支付宝通知", "text": "张三通过扫码向你付款0.01元", "draft": null}),
    );
    assert_eq!((yes["payment"].clone(), yes["channel"].clone(), yes["amount"].clone()), (json!(true), json!("P901"), json!("0.01")));
    let no = w.ok("try_rules", json!({"app": "com.eg.android.AlipayGphone", "title": "", "text": "退款到账0.01元", "draft": null}));
    assert_eq!(no["payment"], false);
    assert_eq!(no["reason_code"], "excluded");
    let draft = "[[channel]]\nchannel = \"P903\"\npackages = [\"org.example.shop\"]\n";
    let mine = w.ok("try_rules", json!({"app": "org.example.shop", "title": "", "text": "收款5.00元", "draft": draft}));
    assert_eq!(mine["channel"], "P903", "{mine}");
    assert_eq!(w.refused("try_rules", json!({"app": "x", "title": "", "text": "", "draft": "[[channel]"})), "bad_rules");
    assert_eq!(w.refused("save_rules", json!({"text": "[[incoming]]\npattern = \"(\"\n"})), "bad_rules");
    w.ok("save_rules", json!({"text": draft}));
    assert_eq!(w.ok("rules", json!({}))["user"], draft);
    // The restarted core parses with the saved rules.
    let now = w.ok("try_rules", json!({"app": "org.example.shop", "title": "", "text": "收款5.00元", "draft": null}));
    assert_eq!(now["channel"], "P903");
}

#[test]
fn settings_are_validated_and_applied_by_restarting_the_core() {
    let w = window();
    let before = w.overview();
    assert_eq!(w.refused("pair", json!({"gateway": "ftp://x", "token": "t"})), "bad_gateway_url");
    assert_eq!(w.refused("pair", json!({"gateway": "http://127.0.0.1:9", "token": ""})), "bad_token");
    assert_eq!(w.refused("pair", json!({"gateway": "http://127.0.0.1:9", "token": "abc"})), "pairing_failed");
    // plain http:// to another computer only with the window's opt-in (which then tries, and finds nobody)
    assert_eq!(w.refused("pair", json!({"gateway": "http://192.0.2.1:1", "token": "abc"})), "insecure_http");
    assert_eq!(w.refused("pair", json!({"gateway": "http://192.0.2.1:1", "token": "abc", "insecure_http": false})), "insecure_http");
    assert_eq!(w.refused("regenerate_key", json!({})), "pinned");
    assert_eq!(w.refused("save_sources", json!({"listen": "nowhere", "lan": true, "dbus": false, "smsf_secret": ""})), "bad_listen");
    assert_eq!(w.refused("save_prefs", json!({"language": "fr", "start_minimised": false, "autostart": false})), "bad_language");

    let generated = w.ok("settings", json!({}))["smsf_secret"].as_str().unwrap().to_owned();
    assert!(generated.len() >= 24, "a strong SmsForwarder secret was generated");
    assert_eq!(
        w.refused("save_sources", json!({"listen": "127.0.0.1:0", "lan": true, "dbus": false, "smsf_secret": "s3cret"})),
        "bad_secret"
    );
    assert_eq!(w.refused("save_sources", json!({"listen": "127.0.0.1:0", "lan": true, "dbus": false, "smsf_secret": ""})), "bad_secret");
    w.ok("save_sources", json!({"listen": "127.0.0.1:0", "lan": true, "dbus": false, "smsf_secret": "s3cret-of-16-chars"}));
    let s = w.ok("settings", json!({}));
    assert_eq!(s["smsf_secret"], "s3cret-of-16-chars");
    assert_eq!(s["smsf_unsigned"], false);
    assert!(s["smsf_webhook"].as_str().unwrap().ends_with("/forward/smsforwarder"), "{s}");
    assert_eq!(w.overview()["warnings"], json!([]));
    let after = w.overview();
    assert_ne!(after["listen"], before["listen"], "a new run on a new port");
    // The unsafe opt-in is stored and shown as a warning while the listener runs.
    w.ok(
        "save_sources",
        json!({"listen": "127.0.0.1:0", "lan": true, "dbus": false, "smsf_secret": "s3cret-of-16-chars", "smsf_unsigned": true}),
    );
    assert_eq!(w.ok("settings", json!({}))["smsf_unsigned"], true);
    assert_eq!(w.overview()["warnings"], json!(["smsf_unsigned"]));
    let fresh = w.ok("regenerate_smsf_secret", json!({}));
    assert_eq!(w.ok("settings", json!({}))["smsf_secret"], fresh);
    w.ok("save_sources", json!({"listen": "127.0.0.1:0", "lan": false, "dbus": false, "smsf_secret": fresh}));
    let off = w.ok("overview", json!({}));
    assert!(off["listen"].is_null() && off["phone"].is_null(), "{off}");
    assert_eq!(off["warnings"], json!([]));

    let p = w.ok("save_prefs", json!({"language": "en", "start_minimised": true, "autostart": false}));
    assert_eq!(p["language"], "en");
    assert_eq!(w.ok("settings", json!({}))["prefs"], json!({"language": "en", "start_minimised": true, "autostart": false}));
    assert_eq!(w.ok("settings", json!({}))["pinned"], json!(["key"]));
}

/// The order id a test calls `name` (padded to an id's 22 characters).
fn oid(name: &str) -> String {
    format!("{name:_<22}")
}

fn order(id: &str, state: jiufu_protocol::OrderState, fen: i64) -> jiufu_protocol::collector::OrderWire {
    let now = jiufu_collector::now_ms() / 1000;
    jiufu_protocol::collector::OrderWire {
        order_id: jiufu_protocol::OrderId::parse(&oid(id)).unwrap(),
        order_no: format!("no-{id}"),
        channel: jiufu_protocol::Channel::P901.into(),
        state: state.into(),
        order_amount: jiufu_protocol::Fen(fen).into(),
        payable_amount: jiufu_protocol::Fen(fen).into(),
        subject: "测试".into(),
        created_at: now,
        expire_at: now + 300,
        quarantine_until: now + 900,
        claimed_at: None,
        dialect: jiufu_protocol::Dialect::Jiufu.into(),
    }
}

#[test]
fn claims_are_confirmed_or_rejected_once_through_the_queue() {
    use jiufu_protocol::OrderState;
    let w = window();
    let core = w.webview.state::<Core>().get();
    let orders = vec![
        order("claimed1", OrderState::Claimed, 1000),
        order("claimed2", OrderState::Claimed, 2000),
        order("paid", OrderState::Confirmed, 3000),
        order("late", OrderState::Expired, 4000),
        // From a newer gateway: a state and a dialect this build does not know.
        jiufu_protocol::collector::OrderWire {
            state: jiufu_protocol::Wire::Unknown("10".into()),
            dialect: jiufu_protocol::Wire::Unknown("usdt".into()),
            ..order("newer", OrderState::Claimed, 5000)
        },
    ];
    tauri::async_runtime::block_on(core.mirror_orders(orders)).unwrap();
    let queued = || tauri::async_runtime::block_on(core.queued()).unwrap();
    // The window learns from each row whether it is open and whether it can take a payment.
    let rows = w.ok("orders", json!({"filter": "all", "search": ""}));
    let flags = |id: &str| {
        let row = rows.as_array().unwrap().iter().find(|o| o["order_id"] == oid(id)).unwrap();
        (row["open"].clone(), row["payable"].clone(), row["state_code"].clone())
    };
    assert_eq!(flags("claimed1"), (json!(true), json!(true), json!(8)));
    assert_eq!(flags("paid"), (json!(false), json!(false), json!(9)));
    assert_eq!(flags("late"), (json!(false), json!(true), json!(-1)), "expired, but a late payment can still be confirmed");
    // What the window does with a row it reads from these, never from state numbers.
    let states = |id: &str| {
        let row = rows.as_array().unwrap().iter().find(|o| o["order_id"] == oid(id)).unwrap();
        [&row["waiting"], &row["claimed"], &row["paid"], &row["expired"]].map(|b| b.as_bool().unwrap())
    };
    assert_eq!(states("claimed1"), [false, true, false, false]);
    assert_eq!(states("paid"), [false, false, true, false]);
    assert_eq!(states("late"), [false, false, false, true]);
    assert_eq!(states("newer"), [false, false, false, false], "a state this build does not know is none of them");
    // Shown as the gateway sent it, marked unknown, and nothing can be done to it here.
    assert_eq!(flags("newer"), (json!(false), json!(false), Value::Null));
    let newer = rows.as_array().unwrap().iter().find(|o| o["order_id"] == oid("newer")).unwrap();
    assert_eq!((&newer["state"], &newer["dialect"], &newer["unknown"]), (&json!("10"), &json!("usdt"), &json!(["state", "dialect"])));
    assert_eq!(w.refused("confirm_order", json!({"order_id": oid("newer")})), "unknown_order");
    assert_eq!(w.refused("reject_order", json!({"order_id": oid("newer"), "reason": "no"})), "unknown_order");

    w.ok("reject_order", json!({"order_id": oid("claimed1"), "reason": "没有到账"}));
    assert_eq!(w.refused("reject_order", json!({"order_id": oid("claimed1"), "reason": "again"})), "already_rejected");
    assert_eq!(queued(), 1, "one rejection queued");

    w.ok("confirm_order", json!({"order_id": oid("claimed2")}));
    assert_eq!(w.refused("confirm_order", json!({"order_id": oid("claimed2")})), "already_matched");
    assert_eq!(
        w.refused("reject_order", json!({"order_id": oid("claimed2"), "reason": "no"})),
        "already_matched",
        "a paid claim is not rejected"
    );
    assert_eq!(w.refused("confirm_order", json!({"order_id": oid("paid")})), "wrong_state");
    assert_eq!(queued(), 2, "one confirmation queued");

    // An unmatched payment goes only to an order that can still take it.
    let r = w.ok("record_payment", json!({"channel": "P901", "amount": "30.00", "note": ""}));
    let obs = r["observation"].as_str().unwrap().to_owned();
    let obs_id = jiufu_protocol::ObservationId::parse(&obs).unwrap();
    assert!(tauri::async_runtime::block_on(core.give_up_on(&obs_id, "no order")).unwrap());
    assert_eq!(queued(), 3, "its unmatched report queued");
    assert_eq!(w.refused("attach_payment", json!({"observation_id": obs, "order_id": oid("paid")})), "wrong_state");
    assert_eq!(w.refused("attach_payment", json!({"observation_id": obs, "order_id": oid("claimed2")})), "amount_mismatch");
    assert_eq!(queued(), 3, "refusals queued nothing");
}

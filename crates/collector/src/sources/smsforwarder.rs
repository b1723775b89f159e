//! SmsForwarder's webhook (`collector.md` §1b), signed with the
//! SmsForwarder secret, in every layout the app sends.
//!
//! What the app sends (pppscn/SmsForwarder, `MsgInfo.getContentForSend` and
//! `WebhookUtils`; its default webhook body is the form
//! `from=[from]&content=[content]&timestamp=[timestamp]&sign=[sign]`):
//!
//! * `from`: the notifying app's Android package, or an SMS's sender.
//! * `content`, default template (3.x): one value per line, no labels —
//!   `from`, the notification text (the SMS body), the notification title
//!   (for an SMS the SIM slot, `SIM1_…`), `UID：<uid>` (for an SMS
//!   `SubId：<id>`; absent before 3.3 / 3.0), the receive time
//!   `yyyy-MM-dd HH:mm:ss`, and the device name when one is set. The text
//!   itself may span lines, so the layout is read from both ends.
//! * A custom template: commonly `[title]\n[content]` (title, then text),
//!   or JSON (`{"from":"[from]","title":"[title]","content":"[org_content]",…}`)
//!   whose `title` and `org_content`/`text` fields are used as given.
//! * 2.x sent the same fields as `multipart/form-data` (see [`super::lan`]).

use super::MAX_SKEW_MS;
use super::lan::{Push, Shape, Shared, canonical_time, fresh, url};
use crate::parser::{AppId, Notice, is_android_package, is_sim_slot};
use crate::{Delivery, Observed, Posted, ReplayKey, Trust, now_ms};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiufu_protocol::collector::SourceKind;
use jiufu_protocol::sign;
use serde_json::json;
use std::collections::HashMap;

fn refuse(status: StatusCode, msg: &str) -> Response {
    Shape::Forward.refuse(status, msg)
}

/// Whether `given` is `expected`, as SmsForwarder sends it: URL-encoded once
/// or twice, and a '+' possibly turned into ' ' by form decoding.
fn sign_matches(expected: &str, given: &str) -> bool {
    let once = url::decode(given);
    let twice = url::decode(&once);
    [given.to_owned(), given.replace(' ', "+"), once, twice].iter().any(|g| sign::bytes_eq(expected.as_bytes(), g.as_bytes()))
}

pub async fn webhook(State(lan): State<Shared>, push: Push) -> Response {
    let c = &lan.c;
    let f = &push.fields;
    let Some(ts) = f.get("timestamp") else {
        return refuse(StatusCode::BAD_REQUEST, "missing timestamp");
    };
    let Some(t_ms) = canonical_time(ts) else {
        return refuse(StatusCode::BAD_REQUEST, "bad timestamp: epoch milliseconds, digits only, no leading zero");
    };
    let given = f.get("sign").map(String::as_str).unwrap_or("");
    let trust = if given.is_empty() && c.config.smsf_unsigned {
        Trust::Unauthenticated
    } else if sign_matches(&sign::smsforwarder_sign(ts, c.smsf_secret.expose()), given) {
        Trust::Authenticated
    } else {
        push.bad_sign(&lan);
        c.touch(SourceKind::SmsForwarder, Some(if given.is_empty() { "unsigned push refused" } else { "bad sign" }.into()));
        let why = if given.is_empty() {
            "missing sign: set the collector's SmsForwarder secret in SmsForwarder (加签 secret)"
        } else {
            "bad sign"
        };
        return refuse(StatusCode::UNAUTHORIZED, why);
    };
    if !fresh(t_ms) {
        return refuse(StatusCode::UNAUTHORIZED, "timestamp is not within 5 minutes of the collector's clock");
    }
    // Recorded as `smsforwarder:unsigned` when unsigned (see `model::SeenBy`).
    if trust == Trust::Authenticated {
        c.touch(SourceKind::SmsForwarder, None);
    }
    let (notice, received) = unfold_timed(f);
    // The sign covers only the timestamp, so each timestamp (each sign) is
    // used once, whatever the push turns out to be.
    let replay = ReplayKey { key: format!("smsf:{t_ms}"), expires_at: t_ms + 2 * MAX_SKEW_MS };
    let posted = posted(&notice, received.as_deref());
    match c.observe_notice_as(SourceKind::SmsForwarder, notice, now_ms(), Delivery { replay: Some(replay), posted }, trust).await {
        Ok(Observed::Replayed) => refuse(StatusCode::CONFLICT, "replayed"),
        Ok(_) => Json(json!({"code": 1, "msg": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot store an observation");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// What tells this forwarded notification from another with the same text:
/// the phone's receive time (the default template's time line, or a
/// `receive_time` field) with the app, title and text. SmsForwarder
/// re-forwarding a notice (its retry, or a resend from its log) sends the
/// same receive time under a new timestamp. A template without the time
/// carries the text alone.
fn posted(notice: &Notice, received: Option<&str>) -> Posted {
    let parts = [notice.app.as_str(), notice.title.as_str(), notice.text.as_str()];
    match received {
        Some(time) => Posted::exact(&["smsforwarder", parts[0], parts[1], parts[2], time]),
        None => Posted::alike(&["smsforwarder", parts[0], parts[1], parts[2]]),
    }
}

/// The notice a webhook's fields describe, whichever template made them.
/// `app` is the `from` field: a package, or an SMS sender (see
/// [`AppId::forwarded`], which the title the template gives decides for a
/// package-shaped sender; an SMS's title is its SIM slot).
pub fn unfold(f: &HashMap<String, String>) -> Notice {
    unfold_timed(f).0
}

/// [`unfold`], and the notification's receive time when the layout carries
/// one (the default template's time line, or a `receive_time` field).
pub fn unfold_timed(f: &HashMap<String, String>) -> (Notice, Option<String>) {
    let from = f.get("from").map(|s| s.trim()).unwrap_or_default().to_owned();
    let sms = |title: &str| matches!(AppId::forwarded(&from, title), AppId::Sms(_));
    let field = |names: &[&str]| names.iter().find_map(|n| f.get(*n)).map(|s| s.trim().to_owned());
    let named_time = field(&["receive_time", "receiveTime"]).filter(|t| is_time(t));
    // A custom template that names its parts.
    if let (Some(title), Some(text)) = (field(&["title"]), field(&["org_content", "text"])) {
        let title = if sms(&title) { String::new() } else { title };
        return (Notice { app: from, title, text }, named_time);
    }
    let content = field(&["content", "msg"]).unwrap_or_default().replace("\r\n", "\n");
    let (title, text, time) = match default_layout(&from, &content) {
        Some((title, text, time)) => (title, text, Some(time)),
        None => match content.split_once('\n') {
            // `[title]\n[content]`; an SMS's title is its SIM slot.
            Some((title, text)) if is_android_package(&from) && !is_sim_slot(title) => {
                (title.trim().to_owned(), text.trim().to_owned(), None)
            }
            _ => (String::new(), without_slot(&content).to_owned(), None),
        },
    };
    let title = if sms(&title) { String::new() } else { title };
    (Notice { app: from, title, text }, time.or(named_time))
}

/// The default template: `from`, text (any lines), title or SIM slot,
/// `UID：…`/`SubId：…` (3.3+ / 3.0+), `yyyy-MM-dd HH:mm:ss`, device name
/// (if set). Returns the title, the text and the receive time.
fn default_layout(from: &str, content: &str) -> Option<(String, String, String)> {
    let lines: Vec<&str> = content.split('\n').map(str::trim).collect();
    if lines.len() < 4 || lines[0] != from {
        return None;
    }
    let mut end = lines.len();
    // The device name, when set, follows the time.
    if !is_time(lines[end - 1]) {
        end -= 1;
    }
    if end < 4 || !is_time(lines[end - 1]) {
        return None;
    }
    let time = lines[end - 1].to_owned();
    end -= 1;
    if is_id_line(lines[end - 1]) {
        end -= 1;
    }
    if end < 3 {
        return None;
    }
    let title = lines[end - 1].to_owned();
    let text = lines[1..end - 1].join("\n").trim().to_owned();
    Some((title, text, time))
}

/// `2024-05-01 12:34:56`.
fn is_time(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// `UID：10123` / `SubId：1` (full-width colon; a plain one is accepted too).
fn is_id_line(line: &str) -> bool {
    ["UID", "SubId"].iter().any(|label| {
        line.strip_prefix(label)
            .and_then(|rest| rest.strip_prefix('：').or_else(|| rest.strip_prefix(':')))
            .is_some_and(|n| !n.trim().is_empty() && n.trim().chars().all(|c| c.is_ascii_digit() || c == '-'))
    })
}

/// An SMS custom template may start with the SIM slot line (`SIM1_…`).
fn without_slot(content: &str) -> &str {
    match content.split_once('\n') {
        Some((first, rest)) if is_sim_slot(first) => rest.trim(),
        _ => content.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn n(app: &str, title: &str, text: &str) -> Notice {
        Notice { app: app.into(), title: title.into(), text: text.into() }
    }

    const ALIPAY: &str = "com.eg.android.AlipayGphone";

    #[test]
    fn the_default_template_of_an_app_notification() {
        let content =
            format!("{ALIPAY}\n成功收款0.01元。享免费提现等更多专属服务，点击查看\n收钱码到账通知\nUID：10234\n2024-05-01 12:34:56");
        assert_eq!(
            unfold(&fields(&[("from", ALIPAY), ("content", &content)])),
            n(ALIPAY, "收钱码到账通知", "成功收款0.01元。享免费提现等更多专属服务，点击查看")
        );
        // with a device name, and a text over two lines
        let content = format!("{ALIPAY}\n第一行\n第二行\n收款通知\nUID：0\n2024-05-01 12:34:56\n我的手机");
        assert_eq!(unfold(&fields(&[("from", ALIPAY), ("content", &content)])), n(ALIPAY, "收款通知", "第一行\n第二行"));
        // before 3.3: no UID line; an empty title
        let content = format!("{ALIPAY}\n成功收款1.00元\n\n2024-05-01 12:34:56");
        assert_eq!(unfold(&fields(&[("from", ALIPAY), ("content", &content)])), n(ALIPAY, "", "成功收款1.00元"));
    }

    #[test]
    fn the_default_template_of_an_sms() {
        let body = "您尾号0123卡1月1日11:11快捷支付收入(转账)100.00元，余额200,000.00元。【工商银行】";
        let content = format!("95588\n{body}\nSIM1_\nSubId：1\n2024-05-01 12:34:56");
        assert_eq!(unfold(&fields(&[("from", "95588"), ("content", &content)])), n("95588", "", body));
        let content = format!("95588\n{body}\nSIM2_工作卡\nSubId：2\n2024-05-01 12:34:56\nPixel");
        assert_eq!(unfold(&fields(&[("from", "95588"), ("content", &content)])), n("95588", "", body));
    }

    #[test]
    fn custom_templates() {
        // [title]\n[content]
        assert_eq!(
            unfold(&fields(&[("from", ALIPAY), ("content", "收钱码到账通知\n成功收款0.01元")])),
            n(ALIPAY, "收钱码到账通知", "成功收款0.01元")
        );
        assert_eq!(unfold(&fields(&[("from", ALIPAY), ("msg", "成功收款0.01元")])), n(ALIPAY, "", "成功收款0.01元"));
        // JSON with named parts
        let f = fields(&[("from", "com.tencent.mm"), ("title", "微信支付"), ("org_content", "个人收款码到账¥0.01"), ("content", "x")]);
        assert_eq!(unfold(&f), n("com.tencent.mm", "微信支付", "个人收款码到账¥0.01"));
        // an SMS never has a title
        assert_eq!(unfold(&fields(&[("from", "95588"), ("content", "SIM1_\n收入100元")])), n("95588", "", "收入100元"));
        assert_eq!(unfold(&fields(&[("from", "95588"), ("title", "SIM1_"), ("text", "收入100元")])), n("95588", "", "收入100元"));
    }

    /// Issue 16, L6: an SMS whose alphanumeric sender id is shaped like a
    /// bank app's package stays an SMS in every layout that says so.
    #[test]
    fn a_package_shaped_sms_sender_stays_an_sms() {
        let body = "您尾号6598的账户入账人民币8.88元";
        let default = format!("cmb.pb\n{body}\nSIM1_中国移动_\nSubId：1\n2024-05-01 12:34:56");
        let parser = crate::parser::Parser::new(None).unwrap();
        for f in [
            fields(&[("from", "cmb.pb"), ("content", &default)]),
            fields(&[("from", "cmb.pb"), ("content", &format!("SIM1_\n{body}"))]),
            fields(&[("from", "cmb.pb"), ("content", body)]),
            fields(&[("from", "cmb.pb"), ("title", "SIM2_"), ("org_content", body)]),
        ] {
            let got = unfold(&f);
            assert_eq!(got, n("cmb.pb", "", body), "{f:?}");
            assert_eq!(parser.parse(&got), Err(crate::parser::NotPayment::UnknownApp), "{f:?}");
        }
        // the bank app itself, with its title, in the same layouts
        let app = format!("cmb.pb\n{body}\n招商银行\nUID：10234\n2024-05-01 12:34:56");
        assert_eq!(unfold(&fields(&[("from", "cmb.pb"), ("content", &app)])), n("cmb.pb", "招商银行", body));
        assert_eq!(unfold(&fields(&[("from", "cmb.pb"), ("content", &format!("招商银行\n{body}"))])), n("cmb.pb", "招商银行", body));
    }

    /// Issue 16, M4: the receive time comes with the notice where the layout carries it.
    #[test]
    fn the_receive_time_where_the_layout_carries_it() {
        let content = format!("{ALIPAY}\n成功收款1.00元\n收钱码收款\nUID：1\n2024-05-01 12:34:56\n我的手机");
        assert_eq!(unfold_timed(&fields(&[("from", ALIPAY), ("content", &content)])).1.as_deref(), Some("2024-05-01 12:34:56"));
        let named =
            fields(&[("from", ALIPAY), ("title", "收钱码收款"), ("text", "成功收款1.00元"), ("receive_time", "2024-05-01 12:34:57")]);
        assert_eq!(unfold_timed(&named).1.as_deref(), Some("2024-05-01 12:34:57"));
        let bad = fields(&[("from", ALIPAY), ("title", "收钱码收款"), ("text", "成功收款1.00元"), ("receive_time", "soon")]);
        assert_eq!(unfold_timed(&bad).1, None);
        assert_eq!(unfold_timed(&fields(&[("from", ALIPAY), ("content", "收钱码收款\n成功收款1.00元")])).1, None);
        // the same notice forwarded twice is one posting; another receive time is another
        let notice = n(ALIPAY, "收钱码收款", "成功收款1.00元");
        assert_eq!(posted(&notice, Some("2024-05-01 12:34:56")), posted(&notice, Some("2024-05-01 12:34:56")));
        assert_ne!(posted(&notice, Some("2024-05-01 12:34:56")).exact, posted(&notice, Some("2024-05-01 12:34:57")).exact);
        assert!(posted(&notice, None).exact.is_none() && posted(&notice, None).alike.is_some());
    }

    #[test]
    fn a_text_that_only_looks_like_the_layout_is_taken_as_title_and_text() {
        // the first line is not `from`: a custom template
        let content = "收款通知\n成功收款1.00元\nUID：1\n2024-05-01 12:34:56";
        let got = unfold(&fields(&[("from", ALIPAY), ("content", content)]));
        assert_eq!(got.title, "收款通知");
    }
}

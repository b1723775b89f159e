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
use crate::parser::{AppId, Notice};
use crate::{Observed, ReplayKey, Trust, now_ms};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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
        c.touch("smsforwarder", Some(if given.is_empty() { "unsigned push refused" } else { "bad sign" }.into()));
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
    let source = match trust {
        Trust::Authenticated => {
            c.touch("smsforwarder", None);
            "smsforwarder"
        }
        Trust::Unauthenticated => "smsforwarder:unsigned",
    };
    let notice = unfold(f);
    // The sign covers only the timestamp, so each timestamp (each sign) is used once.
    let replay = ReplayKey { key: format!("smsf:{t_ms}"), expires_at: t_ms + 2 * MAX_SKEW_MS };
    match c.observe_notice_as(source, notice, now_ms(), Some(replay), trust).await {
        Ok(Observed::Replayed) => refuse(StatusCode::CONFLICT, "replayed"),
        Ok(_) => Json(json!({"code": 1, "msg": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot store an observation");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The notice a webhook's fields describe, whichever template made them.
/// `app` is the `from` field: a package, or an SMS sender (see [`AppId::forwarded`]).
pub fn unfold(f: &HashMap<String, String>) -> Notice {
    let from = f.get("from").map(|s| s.trim()).unwrap_or_default().to_owned();
    let sms = matches!(AppId::forwarded(&from), AppId::Sms(_));
    let field = |names: &[&str]| names.iter().find_map(|n| f.get(*n)).map(|s| s.trim().to_owned());
    // A custom template that names its parts.
    if let (Some(title), Some(text)) = (field(&["title"]), field(&["org_content", "text"])) {
        let title = if sms { String::new() } else { title };
        return Notice { app: from, title, text };
    }
    let content = field(&["content", "msg"]).unwrap_or_default().replace("\r\n", "\n");
    let (title, text) = match default_layout(&from, &content) {
        Some(found) => found,
        None if sms => (String::new(), without_slot(&content).to_owned()),
        None => match content.split_once('\n') {
            Some((title, text)) => (title.trim().to_owned(), text.trim().to_owned()),
            None => (String::new(), content.trim().to_owned()),
        },
    };
    Notice { app: from, title: if sms { String::new() } else { title }, text }
}

/// The default template: `from`, text (any lines), title or SIM slot,
/// `UID：…`/`SubId：…` (3.3+ / 3.0+), `yyyy-MM-dd HH:mm:ss`, device name (if set).
fn default_layout(from: &str, content: &str) -> Option<(String, String)> {
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
    end -= 1;
    if is_id_line(lines[end - 1]) {
        end -= 1;
    }
    if end < 3 {
        return None;
    }
    let title = lines[end - 1].to_owned();
    let text = lines[1..end - 1].join("\n").trim().to_owned();
    Some((title, text))
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
        Some((first, rest)) if first.trim().starts_with("SIM") && first.contains('_') => rest.trim(),
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

    #[test]
    fn a_text_that_only_looks_like_the_layout_is_taken_as_title_and_text() {
        // the first line is not `from`: a custom template
        let content = "收款通知\n成功收款1.00元\nUID：1\n2024-05-01 12:34:56";
        let got = unfold(&fields(&[("from", ALIPAY), ("content", content)]));
        assert_eq!(got.title, "收款通知");
    }
}

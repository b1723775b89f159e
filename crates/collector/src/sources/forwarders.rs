//! Forwarder apps over the LAN: SmsForwarder's webhook (`collector.md`
//! §1b, signed with the SmsForwarder secret) and the generic signed push
//! (§1c, HMAC with the push key). Times are read as canonical integers and
//! replay keys made of canonical values.

use super::MAX_SKEW_MS;
use super::lan::{Push, Shape, Shared, canonical_time, fresh, url};
use crate::parser::Notice;
use crate::{Observed, ReplayKey, Trust, now_ms};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiufu_protocol::{Channel, Fen, sign};
use serde_json::json;

fn refuse(status: StatusCode, msg: &str) -> Response {
    Shape::Forward.refuse(status, msg)
}

fn accepted() -> Response {
    Json(json!({"code": 1, "msg": "ok"})).into_response()
}

/// Whether `given` is `expected`, as SmsForwarder sends it: URL-encoded once
/// or twice, and a '+' possibly turned into ' ' by form decoding.
fn smsf_sign_matches(expected: &str, given: &str) -> bool {
    let once = url::decode(given);
    let twice = url::decode(&once);
    [given.to_owned(), given.replace(' ', "+"), once, twice].iter().any(|g| sign::bytes_eq(expected.as_bytes(), g.as_bytes()))
}

pub async fn smsforwarder(State(lan): State<Shared>, push: Push) -> Response {
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
    } else if smsf_sign_matches(&sign::smsforwarder_sign(ts, c.smsf_secret.expose()), given) {
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
    let content = f.get("content").or_else(|| f.get("msg")).cloned().unwrap_or_default();
    let from = f.get("from").cloned().unwrap_or_default();
    let (title, text) = match content.split_once('\n') {
        Some((t, rest)) => (t.trim().to_owned(), rest.trim().to_owned()),
        None => (String::new(), content.trim().to_owned()),
    };
    // The sign covers only the timestamp, so each timestamp (each sign) is used once.
    let replay = ReplayKey { key: format!("smsf:{t_ms}"), expires_at: t_ms + 2 * MAX_SKEW_MS };
    match c.observe_notice_as(source, Notice { app: from, title, text }, now_ms(), Some(replay), trust).await {
        Ok(Observed::Replayed) => refuse(StatusCode::CONFLICT, "replayed"),
        Ok(_) => accepted(),
        Err(e) => {
            tracing::error!(error = %e, "cannot store an observation");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[derive(serde::Deserialize)]
struct GenericPush {
    channel: Channel,
    amount: String,
    #[serde(default)]
    text: String,
}

pub async fn generic(State(lan): State<Shared>, push: Push) -> Response {
    let c = &lan.c;
    let header = push.headers.get("x-jiufu-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return refuse(StatusCode::UNAUTHORIZED, "missing X-Jiufu-Signature t=…,v1=…");
    };
    let Some(t_s) = canonical_time(&t) else {
        return refuse(StatusCode::UNAUTHORIZED, "bad t: epoch seconds, digits only, no leading zero");
    };
    let expected = sign::hmac_sha256_hex(c.key.expose().as_bytes(), &[t.as_bytes(), b".", &push.body]);
    if !sign::hex_digest_eq(&expected, &v1) {
        push.bad_sign(&lan);
        c.touch("generic", Some("bad signature".into()));
        return refuse(StatusCode::UNAUTHORIZED, "bad signature");
    }
    if !fresh(t_s.saturating_mul(1000)) {
        return refuse(StatusCode::UNAUTHORIZED, "timestamp is not within 5 minutes of the collector's clock");
    }
    let push_body: GenericPush = match serde_json::from_slice(&push.body) {
        Ok(p) => p,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("bad body: {e}")),
    };
    let Ok(amount) = Fen::parse_yuan(&push_body.amount) else {
        return refuse(StatusCode::BAD_REQUEST, "bad amount");
    };
    let notice = Notice { app: "generic".into(), title: String::new(), text: push_body.text };
    // What was signed, canonically: the time and the exact body.
    let replay = ReplayKey { key: format!("generic:{t_s}:{}", sign::sha256_hex(&push.body)), expires_at: t_s * 1000 + 2 * MAX_SKEW_MS };
    match c.observe("generic", push_body.channel, amount, now_ms(), notice, Some(replay)).await {
        Ok(Observed::Replayed) => refuse(StatusCode::CONFLICT, "replayed"),
        Ok(_) => accepted(),
        Err(e) => {
            tracing::error!(error = %e, "cannot store an observation");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
